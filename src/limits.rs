//! Per-client request limits (pure: every call takes `now`, nothing reads a clock): a table of
//! client addresses with a fixed number of slots, counting requests and invalid link tokens in
//! one-minute windows. The HTTP server asks it before routing and answers 429 when it says so.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::memory::fixed_table::FixedTable;
use crate::net::ClientKey;

/// The daily link limit's window: a rolling 24 h.
pub const LINK_DAY: u64 = 86_400;

/// When a user who made links at `times` (oldest first, within the last [`LINK_DAY`]) may make
/// the next one, if `limit` (> 0) is reached at `now`: when the oldest link that counts against
/// the limit leaves the window.
pub fn next_link_at(times: &[u64], limit: u32, now: u64) -> Option<u64> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let counted: Vec<u64> = times.iter().copied().filter(|&t| t + LINK_DAY > now).collect();
    (limit > 0 && counted.len() >= limit).then(|| counted[counted.len() - limit] + LINK_DAY)
}

/// Clients tracked at once; the table never grows past this.
pub const CLIENT_SLOTS: usize = 1024;
/// Length of one counting window.
pub const WINDOW: Duration = Duration::from_secs(60);

/// What the limiter says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Over a limit until the window ends, `retry_after_secs` from now (at least 1).
    Limited {
        retry_after_secs: u64,
    },
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    window_start: Instant,
    last_seen: Instant,
    requests: u32,
    bad_tokens: u32,
}

/// Requests and invalid tokens per client per [`WINDOW`]; 0 turns a limit off.
pub struct ClientLimiter {
    slots: FixedTable<ClientKey, Slot>,
    requests_per_window: u32,
    bad_tokens_per_window: u32,
}

impl ClientLimiter {
    /// A limiter with [`CLIENT_SLOTS`] slots, allocated once.
    pub fn new(requests_per_window: u32, bad_tokens_per_window: u32) -> ClientLimiter {
        ClientLimiter::with_slots(CLIENT_SLOTS, requests_per_window, bad_tokens_per_window)
    }

    fn with_slots(slots: usize, requests_per_window: u32, bad_tokens_per_window: u32) -> ClientLimiter {
        ClientLimiter { slots: FixedTable::new(slots), requests_per_window, bad_tokens_per_window }
    }

    /// Counts one request from `ip` at `now` and says whether to serve it.
    pub fn request(&mut self, ip: IpAddr, now: Instant) -> Decision {
        if self.requests_per_window == 0 && self.bad_tokens_per_window == 0 {
            return Decision::Allow;
        }
        let (requests_limit, bad_limit) = (self.requests_per_window, self.bad_tokens_per_window);
        let slot = self.slot(ip, now);
        slot.requests = slot.requests.saturating_add(1);
        let over_requests = requests_limit > 0 && slot.requests > requests_limit;
        let over_tokens = bad_limit > 0 && slot.bad_tokens >= bad_limit;
        if over_requests || over_tokens {
            let ends = slot.window_start + WINDOW;
            let secs = ends.saturating_duration_since(now).as_secs_f64().ceil() as u64;
            Decision::Limited { retry_after_secs: secs.max(1) }
        } else {
            Decision::Allow
        }
    }

    /// Records that `ip` presented a link token that does not verify.
    pub fn bad_token(&mut self, ip: IpAddr, now: Instant) {
        if self.bad_tokens_per_window == 0 {
            return;
        }
        let slot = self.slot(ip, now);
        slot.bad_tokens = slot.bad_tokens.saturating_add(1);
    }

    /// Clients with a slot now.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.slots.len()
    }

    /// The slot of `ip`, with its window restarted if it ended. A new client takes a free slot,
    /// else one whose window ended, else the one seen longest ago.
    fn slot(&mut self, ip: IpAddr, now: Instant) -> &mut Slot {
        let fresh = Slot { window_start: now, last_seen: now, requests: 0, bad_tokens: 0 };
        let slot = self.slots.entry(ClientKey::of(ip), |s| expired(s, now), |s| s.last_seen, || fresh);
        if expired(slot, now) {
            *slot = fresh;
        }
        slot.last_seen = now;
        slot
    }
}

