//! The stream tracker: every response body that streams file bytes holds a [`StreamGuard`] for a
//! slot in a table whose capacity is fixed at start-up (one slot per allowed connection). The
//! guard's `Drop` frees the slot however the body ends: completion, error, client disconnect or
//! a cancelled task. A sweep can end streams that stopped making progress, and shutdown can end
//! them all: each entry holds its connection's trigger, which makes the connection task finish.
//! Bytes are also counted per link owner ([`OwnerBytes`]), for the owners' bandwidth shares.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::bandwidth::owner_bytes::OwnerBytes;
use crate::net::ClientKey;
use crate::shutdown::Trigger;

/// One active stream, as `/memory` and the sweep see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    pub id: u64,
    pub link_id: u64,
    /// Who made the link (a ban with revoke ends all of theirs).
    pub owner: u64,
    pub peer: SocketAddr,
    pub started: Instant,
    pub last_progress: Instant,
    pub bytes: u64,
}

struct Entry {
    info: StreamInfo,
    end: Trigger,
}

/// The table of active streams. `Send + Sync` because guards live inside http-types bodies;
/// on our single thread the mutex never contends.
pub struct StreamTracker {
    slots: Mutex<Box<[Option<Entry>]>>,
    next_id: AtomicU64,
    /// Body bytes handed to sockets since start (all streams, finished or not).
    bytes_sent: AtomicU64,
    /// The same bytes per link owner, until they are flushed to the store.
    owners: Mutex<OwnerBytes>,
}

/// Why a stream could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// Every stream slot is taken.
    Streams,
    /// Every owner slot holds another owner's unflushed bytes: flush, then register again.
    Owners,
}

impl StreamTracker {
    /// A tracker with room for `capacity` concurrent streams, allocated once.
    pub fn new(capacity: usize) -> Arc<StreamTracker> {
        Arc::new(StreamTracker {
            slots: Mutex::new((0..capacity).map(|_| None).collect()),
            next_id: AtomicU64::new(1),
            bytes_sent: AtomicU64::new(0),
            owners: Mutex::new(OwnerBytes::for_streams(capacity)),
        })
    }

    fn owners(&self) -> MutexGuard<'_, OwnerBytes> {
        self.owners.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn slots(&self) -> MutexGuard<'_, Box<[Option<Entry>]>> {
        // Panics unwind (a panicking route costs its connection only), so a panic while holding
        // this lock poisons it. Every change to the table is a single slot assignment, so the
        // data is whole either way: take it as it is.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a slot for a new stream of `link_id` (whose owner is `owner`) to `peer`; `end`
    /// ends its connection. Refused when every stream slot, or every owner slot, is taken.
    pub fn register(
        self: &Arc<Self>,
        link_id: u64,
        owner: u64,
        peer: SocketAddr,
        end: Trigger,
        now: Instant,
    ) -> Result<StreamGuard, Full> {
        let mut slots = self.slots();
        let slot = slots.iter().position(Option::is_none).ok_or(Full::Streams)?;
        let owner_slot = self.owners().enter(owner).ok_or(Full::Owners)?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        slots[slot] = Some(Entry {
            info: StreamInfo { id, link_id, owner, peer, started: now, last_progress: now, bytes: 0 },
            end,
        });
        Ok(StreamGuard { tracker: self.clone(), slot, id, owner_slot })
    }

    /// Bytes of `owner`'s links sent since the last flush.
    pub fn owner_unflushed(&self, owner: u64) -> u64 {
        self.owners().unflushed(owner)
    }

    /// Owners with unflushed bytes, and how many each; confirm with [`StreamTracker::owners_flushed`].
    pub fn owners_pending(&self) -> Vec<(u64, u64)> {
        self.owners().pending()
    }

    /// The store took `counts` (from [`StreamTracker::owners_pending`]).
    pub fn owners_flushed(&self, counts: &[(u64, u64)]) {
        self.owners().flushed(counts);
    }

    pub fn capacity(&self) -> usize {
        self.slots().len()
    }

    /// Streams running now.
    pub fn active(&self) -> usize {
        self.slots().iter().filter(|s| s.is_some()).count()
    }

