//! The update journal: every update Telegram handed over and no handler finished yet, with the
//! lane (chat) it runs in, so that intake is confirmed to Telegram at once and worked through
//! chat by chat, round robin, with only the updates in flight held in memory.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};

/// The `lane` value of updates without a chat (they share one lane).
const NO_CHAT: i64 = i64::MIN;

/// One journaled update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalRow {
    pub update_id: i64,
    /// Its chat, or `None` for the shared lane.
    pub lane: Option<i64>,
    /// The update's JSON, as Telegram sent it.
    pub body: String,
}

/// A new update for [`Store::journal_batch`].
pub struct NewUpdate {
    pub update_id: i64,
    pub lane: Option<i64>,
    pub body: String,
}

/// What [`Store::journal_batch`] did with a batch.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Journaled {
    /// Rows added (updates already journaled are not added twice).
    pub added: usize,
    /// Lanes that reached the bound this batch and were not told yet: `(chat, updates waiting)`.
    /// Each is told once, until its queue has drained.
    pub overflowed: Vec<(i64, usize)>,
    /// Updates dropped because their lane was full.
    pub dropped: usize,
}

fn lane_sql(lane: Option<i64>) -> i64 {
    lane.unwrap_or(NO_CHAT)
}

fn lane_of_sql(v: i64) -> Option<i64> {
    (v != NO_CHAT).then_some(v)
}

