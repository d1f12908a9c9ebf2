//! Channel posts: every media post in a channel listed in `CHANNELS` (the bot is its admin) gets
//! Download / Watch buttons, after the buttons it already had, by an edit of the post's buttons.
//! Its link belongs to no user ([`CHANNEL_OWNER`]): no daily limit, no force-subscribe, no share.

use frankenstein::types::{InlineKeyboardButton, InlineKeyboardMarkup, Message};

use super::intake::{refusal, store_link};
use super::link_message::link_buttons;
use super::media::{Media, media_of};
use super::reply::edit_buttons;
use crate::app::App;
use crate::links::{Claims, token_prefix};
use crate::store::{CHANNEL_OWNER, LinkRow};
use crate::telegram::transport::TelegramError;
use crate::units::human_size;
use crate::urls::{Face, button_url_allowed};

/// Handles a new or edited channel post: a media post in a listed channel gets its link's
/// buttons. A post that has a link already (an edit, or an update handled again after a
/// restart) keeps that link, and its buttons are put back only if they are missing.
pub async fn on_post(app: &App, update_id: i64, post: &Message) -> Result<(), TelegramError> {
    let chat = post.chat.id;
    if !app.core.config.is_listed_channel(chat) {
        // The logger drops this line when it repeats within seconds: a busy channel logs it rarely.
        log::info!("ignoring a post in channel {chat}: it is not listed in CHANNELS");
        crate::event::emit(crate::event::Event::ChannelPostIgnored { channel: chat });
        return Ok(());
    }
    let Some(media) = media_of(post) else { return Ok(()) };
    if !button_url_allowed(&app.core.base_url) {
        // Checked before a link is made: a link no one can see is of no use.
        log::warn!(
            "channel {chat}: post {} gets no buttons: Telegram refuses buttons that open {} (set BASE_URL to a public address)",
            post.message_id,
            app.core.base_url
        );
        crate::event::emit(crate::event::Event::ButtonsSkipped {
            channel: chat,
            post: post.message_id.into(),
            reason: "refused",
        });
        return Ok(());
    }
    let Some(row) = link_of(app, update_id, post, &media) else { return Ok(()) };
    let token = app.core.signer.mint(Claims { link_id: row.id, expires_at: row.expires_at });
    let ours = format!("{}{}", app.core.base_url, Face::Download.prefix());
    let Some(markup) = merged(post.reply_markup.as_deref(), link_buttons(&app.core, &row, &media, &token), &ours)
    else {
        log::debug!("channel {chat}: post {} carries its buttons already", post.message_id);
        crate::event::emit(crate::event::Event::ButtonsSkipped {
            channel: chat,
            post: post.message_id.into(),
            reason: "present",
        });
        return Ok(());
    };
    edit_buttons(&app.core, chat, post.message_id, markup).await
}

/// The link of `post`: the one made for it before (by this update, or for the same file of the
/// post an edit changed), else a new one (an edit that replaced the file gets a link to the new
/// file); `None` (logged) when none can be made.
fn link_of(app: &App, update_id: i64, post: &Message, media: &Media) -> Option<LinkRow> {
    let (chat, message) = (post.chat.id, post.message_id);
    let known = app.core.store.link_for_update(update_id).and_then(|row| match row {
        Some(row) => Ok(Some(row)),
        None => app.core.store.link_for_channel_post(chat, message, &media.file_unique_id),
    });
    match known {
        Ok(Some(row)) => return Some(row),
        Ok(None) => {}
        // Going on is safe: the unique update_id refuses a second row for this update.
        Err(e) => log::warn!("cannot look up the link of channel {chat} post {message}: {e}"),
    }
    // A channel has no Premium sender to lift the size limit for.
    if let Some(why) = refusal(app, media, false) {
        log::info!("channel {chat}: no link for post {message}: {why}");
        return None;
    }
    let row =
        store_link(&app.core, update_id, CHANNEL_OWNER, app.core.config.channel_link_expiry, media, (chat, message))?;
    app.core.files.prewarm(&row.file_id);
    let token = app.core.signer.mint(Claims { link_id: row.id, expires_at: row.expires_at });
    log::info!(
        "link {} for channel {chat} post {message} ({:?}, {})",
        token_prefix(&token),
        media.kind,
        human_size(row.file_size)
    );
    crate::event::emit(crate::event::Event::LinkMade {
        channel: chat,
        post: message.into(),
        token: token_prefix(&token),
    });
    Some(row)
}

