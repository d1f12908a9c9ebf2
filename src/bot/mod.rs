//! The Telegram side of the bot: command parsing, update handlers and file intake, revoking and
//! `/mylinks`, force-subscribe, broadcasts and channel posts' buttons.

mod access;
pub mod admin;
mod bans;
pub mod broadcast;
mod channels;
pub mod commands;
mod force_sub;
pub mod handlers;
pub mod intake;
mod link_message;
pub mod media;
mod owner;
mod reply;
