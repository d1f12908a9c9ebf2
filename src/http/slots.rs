//! The table of open connections: `MAX_CONNECTIONS` slots, allocated once, at most
//! `MAX_CONNECTIONS_PER_IP` per client key. When a newcomer finds no room, the longest-idle
//! keep-alive connection (one waiting for its next request) is closed for it, as nginx drains
//! reusable connections; only when every candidate is mid-request is the newcomer refused.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use crate::net::ClientKey;
use crate::shutdown::Trigger;

struct Entry {
    id: u64,
    key: ClientKey,
    /// Counted against its key's cap (not for trusted proxies: they carry many clients).
    capped: bool,
    /// Waiting for a request since then; `None` while a request is read or answered.
    idle_since: Option<Instant>,
    /// Ends the connection's task.
    end: Trigger,
}

/// The open connections. Owned by the accept loop and the connection tasks (one thread).
pub(crate) struct Slots {
    table: Box<[Option<Entry>]>,
    per_key: usize,
    next_id: u64,
}

/// What [`Slots::admit`] decided.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Take slot `index` (free, or just taken from an idle connection that was told to end).
    Take { index: usize, evicted: bool },
    /// Every candidate is mid-request.
    Refuse,
}

impl Slots {
    pub(crate) fn new(capacity: usize, per_key: usize) -> Slots {
        Slots { table: (0..capacity).map(|_| None).collect(), per_key, next_id: 0 }
    }

    /// Connections open now.
    #[cfg(test)]
    fn open(&self) -> usize {
        self.table.iter().flatten().count()
    }

    /// Finds room for a connection from `key`, ending an idle one if needed.
    fn admit(&mut self, key: ClientKey, capped: bool) -> Admit {
        let own = |e: &Entry| e.capped && e.key == key;
        let over_cap = capped && self.table.iter().flatten().filter(|e| own(e)).count() >= self.per_key;
        let victim = if over_cap {
            self.longest_idle(|e| own(e))
        } else if let Some(free) = self.table.iter().position(Option::is_none) {
            return Admit::Take { index: free, evicted: false };
        } else {
            self.longest_idle(|_| true)
        };
        match victim {
            Some(index) => {
                if let Some(old) = self.table[index].take() {
                    old.end.fire();
                }
                Admit::Take { index, evicted: true }
            }
            None => Admit::Refuse,
        }
    }

    fn longest_idle(&self, eligible: impl Fn(&Entry) -> bool) -> Option<usize> {
        self.table
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().filter(|e| eligible(e)).and_then(|e| Some((i, e.idle_since?))))
            .min_by_key(|&(_, since)| since)
            .map(|(i, _)| i)
    }

    fn entry(&mut self, index: usize, id: u64) -> Option<&mut Entry> {
        self.table[index].as_mut().filter(|e| e.id == id)
    }
}

/// One connection's place in the table; dropping it frees the slot (unless an eviction already
/// gave it to someone else).
pub(crate) struct Slot {
    slots: Rc<RefCell<Slots>>,
    index: usize,
    id: u64,
}

/// Admits a connection from `key` that `end` can stop; `None` if there is no room. It starts idle
/// (a connection that has sent nothing yet is as reusable as one between requests).
pub(crate) fn admit(
    slots: &Rc<RefCell<Slots>>,
    key: ClientKey,
    capped: bool,
    end: Trigger,
    now: Instant,
) -> Option<Slot> {
    let mut table = slots.borrow_mut();
    let Admit::Take { index, evicted } = table.admit(key, capped) else { return None };
    if evicted {
        log::debug!("closed the longest-idle connection to make room");
    }
    let id = table.next_id;
    table.next_id += 1;
    table.table[index] = Some(Entry { id, key, capped, idle_since: Some(now), end });
    Some(Slot { slots: slots.clone(), index, id })
}

impl Slot {
    /// The connection waits for its next request (it may be closed for a newcomer).
    pub(crate) fn idle(&self, now: Instant) {
        if let Some(e) = self.slots.borrow_mut().entry(self.index, self.id) {
            e.idle_since = Some(now);
        }
    }

    /// A request is being read or answered.
    pub(crate) fn busy(&self) {
        if let Some(e) = self.slots.borrow_mut().entry(self.index, self.id) {
            e.idle_since = None;
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut table = self.slots.borrow_mut();
        if table.entry(self.index, self.id).is_some() {
            table.table[self.index] = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::shutdown::{self, Shutdown};

    fn key(last: u8) -> ClientKey {
        ClientKey::of(std::net::IpAddr::from([192, 0, 2, last]))
    }

    fn open(slots: &Rc<RefCell<Slots>>, k: ClientKey, at: Instant) -> Option<(Slot, Shutdown)> {
        let (end, ended) = shutdown::channel();
        admit(slots, k, true, end, at).map(|s| (s, ended))
    }

    #[test]
    fn a_full_table_closes_the_longest_idle_connection_for_a_newcomer() {
        let t0 = Instant::now();
        let slots = Rc::new(RefCell::new(Slots::new(3, 32)));
        let a = open(&slots, key(1), t0).unwrap();
        let b = open(&slots, key(2), t0 + Duration::from_secs(1)).unwrap();
        let c = open(&slots, key(3), t0 + Duration::from_secs(2)).unwrap();
        a.0.busy();
        let d = open(&slots, key(4), t0 + Duration::from_secs(3)).expect("b was idle longest");
        assert!(b.1.is_fired() && !a.1.is_fired() && !c.1.is_fired());
        drop(b);
        assert_eq!(slots.borrow().open(), 3, "the evicted slot belongs to the newcomer now");
        c.0.busy();
        d.0.busy();
        assert!(open(&slots, key(5), t0).is_none(), "everyone is mid-request");
        drop(a);
        assert!(open(&slots, key(5), t0).is_some(), "a freed slot is taken");
    }

    #[test]
    fn one_address_over_its_cap_only_ever_closes_its_own_connections() {
        let t0 = Instant::now();
        let slots = Rc::new(RefCell::new(Slots::new(10, 2)));
        let other = open(&slots, key(9), t0).unwrap();
        let first = open(&slots, key(1), t0 + Duration::from_secs(1)).unwrap();
        let second = open(&slots, key(1), t0 + Duration::from_secs(2)).unwrap();
        let third = open(&slots, key(1), t0 + Duration::from_secs(3)).unwrap();
        assert!(first.1.is_fired() && !second.1.is_fired() && !other.1.is_fired());
        second.0.busy();
        third.0.busy();
        assert!(open(&slots, key(1), t0).is_none(), "its two are mid-request");
        assert!(open(&slots, key(2), t0).is_some(), "another address still gets in");
    }

    #[test]
    fn trusted_proxies_are_not_held_to_the_per_address_cap() {
        let slots = Rc::new(RefCell::new(Slots::new(10, 1)));
        let held: Vec<_> = (0..5)
            .map(|_| {
                let (end, ended) = shutdown::channel();
                (admit(&slots, key(1), false, end, Instant::now()).unwrap(), ended)
            })
            .collect();
        assert!(held.iter().all(|(_, ended)| !ended.is_fired()));
        assert_eq!(slots.borrow().open(), 5);
    }
}
