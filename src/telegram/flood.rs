//! Per-chat flood holds (pure): after a 429 with `retry_after` for one chat, calls to that chat wait
//! until the instant Telegram named; calls to other chats go out at once. A fixed table; takes
//! `now`, sleeps nowhere (the transport does the waiting).

use std::time::{Duration, Instant};

/// Chats held back at once, at most. Past this the hold ending soonest gives way (that chat may
/// meet one more 429, which holds it again).
pub const MAX_HELD_CHATS: usize = 64;

/// "Not before" instants by chat id.
#[derive(Debug)]
pub struct FloodTable {
    holds: Vec<(i64, Instant)>,
}

impl Default for FloodTable {
    fn default() -> Self {
        FloodTable { holds: Vec::with_capacity(MAX_HELD_CHATS) }
    }
}

impl FloodTable {
    /// How long calls to `chat` must still wait, if at all.
    pub fn left(&self, chat: i64, now: Instant) -> Option<Duration> {
        self.holds
            .iter()
            .find(|(c, _)| *c == chat)
            .map(|(_, until)| until.saturating_duration_since(now))
            .filter(|d| !d.is_zero())
    }

    /// Holds `chat` back until `until`; a hold already ending later is kept (a 429 never shortens
    /// a wait Telegram asked for earlier).
    pub fn hold(&mut self, chat: i64, until: Instant, now: Instant) {
        self.holds.retain(|(_, end)| *end > now);
        if let Some(entry) = self.holds.iter_mut().find(|(c, _)| *c == chat) {
            entry.1 = entry.1.max(until);
            return;
        }
        if self.holds.len() >= MAX_HELD_CHATS
            && let Some(i) = self.holds.iter().enumerate().min_by_key(|(_, (_, end))| *end).map(|(i, _)| i)
        {
            self.holds.swap_remove(i);
        }
        self.holds.push((chat, until));
    }

    #[cfg(test)]
    /// Chats held back now.
    pub fn held(&self, now: Instant) -> usize {
        self.holds.iter().filter(|(_, end)| *end > now).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_held_chat_waits_and_other_chats_do_not() {
        let now = Instant::now();
        let mut t = FloodTable::default();
        t.hold(1, now + 8 * S, now);
        assert_eq!(t.left(1, now), Some(8 * S));
        assert_eq!(t.left(1, now + 5 * S), Some(3 * S));
        assert_eq!(t.left(2, now), None);
        assert_eq!(t.left(1, now + 8 * S), None, "the hold ends at the instant named");
    }

    #[test]
    fn a_later_429_extends_a_hold_and_never_shortens_it() {
        let now = Instant::now();
        let mut t = FloodTable::default();
        t.hold(1, now + 30 * S, now);
        t.hold(1, now + 5 * S, now);
        assert_eq!(t.left(1, now), Some(30 * S));
        t.hold(1, now + 40 * S, now);
        assert_eq!((t.left(1, now), t.held(now)), (Some(40 * S), 1));
    }

    #[test]
    fn ended_holds_free_their_place_and_a_full_table_drops_the_hold_ending_soonest() {
        let now = Instant::now();
        let mut t = FloodTable::default();
        for chat in 0..MAX_HELD_CHATS as i64 {
            t.hold(chat, now + (10 + chat as u32) * S, now);
        }
        t.hold(1000, now + 60 * S, now);
        assert_eq!(t.held(now), MAX_HELD_CHATS);
        assert_eq!(t.left(0, now), None, "chat 0 ended soonest and gave way");
        assert_eq!(t.left(1000, now), Some(60 * S));
        let later = now + 20 * S;
        t.hold(2000, later + S, later);
        assert_eq!(t.held(later), MAX_HELD_CHATS - 10 + 1, "ten holds ended by then");
        assert_eq!(t.holds.len(), t.held(later));
    }
}
