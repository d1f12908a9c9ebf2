//! Queries of the public-instance features: the daily link limit's events, revoking, a user's
//! links page by page with their download counts, blocked users, the one broadcast row, and the
//! bytes each user's links served per month (their bandwidth shares).

use rusqlite::{OptionalExtension, params};

use super::{LINK_COLUMN_COUNT, LINK_COLUMNS, LinkRow, Store, StoreError, from_sql, link_row, to_sql};

/// The broadcast in progress: what is copied, where progress shows, and how far it got
/// (`cursor`: the highest user id already handled; users are walked in id order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BroadcastRow {
    pub admin_chat: i64,
    pub from_chat: i64,
    pub message_id: i32,
    pub progress_message: i32,
    pub cursor: u64,
    pub sent: u64,
    pub failed: u64,
    pub blocked: u64,
    pub started_at: u64,
}

impl Store {
    /// When `user` made each link after `since` (the daily limit's window), oldest first; at
    /// most `limit` (the newest beyond it do not change when a slot frees).
    pub fn link_times_since(&self, user: u64, since: u64, limit: u32) -> Result<Vec<u64>, StoreError> {
        let mut q = self
            .conn()
            .prepare_cached("SELECT at FROM link_events WHERE user_id = ?1 AND at > ?2 ORDER BY at DESC LIMIT ?3")?;
        let rows = q.query_map(params![to_sql(user), to_sql(since), i64::from(limit)], |r| r.get::<_, i64>(0))?;
        let mut times: Vec<u64> = rows.map(|r| r.map(from_sql)).collect::<Result<_, _>>()?;
        times.reverse();
        Ok(times)
    }

    /// Gives back the daily-limit event of a link `user` made at `at` whose message never reached
    /// them (the link itself stays: the message may have landed after all).
    pub fn refund_link_event(&self, user: u64, at: u64) -> Result<(), StoreError> {
        self.conn().execute(
            "DELETE FROM link_events WHERE rowid = (SELECT rowid FROM link_events WHERE user_id = ?1 AND at = ?2 LIMIT 1)",
            params![to_sql(user), to_sql(at)],
        )?;
        Ok(())
    }

    /// Links made by anyone after `since`.
    pub fn links_made_since(&self, since: u64) -> Result<u64, StoreError> {
        let n =
            self.conn().query_row("SELECT count(*) FROM link_events WHERE at > ?1", params![to_sql(since)], |r| {
                r.get::<_, i64>(0)
            })?;
        Ok(from_sql(n))
    }

    /// Links that still work at `now`: not revoked, not expired.
    pub fn valid_link_count(&self, now: u64) -> Result<u64, StoreError> {
        let n = self.conn().query_row(
            "SELECT count(*) FROM links WHERE revoked = 0 AND (expires_at = 0 OR expires_at > ?1)",
            params![to_sql(now)],
            |r| r.get::<_, i64>(0),
        )?;
        Ok(from_sql(n))
    }

    /// `owner`'s newest link to the file `file_unique_id` that still works at `now` (not revoked,
    /// not expired): what a resend of the same file answers with.
    pub fn live_link_for_file(
        &self,
        owner: u64,
        file_unique_id: &str,
        now: u64,
    ) -> Result<Option<LinkRow>, StoreError> {
        let sql = format!(
            "SELECT {LINK_COLUMNS} FROM links
             WHERE owner = ?1 AND file_unique_id = ?2 AND revoked = 0 AND (expires_at = 0 OR expires_at > ?3)
             ORDER BY created_at DESC, update_id DESC LIMIT 1"
        );
        let mut q = self.conn().prepare_cached(&sql)?;
        Ok(q.query_row(params![to_sql(owner), file_unique_id, to_sql(now)], link_row).optional()?)
    }

    /// Marks link `id` revoked; false if there is no such link.
    pub fn revoke_link(&self, id: u64) -> Result<bool, StoreError> {
        let Ok(sql_id) = i64::try_from(id) else { return Ok(false) };
        let revoked = self.conn().execute("UPDATE links SET revoked = 1 WHERE id = ?1", params![sql_id])? > 0;
        self.forget_link(id);
        Ok(revoked)
    }

