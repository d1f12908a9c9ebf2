//! The one table of variables: name, default, what a value must be, and what it does. The
//! default is text that is parsed as the real default, so `--help`, the parsing code and the
//! tables of docs/CONFIGURATION.md and the README (checked by tests) cannot disagree.

use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use super::ConfigError;

/// One variable streambot reads.
#[derive(Debug)]
pub struct Var {
    pub name: &'static str,
    /// Parsed when the variable is unset, unless it is one of [`NO_VALUE`].
    pub default: &'static str,
    /// What a value must be, for the error that refuses one.
    pub expected: &'static str,
    pub help: &'static str,
}

/// Defaults that say there is no value (shown as they are, never parsed).
const NO_VALUE: [&str; 6] = ["required", "unset", "empty", "generated", "project page", "http://localhost:PORT"];

const fn var(name: &'static str, default: &'static str, expected: &'static str, help: &'static str) -> Var {
    Var { name, default, expected, help }
}

const SECS: &str = "1-86400 seconds";
const TIMER: &str = "1-31536000 seconds";
const CONNS: &str = "1-65535 connections";
const URL: &str = "an http:// or https:// URL";

/// Every variable streambot reads.
pub const VARIABLES: &[Var] = &[
    var("BOT_TOKEN", "required", "<digits>:<secret> as given by @BotFather", "bot token from @BotFather"),
    var("BASE_URL", "http://localhost:PORT", URL, "public URL that links start with"),
    var("BIND_ADDRESS", "0.0.0.0", "an IP address like 0.0.0.0 or ::", "address the HTTP server listens on"),
    var("PORT", "8080", "0-65535", "HTTP port; 0 picks a free port"),
    var(
        "ADMINS",
        "empty",
        "numeric user ids separated by spaces or commas",
        "admin user ids, space or comma separated",
    ),
    var(
        "ALLOWED_USERS",
        "empty",
        "numeric user ids separated by spaces or commas",
        "only these user ids (and ADMINS) may use the bot, space or comma separated; empty = everyone",
    ),
    var(
        "LOG_CHANNEL",
        "unset",
        "a numeric chat id like -1001234567890",
        "channel id files are forwarded to (a backup copy)",
    ),
    var("LINK_EXPIRY_SECONDS", "86400", "0-315360000 seconds, 0 for never", "link lifetime; 0 = links never expire"),
    var(
        "CHANNELS",
        "empty",
        "channel ids like -1001234567890 separated by spaces or commas, at most 100",
        "channels whose media posts get Download / Watch buttons (the bot must be their admin)",
    ),
    var(
        "CHANNEL_LINK_EXPIRY_SECONDS",
        "0",
        "0-315360000 seconds, 0 for never",
        "lifetime of channel posts' links; 0 = no expiry (until revoked)",
    ),
    var("DATA_DIR", "./data", "a directory", "SQLite database and link secret"),
    var("TELEGRAM_API_URL", "https://api.telegram.org", URL, "Bot API base URL (local server or test fake)"),
    var(
        "LINK_SECRET",
        "generated",
        "at least 32 random characters mixing letters and digits, as `openssl rand -hex 32` prints",
        "HMAC secret for links, 32+ random characters (make one: openssl rand -hex 32); default: DATA_DIR/link_secret",
    ),
    var("GITHUB_REPO_URL", "project page", "a URL", "repository URL shown by /about"),
    var("POLL_TIMEOUT_SECS", "50", "1-300 seconds", "getUpdates long-poll timeout"),
    var("MAX_CONNECTIONS", "256", CONNS, "open HTTP connections at most (the longest-idle one makes room)"),
    var(
        "TELEGRAM_LOCAL_FILES",
        "unset",
        "a directory",
        "local mode: the directory a telegram-bot-api --local server keeps files in",
    ),
    var(
        "TELEGRAM_API_ID",
        "unset",
        "a positive number, the api_id from my.telegram.org",
        "direct mode (with TELEGRAM_API_HASH): files are read from Telegram's data centres, up to 2000 MB (4000 MB from Premium senders); ignored with TELEGRAM_LOCAL_FILES",
    ),
    var(
        "TELEGRAM_API_HASH",
        "unset",
        "32 hex characters, the api_hash from my.telegram.org",
        "direct mode (with TELEGRAM_API_ID): the api_hash from my.telegram.org; never printed",
    ),
    var(
        "TELEGRAM_SERVER_KEY",
        "unset",
        "a PEM file with one 2048-bit RSA public key (PKCS#1 or SPKI)",
        "direct mode: a data centre key accepted besides the built-in ones (test data centres)",
    ),
    var(
        "TELEGRAM_DC_ADDRESS",
        "unset",
        "DC=host:port entries separated by commas, like 2=127.0.0.1:4430",
        "direct mode: addresses used instead of the built-in ones for these data centres",
    ),
    var(
        "TELEGRAM_CA_FILE",
        "unset",
        "a PEM file of CA certificates",
        "extra CA roots for TELEGRAM_API_URL (local server or TLS-inspecting proxy), added to the bundled ones",
    ),
    var("VIDEO_FRONTEND_URL", "unset", URL, "external player: Watch opens <url>?url=<stream URL> instead of /watch"),
    var("MAX_CONNECTIONS_PER_IP", "32", CONNS, "open HTTP connections per client address (IPv6: per /64)"),
    var(
        "TRUST_PROXY",
        "0",
        "0, 1 (loopback) or up to 32 addresses/CIDRs like 10.0.0.0/8",
        "proxies whose X-Forwarded-For is believed: 1 = loopback, or addresses/CIDRs",
    ),
    var(
        "METRICS_ALLOW",
        "unset",
        "up to 32 addresses/CIDRs like 127.0.0.1 or 10.0.0.0/8",
        "client addresses that may read /metrics and /api/info (403 for others; unset: everyone); behind TRUST_PROXY the forwarded client counts",
    ),
    var(
        "CORS_ALLOWED_ORIGINS",
        "unset",
        "origins like https://a.example, or *",
        "origins allowed to fetch links from scripts, comma separated, or *",
    ),
    var(
        "REQUESTS_PER_MINUTE",
        "600",
        "a number of requests, 0 for no limit",
        "HTTP requests per client address per minute (429 beyond); 0 = no limit",
    ),
    var(
        "BAD_TOKENS_PER_MINUTE",
        "20",
        "a number of tokens, 0 for no limit",
        "invalid link tokens per client per minute before 429; 0 = no limit",
    ),
    var(
        "MAX_DOWNLOADS_PER_IP",
        "16",
        "1-65535 downloads",
        "file bodies streaming at once per client (behind TRUST_PROXY: per forwarded client); 429 beyond",
    ),
    var("HTTP_IDLE_SECS", "60", SECS, "close a connection that waits this long for its next request"),
    var(
        "HTTP_HEADER_TIMEOUT_SECS",
        "10",
        SECS,
        "a request head must be complete this long after its first byte (408 otherwise)",
    ),
    var("HTTP_WRITE_TIMEOUT_SECS", "60", SECS, "close a connection whose client reads nothing for this long"),
    var("RUST_LOG", "info", "an env_logger filter", "log filter (env_logger syntax)"),
    var(
        "BANDWIDTH_LIMIT_GB",
        "100",
        "a number of GB (like 100 or 0.5), 0 for unlimited",
        "GB (10^9 bytes) served per calendar month (UTC), 0 = unlimited",
    ),
    var(
        "BANDWIDTH_USER_SHARE",
        "25",
        "a percentage, 1-100",
        "% of BANDWIDTH_LIMIT_GB one user's links may use per month (admins exempt); 100 = no share limit",
    ),
    var("STREAM_IDLE_SECS", "300", TIMER, "a download without progress this long is ended"),
    var("SHUTDOWN_GRACE_SECS", "10", "0-3600 seconds", "running downloads may finish this long at shutdown"),
    var(
        "REPLY_RETRY_SECS",
        "120",
        "1-3600 seconds",
        "a reply Telegram did not take (network error, 5xx, 429) is retried this long before the user is told to try again",
    ),
    var("CLEANUP_STREAMS_SECS", "600", TIMER, "interval of the stalled-download sweep"),
    var("CLEANUP_LOG_CACHE_SECS", "1800", TIMER, "interval of the log rate-limiter sweep"),
    var("CLEANUP_MEMORY_SECS", "3600", TIMER, "interval of the memory report and heap trim"),
    var("CLEANUP_STORE_SECS", "86400", TIMER, "interval of the expired-link and old-bandwidth purge"),
    var("BANDWIDTH_FLUSH_SECS", "60", TIMER, "interval of writing bandwidth counters to the database"),
    var(
        "MAX_LINKS_PER_DAY",
        "5",
        "0-100000 links, 0 for no limit",
        "links one user may make in a rolling 24 h (admins exempt); 0 = no limit",
    ),
    var(
        "FORCE_SUB_CHANNEL",
        "unset",
        "a channel id like -1001234567890 or @username",
        "users must join this channel before they get links (the bot must be its admin)",
    ),
    var("LOG_FILE", "unset", "a file path", "also append logs to this file"),
    var("LOG_FILE_MAX_MB", "10", "a size in MiB, 1-100000", "rotate LOG_FILE to LOG_FILE.1 past this size"),
];

