//! Update handling: commands, callback buttons, file intake, and a hint for anything else.
//! A failing handler is logged and its update counts as finished; the dispatcher moves on.

use std::rc::Rc;

use frankenstein::AsyncTelegramApi;
use frankenstein::methods::{AnswerCallbackQueryParams, DeleteMessageParams};
use frankenstein::types::{CallbackQuery, ChatType, InlineKeyboardMarkup, MaybeInaccessibleMessage, Message};
use frankenstein::updates::{Update, UpdateContent};

use super::access;
use super::admin;
use super::bans;
use super::broadcast;
use super::channels;
use super::commands::{self, Access, Callback, Command, Parsed};
use super::force_sub::{self, Gate};
use super::intake;
use super::media;
use super::owner;
use super::reply::{self, send};
use crate::app::{App, Core};
use crate::html::escape;
use crate::telegram::transport::TelegramError;
use crate::units::human_size;

/// Commands shown in Telegram's menu.
pub fn command_list() -> Vec<(&'static str, String)> {
    commands::listed(Access::Everyone).map(|(name, help)| (name, help.to_owned())).collect()
}

/// Commands shown in an admin's menu besides [`command_list`].
pub fn admin_command_list() -> Vec<(&'static str, String)> {
    commands::listed(Access::Admin).map(|(name, help)| (name, format!("Admin: {help}"))).collect()
}

/// What an update is, for log lines (no user content).
pub fn kind(update: &Update) -> &'static str {
    match &update.content {
        UpdateContent::Message(m) if media::media_of(m).is_some() => "file message",
        UpdateContent::Message(_) => "message",
        UpdateContent::CallbackQuery(_) => "button press",
        UpdateContent::ChannelPost(_) | UpdateContent::EditedChannelPost(_) => "channel post",
        _ => "other update",
    }
}

/// Handles one update; errors are logged, never returned (one bad update must not stop the poll),
/// and a reply lost after its retries is counted.
pub async fn handle(app: &Rc<App>, update: Update) {
    let result = match access::gate(app, &update.content).await {
        Some(refused) => refused,
        None => match update.content {
            UpdateContent::Message(message) => on_message(app, i64::from(update.update_id), &message).await,
            UpdateContent::CallbackQuery(query) => on_callback(app, i64::from(update.update_id), &query).await,
            UpdateContent::ChannelPost(post) | UpdateContent::EditedChannelPost(post) => {
                channels::on_post(app, i64::from(update.update_id), &post).await
            }
            _ => Ok(()),
        },
    };
    match result {
        Err(e) if crate::telegram::retry::is_transient(&e) => {
            app.bot.replies_lost.set(app.bot.replies_lost.get() + 1);
            log::error!("update {}: Telegram did not take the reply after retrying: {e}", update.update_id);
            crate::event::emit(crate::event::Event::ReplyFailed { update: update.update_id.into() });
        }
        Err(e) => log::warn!("update {}: {e}", update.update_id),
        Ok(()) => {}
    }
}

/// Tells `chat` that its queue is full: what it sends now is skipped until its answers are out.
pub async fn slow_down(core: &Core, chat: i64, waiting: usize) {
    if core.config.is_listed_channel(chat) {
        // A note in the channel would reach its readers, not whoever posted so much.
        log::warn!("channel {chat}: {waiting} posts are waiting for their buttons; newer ones are skipped");
        return;
    }
    let text = format!(
        "Slow down, please: {waiting} files and messages of yours are waiting for an answer. \
         They will all be answered in order; what you send before then is skipped, so send it again afterwards."
    );
    if let Err(e) = send(core, chat, text, None).await {
        log::warn!("cannot tell chat {chat} to slow down: {e}");
    }
}

fn menu() -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::builder()
        .inline_keyboard(vec![
            vec![Callback::Help.button("Help"), Callback::About.button("About")],
            vec![Callback::Close.button("Close")],
        ])
        .build()
}

