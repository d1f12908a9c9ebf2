//! The Telegram side of the bot: command parsing, update handlers and file intake.

pub mod admin;
pub mod commands;
pub mod handlers;
pub mod intake;
mod reply;
