//! When each refused user (banned, or not in `ALLOWED_USERS`) was last told so, in a fixed table:
//! they get one short reply per [`TOLD_EVERY`], then silence. Pure: every call takes `now`.

use crate::memory::fixed_table::FixedTable;

/// Refused users remembered at once; past this the one told longest ago gives way (and may be
/// told again before the hour is out).
pub const TOLD_SLOTS: usize = 1024;
/// How often one refused user is told at most.
pub const TOLD_EVERY: u64 = 3600;

/// When each refused user was last told, by user id.
pub struct Told {
    table: FixedTable<u64, u64>,
}

impl Default for Told {
    fn default() -> Self {
        Told { table: FixedTable::new(TOLD_SLOTS) }
    }
}

impl Told {
    /// Whether `user` is to be told at `now` (not told in the last [`TOLD_EVERY`]); if so, records it.
    pub fn tell(&mut self, user: u64, now: u64) -> bool {
        if self.table.get(&user).is_some_and(|&at| now < at + TOLD_EVERY) {
            return false;
        }
        self.table.insert(user, now, |&at| now >= at + TOLD_EVERY, |&at| at);
        true
    }

    /// Forgets `user` (banned or unbanned: the next refusal is a new one and is told).
    pub fn forget(&mut self, user: u64) {
        self.table.retain(|k, _| *k != user);
    }

    #[cfg(test)]
    /// Users remembered now.
    pub fn len(&self) -> usize {
        self.table.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_is_told_once_an_hour_and_again_after_being_forgotten() {
        let mut t = Told::default();
        assert!(t.tell(7, 100));
        assert!(!t.tell(7, 100 + TOLD_EVERY - 1));
        assert!(t.tell(7, 100 + TOLD_EVERY));
        t.forget(7);
        assert!(t.tell(7, 100 + TOLD_EVERY + 1));
    }

    #[test]
    fn the_table_never_holds_more_than_its_slots() {
        let mut t = Told::default();
        for user in 0..(TOLD_SLOTS as u64 * 2) {
            assert!(t.tell(user, 1000 + user));
        }
        assert_eq!(t.len(), TOLD_SLOTS);
        assert!(!t.tell(TOLD_SLOTS as u64 * 2 - 1, 5000), "the newest are kept");
    }
}
