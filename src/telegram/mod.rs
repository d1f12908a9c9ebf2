//! Talking to the Telegram Bot API: the HTTP transport, the long-poll loop, the dispatcher that
//! journals updates and runs them chat by chat (lanes, flood holds, reply retries), file access and
//! `file_id` decoding.

pub mod calls;
pub mod direct;
pub mod dispatch;
pub mod error;
pub mod file_id;
pub mod files;
pub mod flood;
pub mod lanes;
pub mod local;
pub mod multipart;
pub mod open_files;
pub mod path_cache;
pub mod poller;
pub mod retry;
pub mod transport;
