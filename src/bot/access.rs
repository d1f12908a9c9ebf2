//! Who may use the bot: admins always; banned users, and users `ALLOWED_USERS` does not list
//! when it is set, are refused whatever they send (file, command, button), told so at most once
//! per `TOLD_EVERY`, and never get a link. Every button press is still answered.

use frankenstein::AsyncTelegramApi;
use frankenstein::methods::AnswerCallbackQueryParams;
use frankenstein::types::ChatType;
use frankenstein::updates::UpdateContent;

use super::reply::send;
use crate::app::{App, Core};
use crate::telegram::transport::TelegramError;
use crate::units::now_unix;

/// What the gate says about one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// `ALLOWED_USERS` is set and does not list them.
    NotAllowed,
    /// An admin banned them (`/ban`).
    Banned,
}

/// What a user `ALLOWED_USERS` does not list is told.
pub const NOT_ALLOWED_TEXT: &str = "Sorry, this bot is private: you cannot use it.";
/// What a banned user is told.
pub const BANNED_TEXT: &str = "You have been banned: you cannot use this bot.";

/// Why a user is refused: what they are told depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    NotAllowed,
    Banned,
}

impl Verdict {
    /// The refusal, `None` for a user who passes.
    fn refusal(self) -> Option<Refusal> {
        match self {
            Verdict::Pass => None,
            Verdict::NotAllowed => Some(Refusal::NotAllowed),
            Verdict::Banned => Some(Refusal::Banned),
        }
    }
}

impl Refusal {
    /// The short text (a button's answer, the log line).
    fn text(self) -> &'static str {
        match self {
            Refusal::NotAllowed => NOT_ALLOWED_TEXT,
            Refusal::Banned => BANNED_TEXT,
        }
    }

    /// The message `user` gets in a private chat. `/id` is refused too, so the private bot's
    /// refusal says the id the operator lists.
    fn message(self, user: u64) -> String {
        match self {
            Refusal::NotAllowed => format!(
                "{NOT_ALLOWED_TEXT} Your user id is <code>{user}</code>, if the operator wants to add it to ALLOWED_USERS."
            ),
            Refusal::Banned => BANNED_TEXT.to_owned(),
        }
    }
}

/// Whether `user` may use the bot. Admins always may. A ban the store cannot be asked about
/// lets the user through (logged): a locked database must not lock every user out.
pub fn verdict(core: &Core, user: u64) -> Verdict {
    if core.config.is_admin(user) {
        return Verdict::Pass;
    }
    match core.store.ban_of(user) {
        Ok(Some(_)) => return Verdict::Banned,
        Ok(None) => {}
        Err(e) => log::error!("cannot read whether user {user} is banned, letting them through: {e}"),
    }
    if core.config.is_allowed(user) { Verdict::Pass } else { Verdict::NotAllowed }
}

