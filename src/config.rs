//! Configuration: the environment (plus an optional `.env` file) turned into a validated
//! [`Config`]. Parsing is pure over a lookup function so it is testable without touching the
//! process environment; a bad value becomes a [`ConfigError`] that names the variable.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Cloud Bot API `getFile` limit (Bot API docs: "up to 20 MB").
pub const CLOUD_FILE_LIMIT: u64 = 20 * 1024 * 1024;
/// Largest upload a local Bot API server hands over: Telegram's upload limit, 2000 MB, or
/// 4000 MB for Premium users (Telegram enforces which applies when the file is sent).
pub const LOCAL_FILE_LIMIT: u64 = 4000 * 1024 * 1024;
/// Largest file direct mode links: Telegram's upload limit, 2000 MB.
pub const DIRECT_FILE_LIMIT: u64 = 2000 * 1024 * 1024;
/// Largest file direct and local mode link from a Premium sender: Telegram's upload limit for
/// Premium users, 4000 MB (TDLib's, which local Bot API servers run on, too).
pub const PREMIUM_FILE_LIMIT: u64 = 4000 * 1024 * 1024;

mod direct;
mod http;
mod ids;
mod suggest;
mod table;
mod token;

pub use direct::DirectConfig;
pub use http::HttpConfig;
use table::Lookup;
pub use table::{VARIABLES, Var};
pub use token::mask_token;
use token::{token_hint, valid_token};

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
    /// `ALLOWED_USERS`: the only users (besides admins) the bot answers; empty = everyone.
    pub allowed_users: Vec<u64>,
    pub log_channel: Option<i64>,
    /// `None` means links never expire.
    pub link_expiry: Option<Duration>,
    /// `CHANNELS`: channels whose media posts get Download / Watch buttons (the bot is their admin).
    pub channels: Vec<i64>,
    /// `CHANNEL_LINK_EXPIRY_SECONDS`: lifetime of channel posts' links; `None` means never.
    pub channel_link_expiry: Option<Duration>,
    pub data_dir: PathBuf,
    /// Bot API base URL without a trailing slash.
    pub api_url: String,
    pub link_secret: Option<String>,
    pub repo_url: String,
    pub poll_timeout_secs: u32,
    /// Open HTTP connections at most; also the stream table's capacity.
    pub max_connections: usize,
    /// `TELEGRAM_LOCAL_FILES`: local Bot API mode, files are read from this directory.
    pub local_files: Option<PathBuf>,
    /// `TELEGRAM_CA_FILE`: PEM roots trusted besides the bundled webpki roots (read at start-up).
    pub ca_file: Option<PathBuf>,
    /// HTTP hardening and the player.
    pub http: HttpConfig,
    /// Cleanup cadence and time limits (defaults need no configuration).
    pub timers: Timers,
    /// Monthly bandwidth limit in bytes (`BANDWIDTH_LIMIT_GB`); `None` = unlimited.
    pub bandwidth_limit: Option<u64>,
    /// `BANDWIDTH_USER_SHARE`: percent of the limit one owner's links may use (1-100; 100 = off).
    pub bandwidth_user_share: u8,
    /// `LOG_FILE`: also append log lines here.
    pub log_file: Option<PathBuf>,
    /// `LOG_FILE_MAX_MB` in bytes: the file is rotated to `.1` past this.
    pub log_file_max_bytes: u64,
    /// `MAX_LINKS_PER_DAY`: links per user per rolling 24 h; 0 = no limit.
    pub max_links_per_day: u32,
    /// `FORCE_SUB_CHANNEL`: a channel id (`-100…`) or `@username` users must be members of.
    pub force_sub_channel: Option<String>,
    /// Direct mode: files are read from Telegram's DCs over MTProto, logged in as the bot with
    /// `TELEGRAM_API_ID` and `TELEGRAM_API_HASH`; `None` in cloud and local mode.
    pub direct: Option<DirectConfig>,
    /// `TELEGRAM_API_ID` and `TELEGRAM_API_HASH` are set, but so is `TELEGRAM_LOCAL_FILES`: the
    /// pair is the local server's (docker-compose.yml passes both to it), local mode wins.
    pub direct_ignored: bool,
}

