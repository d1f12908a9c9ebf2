//! The link rows the HTTP side asks for most, kept beside the database so a download's lookup
//! costs no SQLite transaction (each one takes and drops its file locks: 4 `fcntl` calls). A row
//! only changes when it is revoked or purged, and both go through the store, which forgets it.

use super::LinkRow;

/// Rows kept at most: a direct-mapped table (slot = id mod this), allocated once.
pub const LINK_CACHE_SLOTS: usize = 256;

/// A fixed table of link rows by id; a row evicts whatever held its slot.
pub struct LinkCache {
    slots: Box<[Option<LinkRow>]>,
}

impl LinkCache {
    pub fn new() -> LinkCache {
        LinkCache { slots: (0..LINK_CACHE_SLOTS).map(|_| None).collect() }
    }

    fn slot(id: u64) -> usize {
        (id % LINK_CACHE_SLOTS as u64) as usize
    }

    /// The cached row of link `id`, if its slot holds it.
    pub fn get(&self, id: u64) -> Option<&LinkRow> {
        self.slots[Self::slot(id)].as_ref().filter(|row| row.id == id)
    }

    pub fn put(&mut self, row: LinkRow) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: u64) -> LinkRow {
        LinkRow {
            id,
            owner: 1,
            file_id: "F".into(),
            file_unique_id: "U".into(),
            file_name: "a".into(),
            file_size: 1,
            mime: "text/plain".into(),
            created_at: 0,
            expires_at: 0,
            update_id: None,
            revoked: false,
            source: None,
        }
    }

    #[test]
    fn a_row_is_found_by_its_id_only_and_a_colliding_id_takes_its_slot() {
        let mut cache = LinkCache::new();
        cache.put(row(3));
        assert_eq!(cache.get(3).map(|r| r.id), Some(3));
        assert!(cache.get(3 + LINK_CACHE_SLOTS as u64).is_none(), "same slot, another id");
        cache.put(row(3 + LINK_CACHE_SLOTS as u64));
        assert!(cache.get(3).is_none(), "evicted");
        cache.forget(3);
        assert!(cache.get(3 + LINK_CACHE_SLOTS as u64).is_some(), "forgetting another id leaves the slot");
        cache.forget(3 + LINK_CACHE_SLOTS as u64);
        cache.put(row(4));
        cache.clear();
        assert!(cache.get(4).is_none());
    }
}