/// Refuses `update` when its sender may not use the bot: `Some` with how the refusal went
/// (the update is then done), `None` to handle it as usual. A refused user is told in a
/// private chat, or in the button's answer, once per `TOLD_EVERY`; a group hears nothing.
pub async fn gate(app: &App, update: &UpdateContent) -> Option<Result<(), TelegramError>> {
    match update {
        UpdateContent::Message(message) => {
            let from = message.from.as_deref()?;
            let refusal = verdict(&app.core, from.id).refusal()?;
            let private = message.chat.type_field == ChatType::Private;
            if !private || !app.bot.told.borrow_mut().tell(from.id, now_unix()) {
                log::debug!("user {} refused in silence (told already, or not a private chat)", from.id);
                crate::event::emit(crate::event::Event::RefusedSilently { user: from.id });
                return Some(Ok(()));
            }
            log::info!("user {} refused: {}", from.id, refusal.text());
            Some(send(&app.core, message.chat.id, refusal.message(from.id), None).await.map(drop))
        }
        UpdateContent::CallbackQuery(query) => {
            let text = verdict(&app.core, query.from.id).refusal()?.text();
            let tell = app.bot.told.borrow_mut().tell(query.from.id, now_unix());
            let answer = AnswerCallbackQueryParams::builder()
                .callback_query_id(query.id.clone())
                .maybe_text(tell.then(|| text.to_owned()))
                .build();
            Some(app.core.api.answer_callback_query(&answer).await.map(drop))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use serde_json::json;

    use super::*;
    use crate::testing::{self, FakeTelegram};

    fn message(from: u64, chat_type: &str) -> UpdateContent {
        let m = json!({"message_id": 1, "date": 0, "chat": {"id": from, "type": chat_type}, "text": "/start",
            "from": {"id": from, "is_bot": false, "first_name": "X"}});
        UpdateContent::Message(Box::new(serde_json::from_value(m).unwrap()))
    }

    fn press(from: u64) -> UpdateContent {
        let q = json!({"id": "q1", "chat_instance": "c", "data": "help",
            "from": {"id": from, "is_bot": false, "first_name": "X"}});
        UpdateContent::CallbackQuery(Box::new(serde_json::from_value(q).unwrap()))
    }

    #[test]
    fn admins_pass_banned_and_unlisted_users_do_not() {
        let tg = FakeTelegram::start();
        let app = testing::app(&tg.url(), &[("ALLOWED_USERS", "5 6"), ("ADMINS", "9")], Rc::new(Default::default()));
        app.core.store.ban(6, 9, 0).unwrap();
        app.core.store.ban(9, 9, 0).unwrap();
        let verdicts: Vec<Verdict> = [5, 6, 7, 9].into_iter().map(|u| verdict(&app.core, u)).collect();
        assert_eq!(verdicts, [Verdict::Pass, Verdict::Banned, Verdict::NotAllowed, Verdict::Pass]);
        let open = testing::app(&tg.url(), &[], Rc::new(Default::default()));
        assert_eq!(verdict(&open.core, 7), Verdict::Pass, "no list: everyone");
    }

    #[test]
    fn a_refused_user_is_told_once_an_hour_and_every_press_is_answered() {
        let tg = FakeTelegram::start();
        let app = testing::app(&tg.url(), &[("ALLOWED_USERS", "5")], Rc::new(Default::default()));
        app.core.store.ban(8, 1, 0).unwrap();
        smol::block_on(async {
            assert!(gate(&app, &message(5, "private")).await.is_none(), "listed: handled as usual");
            for _ in 0..2 {
                assert!(gate(&app, &message(7, "private")).await.unwrap().is_ok());
                assert!(gate(&app, &press(7)).await.unwrap().is_ok());
            }
            gate(&app, &message(8, "private")).await.unwrap().unwrap();
            gate(&app, &message(3, "group")).await.unwrap().unwrap();
        });
        let texts = tg.texts_of("sendMessage");
        assert_eq!(texts.len(), 2, "one each, none in the group: {texts:?}");
        assert!(texts[0].starts_with(NOT_ALLOWED_TEXT) && texts[0].contains("<code>7</code>"), "{texts:?}");
        assert_eq!(texts[1], BANNED_TEXT);
        let answers: Vec<_> = tg
            .sent()
            .into_iter()
            .filter(|s| s.method == "answerCallbackQuery")
            .map(|s| s.params["text"].clone())
            .collect();
        assert_eq!(answers, [json!(null), json!(null)], "answered without a text: told already");
    }

    #[test]
    fn only_the_private_bot_s_refusal_names_the_user_id() {
        assert!(Refusal::NotAllowed.message(42).contains("<code>42</code>"));
        assert!(Refusal::NotAllowed.message(42).starts_with(NOT_ALLOWED_TEXT));
        assert_eq!(Refusal::Banned.message(42), BANNED_TEXT);
        assert_eq!(Verdict::Pass.refusal(), None);
    }
}
