//! Shared helpers for the integration tests: a fake Telegram Bot API server, a fake MTProto DC
//! (both on `hub`), a raw HTTP client and a runner for the real `streambot` binary.

pub mod bot_process;
pub mod fake_dc;
pub mod fake_telegram;
pub mod hub;
pub mod raw_http;
pub mod tls_front;
