//! File intake: find the file in a message, check it can be served, keep a backup copy in
//! `LOG_CHANNEL`, mint the link, store its row, pre-warm `getFile` in local mode, and reply with
//! the link (and a Watch link for media). Nothing is stored when a step before the reply fails.
//! One link per file: a file the user already has a working link to gets that link again.

use frankenstein::methods::ForwardMessageParams;
use frankenstein::response::MethodResponse;
use frankenstein::types::{Message, User};

use super::force_sub::{self, Gate};
use super::link_message::{ALREADY, READY, reply};
use super::media::{Media, media_of};
use super::reply::{send, send_once, send_reply};
use crate::app::{App, Core};
use crate::config::Mode;
use crate::store::LinkRow;
use crate::telegram::transport::TelegramError;
use crate::units::{human_size, human_size_rounded, now_unix, utc_minute};

/// Makes a link for `media` and replies with it. An update handled again (after a restart cut
/// it off) finds the link it made before and sends that one: the same token, no second link.
pub async fn intake(
    app: &App,
    update_id: i64,
    message: &Message,
    from: &User,
    mut media: Media,
) -> Result<(), TelegramError> {
    let chat_id = message.chat.id;
    match app.core.store.link_for_update(update_id) {
        Ok(Some(row)) => {
            log::info!("update {update_id} was handled before: sending its link again");
            app.core.files.prewarm(&row.file_id);
            return reply_or_apologize(&app.core, chat_id, &row, &media).await;
        }
        Ok(None) => {}
        // Going on is safe: the unique update_id refuses a second row.
        Err(e) => log::warn!("cannot look up the link of update {update_id}: {e}"),
    }
    if let Gate::Join(url) = force_sub::check(app, from.id).await {
        let markup = force_sub::join_markup(url);
        send_reply(&app.core, chat_id, force_sub::JOIN_TEXT.into(), Some(markup), Some(message.message_id)).await?;
        return Ok(());
    }
    // The month's bandwidth and the user's share first: a link that answers 503 is no answer.
    let premium = from.is_premium == Some(true);
    if let Some(text) = refusal(app, &media, premium).or_else(|| share_refusal(app, from.id)) {
        send(&app.core, chat_id, text, None).await?;
        return Ok(());
    }
    // Before the daily limit: the link exists already, so it is not charged again.
    if let Some(row) = live_link(&app.core, from.id, &media) {
        log::info!("user {} sent a file they have a working link to: sending that link again", from.id);
        app.core.files.prewarm(&row.file_id);
        return reply(&app.core, chat_id, &row, &media, ALREADY).await;
    }
    if let Some(text) = daily_refusal(&app.core, from.id) {
        send(&app.core, chat_id, text, None).await?;
        return Ok(());
    }
    let source = backup(&app.core, message, &mut media).await;
    let Some(row) = store_link(&app.core, update_id, from.id, app.core.config.link_expiry, &media, source) else {
        let sorry = "Sorry, I could not save your link right now. Please send the file again in a minute.";
        send(&app.core, chat_id, sorry.into(), None).await?;
        return Ok(());
    };
    // Local mode: the Bot API server fetches the file from Telegram now, not at the first download.
    app.core.files.prewarm(&row.file_id);
    reply_or_apologize(&app.core, chat_id, &row, &media).await
}

/// Replies with the link; if Telegram never takes it (retried for `REPLY_RETRY_SECS`), gives the
/// daily limit its link back and asks the user, in one try, to send the file again.
async fn reply_or_apologize(core: &Core, chat_id: i64, row: &LinkRow, media: &Media) -> Result<(), TelegramError> {
    let Err(e) = reply(core, chat_id, row, media, READY).await else { return Ok(()) };
    if let Err(e) = core.store.refund_link_event(row.owner, row.created_at) {
        log::warn!("cannot give user {} back the link that did not reach them: {e}", row.owner);
    }
    if crate::telegram::retry::is_transient(&e) {
        let sorry = "Sorry, Telegram did not take the message with your link. Please send the file again.";
        if let Err(again) = send_once(core, chat_id, sorry).await {
            log::debug!("the try-again note to chat {chat_id} failed too: {again}");
        }
    }
    Err(e)
}

