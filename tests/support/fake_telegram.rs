//! Fake Telegram Bot API server: a std-only HTTP/1.1 server on 127.0.0.1 that answers
//! Bot API methods, serves file downloads, records every call and injects faults.
//! Control routes under `/_fake/` let a person drive it with curl.
#![allow(dead_code)]

use serde_json::{Map, Value, json};
use std::collections::{HashMap, VecDeque};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Upper bound on every recorded list (calls, updates, file requests, stored messages).
pub const RECORD_CAP: usize = 100_000;
/// Largest file that getFile accepts in cloud mode (the real cloud Bot API limit).
pub const CLOUD_FILE_LIMIT: u64 = 20 * 1024 * 1024;
/// User id of the bot, as returned by getMe.
pub const BOT_ID: u64 = 424_242;
/// Username of the bot, as returned by getMe.
pub const BOT_USERNAME: &str = "fake_stream_bot";

const MAX_HEAD_BYTES: usize = 64 * 1024;
const MAX_BODY_BYTES: usize = 1 << 30;
const WRITE_CHUNK: usize = 64 * 1024;
const IDLE_READ_TIMEOUT: Duration = Duration::from_secs(300);
const MEDIA_KINDS: [&str; 8] = ["document", "video", "audio", "animation", "voice", "video_note", "sticker", "photo"];
/// Methods whose calls are not recorded by [`FakeTelegram::sent`].
const UNRECORDED: [&str; 3] = ["getUpdates", "getMe", "getFile"];
/// Every Bot API method the fake answers; names are matched case-insensitively.
const KNOWN_METHODS: [&str; 28] = [
    "getMe",
    "getUpdates",
    "deleteWebhook",
    "setWebhook",
    "getWebhookInfo",
    "setMyCommands",
    "deleteMyCommands",
    "setMyDescription",
    "setMyShortDescription",
    "answerCallbackQuery",
    "deleteMessage",
    "sendChatAction",
    "logOut",
    "close",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "forwardMessage",
    "copyMessage",
    "getFile",
    "getChatMember",
    "sendDocument",
    "sendPhoto",
    "sendVideo",
    "sendAudio",
    "sendAnimation",
    "sendVoice",
    "sendSticker",
];

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
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
            conns: Mutex::new(HashMap::new()),
        });
        let for_thread = Arc::clone(&shared);
        let accept = thread::Builder::new()
            .name("fake-tg-accept".to_string())
            .spawn(move || accept_loop(listener, for_thread))?;
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
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        loop {
            if st.calls.get(&key).copied().unwrap_or(0) >= n {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            st = self.shared.wait(st, deadline - now);
        }
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

    /// A stored message (sent by a user or the bot) by id.
    pub fn message(&self, message_id: i64) -> Option<Value> {
        self.shared.lock().messages.get(&message_id).cloned()
    }
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        {
            let _guard = self.shared.lock();
            self.shared.notify();
        }
        let woke = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok();
        if let Some(handle) = self.accept.take()
            && woke
        {
            let _ = handle.join();
        }
        let conns: Vec<TcpStream> =
            self.shared.conns.lock().unwrap_or_else(|e| e.into_inner()).drain().map(|(_, c)| c).collect();
        for conn in conns {
            let _ = conn.shutdown(Shutdown::Both);
        }
    }
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    stop: AtomicBool,
    conns: Mutex<HashMap<u64, TcpStream>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'a>(&self, guard: MutexGuard<'a, State>, dur: Duration) -> MutexGuard<'a, State> {
        match self.changed.wait_timeout(guard, dur) {
            Ok((g, _)) => g,
            Err(e) => e.into_inner().0,
        }
    }

    fn notify(&self) {
        self.changed.notify_all();
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sleeps for `dur` in small steps, returning early when the server stops.
    fn sleep(&self, dur: Duration) {
        let deadline = Instant::now() + dur;
        while !self.stopping() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            thread::sleep((deadline - now).min(Duration::from_millis(10)));
        }
    }

    fn push_update(&self, content: Value) -> i64 {
        let mut st = self.lock();
        let id = st.enqueue(content);
        self.notify();
        id
    }

    fn send_text(&self, user: &FakeUser, text: &str) -> i64 {
        let mut st = self.lock();
        let mut msg = st.user_message(user);
        msg["text"] = json!(text);
        if text.starts_with('/') {
            let command = text.split_whitespace().next().unwrap_or("");
            msg["entities"] = json!([{
                "type": "bot_command",
                "offset": 0,
                "length": command.encode_utf16().count(),
            }]);
        }
        st.store_message(&msg);
        let id = st.enqueue(json!({ "message": msg }));
        self.notify();
        id
    }

    fn send_media(&self, user: &FakeUser, kind: &str, file: &FileRef) -> i64 {
        let mut st = self.lock();
        let mut msg = st.user_message(user);
        msg[kind] = st.media_json(kind, file);
        if kind == "animation" {
            msg["document"] = st.media_json("document", file);
        }
        st.store_message(&msg);
        let id = st.enqueue(json!({ "message": msg }));
        self.notify();
        id
    }

    fn send_callback(&self, user: &FakeUser, message_id: i64, data: &str) -> i64 {
        let mut st = self.lock();
        let message = st.messages.get(&message_id).cloned().unwrap_or_else(|| {
            json!({
                "message_id": message_id,
                "date": unix_now(),
                "chat": user.chat_json(),
                "from": bot_user_json(),
            })
        });
        st.next_callback += 1;
        let query = json!({
            "id": format!("{}", 4_000_000_000_000_000_000u64 + st.next_callback),
            "from": user.user_json(),
            "chat_instance": format!("-{}", 9_000_000_000u64 + user.id),
            "data": data,
            "message": message,
        });
        let id = st.enqueue(json!({ "callback_query": query }));
        self.notify();
        id
    }
}

struct StoredFile {
    bytes: Arc<Vec<u8>>,
    unique_id: String,
    name: String,
    mime: String,
    cloud_path: Option<String>,
    local_path: Option<PathBuf>,
}