/// Where file bytes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The cloud Bot API's `getFile` (20 MB).
    Cloud,
    /// A local Bot API server's directory (`TELEGRAM_LOCAL_FILES`).
    Local,
    /// Telegram's DCs over MTProto (`TELEGRAM_API_ID` and `TELEGRAM_API_HASH`).
    Direct,
}

impl Mode {
    /// `cloud`, `local` or `direct`, for logs.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Cloud => "cloud",
            Mode::Local => "local",
            Mode::Direct => "direct",
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("bot_token", &mask_token(&self.bot_token))
            .field("base_url", &self.base_url)
            .field("bind_address", &self.bind_address)
            .field("port", &self.port)
            .field("admins", &self.admins)
            .field("allowed_users", &self.allowed_users)
            .field("log_channel", &self.log_channel)
            .field("link_expiry", &self.link_expiry)
            .field("channels", &self.channels)
            .field("data_dir", &self.data_dir)
            .field("api_url", &self.api_url)
            .field("direct", &self.direct)
            .finish_non_exhaustive()
    }
}

/// Intervals of the cleanup tasks and the time limits of streams and shutdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timers {
    /// Stalled-stream sweep (`CLEANUP_STREAMS_SECS`, 10 min).
    pub streams: Duration,
    /// Log-cache sweep (`CLEANUP_LOG_CACHE_SECS`, 30 min).
    pub log_cache: Duration,
    /// Memory report and heap trim (`CLEANUP_MEMORY_SECS`, 1 h).
    pub memory: Duration,
    /// Old bandwidth rows and expired links (`CLEANUP_STORE_SECS`, 24 h).
    pub store: Duration,
    /// Bandwidth counters to the database (`BANDWIDTH_FLUSH_SECS`, 1 min).
    pub bandwidth_flush: Duration,
    /// A stream without progress this long is ended by the sweep (`STREAM_IDLE_SECS`, 300 s).
    pub stream_idle: Duration,
    /// Running streams may finish for this long at shutdown (`SHUTDOWN_GRACE_SECS`, 10 s).
    pub shutdown_grace: Duration,
    /// How long a reply is retried after network errors, 5xx and 429 (`REPLY_RETRY_SECS`, 2 min).
    pub reply_retry: Duration,
}

impl Timers {
    fn from_vars(vars: &Lookup<impl Fn(&str) -> Option<String>>) -> Result<Timers, ConfigError> {
        let timer = |name| vars.seconds(name, 1..=YEAR);
        Ok(Timers {
            streams: timer("CLEANUP_STREAMS_SECS")?,
            log_cache: timer("CLEANUP_LOG_CACHE_SECS")?,
            memory: timer("CLEANUP_MEMORY_SECS")?,
            store: timer("CLEANUP_STORE_SECS")?,
            bandwidth_flush: timer("BANDWIDTH_FLUSH_SECS")?,
            stream_idle: timer("STREAM_IDLE_SECS")?,
            shutdown_grace: vars.seconds("SHUTDOWN_GRACE_SECS", 0..=3600)?,
            reply_retry: vars.seconds("REPLY_RETRY_SECS", 1..=3600)?,
        })
    }
}

/// A bad or missing variable: names it, quotes the value (tokens masked), says what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub value: Option<String>,
    /// What a value must be; for a file, also why the one given is not.
    pub expected: Cow<'static, str>,
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

/// Bytes a `LINK_SECRET` must have at least: 256 bits for the HMAC-SHA256 key when each byte
/// is random (RFC 2104 section 3 recommends a key no shorter than the hash output).
pub const MIN_SECRET_LEN: usize = 32;

