//! The update watermark (pure): which updates were dispatched, which finished, the offset to store
//! (every update below it finished) and the offset to send `getUpdates` (past everything
//! dispatched). No I/O; the dispatcher mirrors each change into the store's update journal.

use std::collections::VecDeque;

/// Updates dispatched and not finished, at most.
pub const MAX_IN_FLIGHT: usize = 64;
/// Updates at or above the watermark (unfinished, or finished out of order), at most: one slow
/// update lets this many later ones finish before polling waits for it.
pub const WINDOW: usize = 1024;

/// Dispatched updates from the watermark up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// `(update_id, finished)`, ascending; the first is never finished.
    slots: VecDeque<(i64, bool)>,
    /// Unfinished slots.
    pending: usize,
    /// One past the highest update id seen; `None` before the first update ever.
    next: Option<i64>,
    /// The watermark last handed out by [`Window::commit`].
    committed: Option<i64>,
}

impl Window {
    /// The window after a restart: `stored` is the committed watermark, `journal` the
    /// `(update_id, finished)` rows the journal kept (ids below `stored` are ignored).
    pub fn restore(stored: Option<i64>, journal: &[(i64, bool)]) -> Window {
        let mut rows: Vec<(i64, bool)> =
            journal.iter().copied().filter(|(id, _)| stored.is_none_or(|s| *id >= s)).collect();
        rows.sort_unstable();
        rows.dedup_by_key(|(id, _)| *id);
        rows.truncate(WINDOW);
        let next = rows.last().map(|(id, _)| id + 1).max(stored);
        let pending = rows.iter().filter(|(_, done)| !done).count();
        let mut window = Window { slots: rows.into(), pending, next, committed: stored };
        window.advance();
        window
    }

    /// The offset for the next `getUpdates`: past every update seen.
    pub fn next_offset(&self) -> Option<i64> {
        self.next
    }

    /// The lowest update id not finished: every update below it finished.
    pub fn watermark(&self) -> Option<i64> {
        self.slots.front().map(|(id, _)| *id).or(self.next)
    }

    /// How many more updates may be dispatched now.
    pub fn room(&self) -> usize {
        MAX_IN_FLIGHT.saturating_sub(self.pending).min(WINDOW.saturating_sub(self.slots.len()))
    }

    #[cfg(test)]
    /// Updates dispatched and not finished.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// Whether `id` is new: an id below the offset was dispatched or skipped before.
    pub fn is_new(&self, id: i64) -> bool {
        self.next.is_none_or(|next| id >= next)
    }

    /// `id` (new, see [`Window::is_new`]) is dispatched. Panics past [`Window::room`].
    pub fn dispatch(&mut self, id: i64) {
        assert!(self.room() > 0 && self.is_new(id), "the poller dispatches only new updates, within room");
        self.slots.push_back((id, false));
        self.pending += 1;
        self.next = Some(id + 1);
    }

    /// `id` (new) is skipped without being dispatched (it could not be decoded).
    pub fn skip(&mut self, id: i64) {
        if self.is_new(id) {
            self.next = Some(id + 1);
        }
    }

    /// `id` finished; an id not dispatched, or already finished, changes nothing.
    pub fn finish(&mut self, id: i64) {
        if let Ok(i) = self.slots.binary_search_by_key(&id, |(id, _)| *id)
            && !self.slots[i].1
        {
            self.slots[i].1 = true;
            self.pending -= 1;
            self.advance();
        }
    }

    /// The watermark to store, if it moved since the last commit.
    pub fn commit(&mut self) -> Option<i64> {
        let now = self.watermark();
        if now == self.committed {
            return None;
        }
        self.committed = now;
        now
    }

    /// Drops finished slots from the front: the watermark passes them.
    fn advance(&mut self) {
        while self.slots.front().is_some_and(|(_, done)| *done) {
            self.slots.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh(offset: i64) -> Window {
        Window::restore(Some(offset), &[])
    }

    #[test]
    fn the_watermark_waits_for_the_lowest_unfinished_update() {
        let mut w = fresh(10);
        for id in 10..14 {
            w.dispatch(id);
        }
        assert_eq!((w.watermark(), w.next_offset(), w.commit()), (Some(10), Some(14), None));
        w.finish(12);
        w.finish(11);
        assert_eq!((w.watermark(), w.commit()), (Some(10), None), "10 still runs");
        w.finish(10);
        assert_eq!((w.watermark(), w.commit()), (Some(13), Some(13)), "10, 11 and 12 are done");
        w.finish(13);
        assert_eq!((w.watermark(), w.commit(), w.pending()), (Some(14), Some(14), 0));
        assert_eq!(w.commit(), None, "committed once");
    }

    #[test]
    fn finishing_twice_or_an_unknown_id_changes_nothing() {
        let mut w = fresh(1);
        w.dispatch(1);
        w.dispatch(2);
        w.finish(2);
        w.finish(2);
        w.finish(99);
        assert_eq!((w.pending(), w.watermark()), (1, Some(1)));
    }

    #[test]
    fn skipped_and_old_ids_move_only_the_poll_offset() {
        let mut w = fresh(5);
        w.dispatch(5);
        w.skip(6);
        assert!(!w.is_new(6) && !w.is_new(4) && w.is_new(7));
        assert_eq!((w.watermark(), w.next_offset()), (Some(5), Some(7)));
        w.finish(5);
        assert_eq!(w.commit(), Some(7), "nothing below 7 is left to do");
    }

    #[test]
    fn the_first_start_has_no_offset_until_an_update_arrives() {
        let mut w = Window::restore(None, &[]);
        assert!(w.is_new(i64::MIN));
        assert_eq!((w.next_offset(), w.watermark(), w.commit()), (None, None, None));
        w.dispatch(700);
        assert_eq!((w.next_offset(), w.commit()), (Some(701), Some(700)));
    }

    #[test]
    fn room_is_bounded_by_updates_in_flight_and_by_the_window() {
        let mut w = fresh(0);
        for id in 0..MAX_IN_FLIGHT as i64 {
            w.dispatch(id);
        }
        assert_eq!(w.room(), 0);
        w.finish(5);
        assert_eq!(w.room(), 1);
        // Update 0 never finishes: the rest of the window fills up behind it.
        let mut id = MAX_IN_FLIGHT as i64;
        for done in 1..MAX_IN_FLIGHT as i64 {
            w.finish(done);
        }
        while w.room() > 0 {
            w.dispatch(id);
            w.finish(id);
            id += 1;
        }
        assert_eq!((id as usize, w.pending(), w.watermark()), (WINDOW, 1, Some(0)));
        w.finish(0);
        assert_eq!((w.room(), w.watermark()), (MAX_IN_FLIGHT, Some(WINDOW as i64)));
    }

    #[test]
    fn a_restart_resumes_past_the_journal_and_replays_its_unfinished_rows() {
        let journal = [(12, false), (11, true), (10, false), (3, true)];
        let mut w = Window::restore(Some(10), &journal);
        assert_eq!((w.watermark(), w.next_offset(), w.pending()), (Some(10), Some(13), 2));
        assert!(!w.is_new(11) && w.is_new(13));
        w.finish(10);
        assert_eq!(w.commit(), Some(12), "11 finished before the restart");
        // A journal of finished rows only: the watermark moves past them at once.
        let mut w = Window::restore(Some(20), &[(20, true), (21, true)]);
        assert_eq!((w.watermark(), w.commit()), (Some(22), Some(22)));
        // An empty journal resumes from the stored offset.
        assert_eq!(fresh(30).next_offset(), Some(30));
    }
}
