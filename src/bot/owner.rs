//! What users do with their own links: revoke one (the button under a link reply, `/revoke`, or
//! from the list) and `/mylinks`, ten per page with Next/Previous, under the bytes the user's
//! links served this month and their share. Revoking stops the link on every face at once,
//! running downloads included.

use std::rc::Rc;

use frankenstein::types::{InlineKeyboardButton, InlineKeyboardMarkup, Message, User};

use super::commands::{self, Callback};
use super::reply::{edit, send};
use crate::app::App;
use crate::html::escape;
use crate::links::Claims;
use crate::store::LinkRow;
use crate::telegram::transport::TelegramError;
use crate::units::{human_size, now_unix, utc_minute};
use crate::urls::Face;

/// Links per `/mylinks` page.
pub const PAGE: u32 = 10;

/// Why a revoke did not happen, as the user reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    NotYours,
    NoSuchLink,
    StoreFailed,
}

impl Refused {
    pub fn text(self) -> &'static str {
        match self {
            Refused::NotYours => "Sorry, only the person who made this link (or an admin) can revoke it.",
            Refused::NoSuchLink => "I cannot find that link: it may have expired already.",
            Refused::StoreFailed => "Sorry, I could not revoke the link right now. Please try again in a minute.",
        }
    }
}

/// Revokes link `id` for `user` (its owner or an admin): stored as revoked, its running
/// downloads ended, its cached file path forgotten.
pub fn revoke(app: &App, user: u64, id: u64) -> Result<Rc<LinkRow>, Refused> {
    let link = app.core.store.link(id).map_err(|_| Refused::StoreFailed)?.ok_or(Refused::NoSuchLink)?;
    if link.owner != user && !app.core.config.is_admin(user) {
        return Err(Refused::NotYours);
    }
    if !link.revoked {
        app.core.store.revoke_link(id).map_err(|e| {
            log::error!("cannot revoke link {id}: {e}");
            Refused::StoreFailed
        })?;
        let ended = app.serving.streams.end_link(id);
        app.core.files.forget(&link.file_id);
        log::info!("link {id} revoked by user {user} ({ended} running downloads ended)");
    }
    Ok(link)
}

/// What a revoked link's message says instead of the link.
pub fn revoked_text(link: &LinkRow) -> String {
    format!("<b>Link revoked</b>\n\n<b>File:</b> {}\nThis link no longer works.", escape(&link.file_name))
}

/// `/revoke` as a reply to a link message, or `/revoke <token or link>`.
pub async fn revoke_command(app: &App, message: &Message, from: &User, text: &str) -> Result<(), TelegramError> {
    let replied = message.reply_to_message.as_deref().and_then(|m| m.text.as_deref()).and_then(commands::token_in);
    let token = commands::token_in(commands::args(text)).or(replied);
    let reply = match token {
        None => "Reply to a link message with /revoke, or send /revoke followed by the link.".to_owned(),
        // An expired token's link no longer works anyway; a forged one names no link.
        Some(token) => match app.core.signer.verify(token, now_unix()) {
            Err(_) => Refused::NoSuchLink.text().to_owned(),
            Ok(claims) => match revoke(app, from.id, claims.link_id) {
                Ok(link) => revoked_text(&link),
                Err(refused) => refused.text().to_owned(),
            },
        },
    };
    send(&app.core, message.chat.id, reply, None).await.map(drop)
}

