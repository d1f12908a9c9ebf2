//! Configuration: the environment (plus an optional `.env` file) turned into a validated
//! [`Config`]. Parsing is pure over a lookup function so it is testable without touching the
//! process environment; a bad value becomes a [`ConfigError`] that names the variable.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Cloud Bot API `getFile` limit (Bot API docs: "up to 20 MB").
pub const CLOUD_FILE_LIMIT: u64 = 20 * 1024 * 1024;

/// Every variable streambot reads, with its default and meaning (for `--help`).
pub const VARIABLES: &[(&str, &str, &str)] = &[
    ("BOT_TOKEN", "required", "bot token from @BotFather"),
    ("BASE_URL", "http://localhost:<port>", "public URL that links start with"),
    ("BIND_ADDRESS", "0.0.0.0", "address the HTTP server listens on"),
    ("PORT", "8080", "HTTP port; 0 picks a free port"),
    ("ADMINS", "empty", "admin user ids, space or comma separated"),
    ("LOG_CHANNEL", "unset", "channel id files are forwarded to (a backup copy)"),
    ("LINK_EXPIRY_SECONDS", "86400", "link lifetime; 0 = links never expire"),
    ("DATA_DIR", "./data", "SQLite database and link secret"),
    ("TELEGRAM_API_URL", "https://api.telegram.org", "Bot API base URL (local server or test fake)"),
    ("LINK_SECRET", "generated", "HMAC secret for links (at least 16 characters); default: DATA_DIR/link_secret"),
    ("GITHUB_REPO_URL", "project page", "repository URL shown by /about"),
    ("POLL_TIMEOUT_SECS", "50", "getUpdates long-poll timeout"),
    ("MAX_CONNECTIONS", "256", "open HTTP connections at most (503 beyond)"),
    ("RUST_LOG", "info", "log filter (env_logger syntax)"),
];

const DEFAULT_REPO_URL: &str = "https://github.com/streambot/streambot";

/// Validated runtime configuration.
#[derive(Clone)]
pub struct Config {
    /// Bot token; never printed (see [`mask_token`]).
    pub bot_token: String,
    /// Public URL links start with, without a trailing slash; `None`: `http://localhost:<bound port>`.
    pub base_url: Option<String>,
    pub bind_address: IpAddr,
    pub port: u16,
    pub admins: Vec<u64>,
    pub log_channel: Option<i64>,
    /// `None` means links never expire.
    pub link_expiry: Option<Duration>,
    pub data_dir: PathBuf,
    /// Bot API base URL without a trailing slash.
    pub api_url: String,
    pub link_secret: Option<String>,
    pub repo_url: String,
    pub poll_timeout_secs: u32,
    /// Open HTTP connections at most; also the stream table's capacity.
    pub max_connections: usize,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("bot_token", &mask_token(&self.bot_token))
            .field("base_url", &self.base_url)
            .field("bind_address", &self.bind_address)
            .field("port", &self.port)
            .field("admins", &self.admins)
            .field("log_channel", &self.log_channel)
            .field("link_expiry", &self.link_expiry)
            .field("data_dir", &self.data_dir)
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

/// A bad or missing variable: names it, quotes the value (tokens masked), says what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub value: Option<String>,
    pub expected: &'static str,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            None => write!(f, "missing {}: expected {}", self.variable, self.expected),
            Some(v) => write!(f, "invalid {} '{}': expected {}", self.variable, v, self.expected),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Shows the bot id and hides the secret half: `123456:***`.
pub fn mask_token(token: &str) -> String {
    match token.split_once(':') {
        Some((id, _)) if id.bytes().all(|b| b.is_ascii_digit()) && id.len() <= 12 => {
            format!("{id}:***")
        }
        _ => "***".to_owned(),
    }
}

impl Config {
    /// Reads the process environment, after loading `.env` from the working directory if present
    /// (real environment variables win).
    pub fn from_env() -> Result<Config, ConfigError> {
        // A missing .env is normal; a malformed one is reported by name.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(_) => {
                return Err(ConfigError {
                    variable: ".env",
                    value: Some("./.env".into()),
                    expected: "KEY=value lines",
                });
            }
        }
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds a config from any variable lookup (pure; used by tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let var = |name: &str| get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let bot_token = var("BOT_TOKEN").ok_or(ConfigError {
            variable: "BOT_TOKEN",
            value: None,
            expected: "the token from @BotFather, like 123456:ABC-DEF",
        })?;
        if !valid_token(&bot_token) {
            return Err(ConfigError {
                variable: "BOT_TOKEN",
                value: Some(mask_token(&bot_token)),
                expected: "<digits>:<secret> as given by @BotFather",
            });
        }
        let port = parse(&var, "PORT", 8080u16, "0-65535")?;
        let bind_address = parse(&var, "BIND_ADDRESS", IpAddr::from([0, 0, 0, 0]), "an IP address like 0.0.0.0 or ::")?;
        let base_url = match var("BASE_URL") {
            None => None,
            Some(url) => Some(http_url(&url, "BASE_URL")?),
        };
        let api_url = match var("TELEGRAM_API_URL") {
            None => "https://api.telegram.org".to_owned(),
            Some(url) => http_url(&url, "TELEGRAM_API_URL")?,
        };
        let admins = match var("ADMINS") {
            None => Vec::new(),
            Some(list) => list
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<u64>())
                .collect::<Result<_, _>>()
                .map_err(|_| ConfigError {
                    variable: "ADMINS",
                    value: Some(list.clone()),
                    expected: "numeric user ids separated by spaces or commas",
                })?,
        };
        let log_channel = match var("LOG_CHANNEL") {
            None => None,
            Some(v) => Some(v.parse::<i64>().map_err(|_| ConfigError {
                variable: "LOG_CHANNEL",
                value: Some(v.clone()),
                expected: "a numeric chat id like -1001234567890",
            })?),
        };
        let expiry_secs: u64 = parse(&var, "LINK_EXPIRY_SECONDS", 86_400, "a number of seconds, 0 for never")?;
        let link_secret = var("LINK_SECRET");
        if let Some(s) = &link_secret
            && s.len() < 16
        {
            return Err(ConfigError {
                variable: "LINK_SECRET",
                value: Some("<hidden>".into()),
                expected: "at least 16 characters",
            });
        }
        let poll_timeout_secs = parse(&var, "POLL_TIMEOUT_SECS", 50u32, "1-300 seconds")?;
        if !(1..=300).contains(&poll_timeout_secs) {
            return Err(ConfigError {
                variable: "POLL_TIMEOUT_SECS",
                value: Some(poll_timeout_secs.to_string()),
                expected: "1-300 seconds",
            });
        }
        let max_connections = parse(&var, "MAX_CONNECTIONS", 256usize, "1-65535 connections")?;
        if !(1..=65_535).contains(&max_connections) {
            return Err(ConfigError {
                variable: "MAX_CONNECTIONS",
                value: Some(max_connections.to_string()),
                expected: "1-65535 connections",
            });
        }
        Ok(Config {
            bot_token,
            base_url,
            bind_address,
            port,
            admins,
            log_channel,
            link_expiry: (expiry_secs > 0).then(|| Duration::from_secs(expiry_secs)),
            data_dir: PathBuf::from(var("DATA_DIR").unwrap_or_else(|| "./data".into())),
            api_url,
            link_secret,
            repo_url: var("GITHUB_REPO_URL").unwrap_or_else(|| DEFAULT_REPO_URL.into()),
            poll_timeout_secs,
            max_connections,
        })
    }

    /// Whether `user_id` is listed in `ADMINS`.
    pub fn is_admin(&self, user_id: u64) -> bool {
        self.admins.contains(&user_id)
    }

    /// Largest file this mode can serve (cloud `getFile` limit).
    pub fn file_size_limit(&self) -> u64 {
        CLOUD_FILE_LIMIT
    }
}

