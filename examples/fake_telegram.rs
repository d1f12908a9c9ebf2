//! Stand-alone fake Telegram Bot API for trying the bot by hand: listens on
//! 127.0.0.1:$FAKE_PORT (default 8081) and prints every call the bot makes; with $FAKE_LOCAL_DIR
//! set, it answers getFile as a local Bot API server keeping its files there.

#[path = "../tests/support/fake_telegram/mod.rs"]
mod fake_telegram;
#[path = "../tests/support/hub.rs"]
mod hub;

use fake_telegram::{FakeTelegram, Sent};
use serde_json::Value;
use std::time::Duration;

fn main() {
    let port = match std::env::var("FAKE_PORT") {
        Ok(text) => text.parse().unwrap_or_else(|_| {
            eprintln!("FAKE_PORT must be a port number, got {text:?}");
            std::process::exit(2);
        }),
        Err(_) => 8081u16,
    };
    let tg = match FakeTelegram::try_start_on(port) {
        Ok(tg) => tg,
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    // FAKE_LOCAL_DIR: answer getFile like a local Bot API server (`--local`), with the absolute
    // path of a copy written into that directory.
    if let Some(dir) = std::env::var_os("FAKE_LOCAL_DIR") {
        tg.set_local_dir(Some(std::path::Path::new(&dir)));
    }
    let url = tg.url();
    println!("fake Telegram Bot API listening on {url}");
    println!();
    println!("Run the bot against it:");
    println!("  BOT_TOKEN=123456:fake TELEGRAM_API_URL={url} cargo run --release");
    println!();
    println!("Upload a file as user 1 (Alice); the bot receives it as a document:");
    println!("  curl --data-binary @path/to/file '{url}/_fake/upload?name=file.pdf&mime=application/pdf&user=1'");
    println!("Send a text message:");
    println!("  curl --data-binary '/start' '{url}/_fake/text?user=1'");
    println!("Send /memory as an admin (start the bot with ADMINS=1 for user 1):");
    println!("  curl --data-binary '/memory' '{url}/_fake/text?user=1'");
    println!("Press an inline button (message_id as printed below, data from the reply's buttons):");
    println!("  curl -X POST '{url}/_fake/callback?user=1&message_id=1001&data=DATA'");
    println!("Read everything the bot sent:");
    println!("  curl {url}/_fake/sent");
    println!();
    println!("Calls from the bot appear below; stop with Ctrl-C.");

    let mut shown = 0;
    loop {
        if let Some(sent) = tg.wait_for_nth_sent(Duration::from_secs(1), shown + 1, |_| true) {
            shown += 1;
            println!("{}", describe(&sent));
        }
    }
}

/// One line per call: method, chat and text (or caption, or the raw parameters).
fn describe(sent: &Sent) -> String {
    let chat = sent.chat_id().map(|id| format!(" chat={id}")).unwrap_or_default();
    let body = match sent.text().or_else(|| sent.params.get("caption").and_then(Value::as_str)) {
        Some(text) => text.replace('\n', "\n    "),
        None => sent.params.to_string(),
    };
    let id = sent.message_id.map(|id| format!(" message_id={id}")).unwrap_or_default();
    format!("-> {}{chat}{id}: {body}", sent.method)
}
