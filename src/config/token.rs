//! `BOT_TOKEN`: its shape, what is wrong with a refused one, and its masked form for logs.

/// Shows the bot id and hides the secret half: `123456:***`.
pub fn mask_token(token: &str) -> String {
    match token.split_once(':') {
        Some((id, _)) if id.bytes().all(|b| b.is_ascii_digit()) && id.len() <= 12 => {
            format!("{id}:***")
        }
        _ => "***".to_owned(),
    }
}

/// What is wrong with a token `valid_token` refused, as the end of the error's "expected".
pub(super) fn token_hint(token: &str) -> &'static str {
    let quoted = |q: char| token.starts_with(q) || token.ends_with(q);
    let lower = token.to_ascii_lowercase();
    if quoted('"') || quoted('\'') {
        "; remove the quotes around it (BOT_TOKEN=<digits>:<secret>, no quotes)"
    } else if lower.starts_with("bot") && token[3..].starts_with(|c: char| c.is_ascii_digit()) {
        "; remove the 'bot' in front: it belongs in Bot API URLs (https://api.telegram.org/bot<token>/), not in BOT_TOKEN"
    } else if token.contains(char::is_whitespace) {
        "; it has a space in it: copy it again from @BotFather, in one piece"
    } else if !token.contains(':') {
        "; it has no ':' between the bot id and the secret: copy the whole token from @BotFather"
    } else {
        ""
    }
}

pub(super) fn valid_token(token: &str) -> bool {
    match token.split_once(':') {
        Some((id, secret)) => {
            !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_digit())
                && !secret.is_empty()
                && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        }
        None => false,
    }
}