/// Whether `secret` is long enough and looks random: characters from at least two classes
/// (lowercase, uppercase, digits, others) and at least 8 distinct ones. A word, a number or a
/// repeated character is refused; `openssl rand -hex 32` passes.
fn strong_secret(secret: &str) -> bool {
    let bytes = secret.as_bytes();
    let classes = [u8::is_ascii_lowercase, u8::is_ascii_uppercase, u8::is_ascii_digit]
        .iter()
        .filter(|class| bytes.iter().any(class))
        .count()
        + usize::from(bytes.iter().any(|b| !b.is_ascii_alphanumeric()));
    let mut seen = [false; 256];
    bytes.iter().for_each(|&b| seen[usize::from(b)] = true);
    let distinct = seen.iter().filter(|&&s| s).count();
    bytes.len() >= MIN_SECRET_LEN && classes >= 2 && distinct >= 8
}

/// Loads `.env` from the working directory into the environment, if there is one (variables
/// already set win).
pub fn load_dotenv() -> Result<(), ConfigError> {
    // A missing .env is normal; a malformed one is reported by name.
    match dotenvy::dotenv() {
        Ok(_) => Ok(()),
        Err(e) if e.not_found() => Ok(()),
        Err(_) => {
            Err(ConfigError { variable: ".env", value: Some("./.env".into()), expected: "KEY=value lines".into() })
        }
    }
}

/// `BIND_ADDRESS` and `PORT` alone (`--healthcheck` needs nothing else, not even `BOT_TOKEN`).
pub fn listen_address(get: impl Fn(&str) -> Option<String>) -> Result<(IpAddr, u16), ConfigError> {
    let vars = Lookup(get);
    Ok((vars.value("BIND_ADDRESS")?, vars.value("PORT")?))
}

/// One line per variable in the environment (`.env` included once loaded) that looks like a
/// misspelling of one of ours, naming the closest; at most [`suggest::MAX_WARNINGS`].
pub fn misspelt_variables() -> Vec<String> {
    suggest::warnings(std::env::vars_os().filter_map(|(name, _)| name.into_string().ok()))
}

/// A channel id (`-1001234567890`) or `@username` (5-32 letters, digits, underscores).
fn channel(v: &str) -> Option<String> {
    if v.parse::<i64>().is_ok() {
        return Some(v.to_owned());
    }
    let name = v.strip_prefix('@')?;
    let ok = (5..=32).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    ok.then(|| v.to_owned())
}

