//! Bytes per link owner not yet written to the store: a fixed table of owners with unflushed
//! bytes or a running stream. A stream holds its owner's slot, so counting a sent chunk is one
//! index, and a flush frees only slots no stream holds. Pure; the stream tracker owns one.

/// Slots beyond one per stream: owners whose streams ended and whose bytes wait for the flush.
/// When they are all taken, a new owner's download flushes early (see [`OwnerBytes::enter`]).
pub const SPARE_OWNERS: usize = 256;

#[derive(Clone, Copy)]
struct Slot {
    owner: u64,
    /// Counted since the last flush.
    bytes: u64,
    /// Streams of this owner running now: while any does, the slot stays.
    streams: u32,
}

/// Unflushed bytes per owner, at most a fixed number of owners.
pub struct OwnerBytes {
    slots: Box<[Option<Slot>]>,
}

impl OwnerBytes {
    /// Room for `streams` running streams (each of a different owner) plus [`SPARE_OWNERS`].
    pub fn for_streams(streams: usize) -> OwnerBytes {
        OwnerBytes::with_slots(streams + SPARE_OWNERS)
    }

    pub fn with_slots(slots: usize) -> OwnerBytes {
        OwnerBytes { slots: vec![None; slots].into_boxed_slice() }
    }

    fn find(&self, owner: u64) -> Option<usize> {
        self.slots.iter().position(|s| s.is_some_and(|s| s.owner == owner))
    }

    /// A stream of `owner` starts: its slot (the owner's, or a free one), held until
    /// [`OwnerBytes::leave`]. `None` when every slot holds another owner: flush, then enter again.
    pub fn enter(&mut self, owner: u64) -> Option<usize> {
        let i = self.find(owner).or_else(|| self.slots.iter().position(Option::is_none))?;
        let slot = self.slots[i].get_or_insert(Slot { owner, bytes: 0, streams: 0 });
        slot.streams += 1;
        Some(i)
    }

    /// Counts `n` bytes sent by a stream holding slot `i`.
    pub fn add(&mut self, i: usize, n: u64) {
        if let Some(Some(slot)) = self.slots.get_mut(i) {
            slot.bytes += n;
        }
    }

    /// A stream holding slot `i` ended; a slot with nothing to flush and no stream frees.
    pub fn leave(&mut self, i: usize) {
        if let Some(entry) = self.slots.get_mut(i)
            && let Some(slot) = entry
        {
            slot.streams = slot.streams.saturating_sub(1);
            if slot.streams == 0 && slot.bytes == 0 {
                *entry = None;
            }
        }
    }

    /// Bytes of `owner` not flushed yet.
    pub fn unflushed(&self, owner: u64) -> u64 {
        self.find(owner).and_then(|i| self.slots[i]).map_or(0, |s| s.bytes)
    }

    /// Every owner with unflushed bytes and how many; nothing changes until
    /// [`OwnerBytes::flushed`] says the store took them.
    pub fn pending(&self) -> Vec<(u64, u64)> {
        self.slots.iter().flatten().filter(|s| s.bytes > 0).map(|s| (s.owner, s.bytes)).collect()
    }

    /// The store took `counts` (from [`OwnerBytes::pending`]): subtracts them, and frees the
    /// slots left with no bytes and no stream.
    pub fn flushed(&mut self, counts: &[(u64, u64)]) {
        for &(owner, n) in counts {
            if let Some(i) = self.find(owner)
                && let Some(slot) = &mut self.slots[i]
            {
                slot.bytes = slot.bytes.saturating_sub(n);
            }
        }
        for entry in self.slots.iter_mut() {
            if entry.is_some_and(|s| s.streams == 0 && s.bytes == 0) {
                *entry = None;
            }
        }
    }

    /// Owners held now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    #[cfg(test)]
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_add_up_per_owner_and_a_flush_frees_only_slots_without_streams() {
        let mut t = OwnerBytes::with_slots(2);
        let a = t.enter(7).unwrap();
        assert_eq!(t.enter(7), Some(a), "one slot per owner");
        let b = t.enter(8).unwrap();
        t.add(a, 100);
        t.add(a, 50);
        t.add(b, 1);
        assert_eq!(t.enter(9), None, "full of other owners");
        t.leave(a);
        t.leave(a);
        let pending = t.pending();
        assert_eq!((pending.as_slice(), t.unflushed(7)), (&[(7, 150), (8, 1)][..], 150));
        t.add(b, 4);
        t.flushed(&pending);
        assert_eq!((t.unflushed(7), t.unflushed(8), t.len()), (0, 4, 1), "owner 8 still streams");
        assert!(t.enter(9).is_some(), "owner 7's slot freed");
    }

    #[test]
    fn a_stream_that_sent_nothing_leaves_no_slot_behind() {
        let mut t = OwnerBytes::for_streams(1);
        assert_eq!(t.capacity(), 1 + SPARE_OWNERS);
        let i = t.enter(3).unwrap();
        t.leave(i);
        assert_eq!((t.len(), t.pending()), (0, vec![]));
        t.add(i, 10);
        assert_eq!(t.unflushed(3), 0, "a freed slot counts nothing");
    }
}
