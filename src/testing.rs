//! Unit-test support: an [`App`] over an in-memory store, pointed at the fake Telegram the
//! integration tests use (`tests/support/fake_telegram`, compiled into the unit tests too), which
//! answers every Bot API method on loopback and records the calls.

use std::rc::Rc;

use smol::LocalExecutor;

use crate::app::App;
use crate::config::Config;
use crate::links::Signer;
use crate::store::Store;
use crate::telegram::files::Files;
use crate::telegram::transport::Transport;

#[path = "../tests/support/fake_telegram/mod.rs"]
pub(crate) mod fake_telegram;
#[path = "../tests/support/hub.rs"]
mod hub;

pub(crate) use fake_telegram::FakeTelegram;

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
    let _ = app.bot.username.set("unit_test_bot".into());
    app
}