impl Config {
    /// Reads the process environment, after loading `.env` from the working directory if present
    /// (real environment variables win).
    pub fn from_env() -> Result<Config, ConfigError> {
        load_dotenv()?;
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds a config from any variable lookup (pure; used by tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let vars = Lookup(get);
        let bot_token = vars.set("BOT_TOKEN").ok_or_else(|| vars.error("BOT_TOKEN", None))?;
        if !valid_token(&bot_token) {
            let mut err = vars.error("BOT_TOKEN", Some(mask_token(&bot_token)));
            err.expected = format!("{}{}", err.expected, token_hint(&bot_token)).into();
            return Err(err);
        }
        let link_secret = vars.set("LINK_SECRET");
        if link_secret.as_ref().is_some_and(|s| !strong_secret(s)) {
            return Err(vars.error("LINK_SECRET", Some("<hidden>".into())));
        }
        let expiry = vars.seconds("LINK_EXPIRY_SECONDS", 0..=10 * YEAR)?;
        let channel_expiry = vars.seconds("CHANNEL_LINK_EXPIRY_SECONDS", 0..=10 * YEAR)?;
        let bandwidth_gb =
            vars.optional("BANDWIDTH_LIMIT_GB", |v| v.parse::<f64>().ok().filter(|g| g.is_finite() && *g >= 0.0))?;
        let log_file_max_mb: u64 = vars.within("LOG_FILE_MAX_MB", 1..=100_000)?;
        let local_files = vars.optional("TELEGRAM_LOCAL_FILES", |v| Some(PathBuf::from(v)))?;
        let direct = direct::from_vars(&vars)?;
        let direct_ignored = direct.is_some() && local_files.is_some();
        Ok(Config {
            bot_token,
            base_url: vars.optional("BASE_URL", http_url)?,
            bind_address: vars.value("BIND_ADDRESS")?,
            port: vars.value("PORT")?,
            admins: vars.optional("ADMINS", ids::user_ids)?.unwrap_or_default(),
            allowed_users: vars.optional("ALLOWED_USERS", ids::user_ids)?.unwrap_or_default(),
            log_channel: vars.optional("LOG_CHANNEL", |v| v.parse().ok())?,
            link_expiry: (!expiry.is_zero()).then_some(expiry),
            channels: vars.optional("CHANNELS", ids::chat_ids)?.unwrap_or_default(),
            channel_link_expiry: (!channel_expiry.is_zero()).then_some(channel_expiry),
            data_dir: vars.value("DATA_DIR")?,
            api_url: vars.optional("TELEGRAM_API_URL", http_url)?.expect("TELEGRAM_API_URL has a default"),
            link_secret,
            repo_url: vars.set("GITHUB_REPO_URL").unwrap_or_else(|| DEFAULT_REPO_URL.into()),
            poll_timeout_secs: vars.within("POLL_TIMEOUT_SECS", 1..=300)?,
            max_connections: vars.within("MAX_CONNECTIONS", 1..=65_535)?,
            local_files,
            ca_file: vars.optional("TELEGRAM_CA_FILE", |v| Some(PathBuf::from(v)))?,
            http: HttpConfig::from_vars(&vars)?,
            timers: Timers::from_vars(&vars)?,
            // f64 to u64 saturates; 1 GB = 10^9 bytes, as hosting plans count.
            bandwidth_limit: bandwidth_gb.filter(|&g| g > 0.0).map(|g| (g * 1e9) as u64),
            bandwidth_user_share: vars.within("BANDWIDTH_USER_SHARE", 1..=100)?,
            log_file: vars.optional("LOG_FILE", |v| Some(PathBuf::from(v)))?,
            log_file_max_bytes: log_file_max_mb * 1024 * 1024,
            max_links_per_day: vars.within("MAX_LINKS_PER_DAY", 0..=100_000)?,
            force_sub_channel: vars.optional("FORCE_SUB_CHANNEL", channel)?,
            direct: direct.filter(|_| !direct_ignored),
            direct_ignored,
        })
    }

    /// How long links live: `7 days` or `never` (`LINK_EXPIRY_SECONDS`).
    pub fn link_expiry_text(&self) -> String {
        self.link_expiry.map_or_else(|| "never".to_owned(), |d| crate::units::human_duration(d.as_secs()))
    }

    /// `100 GB per month` or `unlimited`.
    pub fn bandwidth_limit_text(&self) -> String {
        match self.bandwidth_limit {
            Some(bytes) => format!("{} GB per month", bytes as f64 / 1e9),
            None => "unlimited".to_owned(),
        }
    }

    /// `25% of it per user` or `no limit per user` (`BANDWIDTH_USER_SHARE`; without a monthly
    /// limit there is no share of it).
    pub fn bandwidth_share_text(&self) -> String {
        match self.bandwidth_limit {
            Some(_) if self.bandwidth_user_share < 100 => format!("{}% of it per user", self.bandwidth_user_share),
            _ => "no limit per user".to_owned(),
        }
    }

    /// Whether `user_id` is listed in `ADMINS`.
    pub fn is_admin(&self, user_id: u64) -> bool {
        self.admins.contains(&user_id)
    }

    /// Whether `ALLOWED_USERS` lets `user_id` in: listed, an admin, or the list is empty.
    pub fn is_allowed(&self, user_id: u64) -> bool {
        self.allowed_users.is_empty() || self.allowed_users.contains(&user_id) || self.is_admin(user_id)
    }

    /// Whether `chat_id` is listed in `CHANNELS`.
    pub fn is_listed_channel(&self, chat_id: i64) -> bool {
        self.channels.contains(&chat_id)
    }

    /// Where file bytes come from: a local server's directory wins over direct mode.
    pub fn mode(&self) -> Mode {
        match (&self.local_files, &self.direct) {
            (Some(_), _) => Mode::Local,
            (None, Some(_)) => Mode::Direct,
            (None, None) => Mode::Cloud,
        }
    }

    /// Largest file this mode can serve: the cloud `getFile` limit, Telegram's upload limit
    /// with a local Bot API server, or 2000 MB in direct mode.
    pub fn file_size_limit(&self) -> u64 {
        match self.mode() {
            Mode::Cloud => CLOUD_FILE_LIMIT,
            Mode::Local => LOCAL_FILE_LIMIT,
            Mode::Direct => DIRECT_FILE_LIMIT,
        }
    }

    /// Largest file this mode links for a sender: 4000 MB from a Premium sender in direct and
    /// local mode, [`Config::file_size_limit`] otherwise.
    pub fn file_size_limit_for(&self, premium: bool) -> u64 {
        match self.mode() {
            Mode::Direct | Mode::Local if premium => PREMIUM_FILE_LIMIT.max(self.file_size_limit()),
            _ => self.file_size_limit(),
        }
    }
}

/// One year in seconds: the longest cleanup interval, and a tenth of the longest link life.
const YEAR: u64 = 365 * 86_400;

/// An `http(s)://` URL without its trailing slash.
fn http_url(url: &str) -> Option<String> {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"))?;
    (!rest.is_empty() && !rest.starts_with('/') && !url.contains(char::is_whitespace))
        .then(|| url.trim_end_matches('/').to_owned())
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
        assert_eq!(
            err.to_string(),
            "invalid BOT_TOKEN '12345:***': expected <digits>:<secret> as given by @BotFather; it has a space in it: copy it again from @BotFather, in one piece"
        );
    }

