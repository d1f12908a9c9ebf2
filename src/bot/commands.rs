//! Parsing of command messages (`/start`, `/help@my_bot`, …) and callback data. Pure.

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
    match name.to_ascii_lowercase().as_str() {
        "start" => Parsed::Command(Command::Start),
        "help" => Parsed::Command(Command::Help),
        "about" => Parsed::Command(Command::About),
        "id" => Parsed::Command(Command::Id),
        "memory" => Parsed::Command(Command::Memory),
        "stats" => Parsed::Command(Command::Stats),
        "logs" => Parsed::Command(Command::Logs),
        _ => Parsed::Unknown(name),
    }
}

/// Inline-button payloads (`callback_data`, at most 64 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callback {
    Help,
    About,
    Close,
}

impl Callback {
    pub fn data(self) -> &'static str {
        match self {
            Callback::Help => "help",
            Callback::About => "about",
            Callback::Close => "close",
        }
    }

    pub fn parse(data: &str) -> Option<Callback> {
        match data {
            "help" => Some(Callback::Help),
            "about" => Some(Callback::About),
            "close" => Some(Callback::Close),
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
        for cb in [Callback::Help, Callback::About, Callback::Close] {
            assert_eq!(Callback::parse(cb.data()), Some(cb));
        }
        assert_eq!(Callback::parse("nope"), None);
    }
}
