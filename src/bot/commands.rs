//! Parsing of command messages (`/start`, `/help@my_bot`, …) and callback data. Pure.

use frankenstein::types::InlineKeyboardButton;

use crate::urls::Face;

/// A command the bot understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Start,
    Help,
    About,
    /// The sender's user id (what `ADMINS` lists).
    Id,
    /// Admin: memory, streams, logger cache and cleanup tasks.
    Memory,
    /// Admin: users, links, bandwidth.
    Stats,
    /// Admin: recent log lines (`limit=N level=L filter=T`).
    Logs,
    /// Take a link back (a reply to the link message, or with the token or link).
    Revoke,
    /// The sender's working links, ten per page.
    MyLinks,
    /// Admin: copy the replied-to message to every user (`/broadcast cancel` stops it).
    Broadcast,
    /// Admin: ban a user (`/ban <id> [revoke]`, or as a reply to their forwarded message).
    Ban,
    /// Admin: lift a ban (`/unban <id>`).
    Unban,
    /// Admin: the banned users, ten per page.
    Banned,
}

/// Who may run a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Everyone,
    /// Users listed in `ADMINS`, in a private chat (in a group the answer would show everyone).
    Admin,
}

/// One command: its name, who may run it, and its line in `/help` and Telegram's menu.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub command: Command,
    pub name: &'static str,
    pub access: Access,
    pub help: &'static str,
}

const fn spec(command: Command, name: &'static str, access: Access, help: &'static str) -> Spec {
    Spec { command, name, access, help }
}

/// Every command, in menu order: parsing, `/help` and both command menus read this table.
pub const COMMANDS: &[Spec] = &[
    spec(Command::Start, "start", Access::Everyone, "Start the bot"),
    spec(Command::Help, "help", Access::Everyone, "How to get a link"),
    spec(Command::MyLinks, "mylinks", Access::Everyone, "Your links"),
    spec(Command::Revoke, "revoke", Access::Everyone, "Revoke a link (reply to it)"),
    spec(Command::About, "about", Access::Everyone, "About this bot"),
    spec(Command::Id, "id", Access::Everyone, "Your user id"),
    spec(Command::Memory, "memory", Access::Admin, "Memory, streams, cleanup tasks"),
    spec(Command::Stats, "stats", Access::Admin, "Users, links, bandwidth"),
    spec(Command::Logs, "logs", Access::Admin, "Recent log lines (limit=N level=L filter=T)"),
    spec(Command::Broadcast, "broadcast", Access::Admin, "Send the replied-to message to every user (cancel stops it)"),
    spec(Command::Ban, "ban", Access::Admin, "Ban a user: /ban <id> (revoke also revokes their links)"),
    spec(Command::Unban, "unban", Access::Admin, "Lift a ban: /unban <id>"),
    spec(Command::Banned, "banned", Access::Admin, "Banned users"),
];

impl Command {
    /// This command's row of [`COMMANDS`].
    pub fn spec(self) -> &'static Spec {
        COMMANDS.iter().find(|s| s.command == self).expect("every command has a row in COMMANDS")
    }
}

/// The `(name, help)` pairs of the commands `access` may run, for menus and `/help`.
pub fn listed(access: Access) -> impl Iterator<Item = (&'static str, &'static str)> {
    COMMANDS.iter().filter(move |s| s.access == access).map(|s| (s.name, s.help))
}

/// What a text message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed<'a> {
    Command(Command),
    /// A `/word` the bot does not know (the word, without the slash).
    Unknown(&'a str),
    /// Plain text.
    Text,
}

/// The words after the command (`/logs limit=5` gives `limit=5`).
pub fn args(text: &str) -> &str {
    let text = text.trim_start();
    text.split_once(char::is_whitespace).map_or("", |(_, rest)| rest.trim())
}

/// Parses `/cmd[@bot] [args]`. A command addressed to another bot (`/start@other_bot`) is text.
pub fn parse<'a>(text: &'a str, bot_username: &str) -> Parsed<'a> {
    let Some(rest) = text.trim_start().strip_prefix('/') else { return Parsed::Text };
    let word = rest.split_whitespace().next().unwrap_or("");
    let (name, target) = match word.split_once('@') {
        Some((name, target)) => (name, Some(target)),
        None => (word, None),
    };
    if target.is_some_and(|t| !t.eq_ignore_ascii_case(bot_username)) {
        return Parsed::Text;
    }
    match COMMANDS.iter().find(|s| s.name.eq_ignore_ascii_case(name)) {
        Some(spec) => Parsed::Command(spec.command),
        None => Parsed::Unknown(name),
    }
}

/// The link token in `text`: after a face's prefix (`/dl/`, `/stream/`, `/watch/`, `/m3u/`) in a
/// link, or the text itself when it is nothing but token characters.
pub fn token_in(text: &str) -> Option<&str> {
    let is_token = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let text = text.trim();
    for prefix in Face::ALL.map(Face::prefix) {
        if let Some(at) = text.find(prefix) {
            let rest = &text[at + prefix.len()..];
            let token = &rest[..rest.find(|c| !is_token(c)).unwrap_or(rest.len())];
            return (!token.is_empty()).then_some(token);
        }
    }
    (!text.is_empty() && text.chars().all(is_token)).then_some(text)
}

