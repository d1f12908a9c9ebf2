//! Fake Telegram Bot API server: a std-only HTTP/1.1 server on 127.0.0.1 that answers
//! Bot API methods, serves file downloads, records every call and injects faults.
//! Control routes under `/_fake/` let a person drive it with curl.
#![allow(dead_code)]

mod api;
mod control;
mod files;
mod http;
mod params;
mod state;
mod updates;

use http::serve_connection;
use params::{param_i64, param_str};
use serde_json::{Value, json};
use state::{Shared, State};
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use updates::bot_user_json;

/// Upper bound on every recorded list (calls, updates, file requests, stored messages).
pub const RECORD_CAP: usize = 100_000;
/// Largest file that getFile accepts in cloud mode (the real cloud Bot API limit).
pub const CLOUD_FILE_LIMIT: u64 = 20 * 1024 * 1024;
/// User id of the bot, as returned by getMe.
pub const BOT_ID: u64 = 424_242;
/// Username of the bot, as returned by getMe.
pub const BOT_USERNAME: &str = "fake_stream_bot";

const MEDIA_KINDS: [&str; 8] = ["document", "video", "audio", "animation", "voice", "video_note", "sticker", "photo"];

/// A Telegram user that sends messages to the bot in a private chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeUser {
    /// User id, also the id of the private chat with the bot.
    pub id: u64,
    /// First name shown in `from` and `chat`.
    pub first_name: String,
    /// Optional `@username` (without the `@`).
    pub username: Option<String>,
}

impl FakeUser {
    /// A user without a username.
    pub fn new(id: u64, first_name: &str) -> FakeUser {
        FakeUser { id, first_name: first_name.to_string(), username: None }
    }

    /// The same user with a username.
    pub fn with_username(mut self, username: &str) -> FakeUser {
        self.username = Some(username.to_string());
        self
    }

    /// The Bot API `User` object for this user.
    pub fn user_json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "is_bot": false,
            "first_name": self.first_name,
            "language_code": "en",
        });
        if let Some(name) = &self.username {
            v["username"] = json!(name);
        }
        v
    }

    /// The Bot API `Chat` object of the private chat between this user and the bot.
    pub fn chat_json(&self) -> Value {
        let mut v = json!({"id": self.id, "type": "private", "first_name": self.first_name});
        if let Some(name) = &self.username {
            v["username"] = json!(name);
        }
        v
    }
}

/// A file registered with the fake, as the bot would see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRef {
    /// Bot API `file_id`.
    pub file_id: String,
    /// Bot API `file_unique_id`.
    pub file_unique_id: String,
    /// Size in bytes.
    pub size: u64,
    /// Original file name.
    pub name: String,
    /// MIME type.
    pub mime: String,
}

/// A fault injected into the next call of one method (see [`FakeTelegram::fail_next`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this HTTP status and a Bot API error body.
    Status {
        /// HTTP status and `error_code`.
        code: u16,
        /// `description` of the error.
        description: String,
        /// `parameters.retry_after`, if any.
        retry_after: Option<u16>,
    },
    /// Close the connection without answering.
    Drop,
    /// Carry the call out (a message is sent and recorded), then close the connection without
    /// answering: a reply that landed although the bot never heard so.
    DropAfterEffect,
    /// Wait this long, then answer normally.
    Stall(Duration),
    /// Send the full response headers, then only `after` body bytes, then close.
    CutBody {
        /// Number of body bytes sent before the connection is closed.
        after: u64,
    },
}

impl Fault {
    /// A 429 "Too Many Requests" with `parameters.retry_after`.
    pub fn too_many_requests(retry_after: u16) -> Fault {
        Fault::Status {
            code: 429,
            description: format!("Too Many Requests: retry after {retry_after}"),
            retry_after: Some(retry_after),
        }
    }

    /// A 500 "Internal Server Error".
    pub fn server_error() -> Fault {
        Fault::status(500, "Internal Server Error")
    }

    /// Any status with the given description and no `retry_after`.
    pub fn status(code: u16, description: &str) -> Fault {
        Fault::Status { code, description: description.to_string(), retry_after: None }
    }
}

