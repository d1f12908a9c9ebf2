//! Force-subscribe answers: whether a user is a member of `FORCE_SUB_CHANNEL`, as `getChatMember`
//! said at some moment, kept for [`MEMBER_TTL`] in a fixed table. Pure: every call takes `now`.

use crate::memory::fixed_table::FixedTable;

/// Users whose answer is kept at once; past this the oldest answer gives way.
pub const MEMBER_SLOTS: usize = 1024;
/// How long an answer is believed (a user who leaves is noticed within this).
pub const MEMBER_TTL: u64 = 300;

/// `(member, when asked)` by user id.
pub struct MemberCache {
    table: FixedTable<u64, (bool, u64)>,
}

impl Default for MemberCache {
    fn default() -> Self {
        MemberCache { table: FixedTable::new(MEMBER_SLOTS) }
    }
}

impl MemberCache {
    /// The answer for `user` if it is younger than [`MEMBER_TTL`] at `now`.
    pub fn get(&self, user: u64, now: u64) -> Option<bool> {
        self.table.get(&user).filter(|(_, at)| now < at + MEMBER_TTL).map(|(member, _)| *member)
    }

    pub fn put(&mut self, user: u64, member: bool, now: u64) {
        self.table.insert(user, (member, now), |(_, at)| now >= at + MEMBER_TTL, |(_, at)| *at);
    }

    /// Forgets `user`'s answer ("Try again" asks Telegram afresh).
    pub fn forget(&mut self, user: u64) {
        self.table.retain(|k, _| *k != user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_believed_for_the_ttl_then_asked_again() {
        let mut c = MemberCache::default();
        c.put(7, false, 100);
        assert_eq!(c.get(7, 100 + MEMBER_TTL - 1), Some(false));
        assert_eq!(c.get(7, 100 + MEMBER_TTL), None);
        c.put(7, true, 500);
        assert_eq!(c.get(7, 501), Some(true));
        c.forget(7);
        assert_eq!(c.get(7, 501), None);
    }
}
