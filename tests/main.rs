//! Integration tests: the real `streambot` binary against a fake Telegram Bot API on loopback.
//! One test binary; each module covers one area.

mod support;

mod access;
mod channels;
mod clients;
mod crash;
mod deploy;
mod direct;
mod direct_clients;
mod direct_streams;
mod fairness;
mod fake_dc;
mod fake_dc_grammers;
mod first_hour;
mod foundation;
mod hardening;
mod harness;
mod layout;
mod local;
mod memory;
mod mtproto_client;
mod names;
mod public;
mod robustness;
mod slots;
mod streaming;
mod tls;
mod updates;
mod watch;
