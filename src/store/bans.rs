//! Queries of the ban list (`/ban`, `/unban`, `/banned`): one row per banned user with who banned
//! them and when, and revoking every link a banned user made.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, from_sql, to_sql};

/// One banned user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BanRow {
    pub user_id: u64,
    /// The admin who banned them.
    pub banned_by: u64,
    /// Unix seconds.
    pub banned_at: u64,
}

impl Store {
    /// Bans `user`; false if they were banned already (the first ban's row stays).
    pub fn ban(&self, user: u64, by: u64, now: u64) -> Result<bool, StoreError> {
        let added = self.conn().execute(
            "INSERT INTO bans(user_id, banned_by, banned_at) VALUES(?1, ?2, ?3) ON CONFLICT(user_id) DO NOTHING",
            params![to_sql(user), to_sql(by), to_sql(now)],
        )?;
        Ok(added > 0)
    }

    /// Lifts `user`'s ban; false if they were not banned.
    pub fn unban(&self, user: u64) -> Result<bool, StoreError> {
        let Ok(user) = i64::try_from(user) else { return Ok(false) };
        Ok(self.conn().execute("DELETE FROM bans WHERE user_id = ?1", params![user])? > 0)
    }

    /// `user`'s ban, if they are banned.
    pub fn ban_of(&self, user: u64) -> Result<Option<BanRow>, StoreError> {
        let Ok(id) = i64::try_from(user) else { return Ok(None) };
        let mut q = self.conn().prepare_cached("SELECT banned_by, banned_at FROM bans WHERE user_id = ?1")?;
        let row = q.query_row(params![id], |r| {
            Ok(BanRow { user_id: user, banned_by: from_sql(r.get(0)?), banned_at: from_sql(r.get(1)?) })
        });
        Ok(row.optional()?)
    }

    pub fn ban_count(&self) -> Result<u64, StoreError> {
        Ok(from_sql(self.conn().query_row("SELECT count(*) FROM bans", [], |r| r.get(0))?))
    }

    /// Up to `limit` bans after the first `offset`, newest first.
    pub fn bans(&self, offset: u64, limit: u32) -> Result<Vec<BanRow>, StoreError> {
        let mut q = self.conn().prepare_cached(
            "SELECT user_id, banned_by, banned_at FROM bans ORDER BY banned_at DESC, user_id LIMIT ?1 OFFSET ?2",
        )?;
        let rows = q.query_map(params![i64::from(limit), to_sql(offset)], |r| {
            Ok(BanRow { user_id: from_sql(r.get(0)?), banned_by: from_sql(r.get(1)?), banned_at: from_sql(r.get(2)?) })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Marks every link of `owner` that still works at `now` revoked; returns how many.
    pub fn revoke_links_of(&self, owner: u64, now: u64) -> Result<usize, StoreError> {
        let revoked = self.conn().execute(
            "UPDATE links SET revoked = 1 WHERE owner = ?1 AND revoked = 0 AND (expires_at = 0 OR expires_at > ?2)",
            params![to_sql(owner), to_sql(now)],
        )?;
        self.forget_links();
        Ok(revoked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::LinkRow;

    fn link(id: u64, owner: u64, expires_at: u64) -> LinkRow {
        LinkRow { owner, expires_at, ..LinkRow::sample(id) }
    }

    #[test]
    fn a_ban_is_kept_once_listed_newest_first_and_lifted() {
        let s = Store::open_in_memory().unwrap();
        assert!(s.ban(5, 1, 100).unwrap());
        assert!(!s.ban(5, 2, 200).unwrap(), "already banned");
        assert!(s.ban(6, 1, 150).unwrap());
        assert_eq!(s.ban_of(5).unwrap(), Some(BanRow { user_id: 5, banned_by: 1, banned_at: 100 }));
        assert_eq!(s.ban_of(7).unwrap(), None);
        assert_eq!(s.ban_count().unwrap(), 2);
        let ids: Vec<u64> = s.bans(0, 10).unwrap().iter().map(|b| b.user_id).collect();
        assert_eq!(ids, [6, 5]);
        assert_eq!(s.bans(1, 10).unwrap().len(), 1);
        assert!(s.unban(5).unwrap());
        assert!(!s.unban(5).unwrap(), "not banned any more");
        assert!(!s.unban(u64::MAX).unwrap());
        assert_eq!(s.ban_of(5).unwrap(), None);
    }

    #[test]
    fn revoking_a_users_links_counts_only_the_ones_that_still_worked() {
        let s = Store::open_in_memory().unwrap();
        s.insert_link(&link(1, 5, 0)).unwrap();
        s.insert_link(&link(2, 5, 50)).unwrap();
        s.insert_link(&link(3, 5, 500)).unwrap();
        s.insert_link(&link(4, 6, 0)).unwrap();
        s.revoke_link(3).unwrap();
        assert_eq!(s.revoke_links_of(5, 100).unwrap(), 1, "link 2 expired, link 3 was revoked already");
        assert!(s.link(1).unwrap().unwrap().revoked);
        assert!(!s.link(4).unwrap().unwrap().revoked, "another user's link stays");
    }

    #[test]
    fn broadcasts_skip_banned_users() {
        let s = Store::open_in_memory().unwrap();
        for id in 1..=4 {
            s.upsert_user(id, "u", None, 0).unwrap();
        }
        s.ban(2, 9, 0).unwrap();
        assert_eq!(s.reachable_users_after(0, 10).unwrap(), [1, 3, 4]);
        assert_eq!(s.reachable_user_count_after(0).unwrap(), 3);
        s.unban(2).unwrap();
        assert_eq!(s.reachable_user_count_after(0).unwrap(), 4);
    }
}