/// One recorded Bot API call (every method except getUpdates, getMe and getFile).
#[derive(Clone, Debug, PartialEq)]
pub struct Sent {
    /// Method name, canonical spelling for known methods (e.g. `sendMessage`).
    pub method: String,
    /// All parameters as a JSON object (form and query values are strings).
    pub params: Value,
    /// The id of the message the fake answered with (sendMessage, editMessageText, …), so a
    /// button on it can be pressed.
    pub message_id: Option<i64>,
}

impl Sent {
    /// The `text` parameter, if present.
    pub fn text(&self) -> Option<&str> {
        self.params.get("text").and_then(Value::as_str)
    }

    /// The `chat_id` parameter as a number (also when it was sent as a string).
    pub fn chat_id(&self) -> Option<i64> {
        param_i64(&self.params, "chat_id")
    }

    /// Any string-like parameter (numbers are rendered as text).
    pub fn param(&self, key: &str) -> Option<String> {
        param_str(&self.params, key)
    }
}

/// One recorded request to the file download route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRequest {
    /// The file path after `/file/bot<token>/`.
    pub path: String,
    /// The raw `Range` header, if any.
    pub range: Option<String>,
    /// HTTP method (`GET` or `HEAD`).
    pub method: String,
}

/// The fake server. Its threads stop when it is dropped.
pub struct FakeTelegram {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: Option<JoinHandle<()>>,
}

impl FakeTelegram {
    /// Starts on an ephemeral port of 127.0.0.1.
    pub fn start() -> FakeTelegram {
        FakeTelegram::start_on(0)
    }

    /// Starts on the given port of 127.0.0.1 (0 picks a free one); panics if it cannot listen.
    pub fn start_on(port: u16) -> FakeTelegram {
        FakeTelegram::try_start_on(port)
            .unwrap_or_else(|e| panic!("fake telegram: cannot listen on 127.0.0.1:{port}: {e}"))
    }

