//! Admin commands over the ban list: `/ban <id>` (or as a reply to a message the user sent and the
//! admin forwarded to the bot), `/ban <id> revoke` (their live links too, running downloads
//! included), `/unban <id>`, and `/banned`, ten per page with Previous/Next.

use frankenstein::types::{InlineKeyboardMarkup, Message, MessageOrigin};

use super::admin::NOT_ADMIN;
use super::commands::{self, Callback};
use super::reply::{edit, send};
use crate::app::{App, Core};
use crate::html::escape;
use crate::telegram::transport::TelegramError;
use crate::units::{now_unix, utc_minute};

/// Bans per `/banned` page.
pub const PAGE: u32 = 10;

const BAN_USAGE: &str = "Send /ban followed by the user's id (they can send /id to learn it), like <code>/ban 123456789</code>; add <code>revoke</code> to revoke their links too. Or forward me a message of theirs and reply to it with /ban.";
const UNBAN_USAGE: &str =
    "Send /unban followed by the user's id, like <code>/unban 123456789</code>. /banned lists who is banned.";
const STORE_FAILED: &str = "Sorry, I could not reach the database right now. Please try again in a minute.";

/// What `/ban`'s words ask for: a user id (unless the command replies to a forward), and
/// whether their links go too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BanArgs {
    pub user: Option<u64>,
    pub revoke: bool,
}

/// Why `/ban` or `/unban` words name no user; shown to the admin as the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BanArgsError {
    /// The word is not a user id.
    NotAnId(String),
    /// A second id after the first.
    TooMany(String),
}

impl std::fmt::Display for BanArgsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BanArgsError::NotAnId(word) => write!(f, "'{word}' is not a user id: user ids are numbers like 123456789."),
            BanArgsError::TooMany(word) => write!(f, "'{word}' is one word too many: ban one user at a time."),
        }
    }
}

impl std::error::Error for BanArgsError {}

/// A user id: a number within SQLite's integers (Telegram's ids fit in 52 bits).
pub fn parse_id(word: &str) -> Result<u64, BanArgsError> {
    word.parse::<u64>()
        .ok()
        .filter(|&id| id > 0 && i64::try_from(id).is_ok())
        .ok_or_else(|| BanArgsError::NotAnId(word.to_owned()))
}

/// Parses the words after `/ban`: at most one id, and `revoke`.
pub fn parse_ban(args: &str) -> Result<BanArgs, BanArgsError> {
    let mut parsed = BanArgs { user: None, revoke: false };
    for word in args.split_whitespace() {
        if word.eq_ignore_ascii_case("revoke") {
            parsed.revoke = true;
        } else if parsed.user.is_some() {
            return Err(BanArgsError::TooMany(word.to_owned()));
        } else {
            parsed.user = Some(parse_id(word)?);
        }
    }
    Ok(parsed)
}

/// The user a replied-to forward came from; `Err` says why a forward names no one.
fn forwarded_user(message: &Message) -> Result<Option<u64>, &'static str> {
    let Some(origin) = message.reply_to_message.as_deref().and_then(|m| m.forward_origin.as_deref()) else {
        return Ok(None);
    };
    match origin {
        MessageOrigin::User(origin) => Ok(Some(origin.sender_user.id)),
        MessageOrigin::HiddenUser(_) => {
            Err("That user hides their account in forwarded messages: send /ban with their user id instead.")
        }
        _ => Err("That message was forwarded from a chat, not a user: send /ban with the user's id instead."),
    }
}

/// `/ban`; admins only (checked by the caller).
pub async fn ban_command(app: &App, message: &Message, admin: u64, text: &str) -> Result<(), TelegramError> {
    let reply = match parse_ban(commands::args(text)) {
        Err(e) => escape(&e.to_string()),
        Ok(BanArgs { user: Some(user), revoke }) => ban(app, admin, user, revoke),
        Ok(BanArgs { user: None, revoke }) => match forwarded_user(message) {
            Ok(Some(user)) => ban(app, admin, user, revoke),
            Ok(None) => BAN_USAGE.to_owned(),
            Err(why) => why.to_owned(),
        },
    };
    send(&app.core, message.chat.id, reply, None).await.map(drop)
}

