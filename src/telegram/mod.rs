//! Talking to the Telegram Bot API: the HTTP transport, the long-poll loop, the dispatcher that
//! journals updates and runs them chat by chat (lanes, flood holds, reply retries) and file access.

pub mod dispatch;
pub mod files;
pub mod flood;
pub mod lanes;
pub mod local;
#[cfg(target_os = "linux")]
pub mod mapped;
pub mod multipart;
pub mod path_cache;
pub mod poller;
pub mod retry;
pub mod transport;
