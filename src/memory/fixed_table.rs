//! A table with a fixed number of slots, allocated once and never grown: keyed entries, and a new
//! key that finds no free slot takes one whose entry may go (expired), else the oldest. Pure;
//! behind the `getFile` answer cache and the per-client request limiter.

use std::borrow::Borrow;

/// At most `capacity` entries from `K` to `V`.
pub struct FixedTable<K, V> {
    slots: Box<[Option<(K, V)>]>,
}

impl<K: PartialEq, V> FixedTable<K, V> {
    pub fn new(capacity: usize) -> FixedTable<K, V> {
        FixedTable { slots: (0..capacity).map(|_| None).collect() }
    }

    pub fn get<Q: PartialEq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.slots.iter().flatten().find(|(k, _)| k.borrow() == key).map(|(_, v)| v)
    }

    /// The entry of `key`; if it has none, a new one from `make` in a free slot, else in a slot
    /// whose entry is `stale`, else in the slot whose entry is oldest by `age`.
    pub fn entry<A: Ord>(
        &mut self,
        key: K,
        stale: impl Fn(&V) -> bool,
        age: impl Fn(&V) -> A,
        make: impl FnOnce() -> V,
    ) -> &mut V {
        let index = match self.slots.iter().position(|s| s.as_ref().is_some_and(|(k, _)| *k == key)) {
            Some(i) => i,
            None => {
                let i = self.room(stale, age);
                self.slots[i] = Some((key, make()));
                i
            }
        };
        &mut self.slots[index].as_mut().expect("the slot was found or filled above").1
    }

    /// Sets `key` to `value`, in its own slot or where [`FixedTable::entry`] would put it.
    pub fn insert<A: Ord>(&mut self, key: K, value: V, stale: impl Fn(&V) -> bool, age: impl Fn(&V) -> A) {
        let index = match self.slots.iter().position(|s| s.as_ref().is_some_and(|(k, _)| *k == key)) {
            Some(i) => i,
            None => self.room(stale, age),
        };
        self.slots[index] = Some((key, value));
    }

    /// A free slot, else a stale one, else the oldest.
    fn room<A: Ord>(&self, stale: impl Fn(&V) -> bool, age: impl Fn(&V) -> A) -> usize {
        self.slots
            .iter()
            .position(|s| s.as_ref().is_none_or(|(_, v)| stale(v)))
            .or_else(|| {
                let ages = self.slots.iter().enumerate().filter_map(|(i, s)| Some((i, age(&s.as_ref()?.1))));
                ages.min_by(|a, b| a.1.cmp(&b.1)).map(|(i, _)| i)
            })
            .expect("a fixed table has at least one slot")
    }

    /// Keeps the entries `keep` says yes to; returns how many remain.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) -> usize {
        for slot in self.slots.iter_mut() {
            if slot.as_ref().is_some_and(|(k, v)| !keep(k, v)) {
                *slot = None;
            }
        }
        self.len()
    }

    /// Slots, fixed at construction.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Removes and returns every entry.
    pub fn drain(&mut self) -> impl Iterator<Item = (K, V)> + '_ {
        self.slots.iter_mut().filter_map(Option::take)
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries are `(value, stamp)`; stale below 10.
    fn put(t: &mut FixedTable<u32, (u32, u32)>, key: u32, value: u32, stamp: u32) {
        t.insert(key, (value, stamp), |e| e.1 < 10, |e| e.1);
    }

    #[test]
    fn a_full_table_takes_a_stale_slot_then_the_oldest_and_never_grows() {
        let mut t = FixedTable::new(2);
        put(&mut t, 1, 100, 20);
        put(&mut t, 2, 200, 30);
        put(&mut t, 3, 300, 40);
        assert_eq!((t.len(), t.get(&1), t.get(&3)), (2, None, Some(&(300, 40))), "the oldest went");
        put(&mut t, 2, 201, 5);
        put(&mut t, 4, 400, 50);
        assert_eq!((t.get(&2), t.get(&3)), (None, Some(&(300, 40))), "the stale one went first");
    }

    #[test]
    fn an_existing_key_keeps_its_slot_and_retain_frees_slots() {
        let mut t = FixedTable::new(3);
        put(&mut t, 1, 100, 20);
        put(&mut t, 1, 101, 21);
        assert_eq!((t.len(), t.get(&1)), (1, Some(&(101, 21))));
        put(&mut t, 2, 200, 22);
        assert_eq!(t.retain(|k, _| *k != 1), 1);
        assert!(t.get(&1).is_none());
        *t.entry(2, |_| false, |e| e.1, || (0, 0)) = (202, 23);
        assert_eq!(t.get(&2), Some(&(202, 23)), "entry finds the existing one");
        assert_eq!(t.retain(|_, _| false), 0);
        assert!(t.is_empty());
    }
}