/// Bans `user` for `admin`; with `revoke`, their links that still work are revoked and the
/// downloads running on them end (also when they were banned before). Returns the reply.
pub fn ban(app: &App, admin: u64, user: u64, revoke: bool) -> String {
    if app.core.config.is_admin(user) {
        return format!("User <code>{user}</code> is an admin (ADMINS): admins cannot be banned.");
    }
    let now = now_unix();
    let mut reply = match app.core.store.ban(user, admin, now) {
        Ok(true) => {
            // A user told "not allowed" before hears of the ban at their next message.
            app.bot.told.borrow_mut().forget(user);
            log::info!("user {user} banned by {admin}");
            format!("User <code>{user}</code> is banned: the bot ignores them and makes them no links.")
        }
        Ok(false) => format!("User <code>{user}</code> is already banned."),
        Err(e) => {
            log::error!("cannot ban user {user}: {e}");
            return STORE_FAILED.to_owned();
        }
    };
    if !revoke {
        reply.push_str(&format!("\nTheir links keep working; <code>/ban {user} revoke</code> revokes them."));
        return reply;
    }
    match app.core.store.revoke_links_of(user, now) {
        Ok(links) => {
            let ended = app.serving.streams.end_owner(user);
            log::info!("user {user}'s {links} links revoked with the ban ({ended} running downloads ended)");
            reply.push_str(&format!(
                "\nRevoked {links} link{}; {ended} running download{} ended.",
                plural(links),
                plural(ended)
            ));
        }
        Err(e) => {
            log::error!("cannot revoke user {user}'s links: {e}");
            reply.push_str(&format!("\nI could not revoke their links: send <code>/ban {user} revoke</code> again."));
        }
    }
    reply
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `/unban <id>`; admins only (checked by the caller). Links revoked with the ban stay revoked.
pub async fn unban_command(app: &App, message: &Message, text: &str) -> Result<(), TelegramError> {
    send(&app.core, message.chat.id, unban(app, commands::args(text)), None).await.map(drop)
}

fn unban(app: &App, args: &str) -> String {
    let mut words = args.split_whitespace();
    let (Some(word), None) = (words.next(), words.next()) else { return UNBAN_USAGE.to_owned() };
    let user = match parse_id(word) {
        Ok(user) => user,
        Err(e) => return escape(&e.to_string()),
    };
    match app.core.store.unban(user) {
        Ok(true) => {
            app.bot.told.borrow_mut().forget(user);
            log::info!("user {user} unbanned");
            format!("User <code>{user}</code> is unbanned: they can use the bot again.")
        }
        Ok(false) => format!("User <code>{user}</code> is not banned."),
        Err(e) => {
            log::error!("cannot unban user {user}: {e}");
            STORE_FAILED.to_owned()
        }
    }
}

/// One `/banned` page (0-based; past the end shows the last): who, by whom, when (UTC).
pub fn page(core: &Core, page: u64) -> (String, Option<InlineKeyboardMarkup>) {
    let total = match core.store.ban_count() {
        Ok(0) => return ("No one is banned.".to_owned(), None),
        Ok(n) => n,
        Err(e) => {
            log::error!("cannot count bans: {e}");
            return (STORE_FAILED.to_owned(), None);
        }
    };
    let pages = total.div_ceil(u64::from(PAGE));
    let page = page.min(pages - 1);
    let bans = core.store.bans(page * u64::from(PAGE), PAGE).unwrap_or_default();
    let mut text = format!("<b>Banned users</b> ({total}), page {} of {pages}\n", page + 1);
    for (i, b) in bans.iter().enumerate() {
        let n = page * u64::from(PAGE) + i as u64 + 1;
        text.push_str(&format!(
            "\n{n}. <code>{}</code>, banned by <code>{}</code> on {}",
            b.user_id,
            b.banned_by,
            utc_minute(b.banned_at)
        ));
    }
    let mut nav = Vec::new();
    if page > 0 {
        nav.push(Callback::Banned(page - 1).button("« Previous"));
    }
    if page + 1 < pages {
        nav.push(Callback::Banned(page + 1).button("Next »"));
    }
    let markup = (!nav.is_empty()).then(|| InlineKeyboardMarkup::builder().inline_keyboard(vec![nav]).build());
    (text, markup)
}

/// A Previous/Next press under `/banned`: admins only, the message shows that page.
pub async fn on_page(
    core: &Core,
    user: u64,
    at: u64,
    chat_id: i64,
    message_id: i32,
) -> Result<Option<&'static str>, TelegramError> {
    if !core.config.is_admin(user) {
        return Ok(Some(NOT_ADMIN));
    }
    let (text, markup) = page(core, at);
    edit(core, chat_id, message_id, text, markup).await.map(|()| None)
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;
    use std::time::Instant;

    use super::*;

    fn app(vars: &[(&str, &str)]) -> App {
        crate::testing::app("http://127.0.0.1:9", vars, Rc::new(smol::LocalExecutor::new()))
    }

    #[test]
    fn ban_words_are_one_id_and_revoke_in_any_order() {
        assert_eq!(parse_ban("42").unwrap(), BanArgs { user: Some(42), revoke: false });
        assert_eq!(parse_ban("REVOKE 42").unwrap(), BanArgs { user: Some(42), revoke: true });
        assert_eq!(parse_ban("").unwrap(), BanArgs { user: None, revoke: false });
        assert!(parse_ban("alice").unwrap_err().to_string().contains("'alice' is not a user id"));
        assert!(parse_ban("1 2").unwrap_err().to_string().contains("one user at a time"));
        assert!(parse_id("0").is_err() && parse_id("-5").is_err() && parse_id(&u64::MAX.to_string()).is_err());
    }

    fn reply_to(origin: Option<serde_json::Value>) -> Message {
        let mut replied = serde_json::json!({"message_id": 1, "date": 0, "chat": {"id": 7, "type": "private"}});
        if let Some(origin) = origin {
            replied["forward_origin"] = origin;
        }
        serde_json::from_value(serde_json::json!({"message_id": 2, "date": 0, "text": "/ban",
            "chat": {"id": 7, "type": "private"}, "reply_to_message": replied}))
        .unwrap()
    }

    #[test]
    fn a_forward_names_its_user_unless_hidden_or_from_a_chat() {
        let user = serde_json::json!({"type": "user", "date": 0,
            "sender_user": {"id": 4242, "is_bot": false, "first_name": "Eve"}});
        assert_eq!(forwarded_user(&reply_to(Some(user))), Ok(Some(4242)));
        let hidden = serde_json::json!({"type": "hidden_user", "date": 0, "sender_user_name": "Eve"});
        assert!(forwarded_user(&reply_to(Some(hidden))).unwrap_err().contains("hides their account"));
        let channel = serde_json::json!({"type": "channel", "date": 0, "message_id": 3,
            "chat": {"id": -100, "type": "channel", "title": "C"}});
        assert!(forwarded_user(&reply_to(Some(channel))).unwrap_err().contains("from a chat"));
        assert_eq!(forwarded_user(&reply_to(None)), Ok(None), "not a forward");
    }

    #[test]
    fn an_admin_cannot_be_banned_and_a_second_ban_says_so() {
        let app = app(&[("ADMINS", "1 2")]);
        assert!(ban(&app, 1, 2, false).contains("admins cannot be banned"));
        assert_eq!(app.core.store.ban_of(2).unwrap(), None);
        let first = ban(&app, 1, 5, false);
        assert!(first.contains("<code>5</code> is banned") && first.contains("/ban 5 revoke"), "{first}");
        assert!(ban(&app, 1, 5, false).contains("already banned"));
        assert_eq!(app.core.store.ban_of(5).unwrap().unwrap().banned_by, 1);
    }

    #[test]
    fn ban_with_revoke_revokes_the_users_links_and_ends_their_downloads() {
        let app = app(&[]);
        let row = |id, owner| crate::store::LinkRow { owner, ..crate::store::LinkRow::sample(id) };
        for (id, owner) in [(1, 5), (2, 5), (3, 6)] {
            app.core.store.insert_link(&row(id, owner)).unwrap();
        }
        let (end, running) = crate::shutdown::channel();
        let peer = "127.0.0.1:1".parse().unwrap();
        let _stream = app.serving.streams.register(1, 5, peer, end, Instant::now()).unwrap();
        let reply = ban(&app, 9, 5, true);
        assert!(reply.contains("Revoked 2 links; 1 running download ended."), "{reply}");
        assert!(running.is_fired());
        assert!(app.core.store.link(2).unwrap().unwrap().revoked && !app.core.store.link(3).unwrap().unwrap().revoked);
        assert!(ban(&app, 9, 5, true).contains("already banned.\nRevoked 0 links"));
    }

    #[test]
    fn unban_needs_a_banned_id() {
        let app = app(&[]);
        assert_eq!(unban(&app, ""), UNBAN_USAGE);
        assert!(unban(&app, "x").contains("is not a user id"));
        assert!(unban(&app, "5").contains("is not banned"));
        app.core.store.ban(5, 1, 0).unwrap();
        assert!(unban(&app, "5").contains("<code>5</code> is unbanned"));
        assert_eq!(app.core.store.ban_of(5).unwrap(), None);
    }

    #[test]
    fn banned_pages_hold_ten_with_previous_and_next() {
        let app = app(&[]);
        assert_eq!(page(&app.core, 0).0, "No one is banned.");
        for user in 1..=23 {
            app.core.store.ban(user, 7, 1_000 + user).unwrap();
        }
        let (text, markup) = page(&app.core, 0);
        assert!(text.starts_with("<b>Banned users</b> (23), page 1 of 3"), "{text}");
        assert!(text.contains("\n1. <code>23</code>, banned by <code>7</code> on 1970-01-01 00:17 UTC"), "{text}");
        let data = |m: &InlineKeyboardMarkup| -> Vec<String> {
            m.inline_keyboard[0].iter().filter_map(|b| b.callback_data.clone()).collect()
        };
        assert_eq!(data(&markup.unwrap()), ["bn:1"]);
        let (text, markup) = page(&app.core, 9);
        assert!(text.contains("page 3 of 3") && text.contains("\n23. <code>1</code>"), "{text}");
        assert_eq!(data(&markup.unwrap()), ["bn:1"]);
        assert_eq!(data(&page(&app.core, 1).1.unwrap()), ["bn:0", "bn:2"]);
    }
}
