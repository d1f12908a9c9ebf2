//! The link message: what the bot answers a file with (name, size, expiry, the Download link and,
//! for media, the Watch link), with its buttons: Download, Watch, Copy link, Open in app, Revoke.

use frankenstein::types::{CopyTextButton, InlineKeyboardButton, InlineKeyboardMarkup};

use super::media::{Media, is_playable};
use super::owner::revoke_button;
use super::reply::send;
use crate::app::Core;
use crate::config::CLOUD_FILE_LIMIT;
use crate::html::escape;
use crate::links::{Claims, token_prefix};
use crate::store::LinkRow;
use crate::telegram::transport::TelegramError;
use crate::units::{expires_text, human_size};
use crate::urls::{Face, button_url_allowed, watch_url};

/// The heading of a new link's message.
pub const READY: &str = "Your link is ready";

/// The heading when the user sent a file they already have a working link to: that link again.
pub const ALREADY: &str = "You already have a link to this file: here it is again";

/// Replies with the link of `row` (and a Watch link for media) under `heading`.
pub async fn reply(
    core: &Core,
    chat_id: i64,
    row: &LinkRow,
    media: &Media,
    heading: &str,
) -> Result<(), TelegramError> {
    let token = core.signer.mint(Claims { link_id: row.id, expires_at: row.expires_at });
    let url = Face::Download.url(&core.base_url, &token, &row.file_name);
    let watch = is_playable(media)
        .then(|| watch_url(&core.base_url, &token, &row.file_name, core.config.http.video_frontend_url.as_deref()));
    log::info!(
        "link {} for user {} ({:?}, {})",
        token_prefix(&token),
        row.owner,
        media.kind,
        human_size(row.file_size)
    );

    let expiry = expires_text(row.expires_at);
    let size = media.size.map_or_else(|| "unknown".to_owned(), human_size);
    let mut text = format!(
        "<b>{heading}</b>\n\n<b>File:</b> {}\n<b>Size:</b> {size}\n<b>Expires:</b> {expiry}\n\n<b>Download:</b> {}",
        escape(&row.file_name),
        escape(&url)
    );
    if let Some(watch) = &watch {
        text.push_str(&format!("\n<b>Watch:</b> {}", escape(watch)));
    }
    if core.files.is_local() && row.file_size > CLOUD_FILE_LIMIT {
        // A local Bot API server answers getFile only once it has the whole file.
        text.push_str("\n\nBig files are copied from Telegram first: the first download may wait a minute or two.");
    }
    let rows = [
        link_buttons(core, row, media, &token),
        app_buttons(
            &url,
            is_playable(media).then(|| Face::Watch.url(&core.base_url, &token, &row.file_name)).as_deref(),
        ),
        vec![revoke_button(row.id)],
    ];
    let rows: Vec<_> = rows.into_iter().filter(|r| !r.is_empty()).collect();
    send(core, chat_id, text, Some(InlineKeyboardMarkup::builder().inline_keyboard(rows).build())).await?;
    Ok(())
}

/// The Download button of link `token` (of `row`, named after its file) and, for media, the
/// Watch button; none when Telegram would refuse the Download URL (a loopback `BASE_URL`).
pub fn link_buttons(core: &Core, row: &LinkRow, media: &Media, token: &str) -> Vec<InlineKeyboardButton> {
    let url = Face::Download.url(&core.base_url, token, &row.file_name);
    if !button_url_allowed(&url) {
        return Vec::new();
    }
    let mut buttons = vec![InlineKeyboardButton::builder().text("Download").url(url).build()];
    let frontend = core.config.http.video_frontend_url.as_deref();
    let watch = is_playable(media).then(|| watch_url(&core.base_url, token, &row.file_name, frontend));
    if let Some(watch) = watch.filter(|w| button_url_allowed(w)) {
        buttons.push(InlineKeyboardButton::builder().text("Watch").url(watch).build());
    }
    buttons
}

/// Telegram's limit on a `copy_text` button's text (Bot API `CopyTextButton`: 1-256 characters).
const COPY_TEXT_MAX: usize = 256;

/// "Copy link" (a `copy_text` button: Telegram copies the download URL, whatever its host) and,
/// for media, "Open in app": the player-app links on the watch page `watch` (URL buttons take
/// only http(s) and tg:// links, so `vlc://` and `intent:` links live on that page).
fn app_buttons(url: &str, watch: Option<&str>) -> Vec<InlineKeyboardButton> {
    let mut row = Vec::new();
    // A long name (each non-Latin letter is six characters encoded) gives way to the short form
    // `/dl/<token>`, which serves the same file under the same name.
    let short = url.rsplit_once('/').map(|(short, _)| short).filter(|s| s.contains(Face::Download.prefix()));
    let copy = if url.chars().count() <= COPY_TEXT_MAX { url } else { short.unwrap_or(url) };
    if copy.chars().count() <= COPY_TEXT_MAX {
        let copy = CopyTextButton::builder().text(copy).build();
        row.push(InlineKeyboardButton::builder().text("Copy link").copy_text(copy).build());
    }
    if let Some(apps) = watch.map(|w| format!("{w}#open")).filter(|a| button_url_allowed(a)) {
        row.push(InlineKeyboardButton::builder().text("Open in app").url(apps).build());
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_link_carries_the_url_and_open_in_app_points_at_the_players_on_the_watch_page() {
        let url = "https://dl.example.com/dl/T";
        let row = app_buttons(url, Some("https://dl.example.com/watch/T"));
        assert_eq!(row[0].text, "Copy link");
        assert_eq!(row[0].copy_text.as_ref().map(|c| c.text.as_str()), Some(url));
        assert_eq!(row[1].url.as_deref(), Some("https://dl.example.com/watch/T#open"));
    }

    #[test]
    fn a_local_address_keeps_copy_link_and_a_document_gets_no_open_in_app() {
        let local = app_buttons("http://127.0.0.1:8080/dl/T", Some("http://127.0.0.1:8080/watch/T"));
        assert_eq!(local.iter().map(|b| b.text.as_str()).collect::<Vec<_>>(), ["Copy link"]);
        let document = app_buttons("https://dl.example.com/dl/T", None);
        assert_eq!(document.len(), 1);
        let long_name = format!("https://dl.example.com/dl/T/{}", "%D0%B2".repeat(50));
        let row = app_buttons(&long_name, None);
        assert_eq!(row[0].copy_text.as_ref().map(|c| c.text.as_str()), Some("https://dl.example.com/dl/T"));
        let long = format!("https://dl.example.com/{}", "x".repeat(COPY_TEXT_MAX));
        assert!(app_buttons(&long, None).is_empty(), "over Telegram's limit");
    }
}
