//! Unit-test support: an [`App`] over an in-memory store, pointed at a small Bot API stand-in on
//! loopback that answers every method and records the calls. (The full fake Telegram, with
//! updates, files and faults, is the integration tests'.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use smol::LocalExecutor;

use crate::app::App;
use crate::config::Config;
use crate::links::Signer;
use crate::store::Store;
use crate::telegram::files::Files;
use crate::telegram::transport::Transport;

/// One recorded call: the method and its JSON parameters.
pub(crate) type Call = (String, Value);

/// A Bot API stand-in on 127.0.0.1: `sendMessage` and `editMessageText` answer a message in the
/// chat they name, anything else `true`.
pub(crate) struct MiniTelegram {
    pub url: String,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl MiniTelegram {
    pub fn start() -> MiniTelegram {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        let calls = Arc::new(Mutex::new(Vec::new()));
        let log = calls.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = log.clone();
                std::thread::spawn(move || serve(stream, &log));
            }
        });
        MiniTelegram { url, calls }
    }

    /// The calls so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("calls lock").clone()
    }

    /// The texts sent with `sendMessage`.
    pub fn texts(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|(m, _)| m == "sendMessage")
            .filter_map(|(_, p)| p["text"].as_str().map(str::to_owned))
            .collect()
    }
}

/// Answers requests on one keep-alive connection until the client closes it.
fn serve(stream: std::net::TcpStream, log: &Mutex<Vec<Call>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let method = line.split_whitespace().nth(1).and_then(|p| p.rsplit('/').next()).unwrap_or("").to_owned();
        let mut len = 0;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                break;
            }
            if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let params: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let result = match method.as_str() {
            "sendMessage" | "editMessageText" => json!({
                "message_id": 100 + log.lock().expect("calls lock").len(),
                "date": 0,
                "chat": {"id": params["chat_id"], "type": "private"},
                "text": params["text"],
            }),
            _ => json!(true),
        };
        log.lock().expect("calls lock").push((method, params));
        let answer = json!({"ok": true, "result": result}).to_string();
        let head =
            format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", answer.len());
        if out.write_all(head.as_bytes()).and_then(|_| out.write_all(answer.as_bytes())).is_err() {
            return;
        }
    }
}

/// An [`App`] over an in-memory store, talking to `api_url`, with `vars` set beyond `BOT_TOKEN`.
pub(crate) fn app(api_url: &str, vars: &[(&str, &str)], ex: Rc<LocalExecutor<'static>>) -> App {
    let mut all = vec![("BOT_TOKEN", "123456:unit-test"), ("TELEGRAM_API_URL", api_url)];
    all.extend_from_slice(vars);
    let config = Config::from_lookup(|name| all.iter().rev().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
        .expect("a valid test config");
    let api = Transport::new(&config.api_url, &config.bot_token, config.poll_timeout_secs, Vec::new())
        .expect("a valid API URL");
    let files = Files::new(api, None, ex).expect("cloud mode needs no directory");
    let store = Store::open_in_memory().expect("an in-memory store");
    let signer = Signer::new(b"unit-test-link-secret-0123456789");
    let app = App::new(config, store, signer, files, "https://dl.example".into());
    let _ = app.username.set("unit_test_bot".into());
    app
}
