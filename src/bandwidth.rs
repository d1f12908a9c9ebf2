//! The month's bandwidth, in one place: the limit (`BANDWIDTH_LIMIT_GB`), the bytes counted in
//! memory, how much of that is flushed to the store, and this month's stored total kept here, so
//! a download or an intake asks [`Bandwidth::blocked_until`] without reading SQLite. The store is
//! read once at start and written by [`Bandwidth::flush`] (every minute and at shutdown), with
//! the bytes per link owner ([`owner_bytes`], counted by the stream tracker); one owner's links
//! may use `BANDWIDTH_USER_SHARE` percent of the limit ([`Bandwidth::owner_blocked_until`]).

pub mod owner_bytes;

use std::cell::Cell;

use crate::store::{Store, StoreError};
use crate::units::{month_key, next_month_start};

/// The month's bytes: what the store holds and what is counted since the last flush.
pub struct Bandwidth {
    /// Bytes per calendar month (UTC); `None` = unlimited.
    limit: Option<u64>,
    /// Bytes per month one owner's links may serve; `None` = no share limit.
    user_limit: Option<u64>,
    /// Of the bytes counted since start (the stream tracker's `bytes_sent`), how many are flushed.
    flushed: Cell<u64>,
    /// The stored total of the month that ends at `month_end`.
    stored: Cell<u64>,
    month_end: Cell<u64>,
}

impl Bandwidth {
    /// `stored`: this month's total in the store at `now`.
    pub fn new(limit: Option<u64>, stored: u64, now: u64) -> Bandwidth {
        Bandwidth {
            limit,
            user_limit: None,
            flushed: Cell::new(0),
            stored: Cell::new(stored),
            month_end: Cell::new(next_month_start(now)),
        }
    }

    /// Reads this month's total from `store` (a failure counts from zero and says so).
    pub fn load(limit: Option<u64>, store: &Store, now: u64) -> Bandwidth {
        let stored = store.bandwidth(&month_key(now)).unwrap_or_else(|e| {
            log::warn!("cannot read this month's bandwidth, counting from zero: {e}");
            0
        });
        Bandwidth::new(limit, stored, now)
    }

    /// Limits one owner's links to `share` percent of the month (see [`user_share`]).
    pub fn with_user_share(self, share: u8) -> Bandwidth {
        Bandwidth { user_limit: user_share(self.limit, share), ..self }
    }

    /// Bytes per month one owner's links may serve; `None` = no share limit.
    pub fn user_limit(&self) -> Option<u64> {
        self.user_limit
    }

    /// When the links of an owner who used `owner_used` bytes this month stop: the start of next
    /// month, once the share is used. Admins (`admin`) have no share limit.
    pub fn owner_blocked_until(&self, owner_used: u64, admin: bool, now: u64) -> Option<u64> {
        let limit = self.user_limit.filter(|_| !admin)?;
        (owner_used >= limit).then(|| next_month_start(now))
    }

    /// Bytes served this calendar month at `now`, given `sent` counted since start. Past the end
    /// of the month the stored total belongs to the month before; the unflushed bytes go to the
    /// new month at the next flush, so they count for it now.
    pub fn used(&self, sent: u64, now: u64) -> u64 {
        let stored = if now < self.month_end.get() { self.stored.get() } else { 0 };
        stored + sent.saturating_sub(self.flushed.get())
    }

    /// When the limit is reached: the start of next month, when links work again.
    pub fn blocked_until(&self, sent: u64, now: u64) -> Option<u64> {
        let limit = self.limit?;
        (self.used(sent, now) >= limit).then(|| next_month_start(now))
    }

    /// Adds the bytes counted since the last flush to this month's row, and `owners` (bytes per
    /// link owner, the same bytes) to theirs, in one transaction; returns how many. On error
    /// nothing is marked flushed, so the next flush carries them.
    pub fn flush(&self, store: &Store, sent: u64, owners: &[(u64, u64)], now: u64) -> Result<u64, StoreError> {
        let delta = sent.saturating_sub(self.flushed.get());
        if delta == 0 && owners.is_empty() {
            return Ok(0);
        }
        store.add_bandwidth(&month_key(now), delta, owners)?;
        self.flushed.set(sent);
        if now >= self.month_end.get() {
            self.stored.set(0);
            self.month_end.set(next_month_start(now));
        }
        self.stored.set(self.stored.get() + delta);
        Ok(delta)
    }
}