fn start_text(core: &Core, from: &frankenstein::types::User) -> String {
    format!(
        "Hi {}!\n\nSend me a file (document, video, audio, photo, voice, animation or sticker) and I will answer with a download link.\nLinks expire after {}.\n\nYour user id: <code>{}</code>",
        escape(&from.first_name),
        core.config.link_expiry_text(),
        from.id
    )
}

fn help_text(core: &Core, user_id: u64) -> String {
    let mut text = format!(
        "<b>How to use</b>\n1. Send or forward a file to this chat.\n2. I reply with a link anyone can open in a browser, curl, aria2c, VLC or mpv.\n\nFiles up to {} can be linked. Links expire after {}.\n\nEvery link has a Revoke button; /mylinks lists yours.\n\nCommands: {}",
        human_size(core.config.file_size_limit()),
        core.config.link_expiry_text(),
        commands::listed(Access::Everyone).map(|(name, _)| format!("/{name}")).collect::<Vec<_>>().join(", ")
    );
    if core.config.is_admin(user_id) {
        text.push_str("\n\n<b>Admin</b>");
        for (command, what) in commands::listed(Access::Admin) {
            text.push_str(&format!("\n/{command}: {what}"));
        }
    }
    text
}

fn id_text(user_id: u64) -> String {
    format!(
        "Your user id is <code>{user_id}</code>.\nThe operator makes you an admin by adding it to ADMINS and restarting the bot."
    )
}

fn about_text(core: &Core) -> String {
    format!(
        "<b>streambot</b> {}\nLink expiry: {}\nBandwidth limit: {}, {}\nLargest file: {}\nSource: {}",
        crate::version(),
        core.config.link_expiry_text(),
        core.config.bandwidth_limit_text(),
        core.config.bandwidth_share_text(),
        human_size(core.config.file_size_limit()),
        escape(&core.config.repo_url)
    )
}

async fn on_message(app: &Rc<App>, update_id: i64, message: &Message) -> Result<(), TelegramError> {
    let Some(from) = message.from.as_deref() else { return Ok(()) };
    let chat_id = message.chat.id;
    let private = message.chat.type_field == ChatType::Private;
    if private {
        register(&app.core, from);
    }
    if let Some(media) = media::media_of(message) {
        if !private {
            return Ok(());
        }
        return intake::intake(app, update_id, message, from, media).await;
    }
    let text = message.text.as_deref().unwrap_or("");
    let parsed = commands::parse(text, app.bot.username());
    if let Parsed::Command(cmd) = parsed
        && cmd.spec().access == Access::Admin
    {
        // Admin views stay in private chats: in a group they would show everyone the figures.
        if private && !app.core.config.is_admin(from.id) {
            send(&app.core, chat_id, admin::NOT_ADMIN.to_owned(), None).await?;
        }
        if !private || !app.core.config.is_admin(from.id) {
            return Ok(());
        }
    }
    match parsed {
        Parsed::Command(Command::Start) => {
            send(&app.core, chat_id, start_text(&app.core, from), Some(menu())).await?;
        }
        Parsed::Command(Command::Help) => {
            send(&app.core, chat_id, help_text(&app.core, from.id), None).await?;
        }
        Parsed::Command(Command::Id) => {
            send(&app.core, chat_id, id_text(from.id), None).await?;
        }
        Parsed::Command(Command::About) => {
            send(&app.core, chat_id, about_text(&app.core), None).await?;
        }
        Parsed::Command(Command::Revoke) => owner::revoke_command(app, message, from, text).await?,
        Parsed::Command(Command::MyLinks) if private => {
            let (text, markup) = owner::page(app, from.id, 0);
            send(&app.core, chat_id, text, markup).await?;
        }
        Parsed::Command(Command::Broadcast) => broadcast::command(app, message, text).await?,
        Parsed::Command(Command::Ban) => bans::ban_command(app, message, from.id, text).await?,
        Parsed::Command(Command::Unban) => bans::unban_command(app, message, text).await?,
        Parsed::Command(Command::Banned) => {
            let (text, markup) = bans::page(&app.core, 0);
            send(&app.core, chat_id, text, markup).await?;
        }
        Parsed::Command(cmd @ (Command::Memory | Command::Stats | Command::Logs)) => {
            let reply = match cmd {
                Command::Memory => admin::memory_text(&admin::memory_view(app)),
                Command::Stats => admin::stats_text(app),
                _ => admin::logs_text(commands::args(text)),
            };
            send(&app.core, chat_id, reply, None).await?;
        }
        Parsed::Unknown(name) if private => {
            let hint = format!("Unknown command /{}. Send me a file to get a link, or see /help.", escape(name));
            send(&app.core, chat_id, hint, None).await?;
        }
        Parsed::Text if private => {
            send(&app.core, chat_id, "Send me a file to get a download link. See /help for more.".into(), None).await?;
        }
        _ => {}
    }
    Ok(())
}

