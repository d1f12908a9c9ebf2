//! The table of open connections: `MAX_CONNECTIONS` slots, allocated once, at most
//! `MAX_CONNECTIONS_PER_IP` per client key (a trusted proxy's connection counts for the client its
//! request names). A newcomer that finds no room gets the slot of the connection that has waited
//! longest, for its next request or for the rest of a head it began (nginx drains reusable
//! connections the same way); failing that, of the slowest download past [`SLOW_READER_AGE`].
//! Only when there is neither is the newcomer refused.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::net::ClientKey;
use crate::shutdown::Trigger;

/// A download runs this long before its rate may mark it as the slowest reader: long enough for
/// TCP slow start and a player's first buffering to pass, short enough that a full table of
/// fresh downloads refuses newcomers only briefly.
pub(crate) const SLOW_READER_AGE: Duration = Duration::from_secs(10);

/// What a connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request since then.
    Idle(Instant),
    /// In the middle of a request head since its first byte came.
    Head(Instant),
    /// A request is being answered.
    Busy,
}

struct Entry {
    id: u64,
    key: ClientKey,
    /// Counted against its key's cap (not a trusted proxy's connection before a head names the
    /// client: a proxy carries many clients).
    capped: bool,
    phase: Phase,
    /// Ends the connection's task.
    end: Trigger,
}

impl Entry {
    /// Since when it may be closed for a newcomer: it waits for a request or for the rest of one.
    fn waiting_since(&self) -> Option<Instant> {
        match self.phase {
            Phase::Idle(since) | Phase::Head(since) => Some(since),
            Phase::Busy => None,
        }
    }
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
    /// Take slot `index` (free, or just taken from a connection that was told to end).
    Take { index: usize, evicted: bool },
    /// The client is at its cap and none of its own connections waits.
    OverCap,
    /// Every slot is answering a request.
    Full,
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

    fn count(&self, of: impl Fn(&Entry) -> bool) -> usize {
        self.table.iter().flatten().filter(|e| of(e)).count()
    }

    /// Finds room for a connection from `key`, ending a waiting one if needed.
    fn admit(&mut self, key: ClientKey, capped: bool) -> Admit {
        let own = |e: &Entry| e.capped && e.key == key;
        if capped && self.count(own) >= self.per_key {
            return self.longest_waiting(own).map_or(Admit::OverCap, |i| self.evict(i));
        }
        if let Some(free) = self.table.iter().position(Option::is_none) {
            return Admit::Take { index: free, evicted: false };
        }
        self.longest_waiting(|_| true).map_or(Admit::Full, |i| self.evict(i))
    }

    /// Takes the slot of the connection `end` ends (the slowest download's).
    fn evict_matching(&mut self, end: &Trigger) -> Admit {
        let index = self.table.iter().position(|e| e.as_ref().is_some_and(|e| e.end.same(end)));
        index.map_or(Admit::Full, |i| self.evict(i))
    }

    fn evict(&mut self, index: usize) -> Admit {
        if let Some(old) = self.table[index].take() {
            old.end.fire();
        }
        Admit::Take { index, evicted: true }
    }