/// One owner's part of `limit`: `share` percent, rounded up, so a share of a limit is never 0
/// bytes; `None` without a limit or at 100 %.
pub fn user_share(limit: Option<u64>, share: u8) -> Option<u64> {
    let limit = limit?;
    // u128: limit × 100 cannot overflow, and the result is at most `limit`.
    (share < 100).then(|| (u128::from(limit) * u128::from(share)).div_ceil(100) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-15 12:00 UTC, and the start of December.
    const NOW: u64 = 1_794_744_000;
    const DECEMBER: u64 = 1_796_083_200;

    #[test]
    fn the_limit_blocks_until_next_month_from_stored_and_counted_bytes() {
        let b = Bandwidth::new(Some(100), 60, NOW);
        assert_eq!((b.used(39, NOW), b.blocked_until(39, NOW)), (99, None));
        assert_eq!(b.blocked_until(40, NOW), Some(DECEMBER));
        assert_eq!(Bandwidth::new(None, u64::MAX / 2, NOW).blocked_until(1 << 40, NOW), None, "unlimited");
    }

    #[test]
    fn a_new_month_starts_from_what_is_not_flushed_yet() {
        let b = Bandwidth::new(Some(100), 99, NOW);
        assert_eq!(b.blocked_until(1, NOW), Some(DECEMBER));
        assert_eq!((b.used(1, DECEMBER), b.blocked_until(1, DECEMBER)), (1, None));
    }

    #[test]
    fn a_flush_moves_counted_bytes_into_the_stored_total() {
        let store = Store::open_in_memory().unwrap();
        let b = Bandwidth::load(Some(1000), &store, NOW);
        assert_eq!(b.flush(&store, 300, &[(7, 300)], NOW).unwrap(), 300);
        assert_eq!(b.flush(&store, 300, &[], NOW).unwrap(), 0, "nothing new");
        assert_eq!(store.user_bandwidth(&month_key(NOW), 7).unwrap(), 300, "the owner's bytes in the same flush");
        assert_eq!((b.used(350, NOW), store.bandwidth(&month_key(NOW)).unwrap()), (350, 300));
        assert_eq!(Bandwidth::load(Some(1000), &store, NOW).used(0, NOW), 300, "a restart reads the row");
        assert_eq!(b.flush(&store, 400, &[(7, 100)], DECEMBER).unwrap(), 100);
        assert_eq!(store.user_bandwidth(&month_key(DECEMBER), 7).unwrap(), 100);
        assert_eq!((b.used(400, DECEMBER), store.bandwidth(&month_key(DECEMBER)).unwrap()), (100, 100));
    }

    #[test]
    fn a_share_is_the_limit_times_the_percentage_rounded_up() {
        assert_eq!(user_share(Some(1_000_000), 25), Some(250_000));
        assert_eq!(user_share(Some(1_000_001), 25), Some(250_001), "rounded up");
        assert_eq!(user_share(Some(3), 1), Some(1), "never 0 bytes");
        assert_eq!(user_share(Some(u64::MAX), 99), Some((u128::from(u64::MAX) * 99).div_ceil(100) as u64));
        assert_eq!(user_share(Some(1_000_000), 100), None, "100 % is no share limit");
        assert_eq!(user_share(None, 25), None, "no limit, no share");
    }

    #[test]
    fn an_owner_past_the_share_is_blocked_until_next_month_and_admins_never() {
        let b = Bandwidth::new(Some(1000), 0, NOW).with_user_share(25);
        assert_eq!(b.user_limit(), Some(250));
        assert_eq!(b.owner_blocked_until(249, false, NOW), None);
        assert_eq!(b.owner_blocked_until(250, false, NOW), Some(DECEMBER));
        assert_eq!(b.owner_blocked_until(10_000, true, NOW), None, "admins are exempt");
        let off = Bandwidth::new(Some(1000), 0, NOW).with_user_share(100);
        assert_eq!(off.owner_blocked_until(10_000, false, NOW), None, "share 100 = off");
        assert_eq!(Bandwidth::new(None, 0, NOW).with_user_share(25).owner_blocked_until(u64::MAX, false, NOW), None);
    }
}