/// Records the user (for /stats and broadcasts). A store failure only costs the record.
pub fn register(core: &Core, user: &frankenstein::types::User) {
    if let Err(e) =
        core.store.upsert_user(user.id, &user.first_name, user.username.as_deref(), crate::units::now_unix())
    {
        log::error!("cannot record user {}: {e}", user.id);
    }
}

async fn on_callback(app: &App, update_id: i64, query: &CallbackQuery) -> Result<(), TelegramError> {
    let message = match &query.message {
        Some(MaybeInaccessibleMessage::Message(m)) => Some((m.chat.id, m.message_id)),
        _ => None,
    };
    let action = query.data.as_deref().and_then(Callback::parse);
    let mut note = None;
    let result = match (action, message) {
        (Some(cb @ (Callback::Revoke(_) | Callback::RevokeFromList(..) | Callback::MyLinks(_))), Some((chat, id))) => {
            owner::on_button(app, cb, query.from.id, chat, id).await.map(|n| note = n)
        }
        (Some(Callback::Banned(page)), Some((chat, id))) => {
            bans::on_page(&app.core, query.from.id, page, chat, id).await.map(|n| note = n)
        }
        (Some(Callback::TryAgain), Some(_)) => try_again(app, update_id, query).await.map(|n| note = n),
        (Some(Callback::Close), Some((chat_id, message_id))) => app
            .core
            .api
            .delete_message(&DeleteMessageParams::builder().chat_id(chat_id).message_id(message_id).build())
            .await
            .map(drop),
        (Some(cb @ (Callback::Help | Callback::About)), Some((chat_id, message_id))) => {
            let text = if cb == Callback::Help { help_text(&app.core, query.from.id) } else { about_text(&app.core) };
            reply::edit(&app.core, chat_id, message_id, text, Some(menu())).await
        }
        _ => Ok(()),
    };
    let answer = AnswerCallbackQueryParams::builder()
        .callback_query_id(query.id.clone())
        .maybe_text(note.map(String::from))
        .build();
    app.core.api.answer_callback_query(&answer).await?;
    result
}

/// Force-subscribe's "Try again": asks Telegram afresh; a member gets the link for the file the
/// Join message replied to, and the Join message goes.
async fn try_again(app: &App, update_id: i64, query: &CallbackQuery) -> Result<Option<&'static str>, TelegramError> {
    let Some(MaybeInaccessibleMessage::Message(gate)) = &query.message else { return Ok(None) };
    app.bot.members.borrow_mut().forget(query.from.id);
    if matches!(force_sub::check(app, query.from.id).await, Gate::Join(_)) {
        return Ok(Some("You have not joined the channel yet."));
    }
    let Some(file) = gate.reply_to_message.as_deref() else {
        return Ok(Some("Thanks for joining! Send the file again to get its link."));
    };
    let Some(media) = media::media_of(file) else { return Ok(None) };
    let delete = DeleteMessageParams::builder().chat_id(gate.chat.id).message_id(gate.message_id).build();
    match app.core.api.delete_message(&delete).await {
        // Presses in one chat are handled in order: the first one deleted the Join message and
        // made the link, so a second press must not make another.
        Err(e) if already_deleted(&e) => return Ok(Some("Done already: your link is in the chat.")),
        Err(e) => log::debug!("cannot delete the join message: {e}"),
        Ok(_) => {}
    }
    intake::intake(app, update_id, file, &query.from, media).await.map(|()| None)
}