    #[test]
    fn a_refused_token_says_what_is_wrong_with_it() {
        for (token, hint) in [
            ("bot123:ABC", "remove the 'bot' in front"),
            ("BOT123:ABC", "remove the 'bot' in front"),
            ("\"123:ABC\"", "remove the quotes"),
            ("'123:ABC'", "remove the quotes"),
            ("123:AB C", "has a space in it"),
            ("123ABC", "has no ':'"),
        ] {
            let err = config(&[("BOT_TOKEN", token)]).unwrap_err().to_string();
            assert!(err.starts_with("invalid BOT_TOKEN '"), "{err}");
            assert!(err.contains(hint), "{token}: {err}");
            assert!(!err.contains("ABC"), "the secret is never echoed: {err}");
        }
        let err = config(&[("BOT_TOKEN", "123:A*C")]).unwrap_err().to_string();
        assert!(err.ends_with("as given by @BotFather"), "no hint when none fits: {err}");
    }

    #[test]
    fn the_listen_address_needs_no_token() {
        let get = |n: &str| (n == "PORT").then(|| "9000".to_owned());
        assert_eq!(listen_address(get).unwrap(), ("0.0.0.0".parse().unwrap(), 9000));
        assert_eq!(listen_address(|n| (n == "PORT").then(|| "x".into())).unwrap_err().variable, "PORT");
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
    fn timers_default_to_the_documented_cadence_and_refuse_zero() {
        let c = config(&[("BOT_TOKEN", "1:abc")]).unwrap();
        assert_eq!(c.timers.streams, Duration::from_secs(600));
        assert_eq!(c.timers.log_cache, Duration::from_secs(1800));
        assert_eq!(c.timers.memory, Duration::from_secs(3600));
        assert_eq!(c.timers.store, Duration::from_secs(86_400));
        assert_eq!(c.bandwidth_limit, Some(100_000_000_000));
        assert_eq!(c.bandwidth_limit_text(), "100 GB per month");
        let c = config(&[("BOT_TOKEN", "1:abc"), ("BANDWIDTH_LIMIT_GB", "0.5")]).unwrap();
        assert_eq!((c.bandwidth_limit, c.bandwidth_limit_text().as_str()), (Some(500_000_000), "0.5 GB per month"));
        let c = config(&[("BOT_TOKEN", "1:abc"), ("BANDWIDTH_LIMIT_GB", "0")]).unwrap();
        assert_eq!((c.bandwidth_limit, c.bandwidth_limit_text().as_str()), (None, "unlimited"));
        assert_eq!(
            config(&[("BOT_TOKEN", "1:abc"), ("BANDWIDTH_LIMIT_GB", "-1")]).unwrap_err().variable,
            "BANDWIDTH_LIMIT_GB"
        );
        let err = config(&[("BOT_TOKEN", "1:abc"), ("CLEANUP_MEMORY_SECS", "0")]).unwrap_err();
        assert_eq!(err.variable, "CLEANUP_MEMORY_SECS");
        for (name, huge) in [("SHUTDOWN_GRACE_SECS", "99999999999"), ("LINK_EXPIRY_SECONDS", "18446744073709551615")] {
            assert_eq!(
                config(&[("BOT_TOKEN", "1:abc"), (name, huge)]).unwrap_err().variable,
                name,
                "{name} is bounded"
            );
        }
    }

    #[test]
    fn the_user_share_defaults_to_a_quarter_and_is_a_percentage() {
        let c = config(&[("BOT_TOKEN", "1:abc")]).unwrap();
        assert_eq!((c.bandwidth_user_share, c.bandwidth_share_text().as_str()), (25, "25% of it per user"));
        let c = config(&[("BOT_TOKEN", "1:abc"), ("BANDWIDTH_LIMIT_GB", "0")]).unwrap();
        assert_eq!(c.bandwidth_share_text(), "no limit per user", "no limit, no share");
        assert_eq!(
            config(&[("BOT_TOKEN", "1:abc"), ("BANDWIDTH_USER_SHARE", "100")]).unwrap().bandwidth_user_share,
            100
        );
        for bad in ["0", "101", "12.5", "x"] {
            let err = config(&[("BOT_TOKEN", "1:abc"), ("BANDWIDTH_USER_SHARE", bad)]).unwrap_err();
            assert_eq!(err.to_string(), format!("invalid BANDWIDTH_USER_SHARE '{bad}': expected a percentage, 1-100"));
        }
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
    fn local_mode_raises_the_size_limit() {
        let c = config(&[("BOT_TOKEN", "1:abc")]).unwrap();
        assert_eq!(c.file_size_limit(), CLOUD_FILE_LIMIT);
        let c = config(&[("BOT_TOKEN", "1:abc"), ("TELEGRAM_LOCAL_FILES", "/var/lib/telegram-bot-api")]).unwrap();
        assert_eq!(c.file_size_limit(), LOCAL_FILE_LIMIT);
    }

    #[test]
    fn http_settings_parse_and_name_bad_values() {
        let c = config(&[
            ("BOT_TOKEN", "1:abc"),
            ("TRUST_PROXY", "1"),
            ("CORS_ALLOWED_ORIGINS", "https://a.example/, http://b.example:8080"),
            ("HTTP_IDLE_SECS", "2"),
        ])
        .unwrap();
        assert!(c.http.trust_proxy.trusts("127.0.0.1".parse().unwrap()));
        assert_eq!((c.http.connections_per_ip, c.http.downloads_per_ip), (32, 16));
        assert_eq!(c.http.header_timeout, Duration::from_secs(10));
        assert_eq!(c.http.cors_origins, vec!["https://a.example", "http://b.example:8080"]);
        assert_eq!((c.http.idle, c.http.write_timeout), (Duration::from_secs(2), Duration::from_secs(60)));
        let err = config(&[("BOT_TOKEN", "1:abc"), ("HTTP_IDLE_SECS", "0")]).unwrap_err();
        assert_eq!(err.to_string(), "invalid HTTP_IDLE_SECS '0': expected 1-86400 seconds");
        let err = config(&[("BOT_TOKEN", "1:abc"), ("MAX_DOWNLOADS_PER_IP", "0")]).unwrap_err();
        assert_eq!(err.to_string(), "invalid MAX_DOWNLOADS_PER_IP '0': expected 1-65535 downloads");
        let err = config(&[("BOT_TOKEN", "1:abc"), ("HTTP_HEADER_TIMEOUT_SECS", "x")]).unwrap_err();
        assert_eq!(err.variable, "HTTP_HEADER_TIMEOUT_SECS");
        let err = config(&[("BOT_TOKEN", "1:abc"), ("TRUST_PROXY", "maybe")]).unwrap_err();
        assert_eq!(err.variable, "TRUST_PROXY");
        let err = config(&[("BOT_TOKEN", "1:abc"), ("VIDEO_FRONTEND_URL", "player")]).unwrap_err();
        assert_eq!(err.variable, "VIDEO_FRONTEND_URL");
        let err = config(&[("BOT_TOKEN", "1:abc"), ("METRICS_ALLOW", "localhost")]).unwrap_err();
        assert_eq!(err.variable, "METRICS_ALLOW");
    }

    #[test]
    fn metrics_allow_unset_lets_everyone_and_a_list_only_its_addresses() {
        let everyone = config(&[("BOT_TOKEN", "1:abc")]).unwrap();
        assert!(everyone.http.metrics_allowed("203.0.113.9".parse().unwrap()));
        let c = config(&[("BOT_TOKEN", "1:abc"), ("METRICS_ALLOW", "127.0.0.1,10.0.0.0/8")]).unwrap();
        assert!(c.http.metrics_allowed("10.1.2.3".parse().unwrap()));
        assert!(c.http.metrics_allowed("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!c.http.metrics_allowed("203.0.113.9".parse().unwrap()));
    }

    #[test]
    fn short_link_secret_is_refused_without_echoing_it() {
        let err = config(&[("BOT_TOKEN", "1:abc"), ("LINK_SECRET", "short")]).unwrap_err();
        assert!(!err.to_string().contains("short"));
    }

    #[test]
    fn a_link_secret_must_be_32_bytes_that_look_random() {
        let refused = [
            "abcdefghijklmnop",
            "0123456789abcdef0123456789abcde",
            "abcdefghijklmnopqrstuvwxyzabcdefgh",
            "01234567890123456789012345678901234",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGH",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1111",
        ];
        for secret in refused {
            let err = config(&[("BOT_TOKEN", "1:abc"), ("LINK_SECRET", secret)]).unwrap_err();
            assert_eq!(err.variable, "LINK_SECRET", "{secret}");
            assert!(!err.to_string().contains(secret), "the secret is never echoed");
            assert!(err.to_string().contains("openssl rand -hex 32"), "{err}");
        }
        let accepted = [
            "3f9a0c1e7b2d4a6f8e0b1c3d5a7f9e2b4c6d8a0f1e3b5d7c9a2e4f6b8d0c1a3e",
            "q8Jd0xv+Yw3Kp1Zr/Tn5Lm7Hc9Bf2Ge4Ua6Sb8Ri0Ow=",
            "integration-test-link-secret-0123456789",
        ];
        for secret in accepted {
            let c = config(&[("BOT_TOKEN", "1:abc"), ("LINK_SECRET", secret)]).unwrap();
            assert_eq!(c.link_secret.as_deref(), Some(secret));
        }
    }
}