    /// Starts on the given port of 127.0.0.1, returning the bind error instead of panicking.
    pub fn try_start_on(port: u16) -> io::Result<FakeTelegram> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(State::default()));
        let for_thread = Arc::clone(&shared);
        let accept = thread::Builder::new().name("fake-tg-accept".to_string()).spawn(move || {
            for_thread.accept_loop(listener, "fake-tg-conn", |hub, stream| serve_connection(hub, stream))
        })?;
        Ok(FakeTelegram { shared, addr, accept: Some(accept) })
    }

    /// Base URL, `http://127.0.0.1:PORT`, to use as the Bot API server URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `User` object returned by getMe.
    pub fn bot_user(&self) -> Value {
        bot_user_json()
    }

    /// Registers a file; its bytes can then be fetched through getFile and the file route.
    pub fn add_file(&self, bytes: Vec<u8>, name: &str, mime: &str) -> FileRef {
        self.shared.lock().register(Arc::new(bytes), None, name, mime)
    }

    /// Registers a file under a chosen `file_id`, e.g. a real-format one from
    /// `fake_dc::DcFile::bot_api_file_id` so that a direct MTProto download reaches the fake DC;
    /// getFile and the file route serve the same bytes.
    pub fn add_file_with_id(&self, file_id: &str, bytes: Vec<u8>, name: &str, mime: &str) -> FileRef {
        let mut st = self.shared.lock();
        let mut file = st.register(Arc::new(bytes), None, name, mime);
        if let Some(stored) = st.files.remove(&file.file_id) {
            st.files.insert(file_id.to_string(), stored);
        }
        file.file_id = file_id.to_string();
        file
    }

    /// Switches getFile to local Bot API server mode: `file_path` becomes the absolute path
    /// of a copy written into `dir` (no 20 MiB limit). `None` returns to cloud mode.
    pub fn set_local_dir(&self, dir: Option<&Path>) {
        let dir = dir.map(|d| {
            if d.is_absolute() {
                d.to_path_buf()
            } else {
                std::env::current_dir().map(|c| c.join(d)).unwrap_or_else(|_| d.to_path_buf())
            }
        });
        self.shared.lock().local_dir = dir;
    }

    /// When true, the file route ignores `Range` and always answers 200 with the whole file.
    pub fn set_ignore_range(&self, ignore: bool) {
        self.shared.lock().ignore_range = ignore;
    }

    /// Status getChatMember reports for this user: `member` (default), `left`, `kicked`,
    /// `creator`.
    pub fn set_member_status(&self, user_id: u64, status: &str) {
        self.shared.lock().member_status.insert(user_id, status.to_string());
    }

    /// Queues an update built from `content` (e.g. `{"message": {...}}`) and returns its id.
    pub fn push_update(&self, content: Value) -> i64 {
        self.shared.push_update(content)
    }

    /// Queues a value as-is (it may be undecodable); adds `update_id` to an object lacking one.
    pub fn push_raw_update(&self, value: Value) -> i64 {
        let mut st = self.shared.lock();
        let id = st.enqueue_raw(value);
        self.shared.notify();
        id
    }

    /// Queues a text message from `user`; a leading `/command` gets a bot_command entity.
    pub fn send_text(&self, user: &FakeUser, text: &str) -> i64 {
        self.shared.send_text(user, text)
    }

    /// Queues a text message from `user` that replies to the stored message `reply_to`.
    pub fn send_text_replying(&self, user: &FakeUser, text: &str, reply_to: i64) -> i64 {
        self.shared.send_text_replying(user, text, Some(reply_to))
    }

    /// Queues a message from `user` carrying `file` as a document.
    pub fn send_document(&self, user: &FakeUser, file: &FileRef) -> i64 {
        self.send_media(user, "document", file)
    }

    /// Queues a message from `user` carrying `file` as media of `kind`: document, video, audio,
    /// animation (also sets `document`, as Telegram does), voice, video_note, sticker, photo.
    pub fn send_media(&self, user: &FakeUser, kind: &str, file: &FileRef) -> i64 {
        assert!(MEDIA_KINDS.contains(&kind), "fake telegram: unknown media kind {kind:?}");
        self.shared.send_media(user, kind, file)
    }

    /// Queues a `channel_post` in `channel` (an id like -1001234567890) carrying `file` as media
    /// of `kind`, with `reply_markup` if given; returns (update id, message id).
    pub fn post_in_channel(&self, channel: i64, kind: &str, file: &FileRef, markup: Option<Value>) -> (i64, i64) {
        assert!(MEDIA_KINDS.contains(&kind), "fake telegram: unknown media kind {kind:?}");
        self.shared.post_in_channel(channel, kind, file, markup)
    }

    /// Queues an `edited_channel_post` of the stored post `message_id` as it is now (with the
    /// buttons the bot gave it), its caption set to `caption`; returns the update id.
    pub fn edit_channel_post(&self, message_id: i64, caption: &str) -> i64 {
        self.shared.edit_channel_post(message_id, caption, None)
    }

    /// Like [`FakeTelegram::edit_channel_post`], the post's file replaced by `file` (as `kind`).
    pub fn replace_channel_media(&self, message_id: i64, kind: &str, file: &FileRef) -> i64 {
        assert!(MEDIA_KINDS.contains(&kind), "fake telegram: unknown media kind {kind:?}");
        self.shared.edit_channel_post(message_id, "replaced", Some((kind, file)))
    }

    /// Queues a callback query from `user` pressing a button with `data` on `message_id`.
    pub fn send_callback(&self, user: &FakeUser, message_id: i64, data: &str) -> i64 {
        self.shared.send_callback(user, message_id, data)
    }

    /// Number of updates queued and not yet confirmed by a getUpdates offset.
    pub fn pending_updates(&self) -> usize {
        self.shared.lock().updates.len()
    }

    /// Injects a fault into the next call of `method` (FIFO per method, case-insensitive);
    /// use `"file"` for the file download route.
    pub fn fail_next(&self, method: &str, fault: Fault) {
        let mut st = self.shared.lock();
        st.faults.entry(method.to_ascii_lowercase()).or_default().push_back(fault);
    }

    /// Injects a fault into the next call of `method` addressed to `chat_id` (FIFO per method
    /// and chat; served before faults of [`FakeTelegram::fail_next`]). Calls to other chats are
    /// answered normally.
    pub fn fail_next_for_chat(&self, method: &str, chat_id: i64, fault: Fault) {
        let mut st = self.shared.lock();
        st.chat_faults.entry((method.to_ascii_lowercase(), chat_id)).or_default().push_back(fault);
    }

    /// Enforces Telegram's per-chat pace on calls that write to a chat (send*, edit*, copy,
    /// forward): one within `interval` of the last accepted one to the same chat gets a 429 with
    /// the seconds left as `retry_after` (at least 1). `None` turns it off.
    pub fn set_chat_send_interval(&self, interval: Option<Duration>) {
        self.shared.lock().chat_interval = interval;
    }

    /// Calls processed, in order, each recorded once it took effect and before its answer is
    /// written (calls hit by a `Status` or `Drop` fault are not recorded here).
    pub fn sent(&self) -> Vec<Sent> {
        self.shared.lock().sent.clone()
    }

    /// How many times `method` was called (case-insensitive, faulted calls included;
    /// `"file"` counts file route requests).
    pub fn calls(&self, method: &str) -> usize {
        let key = method.to_ascii_lowercase();
        self.shared.lock().calls.get(&key).copied().unwrap_or(0)
    }

    /// Waits until `method` was called at least `n` times; false on timeout.
    pub fn wait_for_calls(&self, method: &str, n: usize, timeout: Duration) -> bool {
        let key = method.to_ascii_lowercase();
        self.shared.wait_until(timeout, |st| st.calls.get(&key).copied().unwrap_or(0) >= n)
    }

    /// First recorded call matching `pred` (already recorded or arriving before `timeout`).
    pub fn wait_for_sent(&self, timeout: Duration, pred: impl Fn(&Sent) -> bool) -> Option<Sent> {
        self.wait_for_nth_sent(timeout, 1, pred)
    }

    /// The `n`-th (1-based) recorded call matching `pred`, waiting up to `timeout` for it.
    pub fn wait_for_nth_sent(&self, timeout: Duration, n: usize, pred: impl Fn(&Sent) -> bool) -> Option<Sent> {
        let n = n.max(1);
        let deadline = Instant::now() + timeout;
        let mut scanned = 0;
        let mut matched = 0;
        let mut st = self.shared.lock();
        loop {
            while scanned < st.sent.len() {
                let s = &st.sent[scanned];
                scanned += 1;
                if pred(s) {
                    matched += 1;
                    if matched == n {
                        return Some(s.clone());
                    }
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            st = self.shared.wait(st, deadline - now);
        }
    }

    /// The `text` of every recorded call of `method`, in order (calls without one are skipped).
    pub fn texts_of(&self, method: &str) -> Vec<String> {
        let st = self.shared.lock();
        st.sent.iter().filter(|s| s.method == method).filter_map(|s| s.text().map(str::to_string)).collect()
    }

    /// Texts of sendMessage and editMessageText calls addressed to `chat_id`, in order.
    pub fn messages_to(&self, chat_id: i64) -> Vec<String> {
        self.shared
            .lock()
            .sent
            .iter()
            .filter(|s| s.method == "sendMessage" || s.method == "editMessageText")
            .filter(|s| s.chat_id() == Some(chat_id))
            .filter_map(|s| s.text().map(str::to_string))
            .collect()
    }

    /// Distinct bot tokens seen in request paths, in first-seen order.
    pub fn tokens_seen(&self) -> Vec<String> {
        self.shared.lock().tokens.clone()
    }

    /// The `offset` of every getUpdates call, in order.
    pub fn get_updates_offsets(&self) -> Vec<Option<i64>> {
        self.shared.lock().offsets.clone()
    }

    /// Every request to the file download route, in order.
    pub fn file_requests(&self) -> Vec<FileRequest> {
        self.shared.lock().file_requests.clone()
    }

    /// message_id of the newest message the bot created (send*, forwardMessage, copyMessage).
    pub fn last_bot_message_id(&self) -> Option<i64> {
        self.shared.lock().last_bot_message
    }

    /// The id of the newest stored message `user` sent.
    pub fn last_message_id_from(&self, user_id: u64) -> i64 {
        let st = self.shared.lock();
        let from = |m: &&Value| m["from"]["id"].as_u64() == Some(user_id);
        st.messages
            .values()
            .filter(from)
            .filter_map(|m| m["message_id"].as_i64())
            .max()
            .expect("a message from the user")
    }

    /// A stored message (sent by a user or the bot) by id.
    pub fn message(&self, message_id: i64) -> Option<Value> {
        self.shared.lock().messages.get(&message_id).cloned()
    }
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.shared.stop(&[self.addr], self.accept.take().into_iter().collect());
    }
}
