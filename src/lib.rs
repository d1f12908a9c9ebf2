//! streambot: a Telegram bot that turns files into HTTP download links, in one thread and a few
//! MiB of memory. Each module below says what it owns; docs/ARCHITECTURE.md draws how they
//! depend on one another.
// `unsafe` is denied everywhere but `memory::trim` (glibc `malloc_trim`) and
// `http::egress::mapped` (a file window mapped for one `send(2)`).
#![deny(unsafe_code)]

/// The running bot's shared state, in four parts: core, bot state, serving, operations.
pub(crate) mod app;
/// The month's bandwidth: limit, counted and flushed bytes, when links stop.
pub(crate) mod bandwidth;
/// Commands, update handlers and file intake.
pub(crate) mod bot;
/// `poll_read` for readers that are their own buffer (pure).
pub(crate) mod buffered;
/// Environment (+ `.env`) to a validated `Config`.
pub mod config;
/// Named, machine-readable moments logged as `event=<name> key=value` lines (a leaf).
pub(crate) mod event;
/// Drives the one executor: tasks and the reactor on this thread.
pub mod executor;
/// An error shown and compared by its text that keeps its cause as `source()` (a leaf).
pub(crate) mod failure;
/// The hot paths, as plain functions for the criterion benches in `benches/`.
#[doc(hidden)]
pub mod hot_paths;
/// HTML escaping for Telegram messages and pages.
pub(crate) mod html;
/// HTTP server, routes and response bodies.
pub(crate) mod http;
/// Per-client request limits (pure).
pub(crate) mod limits;
/// Link tokens: mint and verify (pure).
pub mod links;
/// One instance per `DATA_DIR`: the lock file.
pub(crate) mod lock;
/// The logger: env_logger format, with the HTTP library's URL-carrying lines capped.
pub mod logger;
/// Memory management: the stream tracker, sweeps, trimming, the log cache, the fixed table.
pub(crate) mod memory;
/// MIME types safe for headers and for inline display (pure).
pub(crate) mod mime;
/// MTProto downloads from Telegram's DCs: keys, handshake, connections, sessions, part plans.
pub(crate) mod mtproto;
/// Client addresses: per-client keys, trusted proxies, `X-Forwarded-For` (pure).
pub(crate) mod net;
/// Failure domains: panics caught per connection and per update, logged and counted.
pub mod panics;
/// Links that open a stream in player apps: `vlc://`, Android intents, `.m3u` (pure).
pub(crate) mod players;
/// Start-up, `--check`, the poll loop and shutdown: the wiring.
pub mod run;
/// The link secret (`LINK_SECRET` or the secret file) and the check that private files stay private.
pub mod secret;
/// Direct mode's wiring: MTProto sessions over the store's keys, `--check`'s login.
pub(crate) mod sessions;
/// One shutdown signal for every task.
pub(crate) mod shutdown;
/// The HTTP statuses this server sends and their reason phrases (pure).
pub(crate) mod status;
/// SQLite: migrations and typed queries.
pub(crate) mod store;
/// Bot API transport, long polling, the update dispatcher (journal, lanes, flood holds, retries), file access.
pub(crate) mod telegram;
#[cfg(test)]
mod testing;
/// Human-readable sizes and UTC times (pure).
pub(crate) mod units;
/// Link URLs and route prefixes, for the bot and the HTTP side (pure).
pub(crate) mod urls;
/// What the bot remembers about Telegram users between updates: force-subscribe answers, refusals told (pure).
pub(crate) mod users;

/// Sets the allocator up for a long-running small process (glibc: one arena); call first in `main`.
pub use memory::monitor::tune_allocator;

/// `0.1.0 (abc1234 2026-11-25)`: version, git hash and build date from build.rs.
pub fn version() -> String {
    format!("{} ({} {})", env!("CARGO_PKG_VERSION"), env!("STREAMBOT_GIT_HASH"), env!("STREAMBOT_BUILD_DATE"))
}