    fn longest_waiting(&self, eligible: impl Fn(&Entry) -> bool) -> Option<usize> {
        self.table
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().filter(|e| eligible(e)).and_then(|e| Some((i, e.waiting_since()?))))
            .min_by_key(|&(_, since)| since)
            .map(|(i, _)| i)
    }

    /// Counts the connection at `index` for `key` from now on; over the cap, `key`'s own
    /// longest-waiting connection is closed. `false` when it has none: then the connection goes
    /// back to being uncounted, and its request is to be refused.
    fn rekey(&mut self, index: usize, id: u64, key: ClientKey) -> bool {
        let per_key = self.per_key;
        let Some(e) = self.entry(index, id) else { return true };
        let before = (e.key, e.capped);
        (e.key, e.capped) = (key, true);
        let own = |e: &Entry| e.capped && e.key == key;
        if self.count(own) <= per_key {
            return true;
        }
        match self.longest_waiting(own) {
            Some(victim) => {
                self.evict(victim);
                true
            }
            None => {
                if let Some(e) = self.entry(index, id) {
                    (e.key, e.capped) = before;
                }
                false
            }
        }
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

/// Admits a connection from `key` that `end` can stop; `None` if there is no room. When every
/// slot is answering a request, `slowest` names the slowest download's connection to close. The
/// newcomer starts idle (a connection that has sent nothing yet is as reusable as one between
/// requests).
pub(crate) fn admit(
    slots: &Rc<RefCell<Slots>>,
    key: ClientKey,
    capped: bool,
    end: Trigger,
    now: Instant,
    slowest: impl FnOnce() -> Option<Trigger>,
) -> Option<Slot> {
    let mut table = slots.borrow_mut();
    let decision = match table.admit(key, capped) {
        Admit::Full => slowest().map_or(Admit::Full, |victim| table.evict_matching(&victim)),
        decision => decision,
    };
    let Admit::Take { index, evicted } = decision else { return None };
    if evicted {
        log::debug!("closed a waiting connection or the slowest download to make room");
    }
    let id = table.next_id;
    table.next_id += 1;
    table.table[index] = Some(Entry { id, key, capped, phase: Phase::Idle(now), end });
    Some(Slot { slots: slots.clone(), index, id })
}

impl Slot {
    fn set(&self, phase: impl FnOnce(Phase) -> Phase) {
        if let Some(e) = self.slots.borrow_mut().entry(self.index, self.id) {
            e.phase = phase(e.phase);
        }
    }

    /// The connection waits for its next request (it may be closed for a newcomer).
    pub(crate) fn idle(&self, now: Instant) {
        self.set(|_| Phase::Idle(now));
    }

    /// A request head has begun (at `now`, unless it had already): the connection may still be
    /// closed for a newcomer, the one whose head began first before the others.
    pub(crate) fn head(&self, now: Instant) {
        self.set(|phase| match phase {
            Phase::Idle(_) => Phase::Head(now),
            other => other,
        });
    }

    /// A request is being answered.
    pub(crate) fn busy(&self) {
        self.set(|_| Phase::Busy);
    }

    /// The request being answered comes from `key` (a trusted proxy forwarded it): counted for
    /// `key` from now on. `false`: `key` is at its cap with no connection of its own to close.
    pub(crate) fn rekey(&self, key: ClientKey) -> bool {
        self.slots.borrow_mut().rekey(self.index, self.id, key)
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
        admit(slots, k, true, end, at, || None).map(|s| (s, ended))
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
    fn a_half_sent_head_is_closed_for_a_newcomer_the_one_begun_first_before_idle_ones() {
        let t0 = Instant::now();
        let slots = Rc::new(RefCell::new(Slots::new(3, 32)));
        let idle = open(&slots, key(1), t0 + Duration::from_secs(2)).unwrap();
        let early = open(&slots, key(2), t0).unwrap();
        let late = open(&slots, key(3), t0).unwrap();
        early.0.head(t0 + Duration::from_secs(1));
        late.0.head(t0 + Duration::from_secs(3));
        late.0.head(t0 + Duration::from_secs(9));
        let later = t0 + Duration::from_secs(10);
        let fourth = open(&slots, key(4), later).unwrap();
        assert!(early.1.is_fired() && !idle.1.is_fired() && !late.1.is_fired());
        let fifth = open(&slots, key(5), later).unwrap();
        assert!(idle.1.is_fired() && !late.1.is_fired(), "idle since 2 s, the late head since 3 s");
        let sixth = open(&slots, key(6), later).unwrap();
        assert!(late.1.is_fired() && !fourth.1.is_fired() && !fifth.1.is_fired() && !sixth.1.is_fired());
    }

    #[test]
    fn the_slowest_download_makes_room_only_when_every_slot_is_busy() {
        let t0 = Instant::now();
        let slots = Rc::new(RefCell::new(Slots::new(2, 32)));
        let a = open(&slots, key(1), t0).unwrap();
        let b = open(&slots, key(2), t0).unwrap();
        let (b_end, c_end) = (slots.borrow().table[1].as_ref().unwrap().end.clone(), shutdown::channel().0);
        a.0.busy();
        b.0.busy();
        let (end, _) = shutdown::channel();
        assert!(admit(&slots, key(3), true, end.clone(), t0, || Some(c_end)).is_none(), "not in the table");
        assert!(admit(&slots, key(3), true, end.clone(), t0, || None).is_none(), "no download old enough");
        let c = admit(&slots, key(3), true, end, t0, || Some(b_end)).expect("b was the slowest");
        assert!(b.1.is_fired() && !a.1.is_fired());
        drop(b);
        assert_eq!(slots.borrow().open(), 2, "b's slot is c's now");
        drop(c);
    }

    #[test]
    fn a_proxied_client_over_its_cap_closes_its_own_waiting_connection_or_is_refused() {
        let t0 = Instant::now();
        let slots = Rc::new(RefCell::new(Slots::new(10, 2)));
        let proxy = key(100);
        let conns: Vec<_> = (0..4)
            .map(|i| {
                let (end, ended) = shutdown::channel();
                (admit(&slots, proxy, false, end, t0 + Duration::from_secs(i), || None).unwrap(), ended)
            })
            .collect();
        let client = key(7);
        for (slot, _) in &conns[..2] {
            slot.busy();
            assert!(slot.rekey(client));
        }
        conns[0].0.idle(t0 + Duration::from_secs(5));
        conns[2].0.busy();
        assert!(conns[2].0.rekey(client), "its idle connection makes room");
        assert!(conns[0].1.is_fired() && !conns[1].1.is_fired());
        conns[3].0.busy();
        assert!(!conns[3].0.rekey(client), "both of its others are busy");
        assert!(conns[3].0.rekey(key(8)), "another client behind the proxy is not held back");
        assert!(!conns.iter().skip(1).any(|(_, ended)| ended.is_fired()));
    }

    #[test]
    fn trusted_proxies_are_not_held_to_the_per_address_cap() {
        let slots = Rc::new(RefCell::new(Slots::new(10, 1)));
        let held: Vec<_> = (0..5)
            .map(|_| {
                let (end, ended) = shutdown::channel();
                (admit(&slots, key(1), false, end, Instant::now(), || None).unwrap(), ended)
            })
            .collect();
        assert!(held.iter().all(|(_, ended)| !ended.is_fired()));
        assert_eq!(slots.borrow().open(), 5);
    }
}