fn parse<T: std::str::FromStr>(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
    expected: &'static str,
) -> Result<T, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| ConfigError { variable: name, value: Some(v), expected }),
    }
}

fn http_url(url: &str, name: &'static str) -> Result<String, ConfigError> {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') && !url.contains(char::is_whitespace) => {
            Ok(url.trim_end_matches('/').to_owned())
        }
        _ => Err(ConfigError { variable: name, value: Some(url.to_owned()), expected: "an http:// or https:// URL" }),
    }
}

fn valid_token(token: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn missing_token_names_the_variable() {
        let err = config(&[]).unwrap_err();
        assert_eq!(err.variable, "BOT_TOKEN");
        assert!(err.to_string().starts_with("missing BOT_TOKEN"));
    }

    #[test]
    fn malformed_token_is_masked_in_the_error() {
        let err = config(&[("BOT_TOKEN", "12345:sec ret")]).unwrap_err();
        assert_eq!(err.to_string(), "invalid BOT_TOKEN '12345:***': expected <digits>:<secret> as given by @BotFather");
    }

    #[test]
    fn bad_port_names_variable_value_and_range() {
        let err = config(&[("BOT_TOKEN", "1:abc"), ("PORT", "80x")]).unwrap_err();
        assert_eq!(err.to_string(), "invalid PORT '80x': expected 0-65535");
    }

    #[test]
    fn defaults_need_only_a_token() {
        let c = config(&[("BOT_TOKEN", "1:abc")]).unwrap();
        assert_eq!(c.port, 8080);
        assert_eq!(c.base_url, None);
        assert_eq!(c.api_url, "https://api.telegram.org");
        assert_eq!(c.link_expiry, Some(Duration::from_secs(86_400)));
        assert!(!format!("{c:?}").contains("abc"));
    }

    #[test]
    fn admins_accept_spaces_and_commas() {
        let c = config(&[("BOT_TOKEN", "1:abc"), ("ADMINS", "1, 2 3")]).unwrap();
        assert_eq!(c.admins, vec![1, 2, 3]);
        let err = config(&[("BOT_TOKEN", "1:abc"), ("ADMINS", "1,x")]).unwrap_err();
        assert_eq!(err.variable, "ADMINS");
    }

    #[test]
    fn zero_expiry_means_never() {
        let c = config(&[("BOT_TOKEN", "1:abc"), ("LINK_EXPIRY_SECONDS", "0")]).unwrap();
        assert_eq!(c.link_expiry, None);
    }

    #[test]
    fn urls_must_be_http_and_lose_trailing_slash() {
        let c = config(&[("BOT_TOKEN", "1:abc"), ("BASE_URL", "https://dl.example.com/")]).unwrap();
        assert_eq!(c.base_url.as_deref(), Some("https://dl.example.com"));
        let err = config(&[("BOT_TOKEN", "1:abc"), ("TELEGRAM_API_URL", "ftp://x")]).unwrap_err();
        assert_eq!(err.variable, "TELEGRAM_API_URL");
    }

    #[test]
    fn short_link_secret_is_refused_without_echoing_it() {
        let err = config(&[("BOT_TOKEN", "1:abc"), ("LINK_SECRET", "short")]).unwrap_err();
        assert!(!err.to_string().contains("short"));
    }
}
