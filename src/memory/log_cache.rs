//! The rate limiter's memory: a fixed-capacity array of message keys and when each was last let
//! through. Allocated once at its capacity and never grown; when full, the slot seen longest ago
//! is reused. Pure: callers pass `now` in milliseconds.

/// A message repeated within this window is dropped.
pub const WINDOW_MS: u64 = 5_000;
/// Default number of slots.
pub const DEFAULT_CAPACITY: usize = 1000;

/// Recently emitted message keys (hashes), `N` slots.
pub struct LogCache<const N: usize = DEFAULT_CAPACITY> {
    keys: [u64; N],
    /// Last time each slot's key was let through, plus one; 0 marks a free slot.
    seen: [u64; N],
    used: usize,
    suppressed: u64,
}

impl<const N: usize> LogCache<N> {
    /// A cache on the heap, every slot allocated now.
    pub fn new() -> Box<Self> {
        Box::new(LogCache { keys: [0; N], seen: [0; N], used: 0, suppressed: 0 })
    }

    /// Whether a message with `key` may be emitted at `now_ms`; records it if so and counts it
    /// as suppressed if not.
    pub fn admit(&mut self, key: u64, now_ms: u64) -> bool {
        let stamp = now_ms + 1;
        let mut free = None;
        let mut oldest = 0;
        for i in 0..N {
            if self.seen[i] == 0 {
                free.get_or_insert(i);
                continue;
            }
            if self.keys[i] == key {
                if stamp.saturating_sub(self.seen[i]) < WINDOW_MS {
                    self.suppressed += 1;
                    return false;
                }
                self.seen[i] = stamp;
                return true;
            }
            if self.seen[i] < self.seen[oldest] || self.seen[oldest] == 0 {
                oldest = i;
            }
        }
        let slot = match free {
            Some(i) => {
                self.used += 1;
                i
            }
            None => oldest,
        };
        self.keys[slot] = key;
        self.seen[slot] = stamp;
        true
    }

    /// Frees slots whose window has passed; returns how many.
    pub fn sweep(&mut self, now_ms: u64) -> usize {
        let stamp = now_ms + 1;
        let mut cleared = 0;
        for i in 0..N {
            if self.seen[i] != 0 && stamp.saturating_sub(self.seen[i]) >= WINDOW_MS {
                self.seen[i] = 0;
                cleared += 1;
            }
        }
        self.used -= cleared;
        cleared
    }

    /// Slots holding a key.
    pub fn used(&self) -> usize {
        self.used
    }

    pub const fn capacity(&self) -> usize {
        N
    }

    /// Messages dropped since start.
    pub fn suppressed(&self) -> u64 {
        self.suppressed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeat_within_the_window_is_dropped_and_counted() {
        let mut c = LogCache::<4>::new();
        assert!(c.admit(7, 1_000));
        assert!(!c.admit(7, 1_000 + WINDOW_MS - 1));
        assert_eq!(c.suppressed(), 1);
        assert!(c.admit(7, 1_000 + WINDOW_MS), "the window has passed");
        assert!(!c.admit(7, 1_000 + WINDOW_MS + 1), "the window restarts when a message goes through");
        assert_eq!(c.used(), 1);
    }

    #[test]
    fn distinct_keys_are_all_admitted() {
        let mut c = LogCache::<4>::new();
        for k in 0..4 {
            assert!(c.admit(k, 0));
        }
        assert_eq!(c.used(), 4);
    }

    #[test]
    fn full_cache_reuses_the_oldest_slot() {
        let mut c = LogCache::<3>::new();
        c.admit(1, 10);
        c.admit(2, 20);
        c.admit(3, 30);
        assert!(c.admit(4, 40), "a new key is admitted when full");
        assert_eq!(c.used(), 3);
        // Key 1 was evicted, so it is admitted again at once; 2, 3 and 4 are still remembered.
        assert!(c.admit(1, 50));
        assert!(!c.admit(3, 60));
        assert!(!c.admit(4, 60));
    }

    #[test]
    fn sweep_frees_only_stale_slots() {
        let mut c = LogCache::<4>::new();
        c.admit(1, 0);
        c.admit(2, 4_000);
        assert_eq!(c.sweep(WINDOW_MS), 1);
        assert_eq!(c.used(), 1);
        assert!(!c.admit(2, WINDOW_MS), "the fresh key is still remembered");
        assert_eq!(c.sweep(100_000), 1);
        assert_eq!(c.used(), 0);
    }

    #[test]
    fn a_hundred_thousand_distinct_messages_stay_at_capacity() {
        let mut c = LogCache::<DEFAULT_CAPACITY>::new();
        for k in 0..100_000u64 {
            assert!(c.admit(k.wrapping_mul(0x9E37_79B9_7F4A_7C15), k));
        }
        assert_eq!(c.used(), DEFAULT_CAPACITY);
        assert_eq!(c.capacity(), DEFAULT_CAPACITY);
        assert_eq!(std::mem::size_of::<LogCache>(), DEFAULT_CAPACITY * 16 + 16, "no hidden growth");
    }
}
