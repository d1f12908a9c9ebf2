//! The `getFile` answer cache (pure: callers pass `now`): a fixed number of slots mapping a
//! `file_id` to where its bytes are, each kept for less than the one hour Telegram guarantees.

use std::time::{Duration, Instant};

use crate::memory::fixed_table::FixedTable;

/// Answers kept at once; the table never grows past this.
pub const PATH_CACHE_SLOTS: usize = 256;
/// How long an answer is used: Telegram keeps a `file_path` valid for at least an hour.
pub const PATH_TTL: Duration = Duration::from_secs(50 * 60);

/// Where a file's bytes are, as `getFile` said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// Cloud: the path after `/file/bot<token>/`; local: an absolute path on the server's disk.
    pub path: String,
    pub size: Option<u64>,
}

struct Entry {
    located: Located,
    fetched: Instant,
}

/// `file_id` → [`Located`], for at most [`PATH_TTL`].
pub struct PathCache {
    table: FixedTable<String, Entry>,
    ttl: Duration,
}

impl PathCache {
    pub fn new() -> PathCache {
        PathCache::with_slots(PATH_CACHE_SLOTS, PATH_TTL)
    }

    fn with_slots(slots: usize, ttl: Duration) -> PathCache {
        PathCache { table: FixedTable::new(slots), ttl }
    }

    fn fresh(&self, e: &Entry, now: Instant) -> bool {
        now.saturating_duration_since(e.fetched) < self.ttl
    }

    /// The answer for `file_id`, if one younger than the TTL is kept.
    pub fn get(&self, file_id: &str, now: Instant) -> Option<Located> {
        self.table.get(file_id).filter(|e| self.fresh(e, now)).map(|e| e.located.clone())
    }

    /// Keeps `located` for `file_id`: in its old slot, a free or expired one, or the oldest.
    pub fn put(&mut self, file_id: &str, located: Located, now: Instant) {
        let ttl = self.ttl;
        let expired = |e: &Entry| now.saturating_duration_since(e.fetched) >= ttl;
        self.table.insert(file_id.to_owned(), Entry { located, fetched: now }, expired, |e| e.fetched);
    }

    /// Forgets `file_id` (its local file vanished).
    pub fn remove(&mut self, file_id: &str) {
        self.table.retain(|k, _| k != file_id);
    }

    /// Drops expired answers; returns how many entries remain.
    pub fn sweep(&mut self, now: Instant) -> usize {
        let ttl = self.ttl;
        self.table.retain(|_, e| now.saturating_duration_since(e.fetched) < ttl)
    }

    /// Entries kept now (expired ones included until swept or reused).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.table.len()
    }
}

impl Default for PathCache {
    fn default() -> Self {
        PathCache::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(path: &str) -> Located {
        Located { path: path.into(), size: Some(1) }
    }

    #[test]
    fn answers_are_used_until_the_ttl_and_not_after() {
        let mut c = PathCache::new();
        let t0 = Instant::now();
        c.put("F", at("documents/a"), t0);
        assert_eq!(c.get("F", t0 + PATH_TTL - Duration::from_secs(1)), Some(at("documents/a")));
        assert_eq!(c.get("F", t0 + PATH_TTL), None);
        assert_eq!(c.get("G", t0), None);
    }

    #[test]
    fn a_new_answer_replaces_the_old_one_in_place() {
        let mut c = PathCache::with_slots(2, PATH_TTL);
        let t0 = Instant::now();
        c.put("F", at("a"), t0);
        c.put("F", at("b"), t0 + Duration::from_secs(1));
        assert_eq!((c.len(), c.get("F", t0 + Duration::from_secs(2))), (1, Some(at("b"))));
    }

    #[test]
    fn a_full_cache_reuses_expired_slots_then_the_oldest() {
        let mut c = PathCache::with_slots(2, Duration::from_secs(100));
        let t0 = Instant::now();
        c.put("A", at("a"), t0);
        c.put("B", at("b"), t0 + Duration::from_secs(50));
        c.put("C", at("c"), t0 + Duration::from_secs(60));
        assert_eq!(c.len(), 2, "never grows");
        assert_eq!(c.get("A", t0 + Duration::from_secs(61)), None, "the oldest went first");
        c.put("D", at("d"), t0 + Duration::from_secs(151));
        assert_eq!(c.get("B", t0 + Duration::from_secs(151)), None, "B had expired");
        assert_eq!(c.get("C", t0 + Duration::from_secs(151)), Some(at("c")));
    }

    #[test]
    fn removed_and_swept_entries_are_gone() {
        let mut c = PathCache::new();
        let t0 = Instant::now();
        c.put("A", at("a"), t0);
        c.put("B", at("b"), t0 + PATH_TTL);
        c.remove("B");
        assert_eq!(c.get("B", t0 + PATH_TTL), None);
        assert_eq!(c.sweep(t0 + PATH_TTL), 0);
        assert_eq!(c.len(), 0);
    }
}
