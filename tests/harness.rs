//! Shared set-up for the integration tests: a fake Telegram, a data directory, the bot process
//! pointed at both, and helpers to send files and fetch links.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::support::bot_process::{BotProcess, TempDir};
use crate::support::fake_telegram::{FakeTelegram, FakeUser, FileRef, Sent};
use crate::support::raw_http::{self, Response};

/// A syntactically valid token that exists only in the fake.
pub const TOKEN: &str = "123456:TEST-secret_token";
/// Fixed link secret, so tests can mint their own tokens.
pub const SECRET: &str = "integration-test-link-secret-0123456789";
/// Every wait in these tests ends by this deadline.
pub const WAIT: Duration = Duration::from_secs(20);

/// A fake Telegram, a data directory and one user; start bots against them.
pub struct World {
    pub tg: FakeTelegram,
    pub data: TempDir,
    pub user: FakeUser,
}

impl World {
    pub fn new(tag: &str) -> World {
        World { tg: FakeTelegram::start(), data: TempDir::new(tag), user: FakeUser::new(1001, "Alice") }
    }

    /// The environment of a bot pointed at this world, plus `extra` (later entries win).
    pub fn env(&self, extra: &[(&str, &str)]) -> Vec<(&'static str, String)> {
        let mut env: Vec<(&'static str, String)> = vec![
            ("BOT_TOKEN", TOKEN.into()),
            ("TELEGRAM_API_URL", self.tg.url()),
            ("DATA_DIR", self.data.path().display().to_string()),
            ("PORT", "0".into()),
            ("BIND_ADDRESS", "127.0.0.1".into()),
            ("LINK_SECRET", SECRET.into()),
            ("POLL_TIMEOUT_SECS", "5".into()),
            ("RUST_LOG", "debug".into()),
            // Tests make many links as one user; the daily limit's own tests set it.
            ("MAX_LINKS_PER_DAY", "0".into()),
        ];
        for (k, v) in extra {
            let key: &'static str = Box::leak(k.to_string().into_boxed_str());
            env.retain(|(name, _)| *name != key);
            env.push((key, v.to_string()));
        }
        env
    }

    pub fn start_bot(&self, extra: &[(&str, &str)]) -> BotProcess {
        BotProcess::start(&self.env(extra))
    }

    /// Sends `file` as a document from the user and returns the token of the link the bot replies with.
    pub fn link_for(&self, file: &FileRef) -> String {
        let before = self.link_replies();
        self.tg.send_document(&self.user, file);
        let reply = self
            .tg
            .wait_for_nth_sent(WAIT, before + 1, is_link_reply)
            .unwrap_or_else(|| panic!("no link reply; sent: {:#?}", self.tg.sent()));
        token_in(reply.text().unwrap()).expect("reply carries a token")
    }

    fn link_replies(&self) -> usize {
        self.tg.sent().iter().filter(|s| is_link_reply(s)).count()
    }
}

/// The file names in the link replies to `chat`, in the order they were sent.
pub fn linked_names(world: &World, chat: u64) -> Vec<String> {
    world
        .tg
        .messages_to(chat as i64)
        .iter()
        .filter(|t| t.contains("/dl/"))
        .filter_map(|t| t.split("<b>File:</b> ").nth(1)?.split('\n').next().map(str::to_owned))
        .collect()
}

/// A sendMessage whose text carries a `/dl/` link.
pub fn is_link_reply(s: &Sent) -> bool {
    s.method == "sendMessage" && s.text().is_some_and(|t| t.contains("/dl/"))
}

/// The token after `/dl/` in `text`.
pub fn token_in(text: &str) -> Option<String> {
    let rest = &text[text.find("/dl/")? + 4..];
    let token: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    (!token.is_empty()).then_some(token)
}

/// `GET path` on a fresh connection.
pub fn get(addr: SocketAddr, path: &str) -> Response {
    request(addr, "GET", path, &[])
}

/// One request with extra header lines on a fresh connection.
pub fn request(addr: SocketAddr, method: &str, path: &str, headers: &[&str]) -> Response {
    raw_http::send(addr, &raw(method, path, headers, true)).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// The bytes of a request; `close` adds `Connection: close`.
pub fn raw(method: &str, path: &str, headers: &[&str], close: bool) -> Vec<u8> {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    if close {
        req.push_str("Connection: close\r\n");
    }
    req.push_str("\r\n");
    req.into_bytes()
}

/// Deterministic pseudo-random bytes.
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Decodes `%XX` escapes (for `filename*`).
pub fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap(), 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Files in a directory (to check the link secret's mode).
pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Names of a process's threads, from /proc.
pub fn thread_names(pid: u32) -> String {
    let mut names: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
                .map(|n| n.trim().to_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names.join(",")
}

/// Reads from `s` until EOF or `limit` bytes; returns how many came.
pub fn read_all(s: &mut std::net::TcpStream, limit: usize) -> usize {
    use std::io::Read;
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0;
    while got < limit {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    got
}