fn expired(slot: &Slot, now: Instant) -> bool {
    now.saturating_duration_since(slot.window_start) >= WINDOW
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_sixth_link_waits_for_the_oldest_of_the_last_five_to_leave_the_window() {
        let times = [1000, 2000, 3000, 4000, 5000];
        assert_eq!(next_link_at(&times[..4], 5, 6000), None);
        assert_eq!(next_link_at(&times, 5, 6000), Some(1000 + LINK_DAY));
        assert_eq!(next_link_at(&times, 5, 1000 + LINK_DAY), None, "the oldest left the window");
        assert_eq!(next_link_at(&times, 2, 6000), Some(4000 + LINK_DAY), "a lowered limit");
        assert_eq!(next_link_at(&times, 0, 6000), None, "0 is off");
    }

    #[test]
    fn requests_past_the_limit_wait_for_the_window_to_end() {
        let mut l = ClientLimiter::new(3, 0);
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(l.request(ip("10.0.0.1"), t0 + Duration::from_secs(i)), Decision::Allow);
        }
        assert_eq!(l.request(ip("10.0.0.1"), t0 + Duration::from_secs(10)), Decision::Limited { retry_after_secs: 50 });
        assert_eq!(l.request(ip("10.0.0.2"), t0 + Duration::from_secs(10)), Decision::Allow, "others unaffected");
        assert_eq!(l.request(ip("10.0.0.1"), t0 + WINDOW), Decision::Allow, "a new window starts afresh");
    }

    #[test]
    fn bad_tokens_block_the_client_for_the_rest_of_the_window() {
        let mut l = ClientLimiter::new(0, 2);
        let t0 = Instant::now();
        assert_eq!(l.request(ip("10.0.0.1"), t0), Decision::Allow);
        l.bad_token(ip("10.0.0.1"), t0);
        assert_eq!(l.request(ip("10.0.0.1"), t0), Decision::Allow);
        l.bad_token(ip("10.0.0.1"), t0);
        assert!(matches!(l.request(ip("10.0.0.1"), t0 + Duration::from_secs(59)), Decision::Limited { .. }));
        assert_eq!(l.request(ip("10.0.0.1"), t0 + Duration::from_secs(61)), Decision::Allow);
    }

    #[test]
    fn zero_limits_allow_everything_and_track_nobody() {
        let mut l = ClientLimiter::new(0, 0);
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert_eq!(l.request(ip("10.0.0.1"), t0), Decision::Allow);
            l.bad_token(ip("10.0.0.1"), t0);
        }
        assert_eq!(l.tracked(), 0);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_bit_network() {
        let mut l = ClientLimiter::new(2, 0);
        let t0 = Instant::now();
        assert_eq!(l.request(ip("2001:db8:1:2::1"), t0), Decision::Allow);
        assert_eq!(l.request(ip("2001:db8:1:2::ffff"), t0), Decision::Allow);
        assert!(matches!(l.request(ip("2001:db8:1:2:aaaa::9"), t0), Decision::Limited { .. }));
        assert_eq!(l.request(ip("2001:db8:1:3::1"), t0), Decision::Allow, "another /64");
        assert_eq!(l.request(ip("::ffff:10.0.0.1"), t0), Decision::Allow);
        assert_eq!(l.request(ip("10.0.0.1"), t0), Decision::Allow);
        assert!(matches!(l.request(ip("10.0.0.1"), t0), Decision::Limited { .. }), "mapped v4 is the same client");
    }

    #[test]
    fn a_full_table_reuses_the_slot_seen_longest_ago() {
        let mut l = ClientLimiter::with_slots(2, 1, 0);
        let t0 = Instant::now();
        l.request(ip("10.0.0.1"), t0);
        l.request(ip("10.0.0.2"), t0 + Duration::from_secs(1));
        l.request(ip("10.0.0.3"), t0 + Duration::from_secs(2));
        assert_eq!(l.tracked(), 2, "the table never grows");
        assert!(matches!(l.request(ip("10.0.0.2"), t0 + Duration::from_secs(3)), Decision::Limited { .. }));
        assert_eq!(l.request(ip("10.0.0.1"), t0 + Duration::from_secs(3)), Decision::Allow, "10.0.0.1 was evicted");
    }

    #[test]
    fn a_full_table_prefers_a_slot_whose_window_ended() {
        let mut l = ClientLimiter::with_slots(2, 1, 0);
        let t0 = Instant::now();
        l.request(ip("10.0.0.1"), t0);
        l.request(ip("10.0.0.2"), t0 + Duration::from_secs(59));
        l.request(ip("10.0.0.1"), t0 + Duration::from_secs(59));
        // 10.0.0.1's window (from t0) ended at 60 s although it was seen at 59 s.
        l.request(ip("10.0.0.3"), t0 + Duration::from_secs(61));
        assert!(matches!(l.request(ip("10.0.0.2"), t0 + Duration::from_secs(62)), Decision::Limited { .. }));
    }
}