#[derive(Default)]
struct State {
    updates: VecDeque<(i64, Value)>,
    next_update_id: i64,
    next_message_id: i64,
    next_file: u64,
    next_path: u64,
    next_callback: u64,
    files: HashMap<String, StoredFile>,
    paths: HashMap<String, String>,
    messages: HashMap<i64, Value>,
    member_status: HashMap<u64, String>,
    local_dir: Option<PathBuf>,
    ignore_range: bool,
    faults: HashMap<String, VecDeque<Fault>>,
    sent: Vec<Sent>,
    calls: HashMap<String, usize>,
    tokens: Vec<String>,
    offsets: Vec<Option<i64>>,
    file_requests: Vec<FileRequest>,
    last_bot_message: Option<i64>,
}

impl State {
    fn note_token(&mut self, token: &str) {
        if !self.tokens.iter().any(|t| t == token) {
            push_capped(&mut self.tokens, token.to_string());
        }
    }

    fn count_call(&mut self, key: &str) {
        if let Some(n) = self.calls.get_mut(key) {
            *n += 1;
        } else if self.calls.len() < RECORD_CAP {
            self.calls.insert(key.to_string(), 1);
        }
    }

    fn take_fault(&mut self, key: &str) -> Option<Fault> {
        self.faults.get_mut(key).and_then(VecDeque::pop_front)
    }

    fn new_message_id(&mut self) -> i64 {
        if self.next_message_id == 0 {
            self.next_message_id = 1000;
        }
        let id = self.next_message_id;
        self.next_message_id += 1;
        id
    }

    fn register(&mut self, bytes: Arc<Vec<u8>>, unique_id: Option<String>, name: &str, mime: &str) -> FileRef {
        self.next_file += 1;
        let n = self.next_file;
        let file_id = format!("BQACAgIAAxkBAAIC{n:06}ZmFrZV90ZWxlZ3JhbV9maWxl");
        let unique_id = unique_id.unwrap_or_else(|| format!("AgADfk{n:06}"));
        let size = bytes.len() as u64;
        self.files.insert(
            file_id.clone(),
            StoredFile {
                bytes,
                unique_id: unique_id.clone(),
                name: name.to_string(),
                mime: mime.to_string(),
                cloud_path: None,
                local_path: None,
            },
        );
        FileRef { file_id, file_unique_id: unique_id, size, name: name.to_string(), mime: mime.to_string() }
    }

    fn file_ref(&self, file_id: &str) -> Option<FileRef> {
        self.files.get(file_id).map(|f| FileRef {
            file_id: file_id.to_string(),
            file_unique_id: f.unique_id.clone(),
            size: f.bytes.len() as u64,
            name: f.name.clone(),
            mime: f.mime.clone(),
        })
    }

    /// Registers the same bytes and unique id under a new file_id (as a forward does).
    fn reissue(&mut self, file_id: &str) -> Option<String> {
        let (bytes, unique, name, mime) = {
            let f = self.files.get(file_id)?;
            (Arc::clone(&f.bytes), f.unique_id.clone(), f.name.clone(), f.mime.clone())
        };
        Some(self.register(bytes, Some(unique), &name, &mime).file_id)
    }

    fn enqueue(&mut self, content: Value) -> i64 {
        let mut obj = match content {
            Value::Object(map) => map,
            other => panic!("fake telegram: an update must be a JSON object, got {other}"),
        };
        self.next_update_id = self.next_update_id.max(1);
        let id = self.next_update_id;
        self.next_update_id += 1;
        obj.insert("update_id".to_string(), json!(id));
        self.queue(id, Value::Object(obj));
        id
    }

    fn enqueue_raw(&mut self, mut value: Value) -> i64 {
        self.next_update_id = self.next_update_id.max(1);
        let given = value.get("update_id").and_then(Value::as_i64);
        let id = match given {
            Some(id) => id,
            None => {
                let id = self.next_update_id;
                if let Some(obj) = value.as_object_mut() {
                    obj.insert("update_id".to_string(), json!(id));
                }
                id
            }
        };
        self.next_update_id = self.next_update_id.max(id + 1);
        self.queue(id, value);
        id
    }

    fn queue(&mut self, id: i64, value: Value) {
        if self.updates.len() >= RECORD_CAP {
            self.updates.pop_front();
        }
        self.updates.push_back((id, value));
    }

    fn store_message(&mut self, msg: &Value) {
        let Some(id) = msg.get("message_id").and_then(Value::as_i64) else {
            return;
        };
        if self.messages.len() < RECORD_CAP || self.messages.contains_key(&id) {
            self.messages.insert(id, msg.clone());
        }
    }

    fn user_message(&mut self, user: &FakeUser) -> Value {
        json!({
            "message_id": self.new_message_id(),
            "date": unix_now(),
            "chat": user.chat_json(),
            "from": user.user_json(),
        })
    }

    fn bot_message(&mut self, chat_id: i64) -> Value {
        let id = self.new_message_id();
        self.last_bot_message = Some(id);
        message_in_chat(id, chat_id)
    }