    /// Body bytes sent since start.
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent.load(Ordering::Relaxed)
    }

    #[cfg(test)]
    /// A copy of the active streams.
    pub fn snapshot(&self) -> Vec<StreamInfo> {
        self.slots().iter().flatten().map(|e| e.info.clone()).collect()
    }

    /// Streams running now to the client `key` (its downloads cap).
    pub fn running_for(&self, key: ClientKey) -> usize {
        self.slots().iter().flatten().filter(|e| ClientKey::of(e.info.peer.ip()) == key).count()
    }

    /// The connection trigger of the slowest stream that has run at least `min_age` (lowest
    /// bytes per second over its life), to make room for a newcomer; streams whose connection
    /// is already ending are passed over.
    pub fn slowest(&self, now: Instant, min_age: Duration) -> Option<Trigger> {
        let slots = self.slots();
        let rate = |info: &StreamInfo| {
            let age = now.saturating_duration_since(info.started);
            (age >= min_age).then(|| info.bytes as f64 / age.as_secs_f64().max(1e-3))
        };
        slots
            .iter()
            .flatten()
            .filter(|e| !e.end.is_fired())
            .filter_map(|e| Some((rate(&e.info)?, &e.end)))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, end)| end.clone())
    }

    /// Ends streams without progress for `idle` (as of `now`) and returns them. Their slots
    /// free themselves when the ended connections drop their guards.
    pub fn end_idle(&self, now: Instant, idle: Duration) -> Vec<StreamInfo> {
        let slots = self.slots();
        slots
            .iter()
            .flatten()
            .filter(|e| now.saturating_duration_since(e.info.last_progress) >= idle)
            .map(|e| {
                e.end.fire();
                e.info.clone()
            })
            .collect()
    }

    /// Ends the streams of `link_id` (it was revoked); returns how many.
    pub fn end_link(&self, link_id: u64) -> usize {
        let slots = self.slots();
        slots.iter().flatten().filter(|e| e.info.link_id == link_id).map(|e| e.end.fire()).count()
    }

    /// Ends the streams of every link `owner` made (their links were revoked); returns how many.
    pub fn end_owner(&self, owner: u64) -> usize {
        let slots = self.slots();
        slots.iter().flatten().filter(|e| e.info.owner == owner).map(|e| e.end.fire()).count()
    }

    /// Ends every stream (shutdown after the grace period); returns how many.
    pub fn end_all(&self) -> usize {
        let slots = self.slots();
        slots.iter().flatten().map(|e| e.end.fire()).count()
    }
}

/// Holds one slot while a body streams; frees it on drop.
pub struct StreamGuard {
    tracker: Arc<StreamTracker>,
    slot: usize,
    id: u64,
    /// The link owner's slot in the owner table, held while this stream runs.
    owner_slot: usize,
}

impl StreamGuard {
    /// Records `n` more bytes handed to the socket at `now`.
    pub fn progress(&self, n: u64, now: Instant) {
        self.tracker.bytes_sent.fetch_add(n, Ordering::Relaxed);
        self.tracker.owners().add(self.owner_slot, n);
        if let Some(Some(e)) = self.tracker.slots().get_mut(self.slot)
            && e.info.id == self.id
        {
            e.info.bytes += n;
            e.info.last_progress = now;
        }
    }