/// The working link `user` already has to the file in `media` (same `file_unique_id`), if any.
fn live_link(core: &Core, user: u64, media: &Media) -> Option<LinkRow> {
    if media.file_unique_id.is_empty() {
        return None;
    }
    core.store.live_link_for_file(user, &media.file_unique_id, now_unix()).unwrap_or_else(|e| {
        // A second link is better than none while the store fails.
        log::warn!("cannot look up user {user}'s links to a file: {e}");
        None
    })
}

/// Why no link is made for `media`, as the reply says it: too big (the limit is higher for a
/// Premium sender outside cloud mode), or the month's bandwidth is used.
pub(super) fn refusal(app: &App, media: &Media, premium: bool) -> Option<String> {
    let limit = app.core.config.file_size_limit_for(premium);
    if let Some(size) = media.size.filter(|&s| s > limit) {
        let premium_limit = app.core.config.file_size_limit_for(true);
        // The size rounded up and the limit down: the two never read as the same number.
        let (size, limit) = (human_size_rounded(size, true), human_size_rounded(limit, false));
        return Some(match app.core.config.mode() {
            Mode::Local => format!("This file is {size}, but Telegram lets bots fetch files up to {limit}."),
            Mode::Direct if !premium => format!(
                "This file is {size}, but links can only be made for files up to {limit}: that is Telegram's limit ({} for files from Telegram Premium users).",
                human_size_rounded(premium_limit, false)
            ),
            Mode::Direct => format!(
                "This file is {size}, but links can only be made for files up to {limit}: that is Telegram's limit."
            ),
            Mode::Cloud => format!(
                "This file is {size}, but links can only be made for files up to {limit} here: that is the limit of Telegram's cloud Bot API.\n\nThe operator of this bot can lift it to 2 GB (4 GB for Premium users) by running a local Bot API server (telegram-bot-api --local) and setting TELEGRAM_API_URL and TELEGRAM_LOCAL_FILES."
            ),
        });
    }
    app.serving.bandwidth_blocked_until(now_unix()).map(|until| {
        format!(
            "This bot has used its bandwidth ({}) for this month, so it makes no new links until {}. Please try again then.",
            app.core.config.bandwidth_limit_text(),
            crate::units::utc_minute(until)
        )
    })
}

/// The share's refusal, if `user`'s links used their `BANDWIDTH_USER_SHARE` of this month
/// (admins never do): a new link would only answer 503.
fn share_refusal(app: &App, user: u64) -> Option<String> {
    let now = now_unix();
    let until = app.serving.owner_blocked_until(&app.core, user, now)?;
    Some(format!(
        "Your links have used your share of this bot's bandwidth this month ({} of {}, {}% of {}), so I make no new links for you until {}. Your links work again then too.",
        human_size(app.serving.owner_bandwidth_used(&app.core.store, user, now)),
        human_size(app.serving.bandwidth.user_limit().unwrap_or(0)),
        app.core.config.bandwidth_user_share,
        app.core.config.bandwidth_limit_text(),
        utc_minute(until)
    ))
}

/// The daily link limit's refusal, if `user` reached `MAX_LINKS_PER_DAY` (admins never do).
fn daily_refusal(core: &Core, user: u64) -> Option<String> {
    let limit = core.config.max_links_per_day;
    if limit == 0 || core.config.is_admin(user) {
        return None;
    }
    let now = now_unix();
    let since = now.saturating_sub(crate::limits::LINK_DAY);
    let times = core.store.link_times_since(user, since, limit).unwrap_or_else(|e| {
        // Going on without the limit is better than refusing everyone while the store fails.
        log::warn!("cannot read user {user}'s links of the last 24 h: {e}");
        Vec::new()
    });
    let next = crate::limits::next_link_at(&times, limit, now)?;
    Some(format!(
        "You have made {} link{} in the last 24 hours, the most this bot allows per day.\nYour next link is possible at {} ({}).",
        times.len(),
        if times.len() == 1 { "" } else { "s" },
        utc_minute(next),
        crate::units::wait_text(next - now)
    ))
}

