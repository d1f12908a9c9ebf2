//! Integration tests: the real `streambot` binary against a fake Telegram Bot API on loopback.
//! One test binary; each module covers one area.

mod support;

mod foundation;
mod harness;
mod memory;
mod streaming;