    #[cfg(test)]
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let mut slots = self.tracker.slots();
        if let Some(slot) = slots.get_mut(self.slot)
            && slot.as_ref().is_some_and(|e| e.info.id == self.id)
        {
            *slot = None;
            self.tracker.owners().leave(self.owner_slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shutdown;

    fn peer() -> SocketAddr {
        "127.0.0.1:5000".parse().unwrap()
    }

    #[test]
    fn guards_take_and_free_slots_up_to_capacity() {
        let t = StreamTracker::new(2);
        let now = Instant::now();
        let (a_end, _) = shutdown::channel();
        let a = t.register(1, 1, peer(), a_end.clone(), now).unwrap();
        let b = t.register(2, 1, peer(), a_end.clone(), now).unwrap();
        assert_eq!(t.register(3, 1, peer(), a_end.clone(), now).err(), Some(Full::Streams), "full table refuses");
        assert_eq!(t.active(), 2);
        assert_ne!(a.id(), b.id());
        drop(a);
        assert_eq!(t.active(), 1);
        let c = t.register(3, 1, peer(), a_end, now).unwrap();
        assert_eq!(t.snapshot().iter().map(|s| s.link_id).collect::<Vec<_>>(), vec![3, 2]);
        drop((b, c));
        assert_eq!(t.active(), 0);
        assert_eq!(t.capacity(), 2);
    }

    #[test]
    fn progress_counts_bytes_per_stream_per_owner_and_in_total() {
        let t = StreamTracker::new(4);
        let now = Instant::now();
        let g = t.register(9, 1, peer(), shutdown::channel().0, now).unwrap();
        g.progress(100, now + Duration::from_secs(1));
        g.progress(50, now + Duration::from_secs(2));
        let info = &t.snapshot()[0];
        assert_eq!((info.bytes, info.last_progress), (150, now + Duration::from_secs(2)));
        let other = t.register(10, 2, peer(), shutdown::channel().0, now).unwrap();
        other.progress(7, now);
        drop(g);
        assert_eq!(t.bytes_sent(), 157, "total survives the stream");
        assert_eq!((t.owner_unflushed(1), t.owner_unflushed(2)), (150, 7), "and so do the owners' bytes");
        let pending = t.owners_pending();
        other.progress(3, now);
        t.owners_flushed(&pending);
        assert_eq!((t.owner_unflushed(1), t.owner_unflushed(2)), (0, 3), "counted after the flush stays");
    }

    #[test]
    fn idle_streams_are_ended_and_busy_ones_kept() {
        let t = StreamTracker::new(4);
        let now = Instant::now();
        let (stalled_end, stalled_conn) = shutdown::channel();
        let (busy_end, busy_conn) = shutdown::channel();
        let stalled = t.register(1, 1, peer(), stalled_end, now).unwrap();
        let busy = t.register(2, 1, peer(), busy_end, now).unwrap();
        busy.progress(1, now + Duration::from_secs(250));
        let ended = t.end_idle(now + Duration::from_secs(300), Duration::from_secs(300));
        assert_eq!(ended.iter().map(|s| s.link_id).collect::<Vec<_>>(), vec![1]);
        assert!(stalled_conn.is_fired() && !busy_conn.is_fired());
        drop(stalled);
        assert_eq!(t.end_link(1), 0, "link 1's stream is gone");
        assert_eq!(t.end_link(2), 1);
        assert_eq!(t.end_owner(1), 1, "the busy stream's owner");
        assert_eq!(t.end_owner(2), 0);
        assert_eq!(t.end_all(), 1);
        assert!(busy_conn.is_fired());
        drop(busy);
        assert_eq!(t.active(), 0);
    }

    #[test]
    fn the_slowest_stream_old_enough_is_named_and_streams_are_counted_per_client() {
        let t = StreamTracker::new(4);
        let t0 = Instant::now();
        let other: SocketAddr = "192.0.2.9:1".parse().unwrap();
        let (fast_end, _fast) = shutdown::channel();
        let (slow_end, _slow) = shutdown::channel();
        let (young_end, _young) = shutdown::channel();
        let fast = t.register(1, 5, peer(), fast_end.clone(), t0).unwrap();
        let slow = t.register(2, 5, other, slow_end.clone(), t0).unwrap();
        let _young_stream = t.register(3, 5, peer(), young_end, t0 + Duration::from_secs(25)).unwrap();
        fast.progress(10_000_000, t0 + Duration::from_secs(20));
        slow.progress(2048, t0 + Duration::from_secs(20));
        let now = t0 + Duration::from_secs(30);
        let min_age = Duration::from_secs(10);
        assert!(t.slowest(now, min_age).unwrap().same(&slow_end), "the young one is not judged yet");
        slow_end.fire();
        assert!(t.slowest(now, min_age).unwrap().same(&fast_end), "an ending one is passed over");
        assert!(t.slowest(t0 + Duration::from_secs(5), min_age).is_none(), "none old enough");
        assert_eq!(t.running_for(ClientKey::of(peer().ip())), 2);
        assert_eq!(t.running_for(ClientKey::of(other.ip())), 1);
    }

    #[test]
    fn a_stale_guard_does_not_free_a_reused_slot() {
        let t = StreamTracker::new(1);
        let now = Instant::now();
        let g = t.register(1, 1, peer(), shutdown::channel().0, now).unwrap();
        let slot = g.slot;
        let id = g.id;
        drop(g);
        let h = t.register(2, 1, peer(), shutdown::channel().0, now).unwrap();
        drop(StreamGuard { tracker: t.clone(), slot, id, owner_slot: 0 });
        assert_eq!(t.active(), 1, "the new stream keeps its slot");
        drop(h);
    }
}
