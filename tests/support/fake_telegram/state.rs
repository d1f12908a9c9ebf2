//! Server state shared by all threads: the `Shared` handle (lock, condvar, stop flag, open
//! connections) and the `State` record of queues, files, messages, faults and call logs.

use super::files::StoredFile;
use super::{Fault, FileRequest, RECORD_CAP, Sent};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The fake's state and threads (see `hub.rs`).
pub(super) type Shared = super::super::hub::Hub<State>;

#[derive(Default)]
pub(super) struct State {
    pub(super) updates: VecDeque<(i64, Value)>,
    pub(super) next_update_id: i64,
    pub(super) next_message_id: i64,
    pub(super) next_file: u64,
    pub(super) next_path: u64,
    pub(super) next_callback: u64,
    pub(super) files: HashMap<String, StoredFile>,
    pub(super) paths: HashMap<String, String>,
    pub(super) messages: HashMap<i64, Value>,
    pub(super) member_status: HashMap<u64, String>,
    pub(super) local_dir: Option<PathBuf>,
    pub(super) ignore_range: bool,
    pub(super) faults: HashMap<String, VecDeque<Fault>>,
    pub(super) chat_faults: HashMap<(String, i64), VecDeque<Fault>>,
    /// Per-chat pace (see `FakeTelegram::set_chat_send_interval`) and each chat's last write.
    pub(super) chat_interval: Option<Duration>,
    pub(super) chat_last_write: HashMap<i64, Instant>,
    pub(super) sent: Vec<Sent>,
    pub(super) calls: HashMap<String, usize>,
    pub(super) tokens: Vec<String>,
    pub(super) offsets: Vec<Option<i64>>,
    pub(super) file_requests: Vec<FileRequest>,
    pub(super) last_bot_message: Option<i64>,
    /// (chat, message) pairs deleted: deleting one again fails, as it does on Telegram.
    pub(super) deleted: std::collections::HashSet<(i64, i64)>,
}

impl State {
    pub(super) fn note_token(&mut self, token: &str) {
        if !self.tokens.iter().any(|t| t == token) {
            push_capped(&mut self.tokens, token.to_string());
        }
    }

    pub(super) fn count_call(&mut self, key: &str) {
        if let Some(n) = self.calls.get_mut(key) {
            *n += 1;
        } else if self.calls.len() < RECORD_CAP {
            self.calls.insert(key.to_string(), 1);
        }
    }

    pub(super) fn take_fault(&mut self, key: &str) -> Option<Fault> {
        self.faults.get_mut(key).and_then(VecDeque::pop_front)
    }

    pub(super) fn take_chat_fault(&mut self, key: &str, chat_id: i64) -> Option<Fault> {
        self.chat_faults.get_mut(&(key.to_string(), chat_id)).and_then(VecDeque::pop_front)
    }
}

pub(super) fn push_capped<T>(list: &mut Vec<T>, item: T) {
    if list.len() < RECORD_CAP {
        list.push(item);
    }
}
