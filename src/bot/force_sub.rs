//! Force-subscribe (`FORCE_SUB_CHANNEL`): whether a user may get links, from `getChatMember`
//! answers kept a few minutes, and the Join / Try again reply for those who may not yet. When a
//! check cannot be made, the bot says why and lets that one request through: a broken setting
//! must not lock every user out, and one failed call must not open the gate for anyone else.

use frankenstein::AsyncTelegramApi;
use frankenstein::response::MethodResponse;
use frankenstein::types::{InlineKeyboardButton, InlineKeyboardMarkup};
use serde_json::{Value, json};

use super::commands::Callback;
use crate::app::{App, Core};
use crate::telegram::transport::TelegramError;
use crate::units::now_unix;

/// What the gate says about one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    Pass,
    /// Not a member: the channel's link to join, for the Join button.
    Join(String),
}

/// The text non-members get with the Join and Try again buttons.
pub const JOIN_TEXT: &str = "To get links from this bot, please join our channel first. Then press <b>Try again</b>.";

/// `FORCE_SUB_CHANNEL` as the Bot API's `chat_id`: a number, or the `@username` string.
fn chat_id(channel: &str) -> Value {
    channel.parse::<i64>().map_or_else(|_| json!(channel), |id| json!(id))
}

/// Whether `user` may get a link now. Admins always pass.
pub async fn check(app: &App, user: u64) -> Gate {
    let Some(channel) = app.core.config.force_sub_channel.as_deref() else { return Gate::Pass };
    let now = now_unix();
    if app.core.config.is_admin(user) {
        return Gate::Pass;
    }
    let cached = app.bot.members.borrow().get(user, now);
    let member = match cached {
        Some(member) => member,
        None => match ask(&app.core, channel, user).await {
            Ok(member) => {
                app.bot.members.borrow_mut().put(user, member, now);
                member
            }
            Err(e) => return broken(channel, &e),
        },
    };
    if member {
        return Gate::Pass;
    }
    match join_url(app, channel).await {
        Ok(url) => Gate::Join(url),
        Err(e) => broken(channel, &e),
    }
}

/// Asks Telegram whether `user` is in `channel`.
async fn ask(core: &Core, channel: &str, user: u64) -> Result<bool, TelegramError> {
    let params = json!({"chat_id": chat_id(channel), "user_id": user});
    let answer: MethodResponse<Value> = core.api.request("getChatMember", Some(params)).await?;
    let member = match answer.result["status"].as_str().unwrap_or("") {
        "creator" | "administrator" | "member" => true,
        // A restricted user is in the chat only if `is_member` says so (Bot API ChatMemberRestricted).
        "restricted" => answer.result["is_member"].as_bool().unwrap_or(false),
        _ => false,
    };
    Ok(member)
}

/// The channel's public link, or an invite link the bot made (asked once, then kept).
async fn join_url(app: &App, channel: &str) -> Result<String, TelegramError> {
    if let Some(name) = channel.strip_prefix('@') {
        return Ok(format!("https://t.me/{name}"));
    }
    if let Some(url) = app.bot.invite_link.borrow().clone() {
        return Ok(url);
    }
    let answer: MethodResponse<String> =
        app.core.api.request("exportChatInviteLink", Some(json!({"chat_id": chat_id(channel)}))).await?;
    app.bot.invite_link.replace(Some(answer.result.clone()));
    Ok(answer.result)
}

/// Lets this one request through after a check that could not be made, and keeps nothing: the
/// next request, this user's or another's, is checked again. The cause is logged once (the
/// logger drops repeats of one cause within its window).
fn broken(channel: &str, e: &TelegramError) -> Gate {
    let (reason, cause) = cause(e);
    log::error!(
        rate_key = cause;
        "force-subscribe: cannot check membership of {channel}: {cause} ({e}); letting this request through unchecked"
    );
    crate::event::emit(crate::event::Event::MembershipUnchecked { reason });
    Gate::Pass
}

/// What the operator must fix, from Telegram's answer: a one-word reason for the event, and the
/// operator's text.
fn cause(e: &TelegramError) -> (&'static str, &'static str) {
    match e {
        _ if e.description_contains("member list is inaccessible") || e.description_contains("not enough rights") => {
            ("not_admin", "the bot is not an admin of FORCE_SUB_CHANNEL")
        }
        _ if e.description_contains("chat not found") => {
            ("no_channel", "FORCE_SUB_CHANNEL does not exist or the bot is not in it")
        }
        TelegramError::Api { code: 403, .. } => ("removed", "the bot was removed from FORCE_SUB_CHANNEL"),
        TelegramError::Api { .. } => ("refused", "telegram refused the check"),
        TelegramError::Network(_) | TelegramError::Timeout => ("unreachable", "telegram is unreachable"),
        TelegramError::Certificate(_) => ("certificate", "the TLS certificate of TELEGRAM_API_URL is not trusted"),
        TelegramError::Decode(_) => ("undecodable", "telegram's answer was not understood"),
    }
}

/// The Join and Try again buttons.
pub fn join_markup(url: String) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::builder()
        .inline_keyboard(vec![vec![
            InlineKeyboardButton::builder().text("Join").url(url).build(),
            InlineKeyboardButton::builder().text("Try again").callback_data(Callback::TryAgain.data()).build(),
        ]])
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_names_what_to_fix() {
        let api = |code, d: &str| TelegramError::Api { code, description: d.into(), retry_after: None };
        assert_eq!(
            cause(&api(400, "Bad Request: member list is inaccessible")),
            ("not_admin", "the bot is not an admin of FORCE_SUB_CHANNEL")
        );
        assert!(cause(&api(400, "Bad Request: chat not found")).1.contains("does not exist"));
        assert_eq!(cause(&TelegramError::Timeout), ("unreachable", "telegram is unreachable"));
        assert_eq!(chat_id("-1001"), json!(-1001));
        assert_eq!(chat_id("@chan_nel"), json!("@chan_nel"));
    }
}
