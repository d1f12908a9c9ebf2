//! Per-chat lanes (pure): updates of one chat run one after another, updates of different chats
//! side by side, and the whole table holds a fixed number of updates. No I/O, no clock; the
//! dispatcher (`dispatch.rs`) runs what this table says may start.

use std::collections::VecDeque;

use frankenstein::types::MaybeInaccessibleMessage;
use frankenstein::updates::{Update, UpdateContent};

/// The lane of an update: a chat id, or `None` for the one lane shared by updates without a chat.
pub type Lane = Option<i64>;

/// Which lane `update` runs in: the chat of its message (or of the message a button sits on),
/// else its sender; updates with neither share one lane.
pub fn lane_of(update: &Update) -> Lane {
    match &update.content {
        UpdateContent::Message(m)
        | UpdateContent::EditedMessage(m)
        | UpdateContent::ChannelPost(m)
        | UpdateContent::EditedChannelPost(m)
        | UpdateContent::BusinessMessage(m)
        | UpdateContent::EditedBusinessMessage(m) => Some(m.chat.id),
        UpdateContent::CallbackQuery(q) => match &q.message {
            Some(MaybeInaccessibleMessage::Message(m)) => Some(m.chat.id),
            Some(MaybeInaccessibleMessage::InaccessibleMessage(m)) => Some(m.chat.id),
            None => i64::try_from(q.from.id).ok(),
        },
        _ => None,
    }
}

/// Jobs by lane: at most one running per lane, the rest waiting in arrival order, and at most
/// `capacity` jobs (running and waiting) in all.
pub struct Lanes<T> {
    /// Lanes with a job running now.
    running: Vec<Lane>,
    /// Jobs behind a running job of their lane, oldest first.
    waiting: VecDeque<(Lane, T)>,
    capacity: usize,
}

impl<T> Lanes<T> {
    pub fn new(capacity: usize) -> Lanes<T> {
        Lanes { running: Vec::with_capacity(capacity), waiting: VecDeque::with_capacity(capacity), capacity }
    }

    /// Jobs held, running and waiting.
    pub fn len(&self) -> usize {
        self.running.len() + self.waiting.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Jobs running now (one per busy lane).
    pub fn running(&self) -> usize {
        self.running.len()
    }

    /// Adds `job` to `lane`: `Ok(Some(job))` if the lane was idle and the job starts now,
    /// `Ok(None)` if it waits behind its lane, `Err(job)` if the table is full.
    pub fn push(&mut self, lane: Lane, job: T) -> Result<Option<T>, T> {
        if self.len() >= self.capacity {
            return Err(job);
        }
        if self.running.contains(&lane) {
            self.waiting.push_back((lane, job));
            return Ok(None);
        }
        self.running.push(lane);
        Ok(Some(job))
    }

    /// The running job of `lane` ended: its next job, which starts now, or `None` (the lane is idle).
    pub fn finish(&mut self, lane: Lane) -> Option<T> {
        if let Some(i) = self.waiting.iter().position(|(l, _)| *l == lane) {
            return self.waiting.remove(i).map(|(_, job)| job);
        }
        self.running.retain(|l| *l != lane);
        None
    }

    /// Drops every waiting job (at shutdown: they start no more); returns how many.
    pub fn drop_waiting(&mut self) -> usize {
        let n = self.waiting.len();
        self.waiting.clear();
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_of_one_lane_run_in_order_and_other_lanes_start_at_once() {
        let mut lanes = Lanes::new(8);
        assert_eq!(lanes.push(Some(1), "a1"), Ok(Some("a1")));
        assert_eq!(lanes.push(Some(1), "a2"), Ok(None));
        assert_eq!(lanes.push(Some(2), "b1"), Ok(Some("b1")));
        assert_eq!(lanes.push(Some(1), "a3"), Ok(None));
        assert_eq!((lanes.len(), lanes.running()), (4, 2));
        assert_eq!(lanes.finish(Some(1)), Some("a2"));
        assert_eq!(lanes.finish(Some(2)), None);
        assert_eq!(lanes.finish(Some(1)), Some("a3"));
        assert_eq!(lanes.finish(Some(1)), None);
        assert!(lanes.is_empty());
        assert_eq!(lanes.push(Some(1), "a4"), Ok(Some("a4")), "an idle lane starts its next job at once");
    }

    #[test]
    fn the_shared_lane_is_a_lane_like_any_other() {
        let mut lanes = Lanes::new(8);
        assert_eq!(lanes.push(None, 1), Ok(Some(1)));
        assert_eq!(lanes.push(None, 2), Ok(None));
        assert_eq!(lanes.push(Some(0), 3), Ok(Some(3)));
        assert_eq!(lanes.finish(None), Some(2));
    }

    #[test]
    fn a_full_table_refuses_until_a_job_ends() {
        let mut lanes = Lanes::new(3);
        assert_eq!(lanes.push(Some(1), 1), Ok(Some(1)));
        assert_eq!(lanes.push(Some(1), 2), Ok(None));
        assert_eq!(lanes.push(Some(2), 3), Ok(Some(3)));
        assert_eq!(lanes.push(Some(3), 4), Err(4));
        assert_eq!(lanes.finish(Some(2)), None);
        assert_eq!(lanes.push(Some(3), 4), Ok(Some(4)));
    }

    #[test]
    fn dropping_the_waiting_jobs_leaves_the_running_ones() {
        let mut lanes = Lanes::new(8);
        lanes.push(Some(1), 1).unwrap();
        lanes.push(Some(1), 2).unwrap();
        lanes.push(Some(2), 3).unwrap();
        assert_eq!(lanes.drop_waiting(), 1);
        assert_eq!((lanes.len(), lanes.running()), (2, 2));
        assert_eq!(lanes.finish(Some(1)), None);
    }

    #[test]
    fn messages_and_buttons_run_in_their_chat_and_others_share_a_lane() {
        let update = |content: serde_json::Value| -> Update {
            let mut v = content;
            v["update_id"] = 1.into();
            serde_json::from_value(v).unwrap()
        };
        let chat = serde_json::json!({"id": -77, "type": "group", "title": "g"});
        let from = serde_json::json!({"id": 5, "is_bot": false, "first_name": "A"});
        let message = serde_json::json!({"message_id": 1, "date": 0, "chat": chat, "from": from});
        assert_eq!(lane_of(&update(serde_json::json!({"message": message}))), Some(-77));
        let press = serde_json::json!({"id": "q", "from": from, "chat_instance": "c", "message": message});
        assert_eq!(lane_of(&update(serde_json::json!({"callback_query": press}))), Some(-77));
        let inline = serde_json::json!({"id": "q", "from": from, "chat_instance": "c", "inline_message_id": "i"});
        assert_eq!(lane_of(&update(serde_json::json!({"callback_query": inline}))), Some(5));
        let poll = serde_json::json!({"poll": {"id": "p", "question": "?", "options": [], "total_voter_count": 0,
            "is_closed": false, "is_anonymous": true, "type": "regular", "allows_multiple_answers": false}});
        assert_eq!(lane_of(&update(poll)), None);
    }
}
