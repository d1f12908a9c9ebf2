//! Sending replies: every message the bot writes goes out as HTML without link previews, and is
//! tried again for `REPLY_RETRY_SECS` while Telegram cannot be reached or answers 5xx or 429.

use frankenstein::AsyncTelegramApi;
use frankenstein::ParseMode;
use frankenstein::methods::{EditMessageReplyMarkupParams, EditMessageTextParams, SendMessageParams};
use frankenstein::types::{InlineKeyboardMarkup, LinkPreviewOptions, Message, ReplyMarkup, ReplyParameters};

use crate::app::Core;
use crate::telegram::retry::persist;
use crate::telegram::transport::TelegramError;

/// Sends an HTML message without link previews.
pub async fn send(
    core: &Core,
    chat_id: i64,
    text: String,
    markup: Option<InlineKeyboardMarkup>,
) -> Result<Message, TelegramError> {
    send_reply(core, chat_id, text, markup, None).await
}

/// Like [`send`], as a reply to `reply_to` (Telegram then hands that message back with every
/// button press on this one, so the force-subscribe "Try again" finds the file).
pub async fn send_reply(
    core: &Core,
    chat_id: i64,
    text: String,
    markup: Option<InlineKeyboardMarkup>,
    reply_to: Option<i32>,
) -> Result<Message, TelegramError> {
    let params = SendMessageParams::builder()
        .chat_id(chat_id)
        .text(text)
        .parse_mode(ParseMode::Html)
        .link_preview_options(LinkPreviewOptions::builder().is_disabled(true).build())
        .maybe_reply_markup(markup.map(ReplyMarkup::InlineKeyboardMarkup))
        .maybe_reply_parameters(
            reply_to.map(|id| ReplyParameters::builder().message_id(id).allow_sending_without_reply(true).build()),
        )
        .build();
    let sent = persist("sendMessage", core.config.timers.reply_retry, || core.api.send_message(&params)).await?;
    Ok(sent.result)
}

/// Sends a short plain message once, without retrying (the last word after retries failed).
pub async fn send_once(core: &Core, chat_id: i64, text: &str) -> Result<(), TelegramError> {
    let params = SendMessageParams::builder().chat_id(chat_id).text(text).build();
    core.api.send_message(&params).await.map(drop)
}

/// Replaces a message's text (HTML, no previews) and buttons. Showing the same text again is
/// not an error ("message is not modified").
pub async fn edit(
    core: &Core,
    chat_id: i64,
    message_id: i32,
    text: String,
    markup: Option<InlineKeyboardMarkup>,
) -> Result<(), TelegramError> {
    let params = EditMessageTextParams::builder()
        .chat_id(chat_id)
        .message_id(message_id)
        .text(text)
        .parse_mode(ParseMode::Html)
        .link_preview_options(LinkPreviewOptions::builder().is_disabled(true).build())
        .maybe_reply_markup(markup)
        .build();
    match persist("editMessageText", core.config.timers.reply_retry, || core.api.edit_message_text(&params)).await {
        Err(e) if e.description_contains("message is not modified") => Ok(()),
        other => other.map(drop),
    }
}

/// Replaces a message's buttons only (a channel post's). Showing the same buttons again is not
/// an error ("message is not modified").
pub async fn edit_buttons(
    core: &Core,
    chat_id: i64,
    message_id: i32,
    markup: InlineKeyboardMarkup,
) -> Result<(), TelegramError> {
    let params =
        EditMessageReplyMarkupParams::builder().chat_id(chat_id).message_id(message_id).reply_markup(markup).build();
    let edit = || core.api.edit_message_reply_markup(&params);
    match persist("editMessageReplyMarkup", core.config.timers.reply_retry, edit).await {
        Err(e) if e.description_contains("message is not modified") => Ok(()),
        other => other.map(drop),
    }
}