    fn media_json(&mut self, kind: &str, f: &FileRef) -> Value {
        let mut v = json!({
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "file_size": f.size,
        });
        let stem =
            Path::new(&f.name).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| f.name.clone());
        let extra = match kind {
            "document" => json!({"file_name": f.name, "mime_type": f.mime}),
            "video" => json!({
                "width": 1280, "height": 720, "duration": 10,
                "file_name": f.name, "mime_type": f.mime,
            }),
            "animation" => json!({
                "width": 480, "height": 270, "duration": 3,
                "file_name": f.name, "mime_type": f.mime,
            }),
            "audio" => json!({
                "duration": 180, "title": stem, "performer": "Fake Artist",
                "file_name": f.name, "mime_type": f.mime,
            }),
            "voice" => json!({"duration": 5, "mime_type": f.mime}),
            "video_note" => json!({"length": 240, "duration": 5}),
            "sticker" => json!({
                "type": "regular", "width": 512, "height": 512,
                "is_animated": false, "is_video": false, "emoji": "\u{1F642}",
            }),
            "photo" => {
                let bytes =
                    self.files.get(&f.file_id).map(|s| s.bytes[..s.bytes.len().min(2048)].to_vec()).unwrap_or_default();
                let thumb = self.register(Arc::new(bytes), None, "thumb.jpg", "image/jpeg");
                return json!([
                    {
                        "file_id": thumb.file_id,
                        "file_unique_id": thumb.file_unique_id,
                        "file_size": thumb.size,
                        "width": 90,
                        "height": 90,
                    },
                    {
                        "file_id": f.file_id,
                        "file_unique_id": f.file_unique_id,
                        "file_size": f.size,
                        "width": 1280,
                        "height": 720,
                    },
                ]);
            }
            other => panic!("fake telegram: unknown media kind {other:?}"),
        };
        if let (Some(obj), Value::Object(extra)) = (v.as_object_mut(), extra) {
            obj.extend(extra);
        }
        v
    }

    /// Copies media values, giving every known file a new file_id (one per distinct old id).
    fn clone_media(&mut self, v: &Value, renamed: &mut HashMap<String, String>) -> Value {
        match v {
            Value::Array(items) => Value::Array(items.iter().map(|item| self.clone_media(item, renamed)).collect()),
            Value::Object(obj) => {
                let mut out = Map::new();
                for (k, val) in obj {
                    let new = match (k.as_str(), val) {
                        ("file_id", Value::String(old)) => {
                            let new_id = match renamed.get(old) {
                                Some(id) => Some(id.clone()),
                                None => self.reissue(old),
                            };
                            match new_id {
                                Some(id) => {
                                    renamed.insert(old.clone(), id.clone());
                                    Value::String(id)
                                }
                                None => val.clone(),
                            }
                        }
                        (_, Value::Object(_)) | (_, Value::Array(_)) => self.clone_media(val, renamed),
                        _ => val.clone(),
                    };
                    out.insert(k.clone(), new);
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }

    fn lookup_path(&self, path: &str) -> Option<Arc<Vec<u8>>> {
        let id = self.paths.get(path).or_else(|| self.paths.get(&format!("/{path}")))?;
        self.files.get(id).map(|f| Arc::clone(&f.bytes))
    }
}

/// Bot API error raised while answering a method.
struct ApiError {
    code: u16,
    description: String,
}

fn bad(description: &str) -> ApiError {
    ApiError { code: 400, description: format!("Bad Request: {description}") }
}

fn bot_user_json() -> Value {
    json!({
        "id": BOT_ID,
        "is_bot": true,
        "first_name": "Stream Bot",
        "username": BOT_USERNAME,
    })
}

fn chat_json_for(chat_id: i64) -> Value {
    if chat_id <= -1_000_000_000_000 {
        json!({"id": chat_id, "type": "channel", "title": "Fake Channel"})
    } else if chat_id < 0 {
        json!({"id": chat_id, "type": "group", "title": "Fake Group"})
    } else {
        json!({"id": chat_id, "type": "private"})
    }
}

/// A message sent by the bot into `chat_id` (channel posts carry `sender_chat` instead of `from`).
fn message_in_chat(message_id: i64, chat_id: i64) -> Value {
    let chat = chat_json_for(chat_id);
    let mut msg = json!({"message_id": message_id, "date": unix_now(), "chat": chat});
    if chat["type"] == "channel" {
        msg["sender_chat"] = chat;
    } else {
        msg["from"] = bot_user_json();
    }
    msg
}

fn api_error_json(code: u16, description: &str, retry_after: Option<u16>) -> Value {
    let mut v = json!({"ok": false, "error_code": code, "description": description});
    if let Some(secs) = retry_after {
        v["parameters"] = json!({ "retry_after": secs });
    }
    v
}

fn not_found_json() -> Value {
    api_error_json(404, "Not Found", None)
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn push_capped<T>(list: &mut Vec<T>, item: T) {
    if list.len() < RECORD_CAP {
        list.push(item);
    }
}

fn param_i64(params: &Value, key: &str) -> Option<i64> {
    match params.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn param_str(params: &Value, key: &str) -> Option<String> {
    match params.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn require_chat(params: &Value) -> Result<i64, ApiError> {
    match params.get("chat_id") {
        None | Some(Value::Null) => Err(bad("chat_id is empty")),
        Some(Value::String(s)) if s.starts_with('@') => Ok(-1_000_000_000_001),
        Some(_) => param_i64(params, "chat_id").ok_or_else(|| bad("chat not found")),
    }
}

fn require_message_id(params: &Value) -> Result<i64, ApiError> {
    param_i64(params, "message_id").ok_or_else(|| bad("message identifier is not specified"))
}

/// Copies `reply_markup` (a JSON object, or a JSON string as sent in forms) into `msg`.
fn attach_markup(msg: &mut Value, params: &Value) {
    match params.get("reply_markup") {
        Some(Value::String(s)) => {
            msg["reply_markup"] = serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()));
        }
        Some(v @ Value::Object(_)) => msg["reply_markup"] = v.clone(),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Bot API methods

type Uploads = HashMap<String, Upload>;

struct Upload {
    filename: String,
    mime: String,
    bytes: Vec<u8>,
}

fn canonical_method(raw: &str) -> Option<&'static str> {
    KNOWN_METHODS.iter().find(|m| m.eq_ignore_ascii_case(raw)).copied()
}

fn dispatch(shared: &Shared, method: &str, p: &Value, uploads: &Uploads) -> Result<Value, ApiError> {
    match method {
        "getMe" => Ok(bot_user_json()),
        "getUpdates" => Ok(get_updates(shared, p)),
        "deleteWebhook"
        | "setWebhook"
        | "setMyCommands"
        | "deleteMyCommands"
        | "setMyDescription"
        | "setMyShortDescription"
        | "answerCallbackQuery"
        | "deleteMessage"
        | "sendChatAction"
        | "logOut"
        | "close" => Ok(Value::Bool(true)),
        "getWebhookInfo" => Ok(json!({
            "url": "",
            "has_custom_certificate": false,
            "pending_update_count": shared.lock().updates.len(),
        })),
        "sendMessage" => send_message(&mut shared.lock(), p),
        "editMessageText" => edit_message(&mut shared.lock(), p, true),
        "editMessageReplyMarkup" => edit_message(&mut shared.lock(), p, false),
        "forwardMessage" => forward_message(&mut shared.lock(), p),
        "copyMessage" => copy_message(&mut shared.lock(), p),
        "getFile" => get_file(&mut shared.lock(), p),
        "getChatMember" => get_chat_member(&shared.lock(), p),
        "sendDocument" => send_file(&mut shared.lock(), p, uploads, "document"),
        "sendPhoto" => send_file(&mut shared.lock(), p, uploads, "photo"),
        "sendVideo" => send_file(&mut shared.lock(), p, uploads, "video"),
        "sendAudio" => send_file(&mut shared.lock(), p, uploads, "audio"),
        "sendAnimation" => send_file(&mut shared.lock(), p, uploads, "animation"),
        "sendVoice" => send_file(&mut shared.lock(), p, uploads, "voice"),
        "sendSticker" => send_file(&mut shared.lock(), p, uploads, "sticker"),
        _ => Err(ApiError { code: 404, description: "Not Found".to_string() }),
    }
}

fn get_updates(shared: &Shared, p: &Value) -> Value {
    let offset = param_i64(p, "offset");
    let limit = param_i64(p, "limit").unwrap_or(100).clamp(1, 100) as usize;
    let timeout = param_i64(p, "timeout").unwrap_or(0).clamp(0, 3600) as u64;
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let mut st = shared.lock();
    push_capped(&mut st.offsets, offset);
    shared.notify();
    loop {
        match offset {
            Some(off) if off < 0 => {
                let keep = off.unsigned_abs() as usize;
                while st.updates.len() > keep {
                    st.updates.pop_front();
                }
            }
            Some(off) => st.updates.retain(|(id, _)| *id >= off),
            None => {}
        }
        let batch: Vec<Value> = st.updates.iter().take(limit).map(|(_, v)| v.clone()).collect();
        let now = Instant::now();
        if !batch.is_empty() || now >= deadline || shared.stopping() {
            return Value::Array(batch);
        }
        st = shared.wait(st, deadline - now);
    }
}

fn send_message(st: &mut State, p: &Value) -> Result<Value, ApiError> {
    let chat_id = require_chat(p)?;
    let text = param_str(p, "text").unwrap_or_default();
    if text.is_empty() {
        return Err(bad("message text is empty"));
    }
    let mut msg = st.bot_message(chat_id);
    msg["text"] = json!(text);
    attach_markup(&mut msg, p);
    st.store_message(&msg);
    Ok(msg)
}

fn edit_message(st: &mut State, p: &Value, with_text: bool) -> Result<Value, ApiError> {
    if p.get("inline_message_id").is_some() {
        return Ok(Value::Bool(true));
    }
    let chat_id = require_chat(p)?;
    let message_id = require_message_id(p)?;
    let mut msg = st.messages.get(&message_id).cloned().unwrap_or_else(|| message_in_chat(message_id, chat_id));
    if with_text {
        let text = param_str(p, "text").unwrap_or_default();
        if text.is_empty() {
            return Err(bad("text must be non-empty"));
        }
        msg["text"] = json!(text);
    }
    if let Some(obj) = msg.as_object_mut() {
        obj.remove("reply_markup");
    }
    attach_markup(&mut msg, p);
    msg["edit_date"] = json!(unix_now());
    st.store_message(&msg);
    Ok(msg)
}

fn source_message(st: &State, p: &Value, what: &str) -> Result<Value, ApiError> {
    let from_chat = param_i64(p, "from_chat_id").ok_or_else(|| bad("chat not found"))?;
    let message_id = require_message_id(p)?;
    st.messages
        .get(&message_id)
        .filter(|m| m["chat"]["id"].as_i64() == Some(from_chat))
        .cloned()
        .ok_or_else(|| bad(&format!("message to {what} not found")))
}

fn forward_message(st: &mut State, p: &Value) -> Result<Value, ApiError> {
    let chat_id = require_chat(p)?;
    let orig = source_message(st, p, "forward")?;
    let mut msg = st.bot_message(chat_id);
    let mut renamed = HashMap::new();
    for key in MEDIA_KINDS {
        if let Some(media) = orig.get(key) {
            msg[key] = st.clone_media(media, &mut renamed);
        }
    }
    for key in ["text", "entities", "caption", "caption_entities"] {
        if let Some(v) = orig.get(key) {
            msg[key] = v.clone();
        }
    }
    if let Some(from) = orig.get("from") {
        msg["forward_origin"] = json!({"type": "user", "date": orig["date"], "sender_user": from});
    } else if let Some(chat) = orig.get("sender_chat") {
        msg["forward_origin"] = json!({
            "type": "channel", "date": orig["date"], "chat": chat,
            "message_id": orig["message_id"],
        });
    }
    st.store_message(&msg);
    Ok(msg)
}

fn copy_message(st: &mut State, p: &Value) -> Result<Value, ApiError> {
    let chat_id = require_chat(p)?;
    let orig = source_message(st, p, "copy")?;
    let mut msg = st.bot_message(chat_id);
    let id = msg["message_id"].clone();
    if let (Some(dst), Some(src)) = (msg.as_object_mut(), orig.as_object()) {
        for (k, v) in src {
            if !matches!(k.as_str(), "message_id" | "date" | "chat" | "from" | "sender_chat" | "forward_origin") {
                dst.insert(k.clone(), v.clone());
            }
        }
    }
    if let Some(caption) = p.get("caption") {
        msg["caption"] = caption.clone();
    }
    attach_markup(&mut msg, p);
    st.store_message(&msg);
    Ok(json!({ "message_id": id }))
}

fn file_ext(name: &str) -> String {
    Path::new(name).extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default()
}

fn get_file(st: &mut State, p: &Value) -> Result<Value, ApiError> {
    let file_id = param_str(p, "file_id").unwrap_or_default();
    let local_dir = st.local_dir.clone();
    let (size, unique, ext, cloud_path, local_path, bytes) = {
        let f = st.files.get(&file_id).ok_or_else(|| bad("invalid file_id"))?;
        (
            f.bytes.len() as u64,
            f.unique_id.clone(),
            file_ext(&f.name),
            f.cloud_path.clone(),
            f.local_path.clone(),
            Arc::clone(&f.bytes),
        )
    };
    let path = match local_dir {
        None => {
            if size > CLOUD_FILE_LIMIT {
                return Err(bad("file is too big"));
            }
            match cloud_path {
                Some(path) => path,
                None => {
                    let path = format!("documents/file_{}{ext}", st.next_path);
                    st.next_path += 1;
                    path
                }
            }
        }
        Some(dir) => {
            let path = match local_path.filter(|p| p.starts_with(&dir) && p.is_file()) {
                Some(path) => path,
                None => {
                    let path = dir.join(format!("file_{}{ext}", st.next_path));
                    st.next_path += 1;
                    std::fs::create_dir_all(&dir)
                        .and_then(|_| std::fs::write(&path, bytes.as_slice()))
                        .map_err(|e| ApiError { code: 500, description: format!("Internal Server Error: {e}") })?;
                    path
                }
            };
            if let Some(f) = st.files.get_mut(&file_id) {
                f.local_path = Some(path.clone());
            }
            path.to_string_lossy().into_owned()
        }
    };
    if st.local_dir.is_none()
        && let Some(f) = st.files.get_mut(&file_id)
    {
        f.cloud_path = Some(path.clone());
    }
    st.paths.insert(path.clone(), file_id.clone());
    Ok(json!({
        "file_id": file_id,
        "file_unique_id": unique,
        "file_size": size,
        "file_path": path,
    }))
}

fn get_chat_member(st: &State, p: &Value) -> Result<Value, ApiError> {
    let user_id = param_i64(p, "user_id").ok_or_else(|| bad("user not found"))?;
    let status = st.member_status.get(&user_id.unsigned_abs()).cloned().unwrap_or_else(|| "member".to_string());
    let user = if user_id.unsigned_abs() == BOT_ID {
        bot_user_json()
    } else {
        json!({"id": user_id, "is_bot": false, "first_name": "User"})
    };
    let mut v = json!({"status": status, "user": user});
    match status.as_str() {
        "kicked" => v["until_date"] = json!(0),
        "creator" => v["is_anonymous"] = json!(false),
        _ => {}
    }
    Ok(v)
}

fn send_file(st: &mut State, p: &Value, uploads: &Uploads, kind: &str) -> Result<Value, ApiError> {
    let chat_id = require_chat(p)?;
    let from_upload = |st: &mut State, name: &str| {
        uploads.get(name).map(|u| st.register(Arc::new(u.bytes.clone()), None, &u.filename, &u.mime))
    };
    let file = match p.get(kind) {
        Some(Value::String(s)) => {
            if let Some(name) = s.strip_prefix("attach://") {
                from_upload(st, name)
            } else if let Some(f) = st.file_ref(s) {
                Some(f)
            } else if s.starts_with("http://") || s.starts_with("https://") {
                let name = s.rsplit('/').next().unwrap_or("file").to_string();
                Some(st.register(Arc::new(Vec::new()), None, &name, "application/octet-stream"))
            } else {
                None
            }
        }
        Some(Value::Object(_)) => from_upload(st, kind),
        _ => return Err(bad(&format!("there is no {kind} in the request"))),
    };
    let file = file.ok_or_else(|| bad("wrong file identifier/HTTP URL specified"))?;
    let mut msg = st.bot_message(chat_id);
    msg[kind] = st.media_json(kind, &file);
    if let Some(caption) = p.get("caption") {
        msg["caption"] = caption.clone();
    }
    attach_markup(&mut msg, p);
    st.store_message(&msg);
    Ok(msg)
}

// ---------------------------------------------------------------------------------------------
// HTTP server

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut next_id = 0u64;
    for stream in listener.incoming() {
        if shared.stopping() {
            break;
        }
        let Ok(stream) = stream else {
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        next_id += 1;
        let id = next_id;
        if let Ok(clone) = stream.try_clone() {
            shared.conns.lock().unwrap_or_else(|e| e.into_inner()).insert(id, clone);
        }
        let for_thread = Arc::clone(&shared);
        let spawned = thread::Builder::new().name(format!("fake-tg-conn-{id}")).spawn(move || {
            serve_connection(&for_thread, stream);
            for_thread.conns.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
        });
        if spawned.is_err() {
            shared.conns.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
        }
    }
}

struct Request {
    method: String,
    path: String,
    query: String,
    version: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn keep_alive(&self) -> bool {
        if self.version != "HTTP/1.1" {
            return false;
        }
        !self.header("connection").is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
    }
}

enum ReadError {
    Io,
    Http(u16, &'static str),
}

fn serve_connection(shared: &Shared, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(IDLE_READ_TIMEOUT));
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while !shared.stopping() {
        let req = match read_request(&mut reader, &mut out) {
            Ok(Some(req)) => req,
            Ok(None) | Err(ReadError::Io) => break,
            Err(ReadError::Http(code, msg)) => {
                let _ = write_json(&mut out, code, &api_error_json(code, msg, None), false, false);
                let _ = out.shutdown(Shutdown::Write);
                drain(&mut reader);
                return;
            }
        };
        let keep = req.keep_alive();
        match handle_request(shared, &req, &mut out, keep) {
            Ok(true) if keep => {}
            _ => break,
        }
    }
    let _ = out.flush();
    let _ = out.shutdown(Shutdown::Write);
}

/// Discards what the client still sends (briefly), so closing does not reset the connection
/// before it has read the error response.
fn drain(reader: &mut BufReader<TcpStream>) {
    let _ = reader.get_ref().set_read_timeout(Some(Duration::from_millis(200)));
    let _ = io::copy(&mut reader.by_ref().take(1 << 20), &mut io::sink());
}

/// Reads one line (through `\n`) of at most `limit` bytes; returns 0 at EOF.
fn read_line_capped(
    reader: &mut BufReader<TcpStream>,
    buf: &mut Vec<u8>,
    limit: usize,
    too_long: (u16, &'static str),
) -> Result<usize, ReadError> {
    if limit == 0 {
        return Err(ReadError::Http(too_long.0, too_long.1));
    }
    let n = reader.by_ref().take(limit as u64).read_until(b'\n', buf).map_err(|_| ReadError::Io)?;
    if n > 0 && !buf.ends_with(b"\n") {
        if n >= limit {
            return Err(ReadError::Http(too_long.0, too_long.1));
        }
        return Err(ReadError::Io);
    }
    Ok(n)
}

fn trim_line(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn read_request(reader: &mut BufReader<TcpStream>, out: &mut TcpStream) -> Result<Option<Request>, ReadError> {
    const TOO_LARGE: (u16, &str) = (431, "Request Header Fields Too Large");
    let mut head_len = 0usize;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = read_line_capped(reader, &mut line, MAX_HEAD_BYTES - head_len, TOO_LARGE)?;
        if n == 0 {
            return if head_len == 0 { Ok(None) } else { Err(ReadError::Io) };
        }
        head_len += n;
        if !trim_line(&line).is_empty() {
            break;
        }
    }
    let request_line = String::from_utf8_lossy(trim_line(&line)).into_owned();
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Http(400, "Bad Request: malformed request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(ReadError::Http(400, "Bad Request: unsupported HTTP version"));
    }
    let mut headers = Vec::new();
    loop {
        line.clear();
        let n = read_line_capped(reader, &mut line, MAX_HEAD_BYTES - head_len, TOO_LARGE)?;
        if n == 0 {
            return Err(ReadError::Io);
        }
        head_len += n;
        let text = String::from_utf8_lossy(trim_line(&line)).into_owned();
        if text.is_empty() {
            break;
        }
        let Some((name, value)) = text.split_once(':') else {
            return Err(ReadError::Http(400, "Bad Request: malformed header"));
        };
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let target = match target.strip_prefix("http://") {
        Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => target,
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut req = Request {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        version: version.to_string(),
        headers,
        body: Vec::new(),
    };
    if version == "HTTP/1.1" && req.header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").map_err(|_| ReadError::Io)?;
    }
    let chunked = req.header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        req.body = read_chunked_body(reader)?;
    } else if let Some(len) = req.header("content-length") {
        let len: usize = len.parse().map_err(|_| ReadError::Http(400, "Bad Request: invalid Content-Length"))?;
        if len > MAX_BODY_BYTES {
            return Err(ReadError::Http(413, "Request Entity Too Large"));
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).map_err(|_| ReadError::Io)?;
        req.body = body;
    }
    Ok(Some(req))
}

fn read_chunked_body(reader: &mut BufReader<TcpStream>) -> Result<Vec<u8>, ReadError> {
    const BAD_CHUNK: (u16, &str) = (400, "Bad Request: malformed chunk");
    let mut body = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if read_line_capped(reader, &mut line, 4096, BAD_CHUNK)? == 0 {
            return Err(ReadError::Io);
        }
        let text = String::from_utf8_lossy(trim_line(&line)).into_owned();
        let size_text = text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| ReadError::Http(BAD_CHUNK.0, BAD_CHUNK.1))?;
        if size == 0 {
            loop {
                line.clear();
                let n = read_line_capped(reader, &mut line, 4096, BAD_CHUNK)?;
                if n == 0 || trim_line(&line).is_empty() {
                    return Ok(body);
                }
            }
        }
        if body.len() + size > MAX_BODY_BYTES {
            return Err(ReadError::Http(413, "Request Entity Too Large"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..]).map_err(|_| ReadError::Io)?;
        line.clear();
        read_line_capped(reader, &mut line, 4096, BAD_CHUNK)?;
        if !trim_line(&line).is_empty() {
            return Err(ReadError::Http(BAD_CHUNK.0, BAD_CHUNK.1));
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        413 => "Payload Too Large",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn write_head(
    out: &mut TcpStream,
    status: u16,
    headers: &[(&str, String)],
    content_length: u64,
    keep: bool,
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str(&format!(
        "Content-Length: {content_length}\r\nConnection: {}\r\nServer: fake-telegram\r\n\r\n",
        if keep { "keep-alive" } else { "close" }
    ));
    out.write_all(head.as_bytes())
}

/// Writes a JSON response; returns whether the connection may stay open.
fn write_json(out: &mut TcpStream, status: u16, value: &Value, keep: bool, head_only: bool) -> io::Result<bool> {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let ctype = [("Content-Type", "application/json".to_string())];
    write_head(out, status, &ctype, body.len() as u64, keep)?;
    if !head_only {
        out.write_all(&body)?;
    }
    out.flush()?;
    Ok(keep)
}

fn handle_request(shared: &Shared, req: &Request, out: &mut TcpStream, keep: bool) -> io::Result<bool> {
    let path = percent_decode(&req.path, false);
    let head_only = req.method == "HEAD";
    if let Some(rest) = path.strip_prefix("/_fake/") {
        return handle_control(shared, req, rest, out, keep);
    }
    if let Some(rest) = path.strip_prefix("/file/bot") {
        if let Some((token, file_path)) = rest.split_once('/') {
            return handle_file(shared, req, token, file_path, out, keep);
        }
    } else if let Some(rest) = path.strip_prefix("/bot")
        && let Some((token, method)) = rest.split_once('/')
        && !method.is_empty()
        && !method.contains('/')
        && (req.method == "GET" || req.method == "POST")
    {
        return handle_method(shared, req, token, method, out, keep);
    }
    write_json(out, 404, &not_found_json(), keep, head_only)
}

fn handle_method(
    shared: &Shared,
    req: &Request,
    token: &str,
    raw_method: &str,
    out: &mut TcpStream,
    keep: bool,
) -> io::Result<bool> {
    let canonical = canonical_method(raw_method);
    let key = raw_method.to_ascii_lowercase();
    let fault = {
        let mut st = shared.lock();
        st.note_token(token);
        st.count_call(&key);
        let fault = st.take_fault(&key);
        shared.notify();
        fault
    };
    let (params, uploads) = match parse_params(req) {
        Ok(parsed) => parsed,
        Err(description) => {
            return write_json(out, 400, &api_error_json(400, &description, None), keep, false);
        }
    };
    let mut cut = None;
    match fault {
        Some(Fault::Status { code, description, retry_after }) => {
            let body = api_error_json(code, &description, retry_after);
            return write_json(out, code, &body, keep, false);
        }
        Some(Fault::Drop) => return Ok(false),
        Some(Fault::Stall(d)) => shared.sleep(d),
        Some(Fault::CutBody { after }) => cut = Some(after),
        None => {}
    }
    let result = match canonical {
        Some(method) => dispatch(shared, method, &params, &uploads),
        None => Err(ApiError { code: 404, description: "Not Found".to_string() }),
    };
    // Recorded after the call took effect, so a waiter sees e.g. the new message already stored.
    let name = canonical.unwrap_or(raw_method);
    if !UNRECORDED.contains(&name) {
        let mut st = shared.lock();
        push_capped(&mut st.sent, Sent { method: name.to_string(), params });
        shared.notify();
    }
    let (status, body) = match result {
        Ok(v) => (200, json!({"ok": true, "result": v})),
        Err(e) => (e.code, api_error_json(e.code, &e.description, None)),
    };
    match cut {
        None => write_json(out, status, &body, keep, false),
        Some(after) => {
            let bytes = serde_json::to_vec(&body).unwrap_or_default();
            let ctype = [("Content-Type", "application/json".to_string())];
            write_head(out, status, &ctype, bytes.len() as u64, false)?;
            let n = (after as usize).min(bytes.len());
            out.write_all(&bytes[..n])?;
            out.flush()?;
            Ok(false)
        }
    }
}

enum RangeSpec {
    Ignore,
    Unsatisfiable,
    Bytes(u64, u64),
}

/// Parses a single `bytes=` range against a file of `len` bytes (end inclusive).
fn parse_range(header: &str, len: u64) -> RangeSpec {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeSpec::Ignore;
    };
    let spec = spec.trim();
    if spec.contains(',') {
        return RangeSpec::Ignore;
    }
    let Some((a, b)) = spec.split_once('-') else {
        return RangeSpec::Ignore;
    };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        let Ok(n) = b.parse::<u64>() else {
            return RangeSpec::Ignore;
        };
        if n == 0 || len == 0 {
            return RangeSpec::Unsatisfiable;
        }
        return RangeSpec::Bytes(len - n.min(len), len - 1);
    }
    let Ok(start) = a.parse::<u64>() else {
        return RangeSpec::Ignore;
    };
    let end = if b.is_empty() {
        len.saturating_sub(1)
    } else {
        match b.parse::<u64>() {
            Ok(end) if end >= start => end.min(len.saturating_sub(1)),
            _ => return RangeSpec::Ignore,
        }
    };
    if start >= len {
        return RangeSpec::Unsatisfiable;
    }
    RangeSpec::Bytes(start, end)
}

fn handle_file(
    shared: &Shared,
    req: &Request,
    token: &str,
    file_path: &str,
    out: &mut TcpStream,
    keep: bool,
) -> io::Result<bool> {
    let head_only = req.method == "HEAD";
    let range = req.header("range").map(str::to_string);
    let (fault, bytes, ignore_range) = {
        let mut st = shared.lock();
        st.note_token(token);
        st.count_call("file");
        push_capped(
            &mut st.file_requests,
            FileRequest { path: file_path.to_string(), range: range.clone(), method: req.method.clone() },
        );
        let fault = st.take_fault("file");
        let bytes = st.lookup_path(file_path);
        shared.notify();
        (fault, bytes, st.ignore_range)
    };
    let mut cut = None;
    match fault {
        Some(Fault::Status { code, description, retry_after }) => {
            let body = api_error_json(code, &description, retry_after);
            return write_json(out, code, &body, keep, head_only);
        }
        Some(Fault::Drop) => return Ok(false),
        Some(Fault::Stall(d)) => shared.sleep(d),
        Some(Fault::CutBody { after }) => cut = Some(after),
        None => {}
    }
    let bytes = match bytes {
        Some(bytes) if req.method == "GET" || head_only => bytes,
        _ => return write_json(out, 404, &not_found_json(), keep, head_only),
    };
    let len = bytes.len() as u64;
    let mut headers =
        vec![("Content-Type", "application/octet-stream".to_string()), ("Accept-Ranges", "bytes".to_string())];
    let spec = match range {
        Some(r) if !ignore_range => parse_range(&r, len),
        _ => RangeSpec::Ignore,
    };
    let (status, start, end) = match spec {
        RangeSpec::Ignore => (200, 0, len),
        RangeSpec::Bytes(a, b) => {
            headers.push(("Content-Range", format!("bytes {a}-{b}/{len}")));
            (206, a, b + 1)
        }
        RangeSpec::Unsatisfiable => {
            headers.push(("Content-Range", format!("bytes */{len}")));
            write_head(out, 416, &headers, 0, keep)?;
            out.flush()?;
            return Ok(keep);
        }
    };
    let body_len = end - start;
    let keep_after = keep && cut.is_none();
    write_head(out, status, &headers, body_len, keep_after)?;
    if head_only {
        out.flush()?;
        return Ok(keep_after);
    }
    let stop = start + cut.map_or(body_len, |c| c.min(body_len));
    let mut pos = start as usize;
    let stop = stop as usize;
    while pos < stop {
        if shared.stopping() {
            return Ok(false);
        }
        let n = WRITE_CHUNK.min(stop - pos);
        out.write_all(&bytes[pos..pos + n])?;
        pos += n;
    }
    out.flush()?;
    Ok(keep_after)
}

// ---------------------------------------------------------------------------------------------
// Control routes (`/_fake/...`)

fn handle_control(shared: &Shared, req: &Request, route: &str, out: &mut TcpStream, keep: bool) -> io::Result<bool> {
    let q = Value::Object(parse_form(&req.query));
    let user_id = param_i64(&q, "user").map(i64::unsigned_abs).unwrap_or(1);
    let default_name = if user_id == 1 { "Alice".to_string() } else { format!("User{user_id}") };
    let user = FakeUser::new(user_id, &param_str(&q, "first_name").unwrap_or(default_name));
    let result = match (req.method.as_str(), route) {
        ("POST", "upload") => {
            let name = param_str(&q, "name").unwrap_or_else(|| "file.bin".to_string());
            let mime = param_str(&q, "mime").unwrap_or_else(|| "application/octet-stream".to_string());
            let kind = param_str(&q, "kind").unwrap_or_else(|| "document".to_string());
            if !MEDIA_KINDS.contains(&kind.as_str()) {
                return write_json(out, 400, &api_error_json(400, "unknown kind", None), keep, false);
            }
            let file = shared.lock().register(Arc::new(req.body.clone()), None, &name, &mime);
            let update_id = shared.send_media(&user, &kind, &file);
            json!({
                "file_id": file.file_id,
                "file_unique_id": file.file_unique_id,
                "size": file.size,
                "update_id": update_id,
            })
        }
        ("POST", "text") => {
            let text = String::from_utf8_lossy(&req.body).into_owned();
            json!({ "update_id": shared.send_text(&user, &text) })
        }
        ("POST", "callback") => {
            let message_id = param_i64(&q, "message_id").unwrap_or(0);
            let data = param_str(&q, "data").unwrap_or_else(|| String::from_utf8_lossy(&req.body).into_owned());
            json!({ "update_id": shared.send_callback(&user, message_id, &data) })
        }
        ("GET", "sent") => {
            let sent: Vec<Value> =
                shared.lock().sent.iter().map(|s| json!({"method": s.method, "params": s.params})).collect();
            return write_json(out, 200, &Value::Array(sent), keep, false);
        }
        _ => return write_json(out, 404, &not_found_json(), keep, req.method == "HEAD"),
    };
    write_json(out, 200, &json!({"ok": true, "result": result}), keep, false)
}

// ---------------------------------------------------------------------------------------------
// Parameter parsing

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn percent_decode(s: &str, plus_as_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_as_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_form(s: &str) -> Map<String, Value> {
    let mut map = Map::new();
    for pair in s.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        map.insert(percent_decode(k, true), Value::String(percent_decode(v, true)));
    }
    map
}

fn parse_params(req: &Request) -> Result<(Value, Uploads), String> {
    let mut map = parse_form(&req.query);
    let mut uploads = Uploads::new();
    let ctype_raw = req.header("content-type").unwrap_or("");
    let ctype = ctype_raw.to_ascii_lowercase();
    if !req.body.is_empty() {
        if ctype.starts_with("application/json") {
            match serde_json::from_slice::<Value>(&req.body) {
                Ok(Value::Object(obj)) => map.extend(obj),
                _ => return Err("Bad Request: can't parse JSON object".to_string()),
            }
        } else if ctype.starts_with("application/x-www-form-urlencoded") {
            map.extend(parse_form(&String::from_utf8_lossy(&req.body)));
        } else if ctype.starts_with("multipart/form-data") {
            let boundary = ctype
                .find("boundary=")
                .map(|i| &ctype_raw[i + "boundary=".len()..])
                .map(|b| b.split(';').next().unwrap_or("").trim().trim_matches('"'))
                .filter(|b| !b.is_empty())
                .ok_or_else(|| "Bad Request: multipart boundary is missing".to_string())?;
            parse_multipart(&req.body, boundary, &mut map, &mut uploads);
        } else if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(&req.body) {
            map.extend(obj);
        }
    }
    Ok((Value::Object(map), uploads))
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay[from..].windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

fn parse_multipart(body: &[u8], boundary: &str, map: &mut Map<String, Value>, uploads: &mut Uploads) {
    let delim = format!("--{boundary}").into_bytes();
    let next_delim = format!("\r\n--{boundary}").into_bytes();
    let Some(first) = find(body, &delim, 0) else {
        return;
    };
    let mut pos = first + delim.len();
    loop {
        let rest = &body[pos..];
        if rest.starts_with(b"--") {
            break;
        }
        let start = if rest.starts_with(b"\r\n") {
            pos + 2
        } else if rest.starts_with(b"\n") {
            pos + 1
        } else {
            pos
        };
        let Some(end) = find(body, &next_delim, start) else {
            break;
        };
        multipart_part(&body[start..end], map, uploads);
        pos = end + next_delim.len();
    }
}

fn multipart_part(part: &[u8], map: &mut Map<String, Value>, uploads: &mut Uploads) {
    let (head, data) = if part.starts_with(b"\r\n") {
        (&part[..0], &part[2..])
    } else {
        match find(part, b"\r\n\r\n", 0) {
            Some(i) => (&part[..i], &part[i + 4..]),
            None => return,
        }
    };
    let head = String::from_utf8_lossy(head);
    let mut name = None;
    let mut filename = None;
    let mut mime = None;
    for line in head.split("\r\n") {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        if key == "content-disposition" {
            for param in value.split(';') {
                if let Some((pk, pv)) = param.trim().split_once('=') {
                    let pv = pv.trim().trim_matches('"').to_string();
                    match pk.trim().to_ascii_lowercase().as_str() {
                        "name" => name = Some(pv),
                        "filename" => filename = Some(pv),
                        _ => {}
                    }
                }
            }
        } else if key == "content-type" {
            mime = Some(value.trim().to_string());
        }
    }
    let Some(name) = name else {
        return;
    };
    match filename {
        Some(filename) => {
            map.insert(name.clone(), json!({"filename": filename, "len": data.len()}));
            uploads.insert(
                name,
                Upload {
                    filename,
                    mime: mime.unwrap_or_else(|| "application/octet-stream".to_string()),
                    bytes: data.to_vec(),
                },
            );
        }
        None => {
            map.insert(name, Value::String(String::from_utf8_lossy(data).into_owned()));
        }
    }
}