impl Store {
    /// Journals `batch` and stores `offset` (past every update seen) in one transaction, before
    /// the next `getUpdates` confirms them to Telegram, which then forgets them. A lane already
    /// holding `per_lane` updates takes no more: those are dropped and counted.
    pub fn journal_batch(&self, batch: &[NewUpdate], offset: i64, per_lane: usize) -> Result<Journaled, StoreError> {
        let tx = self.conn().unchecked_transaction()?;
        let mut done = Journaled::default();
        {
            let mut depth = tx.prepare_cached("SELECT count(*) FROM update_journal WHERE lane = ?1")?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO update_journal(update_id, lane, body, started) VALUES(?1, ?2, ?3, 0)
                 ON CONFLICT(update_id) DO NOTHING",
            )?;
            let mut lane_row =
                tx.prepare_cached("INSERT INTO update_lanes(lane) VALUES(?1) ON CONFLICT(lane) DO NOTHING")?;
            let mut warn =
                tx.prepare_cached("UPDATE update_lanes SET warned = 1 WHERE lane = ?1 AND warned = 0 RETURNING lane")?;
            for u in batch {
                let lane = lane_sql(u.lane);
                let waiting: i64 = depth.query_row(params![lane], |r| r.get(0))?;
                let waiting = usize::try_from(waiting).unwrap_or(usize::MAX);
                if waiting >= per_lane {
                    done.dropped += 1;
                    if u.lane.is_some() && warn.query_row(params![lane], |_| Ok(())).optional()?.is_some() {
                        done.overflowed.push((lane, waiting));
                    }
                    continue;
                }
                done.added += insert.execute(params![u.update_id, lane, u.body])?;
                lane_row.execute(params![lane])?;
            }
        }
        set_offset(&tx, offset)?;
        tx.commit()?;
        Ok(done)
    }

    #[cfg(test)]
    /// Stores the `getUpdates` offset alone.
    pub fn set_poll_offset(&self, offset: i64) -> Result<(), StoreError> {
        set_offset(self.conn(), offset)
    }

    /// Updates journaled and not finished.
    pub fn journal_len(&self) -> Result<usize, StoreError> {
        let n: i64 = self.conn().query_row("SELECT count(*) FROM update_journal", [], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// The highest update id journaled, if any.
    pub fn journal_last_id(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.conn().query_row("SELECT max(update_id) FROM update_journal", [], |r| r.get(0))?)
    }

    /// At start-up: nothing runs yet, so every row may start again; rows from before lanes were
    /// journaled get theirs from `lane_of` (which reads the update's JSON).
    pub fn journal_restart(&self, lane_of: impl Fn(&str) -> Option<i64>) -> Result<(), StoreError> {
        let tx = self.conn().unchecked_transaction()?;
        tx.execute("UPDATE update_journal SET started = 0 WHERE started != 0", [])?;
        let unlaned: Vec<(i64, String)> = {
            let mut q = tx.prepare("SELECT update_id, body FROM update_journal WHERE lane IS NULL")?;
            let rows = q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        for (id, body) in unlaned {
            let lane = lane_sql(lane_of(&body));
            tx.execute("UPDATE update_journal SET lane = ?2 WHERE update_id = ?1", params![id, lane])?;
            tx.execute("INSERT INTO update_lanes(lane) VALUES(?1) ON CONFLICT(lane) DO NOTHING", params![lane])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The next updates to start, at most `limit`: the oldest update of each lane that has none
    /// running, lanes that started a job least recently first (round robin; a lane that never
    /// ran goes first), then by update id.
    pub fn journal_next(&self, limit: usize) -> Result<Vec<JournalRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut q = self.conn().prepare_cached(
            "SELECT j.update_id, j.lane, j.body
             FROM (SELECT lane, min(update_id) AS first FROM update_journal GROUP BY lane) f
             JOIN update_journal j ON j.update_id = f.first
             LEFT JOIN update_lanes t ON t.lane = f.lane
             WHERE j.started = 0
             ORDER BY ifnull(t.turn, 0), f.first
             LIMIT ?1",
        )?;
        let rows = q.query_map(params![limit], |r| {
            Ok(JournalRow { update_id: r.get(0)?, lane: lane_of_sql(r.get(1)?), body: r.get(2)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Update `id` of `lane` starts now, as that lane's `turn` (a counter that only grows).
    pub fn journal_start(&self, id: i64, lane: Option<i64>, turn: u64) -> Result<(), StoreError> {
        let tx = self.conn().unchecked_transaction()?;
        tx.prepare_cached("UPDATE update_journal SET started = 1 WHERE update_id = ?1")?.execute(params![id])?;
        tx.prepare_cached(
            "INSERT INTO update_lanes(lane, turn) VALUES(?1, ?2) ON CONFLICT(lane) DO UPDATE SET turn = excluded.turn",
        )?
        .execute(params![lane_sql(lane), i64::try_from(turn).unwrap_or(i64::MAX)])?;
        tx.commit()?;
        Ok(())
    }

    /// The highest turn any lane holds (the counter resumes past it after a restart).
    pub fn journal_last_turn(&self) -> Result<u64, StoreError> {
        let t: Option<i64> = self.conn().query_row("SELECT max(turn) FROM update_lanes", [], |r| r.get(0))?;
        Ok(t.map_or(0, |t| u64::try_from(t).unwrap_or(0)))
    }

    /// Update `id` of `lane` finished: it leaves the journal, and a lane left empty leaves the
    /// lane table (which also ends its "slow down" notice).
    pub fn journal_finish(&self, id: i64, lane: Option<i64>) -> Result<(), StoreError> {
        let tx = self.conn().unchecked_transaction()?;
        tx.prepare_cached("DELETE FROM update_journal WHERE update_id = ?1")?.execute(params![id])?;
        tx.prepare_cached(
            "DELETE FROM update_lanes WHERE lane = ?1
             AND NOT EXISTS (SELECT 1 FROM update_journal WHERE lane = ?1)",
        )?
        .execute(params![lane_sql(lane)])?;
        tx.commit()?;
        Ok(())
    }
}

fn set_offset(conn: &rusqlite::Connection, offset: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO kv(key, value) VALUES('poll_offset', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![offset.to_string()])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(id: i64, lane: i64) -> NewUpdate {
        NewUpdate { update_id: id, lane: Some(lane), body: format!("{{\"u\":{id}}}") }
    }

    /// Starts what [`Store::journal_next`] offers (at most `n`), as the dispatcher does.
    fn start(store: &Store, n: usize, turn: &mut u64) -> Vec<i64> {
        let rows = store.journal_next(n).unwrap();
        for row in &rows {
            *turn += 1;
            store.journal_start(row.update_id, row.lane, *turn).unwrap();
        }
        rows.iter().map(|r| r.update_id).collect()
    }

    #[test]
    fn lanes_take_turns_and_each_keeps_its_order() {
        let store = Store::open_in_memory().unwrap();
        let batch: Vec<NewUpdate> = (1..=5).map(|id| update(id, 7)).chain([update(6, 8), update(7, 9)]).collect();
        assert_eq!(store.journal_batch(&batch, 8, 500).unwrap().added, 7);
        let mut turn = 0;
        // Two may run: chat 7's first, then chat 8's (chat 7 has one running already).
        assert_eq!(start(&store, 2, &mut turn), [1, 6]);
        assert_eq!(start(&store, 5, &mut turn), [7], "one running update per lane");
        store.journal_finish(1, Some(7)).unwrap();
        store.journal_finish(6, Some(8)).unwrap();
        store.journal_batch(&[update(9, 10)], 10, 500).unwrap();
        // Chat 10 never ran: it goes before chat 7, which just had a turn.
        assert_eq!(start(&store, 1, &mut turn), [9]);
        assert_eq!(start(&store, 1, &mut turn), [2]);
        assert_eq!((store.journal_len().unwrap(), store.poll_offset().unwrap()), (6, Some(10)));
    }

    #[test]
    fn a_full_lane_drops_what_comes_and_says_so_once_until_it_drains() {
        let store = Store::open_in_memory().unwrap();
        let batch: Vec<NewUpdate> = (1..=4).map(|id| update(id, 7)).collect();
        let done = store.journal_batch(&batch, 5, 3).unwrap();
        assert_eq!(done, Journaled { added: 3, overflowed: vec![(7, 3)], dropped: 1 });
        let done = store.journal_batch(&[update(5, 7)], 6, 3).unwrap();
        assert_eq!(done, Journaled { added: 0, overflowed: vec![], dropped: 1 }, "told once");
        let mut turn = 0;
        let finish_one = |turn: &mut u64| {
            for id in start(&store, 1, turn) {
                store.journal_finish(id, Some(7)).unwrap();
            }
        };
        finish_one(&mut turn);
        assert_eq!(store.journal_batch(&[update(8, 7)], 9, 3).unwrap().added, 1, "room again");
        for _ in 0..3 {
            finish_one(&mut turn);
        }
        assert_eq!(store.journal_len().unwrap(), 0);
        let done = store.journal_batch(&(10..14).map(|id| update(id, 7)).collect::<Vec<_>>(), 14, 3).unwrap();
        assert_eq!(done.overflowed, [(7, 3)], "drained, then full again: told again");
    }

    #[test]
    fn a_restart_lets_started_rows_run_again_and_gives_old_rows_their_lane() {
        let store = Store::open_in_memory().unwrap();
        store.journal_batch(&[update(1, 7), update(2, 7)], 3, 500).unwrap();
        let mut turn = 0;
        assert_eq!(start(&store, 4, &mut turn), [1]);
        assert!(store.journal_next(4).unwrap().is_empty(), "chat 7 is busy");
        store.conn().execute("INSERT INTO update_journal(update_id, body) VALUES(0, '{\"chat\":5}')", []).unwrap();
        store.journal_restart(|body| body.contains("chat").then_some(5)).unwrap();
        let next = store.journal_next(4).unwrap();
        assert_eq!(next.iter().map(|r| (r.update_id, r.lane)).collect::<Vec<_>>(), [(0, Some(5)), (1, Some(7))]);
        assert_eq!((store.journal_last_id().unwrap(), store.journal_last_turn().unwrap()), (Some(2), 1));
    }

    #[test]
    fn updates_without_a_chat_share_one_lane_and_are_never_told_to_slow_down() {
        let store = Store::open_in_memory().unwrap();
        let shared = |id| NewUpdate { update_id: id, lane: None, body: "{}".into() };
        let done = store.journal_batch(&[shared(1), shared(2), shared(3)], 4, 2).unwrap();
        assert_eq!(done, Journaled { added: 2, overflowed: vec![], dropped: 1 });
        let next = store.journal_next(4).unwrap();
        assert_eq!(next.iter().map(|r| (r.update_id, r.lane)).collect::<Vec<_>>(), [(1, None)]);
    }
}