/// One `/mylinks` page (0-based; past the end shows the last): text and buttons.
pub fn page(app: &App, user: u64, page: u64) -> (String, Option<InlineKeyboardMarkup>) {
    let now = now_unix();
    let total = app.core.store.user_link_count(user, now).unwrap_or(0);
    let share = share_line(app, user, now);
    if total == 0 {
        return (format!("You have no working links. Send me a file to make one.\n\n{share}"), None);
    }
    let pages = total.div_ceil(u64::from(PAGE));
    let page = page.min(pages - 1);
    let links = app.core.store.user_links(user, now, page * u64::from(PAGE), PAGE).unwrap_or_default();
    let mut text = format!("<b>Your links</b> ({total}), page {} of {pages}\n{share}\n", page + 1);
    let mut revokes = Vec::new();
    for (i, (link, stored)) in links.iter().enumerate() {
        let n = page * u64::from(PAGE) + i as u64 + 1;
        let downloads = stored + app.serving.downloads_pending(link.id);
        let token = app.core.signer.mint(Claims { link_id: link.id, expires_at: link.expires_at });
        let expiry = crate::units::expires_text(link.expires_at);
        text.push_str(&format!(
            "\n{n}. <b>{}</b>\n{} · expires {expiry} · {downloads} download{}\n{}\n",
            escape(&link.file_name),
            human_size(link.file_size),
            if downloads == 1 { "" } else { "s" },
            // The short form: ten named links in Cyrillic or CJK would pass Telegram's 4096
            // characters; `/dl/<token>` serves the same file under the same name.
            escape(&format!("{}{}{token}", app.core.base_url, Face::Download.prefix()))
        ));
        revokes.push(Callback::RevokeFromList(link.id, page).button(&format!("Revoke {n}")));
    }
    let mut rows: Vec<Vec<InlineKeyboardButton>> = revokes.chunks(5).map(<[_]>::to_vec).collect();
    let mut nav = Vec::new();
    if page > 0 {
        nav.push(Callback::MyLinks(page - 1).button("« Previous"));
    }
    if page + 1 < pages {
        nav.push(Callback::MyLinks(page + 1).button("Next »"));
    }
    if !nav.is_empty() {
        rows.push(nav);
    }
    (text, Some(InlineKeyboardMarkup::builder().inline_keyboard(rows).build()))
}

/// The bytes `user`'s links served this month, and their share of the month's bandwidth.
fn share_line(app: &App, user: u64, now: u64) -> String {
    let used = human_size(app.serving.owner_bandwidth_used(&app.core.store, user, now));
    let Some(limit) = app.serving.bandwidth.user_limit() else { return format!("Bandwidth this month: {used}") };
    if app.core.config.is_admin(user) {
        return format!("Bandwidth this month: {used} (admins have no share limit)");
    }
    let mut line = format!(
        "Bandwidth this month: {used} of your share of {} ({}%)",
        human_size(limit),
        app.core.config.bandwidth_user_share
    );
    if let Some(until) = app.serving.owner_blocked_until(&app.core, user, now) {
        line.push_str(&format!(", used up: your links work again on {}", utc_minute(until)));
    }
    line
}

/// The Revoke button under a link reply.
pub fn revoke_button(link_id: u64) -> InlineKeyboardButton {
    Callback::Revoke(link_id).button("Revoke")
}

/// A button press from the list or under a link; returns the short answer the button shows.
pub async fn on_button(
    app: &App,
    cb: Callback,
    user: u64,
    chat_id: i64,
    message_id: i32,
) -> Result<Option<&'static str>, TelegramError> {
    match cb {
        Callback::Revoke(id) => match revoke(app, user, id) {
            Ok(link) => edit(&app.core, chat_id, message_id, revoked_text(&link), None).await.map(|()| Some("Revoked")),
            Err(refused) => Ok(Some(refused.text())),
        },
        Callback::RevokeFromList(id, at) => {
            let answer = match revoke(app, user, id) {
                Ok(_) => "Revoked",
                Err(refused) => refused.text(),
            };
            let (text, markup) = page(app, user, at);
            edit(&app.core, chat_id, message_id, text, markup).await.map(|()| Some(answer))
        }
        Callback::MyLinks(at) => {
            let (text, markup) = page(app, user, at);
            edit(&app.core, chat_id, message_id, text, markup).await.map(|()| None)
        }
        _ => Ok(None),
    }
}
