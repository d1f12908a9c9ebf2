//! Failure domains: a panic in one connection or one update is caught where that work runs,
//! logged once (through the rate-limited logger, secrets cut) and counted for `/metrics`; the
//! process goes on. The release build unwinds (`panic = "unwind"`) so that this works.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_lite::FutureExt;

/// Where a caught panic happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// One HTTP connection (its request, or the connection task itself).
    Http,
    /// One Telegram update.
    Update,
}

/// Panics caught since start, by domain.
#[derive(Debug, Default)]
pub struct Panics {
    http: Cell<u64>,
    updates: Cell<u64>,
}

impl Panics {
    pub fn count(&self, domain: Domain) -> u64 {
        self.cell(domain).get()
    }

    fn cell(&self, domain: Domain) -> &Cell<u64> {
        match domain {
            Domain::Http => &self.http,
            Domain::Update => &self.updates,
        }
    }

    /// Runs `fut`; if it panics, logs `what` (a route or update kind, never a token) with the
    /// panic's message and place, counts it, and returns `None`.
    pub async fn catch<F: Future>(&self, domain: Domain, what: &str, fut: F) -> Option<F::Output> {
        match AssertUnwindSafe(fut).catch_unwind().await {
            Ok(out) => Some(out),
            Err(payload) => {
                let cell = self.cell(domain);
                cell.set(cell.get() + 1);
                let place = LAST_PLACE.with(|p| p.take()).unwrap_or_default();
                log::error!("panic in {what}: {} {place}; that work was dropped, the bot goes on", message(&*payload));
                crate::event::emit(crate::event::Event::Panic { place: what });
                None
            }
        }
    }
}

thread_local! {
    /// The place of the last panic on this thread, left by the hook for the catcher to log.
    static LAST_PLACE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Replaces the default hook (which writes to stderr, past the logger and its rate limit) with
/// one that only remembers where the panic happened; [`Panics::catch`] logs it. A panic nothing
/// catches (in `main` itself) still ends the process, with its line logged.
pub fn install_hook() {
    std::panic::set_hook(Box::new(|info| {
        let place = info.location().map(|l| format!("at {}:{}", l.file(), l.line())).unwrap_or_default();
        LAST_PLACE.with(|p| *p.borrow_mut() = Some(place));
    }));
}

/// The panic's message, secrets cut, at most 200 characters.
fn message(payload: &(dyn Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    redact(text).chars().take(200).collect()
}

/// Cuts every run of 24 or more token characters (`A-Z a-z 0-9 _ - :`) to its first 8 and `…`:
/// a bot token (`123456:ABC…`, 45 characters) or a link token can then never reach a log line.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let token_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':');
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 24 {
            out.push_str(&run[..8]);
            out.push('…');
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if token_char(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_token_runs_are_cut_and_ordinary_text_is_kept() {
        assert_eq!(
            redact("GET /bot123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe failed"),
            "GET /bot12345…/getMe failed"
        );
        assert_eq!(redact("index out of bounds: the len is 3"), "index out of bounds: the len is 3");
    }

    #[test]
    fn a_panic_is_caught_counted_and_the_caller_goes_on() {
        let panics = Panics::default();
        let out = smol::block_on(panics.catch(Domain::Update, "message", async { panic!("boom") }));
        let fine = smol::block_on(panics.catch(Domain::Update, "message", async { 7 }));
        assert_eq!((out, fine), (None::<()>, Some(7)));
        assert_eq!((panics.count(Domain::Update), panics.count(Domain::Http)), (1, 0));
    }
}