/// The entry of `name`; reading a variable the table does not list is a bug.
pub fn spec(name: &str) -> &'static Var {
    VARIABLES.iter().find(|v| v.name == name).unwrap_or_else(|| panic!("{name} is listed in VARIABLES"))
}

/// Reads variables through a lookup (the environment, or a test's table), with the defaults,
/// bounds and error texts of [`VARIABLES`].
pub(crate) struct Lookup<F>(pub F);

impl<F: Fn(&str) -> Option<String>> Lookup<F> {
    /// The value set for `name`, trimmed; empty counts as unset.
    pub fn set(&self, name: &str) -> Option<String> {
        (self.0)(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    /// The refusal of `value` for `name`.
    pub fn error(&self, name: &str, value: Option<String>) -> ConfigError {
        let spec = spec(name);
        ConfigError { variable: spec.name, value, expected: spec.expected.into() }
    }

    /// The value set, or the table's default; `None` where the default is no value.
    fn text(&self, name: &str) -> Option<String> {
        let default = spec(name).default;
        self.set(name).or_else(|| (!NO_VALUE.contains(&default)).then(|| default.to_owned()))
    }

    /// `name` parsed by `parse`, or `None` when it is unset and has no default.
    pub fn optional<T>(&self, name: &str, parse: impl Fn(&str) -> Option<T>) -> Result<Option<T>, ConfigError> {
        match self.text(name) {
            None => Ok(None),
            Some(v) => parse(&v).map(Some).ok_or_else(|| self.error(name, Some(v))),
        }
    }

    /// `name` parsed as a `T` within `range` (its default if unset).
    pub fn within<T: FromStr + PartialOrd>(&self, name: &str, range: RangeInclusive<T>) -> Result<T, ConfigError> {
        let value = self.optional(name, |v| v.parse::<T>().ok().filter(|n| range.contains(n)))?;
        value.ok_or_else(|| self.error(name, None))
    }

    /// `name` parsed as a `T` (its default if unset).
    pub fn value<T: FromStr>(&self, name: &str) -> Result<T, ConfigError> {
        self.optional(name, |v| v.parse::<T>().ok())?.ok_or_else(|| self.error(name, None))
    }

    /// A number of seconds within `range` (bounded, so adding it to a clock never overflows).
    pub fn seconds(&self, name: &str, range: RangeInclusive<u64>) -> Result<Duration, ConfigError> {
        self.within(name, range).map(Duration::from_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `| `A`, `B` | `1`, `2` | meaning |` rows of the first table after `heading` in `doc`.
    fn table_rows(doc: &str, heading: &str) -> Vec<(String, String)> {
        let table = doc.split(heading).nth(1).unwrap_or_else(|| panic!("no {heading:?} section"));
        let cells = |line: &str| line.split('|').map(|c| c.trim().replace('`', "")).collect::<Vec<_>>();
        let mut rows = Vec::new();
        for line in table.lines().skip_while(|l| !l.starts_with('|')).take_while(|l| l.starts_with('|')).skip(2) {
            let c = cells(line);
            let names: Vec<&str> = c[1].split(',').map(str::trim).collect();
            let defaults: Vec<&str> = c[2].split(',').map(str::trim).collect();
            let defaults = if defaults.len() == names.len() { defaults } else { vec![c[2].as_str(); names.len()] };
            rows.extend(names.iter().zip(defaults).map(|(n, d)| (n.to_string(), d.to_string())));
        }
        rows
    }

    /// Every row names a variable the code reads, with the code's default.
    fn assert_rows_true(rows: &[(String, String)], doc: &str) {
        for (name, default) in rows {
            let var = VARIABLES.iter().find(|v| v.name == name);
            let var = var.unwrap_or_else(|| panic!("{doc} lists {name}, which the code does not read"));
            assert_eq!(default, var.default, "{doc} row of {name}");
        }
    }

    #[test]
    fn the_configuration_reference_lists_every_variable_with_its_default() {
        let rows = table_rows(include_str!("../../docs/CONFIGURATION.md"), "# Configuration");
        assert_rows_true(&rows, "docs/CONFIGURATION.md");
        for v in VARIABLES {
            assert!(rows.iter().any(|(n, _)| n == v.name), "docs/CONFIGURATION.md does not list {}", v.name);
        }
    }

    #[test]
    fn the_readme_names_the_common_variables_with_their_defaults() {
        let rows = table_rows(include_str!("../../README.md"), "## Configuration");
        assert_rows_true(&rows, "README");
        for name in ["BOT_TOKEN", "BASE_URL", "PORT", "DATA_DIR", "ADMINS", "TELEGRAM_API_ID", "METRICS_ALLOW"] {
            assert!(rows.iter().any(|(n, _)| n == name), "the README's table leaves out {name}");
        }
    }
}
