//! The month's bandwidth in the store: the total per month and each link owner's share, written
//! together at each flush; months past the kept ones are purged.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, from_sql, to_sql};

impl Store {
    /// Bytes `user`'s links served in `month` (`YYYY-MM`), as flushed so far.
    pub fn user_bandwidth(&self, month: &str, user: u64) -> Result<u64, StoreError> {
        if let Some(bytes) = self.owner_bytes.borrow().get(month, user) {
            return Ok(bytes);
        }
        let bytes = self
            .conn()
            .prepare_cached("SELECT bytes FROM bandwidth_users WHERE month = ?1 AND user_id = ?2")?
            .query_row(params![month, to_sql(user)], |r| r.get::<_, i64>(0))
            .optional()?
            .map_or(0, from_sql);
        self.owner_bytes.borrow_mut().put(month, user, bytes);
        Ok(bytes)
    }

    /// Adds `bytes` to the month `month` (`YYYY-MM`), and each `(user, bytes)` of `users` to
    /// that user's row of the month, in one transaction.
    pub fn add_bandwidth(&self, month: &str, bytes: u64, users: &[(u64, u64)]) -> Result<(), StoreError> {
        self.owner_bytes.borrow_mut().clear();
        let tx = self.conn.unchecked_transaction()?;
        tx.execute(
            "INSERT INTO bandwidth(month, bytes) VALUES(?1, ?2)
             ON CONFLICT(month) DO UPDATE SET bytes = bytes + excluded.bytes",
            params![month, to_sql(bytes)],
        )?;
        {
            let mut add = tx.prepare_cached(
                "INSERT INTO bandwidth_users(month, user_id, bytes) VALUES(?1, ?2, ?3)
                 ON CONFLICT(month, user_id) DO UPDATE SET bytes = bytes + excluded.bytes",
            )?;
            for &(user, n) in users {
                add.execute(params![month, to_sql(user), to_sql(n)])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Bytes served in `month` (`YYYY-MM`), as flushed so far.
    pub fn bandwidth(&self, month: &str) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT bytes FROM bandwidth WHERE month = ?1", params![month], |r| r.get::<_, i64>(0))
            .optional()?
            .map_or(0, from_sql))
    }

    /// Deletes bandwidth rows, the month's and the users', of months before `month`; returns how
    /// many months.
    pub fn purge_bandwidth_before(&self, month: &str) -> Result<usize, StoreError> {
        self.owner_bytes.borrow_mut().clear();
        let tx = self.conn.unchecked_transaction()?;
        let months = tx.execute("DELETE FROM bandwidth WHERE month < ?1", params![month])?;
        tx.execute("DELETE FROM bandwidth_users WHERE month < ?1", params![month])?;
        tx.commit()?;
        Ok(months)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bandwidth_accumulates_per_month_and_per_user_and_old_months_go() {
        let store = Store::open_in_memory().unwrap();
        store.add_bandwidth("2026-08", 5, &[(7, 5)]).unwrap();
        store.add_bandwidth("2026-11", 10, &[(7, 4), (8, 6)]).unwrap();
        store.add_bandwidth("2026-11", 32, &[(7, 32)]).unwrap();
        assert_eq!(store.bandwidth("2026-11").unwrap(), 42);
        assert_eq!(store.bandwidth("2026-10").unwrap(), 0);
        assert_eq!((store.user_bandwidth("2026-11", 7).unwrap(), store.user_bandwidth("2026-11", 8).unwrap()), (36, 6));
        assert_eq!(store.user_bandwidth("2026-11", 9).unwrap(), 0);
        assert_eq!(store.purge_bandwidth_before("2026-09").unwrap(), 1);
        assert_eq!((store.bandwidth("2026-08").unwrap(), store.user_bandwidth("2026-08", 7).unwrap()), (0, 0));
        assert_eq!(store.user_bandwidth("2026-11", 7).unwrap(), 36, "this month's rows stay");
    }
}