/// Telegram's answer for a message that is gone (deleted before, by us or the user).
fn already_deleted(e: &TelegramError) -> bool {
    matches!(e, TelegramError::Api { code: 400, description, .. } if description.contains("message to delete not found"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use smol::LocalExecutor;

    use super::*;
    use crate::testing::{self, FakeTelegram};

    fn update(id: i64, message: serde_json::Value) -> Update {
        let mut m = json!({"message_id": id, "date": 0, "chat": {"id": 7, "type": "private"},
            "from": {"id": 7, "is_bot": false, "first_name": "Ann <3"}});
        m.as_object_mut().unwrap().extend(message.as_object().unwrap().clone());
        serde_json::from_value(json!({"update_id": id, "message": m})).unwrap()
    }

    /// Handles `updates` in order on a fresh app with `vars`; returns what the bot sent.
    fn run(vars: &[(&str, &str)], updates: Vec<Update>) -> (FakeTelegram, Rc<App>) {
        let tg = FakeTelegram::start();
        let ex = Rc::new(LocalExecutor::new());
        let app = Rc::new(testing::app(&tg.url(), vars, ex.clone()));
        smol::block_on(ex.run(async {
            for u in updates {
                handle(&app, u).await;
            }
        }));
        (tg, app)
    }

    #[test]
    fn start_greets_by_escaped_name_with_the_menu_and_registers_the_user() {
        let (tg, app) = run(&[], vec![update(1, json!({"text": "/start"}))]);
        let sent = tg.sent();
        let (method, params) = (&sent[0].method, &sent[0].params);
        assert_eq!(method, "sendMessage");
        assert!(params["text"].as_str().unwrap().starts_with("Hi Ann &lt;3!"), "{params}");
        assert_eq!(params["reply_markup"]["inline_keyboard"][0][0]["text"], "Help");
        assert_eq!(app.core.store.user_count().unwrap(), 1);
    }

    #[test]
    fn id_tells_the_user_their_id_and_help_lists_admin_commands_to_admins_only() {
        let (tg, _) = run(&[], vec![update(1, json!({"text": "/id"})), update(2, json!({"text": "/help"}))]);
        assert!(
            tg.texts_of("sendMessage")[0].contains("<code>7</code>")
                && tg.texts_of("sendMessage")[0].contains("ADMINS"),
            "{:?}",
            tg.texts_of("sendMessage")
        );
        assert!(!tg.texts_of("sendMessage")[1].contains("/memory"));
        let (tg, _) = run(&[("ADMINS", "7")], vec![update(1, json!({"text": "/help"}))]);
        assert!(
            tg.texts_of("sendMessage")[0].contains("/memory") && tg.texts_of("sendMessage")[0].contains("/logs"),
            "{:?}",
            tg.texts_of("sendMessage")
        );
    }

    #[test]
    fn admin_views_answer_admins_only() {
        let memory = || update(1, json!({"text": "/memory"}));
        let (tg, _) = run(&[], vec![memory()]);
        assert_eq!(tg.texts_of("sendMessage"), [admin::NOT_ADMIN]);
        let (tg, _) = run(&[("ADMINS", "7")], vec![memory()]);
        assert!(tg.texts_of("sendMessage")[0].contains("Active streams"), "{:?}", tg.texts_of("sendMessage"));
    }

    #[test]
    fn a_document_gets_a_stored_link_and_a_reply_that_carries_it() {
        let doc = json!({"document": {"file_id": "F1", "file_unique_id": "U1", "file_name": "a.pdf",
            "mime_type": "application/pdf", "file_size": 1234}});
        let (tg, app) = run(&[], vec![update(5, doc)]);
        let text = &tg.texts_of("sendMessage")[0];
        assert!(text.contains("https://dl.example/dl/") && text.contains("a.pdf"), "{text}");
        assert_eq!(app.core.store.link_count().unwrap(), 1);
    }

    #[test]
    fn a_file_over_the_cloud_limit_gets_the_reason_and_no_link() {
        let big = json!({"document": {"file_id": "F2", "file_unique_id": "U2", "file_size": 21_000_000}});
        let (tg, app) = run(&[], vec![update(6, big)]);
        let text = &tg.texts_of("sendMessage")[0];
        assert!(text.contains("local Bot API server"), "{text}");
        assert!(
            text.contains("This file is 20.1 MiB") && text.contains("up to 20.0 MiB"),
            "two different numbers: {text}"
        );
        assert_eq!(app.core.store.link_count().unwrap(), 0);
    }

    fn press(app: &Rc<App>, from: u64, data: &str) {
        let query = json!({"update_id": 90, "callback_query": {"id": "q1", "chat_instance": "c", "data": data,
            "from": {"id": from, "is_bot": false, "first_name": "X"},
            "message": {"message_id": 100, "date": 0, "chat": {"id": 7, "type": "private"}}}});
        smol::block_on(handle(app, serde_json::from_value(query).unwrap()));
    }

    #[test]
    fn the_revoke_button_under_a_link_works_for_its_owner_only() {
        let doc = json!({"document": {"file_id": "F1", "file_unique_id": "U1", "file_name": "a.pdf", "file_size": 10}});
        let (tg, app) = run(&[], vec![update(5, doc)]);
        let id = app.core.store.user_links(7, crate::units::now_unix(), 0, 10).unwrap()[0].0.id;
        let markup = &tg.sent()[0].params["reply_markup"]["inline_keyboard"];
        let last_row = &markup.as_array().unwrap().last().unwrap()[0];
        assert_eq!(last_row["callback_data"], format!("rv:{id}"), "{markup}");
        press(&app, 8, &format!("rv:{id}"));
        assert!(!app.core.store.link(id).unwrap().unwrap().revoked, "a stranger cannot");
        let refusal = tg.sent().into_iter().find(|s| s.method == "answerCallbackQuery").unwrap().params;
        assert!(refusal["text"].as_str().unwrap().contains("only the person who made"), "{refusal}");
        press(&app, 7, &format!("rv:{id}"));
        assert!(app.core.store.link(id).unwrap().unwrap().revoked);
        let edit = tg.sent().into_iter().find(|s| s.method == "editMessageText").unwrap().params;
        assert!(edit["text"].as_str().unwrap().contains("Link revoked"), "{edit}");
    }

    #[test]
    fn only_links_actually_made_count_against_the_daily_limit() {
        let doc = |id: i64, size: u64| {
            update(
                id,
                json!({"document": {"file_id": format!("F{id}"), "file_unique_id": format!("U{id}"), "file_size": size}}),
            )
        };
        let (tg, app) = run(&[("MAX_LINKS_PER_DAY", "1")], vec![doc(1, 21_000_000), doc(2, 10), doc(3, 10)]);
        assert_eq!(app.core.store.link_count().unwrap(), 1);
        let texts = tg.texts_of("sendMessage");
        assert!(texts[1].contains("Your link is ready") && texts[2].contains("You have made 1 link in"), "{texts:?}");
        let (_, app) = run(&[("MAX_LINKS_PER_DAY", "1"), ("ADMINS", "7")], vec![doc(2, 10), doc(3, 10)]);
        assert_eq!(app.core.store.link_count().unwrap(), 2, "admins are exempt");
    }

    #[test]
    fn a_listed_channel_is_never_told_to_slow_down_in_the_channel() {
        let (tg, app) = run(&[("CHANNELS", "-1001")], vec![]);
        smol::block_on(slow_down(&app.core, -1001, 500));
        assert!(tg.sent().is_empty(), "{:?}", tg.sent());
        smol::block_on(slow_down(&app.core, 7, 500));
        assert_eq!(tg.texts_of("sendMessage").len(), 1);
    }
}
