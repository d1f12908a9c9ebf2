//! Talking to the Telegram Bot API: the HTTP transport, the long-poll loop and file access.

pub mod files;
pub mod local;
pub mod multipart;
pub mod path_cache;
pub mod poller;
pub mod transport;
