//! Sending replies: every message the bot writes goes out as HTML without link previews.

use frankenstein::AsyncTelegramApi;
use frankenstein::ParseMode;
use frankenstein::methods::SendMessageParams;
use frankenstein::types::{InlineKeyboardMarkup, LinkPreviewOptions, Message, ReplyMarkup};

use crate::app::App;
use crate::telegram::transport::TelegramError;

/// Sends an HTML message without link previews.
pub async fn send(
    app: &App,
    chat_id: i64,
    text: String,
    markup: Option<InlineKeyboardMarkup>,
) -> Result<Message, TelegramError> {
    let params = SendMessageParams::builder()
        .chat_id(chat_id)
        .text(text)
        .parse_mode(ParseMode::Html)
        .link_preview_options(LinkPreviewOptions::builder().is_disabled(true).build())
        .maybe_reply_markup(markup.map(ReplyMarkup::InlineKeyboardMarkup))
        .build();
    Ok(app.api.send_message(&params).await?.result)
}