/// Inline-button payloads (`callback_data`, at most 64 bytes: numbers, never tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callback {
    Help,
    About,
    Close,
    /// Revoke this link (under a link reply).
    Revoke(u64),
    /// Show this page of `/mylinks` (0-based).
    MyLinks(u64),
    /// Revoke this link from this page of `/mylinks`.
    RevokeFromList(u64, u64),
    /// Force-subscribe: check membership again and make the link.
    TryAgain,
    /// Show this page of `/banned` (0-based).
    Banned(u64),
}

impl Callback {
    /// An inline button labelled `text` that sends this payload.
    pub fn button(self, text: &str) -> InlineKeyboardButton {
        InlineKeyboardButton::builder().text(text).callback_data(self.data()).build()
    }

    pub fn data(self) -> String {
        match self {
            Callback::Help => "help".into(),
            Callback::About => "about".into(),
            Callback::Close => "close".into(),
            Callback::Revoke(id) => format!("rv:{id}"),
            Callback::MyLinks(page) => format!("ml:{page}"),
            Callback::RevokeFromList(id, page) => format!("mr:{id}:{page}"),
            Callback::TryAgain => "fs".into(),
            Callback::Banned(page) => format!("bn:{page}"),
        }
    }

    pub fn parse(data: &str) -> Option<Callback> {
        match data.split_once(':') {
            Some(("rv", id)) => return id.parse().ok().map(Callback::Revoke),
            Some(("ml", page)) => return page.parse().ok().map(Callback::MyLinks),
            Some(("bn", page)) => return page.parse().ok().map(Callback::Banned),
            Some(("mr", rest)) => {
                let (id, page) = rest.split_once(':')?;
                return Some(Callback::RevokeFromList(id.parse().ok()?, page.parse().ok()?));
            }
            _ => {}
        }
        match data {
            "help" => Some(Callback::Help),
            "about" => Some(Callback::About),
            "close" => Some(Callback::Close),
            "fs" => Some(Callback::TryAgain),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_with_and_without_bot_name() {
        assert_eq!(parse("/start", "my_bot"), Parsed::Command(Command::Start));
        assert_eq!(parse("  /HELP extra words", "my_bot"), Parsed::Command(Command::Help));
        assert_eq!(parse("/about@My_Bot", "my_bot"), Parsed::Command(Command::About));
        assert_eq!(parse("/memory", "my_bot"), Parsed::Command(Command::Memory));
    }

    #[test]
    fn every_command_has_one_row_and_its_name_parses_back_to_it() {
        for spec in COMMANDS {
            assert_eq!(spec.command.spec().name, spec.name);
            assert_eq!(parse(&format!("/{}", spec.name), "b"), Parsed::Command(spec.command));
            assert!(spec.help.len() <= 256, "Telegram's limit for a menu description");
        }
        assert!(listed(Access::Admin).any(|(name, _)| name == "memory"));
        assert!(listed(Access::Everyone).all(|(name, _)| name != "memory"));
    }

    #[test]
    fn args_follow_the_command_word() {
        assert_eq!(args("/logs limit=5 level=warn"), "limit=5 level=warn");
        assert_eq!(args("/logs"), "");
    }

    #[test]
    fn command_for_another_bot_is_plain_text() {
        assert_eq!(parse("/start@other_bot", "my_bot"), Parsed::Text);
    }

    #[test]
    fn unknown_commands_and_text_are_told_apart() {
        assert_eq!(parse("/frobnicate 1", "b"), Parsed::Unknown("frobnicate"));
        assert_eq!(parse("hello /start", "b"), Parsed::Text);
        assert_eq!(parse("/", "b"), Parsed::Unknown(""));
    }

    #[test]
    fn callback_data_round_trips() {
        let all = [
            Callback::Help,
            Callback::About,
            Callback::Close,
            Callback::Revoke(u64::MAX),
            Callback::MyLinks(2),
            Callback::RevokeFromList(u64::MAX, u64::MAX),
            Callback::TryAgain,
            Callback::Banned(u64::MAX),
        ];
        for cb in all {
            assert!(cb.data().len() <= 64, "{cb:?}");
            assert_eq!(Callback::parse(&cb.data()), Some(cb));
        }
        assert_eq!(Callback::parse("nope"), None);
        assert_eq!(Callback::parse("mr:1"), None);
    }

    #[test]
    fn a_token_is_found_in_a_link_or_alone() {
        assert_eq!(token_in("https://dl.example/dl/Ab-c_9?x=1"), Some("Ab-c_9"));
        assert_eq!(token_in(" see http://h/watch/tok "), Some("tok"));
        assert_eq!(token_in("https://dl.example/dl/Ab-c_9/my%20film.mkv"), Some("Ab-c_9"), "a named link");
        assert_eq!(token_in("http://h/stream/tok/%D0%B2.mp4?x=1"), Some("tok"));
        assert_eq!(token_in("Ab-c_9"), Some("Ab-c_9"));
        assert_eq!(token_in("https://h/m3u/Ab-c_9/clip.m3u"), Some("Ab-c_9"));
        assert_eq!(token_in("two words"), None);
        assert_eq!(token_in(""), None);
    }
}