/// The post's own button rows first, then `ours` in a row of their own; `None` when the post
/// shows our Download button already (an edit of a post that has them, or our own edit). A row
/// with a button to `our_prefix` (`BASE_URL/dl/`) is ours, for a file an edit replaced: it goes.
fn merged(
    existing: Option<&InlineKeyboardMarkup>,
    ours: Vec<InlineKeyboardButton>,
    our_prefix: &str,
) -> Option<InlineKeyboardMarkup> {
    let mut rows = existing.map(|m| m.inline_keyboard.clone()).unwrap_or_default();
    let download = ours.first()?.url.clone();
    if rows.iter().flatten().any(|b| b.url.is_some() && b.url == download) {
        return None;
    }
    rows.retain(|row| !row.iter().any(|b| b.url.as_deref().is_some_and(|u| u.starts_with(our_prefix))));
    rows.push(ours);
    Some(InlineKeyboardMarkup::builder().inline_keyboard(rows).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_button(text: &str, url: &str) -> InlineKeyboardButton {
        InlineKeyboardButton::builder().text(text).url(url).build()
    }

    const PREFIX: &str = "https://dl.example/dl/";

    fn ours() -> Vec<InlineKeyboardButton> {
        vec![url_button("Download", "https://dl.example/dl/T"), url_button("Watch", "https://dl.example/watch/T")]
    }

    fn texts(markup: &InlineKeyboardMarkup) -> Vec<Vec<&str>> {
        markup.inline_keyboard.iter().map(|row| row.iter().map(|b| b.text.as_str()).collect()).collect()
    }

    #[test]
    fn the_posts_own_rows_come_first_and_ours_follow_in_a_row_of_their_own() {
        let own = InlineKeyboardMarkup::builder()
            .inline_keyboard(vec![
                vec![url_button("Shop", "https://shop.example")],
                vec![url_button("A", "https://a.example"), url_button("B", "https://b.example")],
            ])
            .build();
        let merged = merged(Some(&own), ours(), PREFIX).unwrap();
        assert_eq!(texts(&merged), [vec!["Shop"], vec!["A", "B"], vec!["Download", "Watch"]]);
        assert_eq!(texts(&super::merged(None, ours(), PREFIX).unwrap()), [vec!["Download", "Watch"]]);
    }

    #[test]
    fn a_post_that_shows_our_download_button_is_left_alone_and_no_buttons_means_no_edit() {
        let shown = InlineKeyboardMarkup::builder()
            .inline_keyboard(vec![vec![url_button("Shop", "https://shop.example")], ours()])
            .build();
        assert_eq!(merged(Some(&shown), ours(), PREFIX), None);
        assert_eq!(merged(None, Vec::new(), PREFIX), None);
    }

    #[test]
    fn our_row_for_a_file_an_edit_replaced_gives_way_to_the_new_links_row() {
        let before = InlineKeyboardMarkup::builder()
            .inline_keyboard(vec![
                vec![url_button("Shop", "https://shop.example")],
                vec![url_button("Download", "https://dl.example/dl/OLD/a.mp4")],
            ])
            .build();
        let after = merged(Some(&before), ours(), PREFIX).unwrap();
        assert_eq!(texts(&after), [vec!["Shop"], vec!["Download", "Watch"]]);
        assert_eq!(after.inline_keyboard[1][0].url.as_deref(), Some("https://dl.example/dl/T"));
    }
}