    /// How many of `owner`'s links still work at `now`.
    pub fn user_link_count(&self, owner: u64, now: u64) -> Result<u64, StoreError> {
        let n = self.conn().query_row(
            "SELECT count(*) FROM links WHERE owner = ?1 AND revoked = 0 AND (expires_at = 0 OR expires_at > ?2)",
            params![to_sql(owner), to_sql(now)],
            |r| r.get::<_, i64>(0),
        )?;
        Ok(from_sql(n))
    }

    /// One page of `owner`'s working links, newest first (within a second, by the update that
    /// made them; ids are random), each with its stored download count.
    pub fn user_links(&self, owner: u64, now: u64, offset: u64, limit: u32) -> Result<Vec<(LinkRow, u64)>, StoreError> {
        let sql = format!(
            "SELECT {LINK_COLUMNS}, downloads FROM links
             WHERE owner = ?1 AND revoked = 0 AND (expires_at = 0 OR expires_at > ?2)
             ORDER BY created_at DESC, update_id DESC, id DESC LIMIT ?3 OFFSET ?4"
        );
        let mut q = self.conn().prepare_cached(&sql)?;
        let rows = q.query_map(params![to_sql(owner), to_sql(now), i64::from(limit), to_sql(offset)], |r| {
            Ok((link_row(r)?, from_sql(r.get(LINK_COLUMN_COUNT)?)))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Adds counted downloads to their links, in one transaction.
    pub fn add_downloads(&self, counts: &[(u64, u64)]) -> Result<(), StoreError> {
        let tx = self.conn().unchecked_transaction()?;
        {
            let mut q = tx.prepare_cached("UPDATE links SET downloads = downloads + ?2 WHERE id = ?1")?;
            for &(id, n) in counts {
                q.execute(params![to_sql(id), to_sql(n)])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The `limit` users whose links served most in `month`, most first: id, bytes, first name
    /// (if the user is known).
    pub fn top_bandwidth_users(&self, month: &str, limit: u32) -> Result<Vec<(u64, u64, Option<String>)>, StoreError> {
        let mut q = self.conn().prepare_cached(
            "SELECT b.user_id, b.bytes, u.first_name FROM bandwidth_users b LEFT JOIN users u ON u.id = b.user_id
             WHERE b.month = ?1 ORDER BY b.bytes DESC, b.user_id LIMIT ?2",
        )?;
        let rows = q.query_map(params![month, i64::from(limit)], |r| {
            Ok((from_sql(r.get(0)?), from_sql(r.get(1)?), r.get(2)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Users whose links served at least `bytes` in `month`, as flushed.
    pub fn bandwidth_users_at_least(&self, month: &str, bytes: u64) -> Result<u64, StoreError> {
        let n = self.conn().query_row(
            "SELECT count(*) FROM bandwidth_users WHERE month = ?1 AND bytes >= ?2",
            params![month, to_sql(bytes)],
            |r| r.get::<_, i64>(0),
        )?;
        Ok(from_sql(n))
    }

    /// Up to `limit` ids of users who did not block the bot and are not banned, above `after`, in id order.
    pub fn reachable_users_after(&self, after: u64, limit: u32) -> Result<Vec<u64>, StoreError> {
        let mut q =
            self.conn().prepare_cached("SELECT id FROM users WHERE blocked = 0 AND id > ?1 AND id NOT IN (SELECT user_id FROM bans) ORDER BY id LIMIT ?2")?;
        let rows = q.query_map(params![to_sql(after), i64::from(limit)], |r| r.get::<_, i64>(0))?;
        Ok(rows.map(|r| r.map(from_sql)).collect::<Result<_, _>>()?)
    }

    /// How many users who did not block the bot and are not banned have an id above `after`.
    pub fn reachable_user_count_after(&self, after: u64) -> Result<u64, StoreError> {
        let n = self.conn().query_row(
            "SELECT count(*) FROM users WHERE blocked = 0 AND id > ?1 AND id NOT IN (SELECT user_id FROM bans)",
            params![to_sql(after)],
            |r| r.get::<_, i64>(0),
        )?;
        Ok(from_sql(n))
    }

    /// `user` blocked the bot (403): broadcasts skip them from now on.
    pub fn mark_blocked(&self, user: u64) -> Result<(), StoreError> {
        self.conn().execute("UPDATE users SET blocked = 1 WHERE id = ?1", params![to_sql(user)])?;
        Ok(())
    }

    /// Users who blocked the bot.
    pub fn blocked_user_count(&self) -> Result<u64, StoreError> {
        Ok(from_sql(self.conn().query_row("SELECT count(*) FROM users WHERE blocked = 1", [], |r| r.get(0))?))
    }

    /// Stores the broadcast's progress (the one row).
    pub fn save_broadcast(&self, b: &BroadcastRow) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO broadcast(id, admin_chat, from_chat, message_id, progress_message, cursor, sent, failed,
                blocked, started_at) VALUES(1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT(id) DO UPDATE SET cursor = excluded.cursor, sent = excluded.sent,
                failed = excluded.failed, blocked = excluded.blocked,
                progress_message = excluded.progress_message",
            params![
                b.admin_chat,
                b.from_chat,
                b.message_id,
                b.progress_message,
                to_sql(b.cursor),
                to_sql(b.sent),
                to_sql(b.failed),
                to_sql(b.blocked),
                to_sql(b.started_at)
            ],
        )?;
        Ok(())
    }

    /// The broadcast in progress, if one was cut off or is running.
    pub fn broadcast(&self) -> Result<Option<BroadcastRow>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT admin_chat, from_chat, message_id, progress_message, cursor, sent, failed, blocked, started_at
                 FROM broadcast WHERE id = 1",
                [],
                |r| {
                    Ok(BroadcastRow {
                        admin_chat: r.get(0)?,
                        from_chat: r.get(1)?,
                        message_id: r.get(2)?,
                        progress_message: r.get(3)?,
                        cursor: from_sql(r.get(4)?),
                        sent: from_sql(r.get(5)?),
                        failed: from_sql(r.get(6)?),
                        blocked: from_sql(r.get(7)?),
                        started_at: from_sql(r.get(8)?),
                    })
                },
            )
            .optional()?)
    }

    /// The broadcast ended (finished or cancelled).
    pub fn clear_broadcast(&self) -> Result<(), StoreError> {
        self.conn().execute("DELETE FROM broadcast", [])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(id: u64, owner: u64, created_at: u64, expires_at: u64) -> LinkRow {
        LinkRow {
            id,
            owner,
            file_id: "F".into(),
            file_unique_id: "U".into(),
            file_name: format!("f{id}"),
            file_size: 1,
            mime: "text/plain".into(),
            created_at,
            expires_at,
            update_id: Some(id as i64),
            revoked: false,
            source: None,
        }
    }

    #[test]
    fn every_stored_link_is_an_event_of_the_daily_window() {
        let s = Store::open_in_memory().unwrap();
        for (i, at) in [100, 200, 300].into_iter().enumerate() {
            s.insert_link(&link(i as u64 + 1, 7, at, 0)).unwrap();
        }
        assert_eq!(s.link_times_since(7, 100, 10).unwrap(), [200, 300]);
        assert_eq!(s.link_times_since(7, 0, 2).unwrap(), [200, 300], "the newest ones");
        assert_eq!(s.links_made_since(0).unwrap(), 3);
        assert!(s.link_times_since(8, 0, 10).unwrap().is_empty());
    }

    #[test]
    fn a_file_is_found_among_its_owners_live_links_only() {
        let s = Store::open_in_memory().unwrap();
        s.insert_link(&link(1, 7, 100, 0)).unwrap();
        s.insert_link(&LinkRow { file_unique_id: "V".into(), ..link(2, 7, 200, 0) }).unwrap();
        s.insert_link(&link(3, 8, 300, 0)).unwrap();
        let found = |owner, unique: &str, now| s.live_link_for_file(owner, unique, now).unwrap().map(|l| l.id);
        assert_eq!(found(7, "U", 1000), Some(1));
        assert_eq!(found(7, "V", 1000), Some(2));
        assert_eq!(found(8, "U", 1000), Some(3), "another owner's link to the same file is theirs");
        assert_eq!(found(9, "U", 1000), None);
        s.revoke_link(1).unwrap();
        assert_eq!(found(7, "U", 1000), None, "revoked");
        s.insert_link(&link(4, 7, 400, 500)).unwrap();
        assert_eq!(found(7, "U", 499), Some(4));
        assert_eq!(found(7, "U", 500), None, "expired");
        s.insert_link(&link(5, 7, 600, 0)).unwrap();
        s.insert_link(&link(6, 7, 700, 0)).unwrap();
        assert_eq!(found(7, "U", 1000), Some(6), "the newest");
        let plan: String = s
            .conn()
            .query_row(
                "EXPLAIN QUERY PLAN SELECT id FROM links WHERE owner = 7 AND file_unique_id = 'U' AND revoked = 0",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("links_owner_file"), "{plan}");
    }

    #[test]
    fn a_users_links_come_newest_first_without_revoked_or_expired_ones() {
        let s = Store::open_in_memory().unwrap();
        s.insert_link(&link(1, 7, 10, 0)).unwrap();
        s.insert_link(&link(2, 7, 20, 50)).unwrap();
        s.insert_link(&link(3, 7, 30, 0)).unwrap();
        s.insert_link(&link(4, 8, 40, 0)).unwrap();
        assert!(s.revoke_link(3).unwrap() && !s.revoke_link(99).unwrap());
        s.add_downloads(&[(1, 4), (1, 1)]).unwrap();
        let page = s.user_links(7, 60, 0, 10).unwrap();
        assert_eq!(page.iter().map(|(l, d)| (l.id, *d)).collect::<Vec<_>>(), [(1, 5)]);
        assert_eq!(s.user_links(7, 40, 0, 10).unwrap().len(), 2);
        assert_eq!((s.user_link_count(7, 40).unwrap(), s.valid_link_count(40).unwrap()), (2, 3));
        assert!(s.link(3).unwrap().unwrap().revoked);
    }

    #[test]
    fn users_are_ranked_by_this_months_bytes_and_counted_over_a_share() {
        let s = Store::open_in_memory().unwrap();
        s.upsert_user(7, "Ann", None, 0).unwrap();
        s.add_bandwidth("2026-11", 600, &[(7, 100), (8, 500)]).unwrap();
        s.add_bandwidth("2026-11", 300, &[(7, 300)]).unwrap();
        s.add_bandwidth("2026-10", 900, &[(9, 900)]).unwrap();
        let top = s.top_bandwidth_users("2026-11", 5).unwrap();
        assert_eq!(top, [(8, 500, None), (7, 400, Some("Ann".to_owned()))]);
        assert_eq!(s.top_bandwidth_users("2026-11", 1).unwrap().len(), 1);
        assert_eq!((s.user_bandwidth("2026-11", 7).unwrap(), s.user_bandwidth("2026-11", 9).unwrap()), (400, 0));
        assert_eq!(s.bandwidth_users_at_least("2026-11", 400).unwrap(), 2);
        assert_eq!(s.bandwidth_users_at_least("2026-11", 401).unwrap(), 1);
    }

    #[test]
    fn blocked_users_are_skipped_and_the_broadcast_row_round_trips() {
        let s = Store::open_in_memory().unwrap();
        for id in 1..=5 {
            s.upsert_user(id, "u", None, 0).unwrap();
        }
        s.mark_blocked(3).unwrap();
        assert_eq!(s.reachable_users_after(1, 10).unwrap(), [2, 4, 5]);
        assert_eq!(s.reachable_users_after(0, 2).unwrap(), [1, 2]);
        let mut b = BroadcastRow {
            admin_chat: 1,
            from_chat: 1,
            message_id: 9,
            progress_message: 10,
            cursor: 0,
            sent: 0,
            failed: 0,
            blocked: 0,
            started_at: 5,
        };
        s.save_broadcast(&b).unwrap();
        b.cursor = 4;
        b.sent = 3;
        s.save_broadcast(&b).unwrap();
        assert_eq!(s.broadcast().unwrap(), Some(b));
        s.clear_broadcast().unwrap();
        assert_eq!(s.broadcast().unwrap(), None);
    }
}
