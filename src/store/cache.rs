//! What every download asks the store, kept beside the database so a download costs no SQLite
//! transaction (each takes and drops a WAL read lock: 2 `fcntl` calls): the link's row, and its
//! owner's bytes this month. Both change only through the store, which forgets what changed.

use std::rc::Rc;

use super::LinkRow;

/// Rows kept at most: a direct-mapped table (slot = id mod this), allocated once.
pub const LINK_CACHE_SLOTS: usize = 256;

/// A fixed table of link rows by id; a row evicts whatever held its slot. Rows are shared, so a
/// hit hands out a reference count, not a copy of the row's strings.
pub struct LinkCache {
    slots: Box<[Option<Rc<LinkRow>>]>,
}

impl LinkCache {
    pub fn new() -> LinkCache {
        LinkCache { slots: (0..LINK_CACHE_SLOTS).map(|_| None).collect() }
    }

    fn slot(id: u64) -> usize {
        (id % LINK_CACHE_SLOTS as u64) as usize
    }

    /// The cached row of link `id`, if its slot holds it.
    pub fn get(&self, id: u64) -> Option<&Rc<LinkRow>> {
        self.slots[Self::slot(id)].as_ref().filter(|row| row.id == id)
    }

    pub fn put(&mut self, row: Rc<LinkRow>) {
        let slot = Self::slot(row.id);
        self.slots[slot] = Some(row);
    }

    /// Forgets link `id` (it was revoked).
    pub fn forget(&mut self, id: u64) {
        if self.get(id).is_some() {
            self.slots[Self::slot(id)] = None;
        }
    }

    /// Forgets every row (many links changed at once: a ban's revoke, the expiry purge).
    pub fn clear(&mut self) {
        self.slots.iter_mut().for_each(|slot| *slot = None);
    }
}

/// Owners whose monthly bytes are kept at most: a direct-mapped table (slot = owner mod this).
pub const OWNER_BYTES_SLOTS: usize = 256;

/// One owner's bytes: (owner, month key `YYYY-MM`, bytes).
type OwnerMonth = (u64, [u8; 7], u64);

/// The stored bytes of an owner in a month (`YYYY-MM`), as the last flush left them.
pub struct OwnerBytesCache {
    slots: Box<[Option<OwnerMonth>]>,
}

impl OwnerBytesCache {
    pub fn new() -> OwnerBytesCache {
        OwnerBytesCache { slots: vec![None; OWNER_BYTES_SLOTS].into_boxed_slice() }
    }

    fn slot(owner: u64) -> usize {
        (owner % OWNER_BYTES_SLOTS as u64) as usize
    }

    fn month(month: &str) -> Option<[u8; 7]> {
        month.as_bytes().try_into().ok()
    }

    pub fn get(&self, month: &str, owner: u64) -> Option<u64> {
        let key = (owner, Self::month(month)?);
        self.slots[Self::slot(owner)].filter(|&(o, m, _)| (o, m) == key).map(|(_, _, bytes)| bytes)
    }

    pub fn put(&mut self, month: &str, owner: u64, bytes: u64) {
        if let Some(m) = Self::month(month) {
            self.slots[Self::slot(owner)] = Some((owner, m, bytes));
        }
    }

    /// Forgets every figure (a flush or a purge changed them).
    pub fn clear(&mut self) {
        self.slots.iter_mut().for_each(|slot| *slot = None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: u64) -> LinkRow {
        LinkRow::sample(id)
    }

    #[test]
    fn a_row_is_found_by_its_id_only_and_a_colliding_id_takes_its_slot() {
        let mut cache = LinkCache::new();
        cache.put(Rc::new(row(3)));
        assert_eq!(cache.get(3).map(|r| r.id), Some(3));
        assert!(cache.get(3 + LINK_CACHE_SLOTS as u64).is_none(), "same slot, another id");
        cache.put(Rc::new(row(3 + LINK_CACHE_SLOTS as u64)));
        assert!(cache.get(3).is_none(), "evicted");
        cache.forget(3);
        assert!(cache.get(3 + LINK_CACHE_SLOTS as u64).is_some(), "forgetting another id leaves the slot");
        cache.forget(3 + LINK_CACHE_SLOTS as u64);
        cache.put(Rc::new(row(4)));
        cache.clear();
        assert!(cache.get(4).is_none());
    }

    #[test]
    fn an_owners_bytes_are_kept_per_month_and_a_colliding_owner_takes_the_slot() {
        let mut cache = OwnerBytesCache::new();
        cache.put("2026-12", 7, 100);
        assert_eq!((cache.get("2026-12", 7), cache.get("2026-11", 7)), (Some(100), None));
        cache.put("2026-12", 7 + OWNER_BYTES_SLOTS as u64, 5);
        assert_eq!(cache.get("2026-12", 7), None);
        cache.put("bad", 8, 1);
        assert_eq!(cache.get("bad", 8), None, "not a month key: not kept");
        cache.clear();
        assert_eq!(cache.get("2026-12", 7 + OWNER_BYTES_SLOTS as u64), None);
    }
}
