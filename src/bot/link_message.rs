//! The link message: what the bot answers a file with (name, size, expiry, the Download link and,
//! for media, the Watch link), with its buttons.

use frankenstein::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use super::media::{Media, is_playable};
use super::owner::revoke_button;
use super::reply::send;
use crate::app::App;
use crate::config::CLOUD_FILE_LIMIT;
use crate::html::escape;
use crate::links::{Claims, token_prefix};
use crate::store::LinkRow;
use crate::telegram::transport::TelegramError;
use crate::units::{human_size, utc_minute};
use crate::urls::{Face, button_url_allowed, watch_url};

/// The heading of a new link's message.
pub const READY: &str = "Your link is ready";

/// The heading when the user sent a file they already have a working link to: that link again.
pub const ALREADY: &str = "You already have a link to this file: here it is again";

/// Replies with the link of `row` (and a Watch link for media) under `heading`.
pub async fn reply(app: &App, chat_id: i64, row: &LinkRow, media: &Media, heading: &str) -> Result<(), TelegramError> {
    let token = app.signer.mint(Claims { link_id: row.id, expires_at: row.expires_at });
    let url = Face::Download.url(&app.base_url, &token, &row.file_name);
    let watch = is_playable(media)
        .then(|| watch_url(&app.base_url, &token, &row.file_name, app.config.http.video_frontend_url.as_deref()));
    log::info!(
        "link {} for user {} ({:?}, {})",
        token_prefix(&token),
        row.owner,
        media.kind,
        human_size(row.file_size)
    );

    let expiry = if row.expires_at == 0 { "never".to_owned() } else { utc_minute(row.expires_at) };
    let size = media.size.map_or_else(|| "unknown".to_owned(), human_size);
    let mut text = format!(
        "<b>{heading}</b>\n\n<b>File:</b> {}\n<b>Size:</b> {size}\n<b>Expires:</b> {expiry}\n\n<b>Download:</b> {}",
        escape(&row.file_name),
        escape(&url)
    );
    if let Some(watch) = &watch {
        text.push_str(&format!("\n<b>Watch:</b> {}", escape(watch)));
    }
    if app.files.is_local() && row.file_size > CLOUD_FILE_LIMIT {
        // A local Bot API server answers getFile only once it has the whole file.
        text.push_str("\n\nBig files are copied from Telegram first: the first download may wait a minute or two.");
    }
    let mut buttons = vec![InlineKeyboardButton::builder().text("Download").url(url.clone()).build()];
    if let Some(watch) = watch.filter(|w| button_url_allowed(w)) {
        buttons.push(InlineKeyboardButton::builder().text("Watch").url(watch).build());
    }
    if !button_url_allowed(&url) {
        buttons.clear();
    }
    let mut rows = vec![buttons, vec![revoke_button(row.id)]];
    rows.retain(|r| !r.is_empty());
    send(app, chat_id, text, Some(InlineKeyboardMarkup::builder().inline_keyboard(rows).build())).await?;
    Ok(())
}