/// Forwards the message to `LOG_CHANNEL`, if set, and serves from that copy's file_id. Returns
/// the (chat, message) the file_id now comes from: the copy, or the user's message.
async fn backup(core: &Core, message: &Message, media: &mut Media) -> (i64, i32) {
    let own = (message.chat.id, message.message_id);
    let Some(channel) = core.config.log_channel else { return own };
    let params = ForwardMessageParams::builder()
        .chat_id(channel)
        .from_chat_id(message.chat.id)
        .message_id(message.message_id)
        .build();
    // Every intake writes to this one chat: waiting out its flood limit (Telegram's bot FAQ: about
    // 20 messages a minute into one group) would hold up every user's link, so a 429 skips the
    // backup instead.
    let copy: Result<MethodResponse<Message>, _> = core.api.request_or_skip("forwardMessage", &params).await;
    match copy {
        // The copy in the channel is ours to keep: serve from its file_id.
        Ok(copy) => match media_of(&copy.result) {
            Some(backup) => {
                media.file_id = backup.file_id;
                return (copy.result.chat.id, copy.result.message_id);
            }
            None => {
                log::warn!("the LOG_CHANNEL copy carries no file; using the original");
                crate::event::emit(crate::event::Event::BackupSkipped { channel, reason: "no_file" });
            }
        },
        Err(e) => {
            log::warn!("cannot forward to LOG_CHANNEL {channel}: {e}; using the original file");
            crate::event::emit(crate::event::Event::BackupSkipped { channel, reason: "failed" });
        }
    }
    own
}

/// Stores a new link row for `media`, owned by `owner` and living `lifetime` (`None`: for
/// ever), made by `update_id` from the message `source`; `None` (logged) if the store failed.
pub(super) fn store_link(
    core: &Core,
    update_id: i64,
    owner: u64,
    lifetime: Option<std::time::Duration>,
    media: &Media,
    source: (i64, i32),
) -> Option<LinkRow> {
    let now = now_unix();
    let Some(id) = crate::links::new_link_id() else {
        log::error!("cannot make a link id: the system random generator failed");
        return None;
    };
    let row = LinkRow {
        id,
        owner,
        file_id: media.file_id.clone(),
        file_unique_id: media.file_unique_id.clone(),
        file_name: media.name.clone(),
        file_size: media.size.unwrap_or(0),
        mime: media.mime.clone(),
        created_at: now,
        expires_at: lifetime.map_or(0, |d| now + d.as_secs()),
        update_id: Some(update_id),
        revoked: false,
        source: Some(source),
    };
    match core.store.insert_link(&row) {
        Ok(()) => Some(row),
        Err(e) => {
            log::error!("cannot store a link: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::media::tests::message;
    use super::*;

    /// Runs intake of a 3000 MiB document from user 7 (Premium or not) on an app with `vars`;
    /// returns the texts the bot sent.
    fn big_file_from(premium: bool, vars: &[(&str, &str)]) -> Vec<String> {
        let tg = crate::testing::FakeTelegram::start();
        let ex = std::rc::Rc::new(smol::LocalExecutor::new());
        let app = crate::testing::app(&tg.url(), vars, ex.clone());
        let m = message(serde_json::json!({
            "from": {"id": 7, "is_bot": false, "first_name": "Ann", "is_premium": premium},
            "document": {"file_id": "F", "file_unique_id": "U", "file_name": "big.mkv", "file_size": 3000u64 << 20}
        }));
        let from = m.from.clone().unwrap();
        let media = media_of(&m).unwrap();
        smol::block_on(ex.run(intake(&app, 1, &m, &from, media))).unwrap();
        tg.texts_of("sendMessage")
    }

    #[test]
    fn direct_mode_refuses_3000_mb_naming_telegrams_limit_and_takes_it_from_a_premium_sender() {
        let direct = [("TELEGRAM_API_ID", "1"), ("TELEGRAM_API_HASH", "0123456789abcdef0123456789abcdef")];
        let texts = big_file_from(false, &direct);
        assert_eq!(texts.len(), 1, "{texts:?}");
        assert!(
            texts[0]
                .contains("up to 1.95 GiB: that is Telegram's limit (3.90 GiB for files from Telegram Premium users)"),
            "{texts:?}"
        );
        assert!(!texts[0].contains("local Bot API"), "{texts:?}");
        let texts = big_file_from(true, &direct);
        assert!(texts.len() == 1 && texts[0].contains("Your link is ready"), "{texts:?}");
    }

    #[test]
    fn local_mode_takes_3000_mb_and_the_cloud_refuses_it_premium_or_not() {
        let texts = big_file_from(false, &[("TELEGRAM_LOCAL_FILES", "/nonexistent")]);
        assert!(texts.len() == 1 && texts[0].contains("Your link is ready"), "{texts:?}");
        let texts = big_file_from(true, &[]);
        assert!(texts.len() == 1 && texts[0].contains("cloud Bot API"), "{texts:?}");
    }
}
