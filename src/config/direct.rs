//! Direct mode's settings: the application's api_id and api_hash from my.telegram.org, extra
//! server keys and DC address overrides. Files are then read from Telegram's DCs over MTProto.

use std::borrow::Cow;
use std::fmt;
use std::io::Read;
use std::path::Path;

use super::ConfigError;
use super::table::Lookup;
use crate::mtproto::dc::{DcAddress, parse_overrides};
use crate::mtproto::keys::{ServerKey, builtin, parse_pem};

/// Bytes of a `TELEGRAM_SERVER_KEY` file read at most: a PEM public key is under 1 KiB, and a
/// bound keeps a wrong path (a device, a log file) from filling memory.
const MAX_KEY_FILE: u64 = 64 * 1024;

/// What direct mode logs in with and where it connects (the keys and addresses are the crate's
/// MTProto types, so those two fields are crate-visible).
#[derive(Clone, PartialEq, Eq)]
pub struct DirectConfig {
    /// `TELEGRAM_API_ID`: the application's id (positive).
    pub api_id: i32,
    /// `TELEGRAM_API_HASH`: 32 hex characters; a secret, never printed (see the `Debug` impl).
    pub api_hash: String,
    /// The keys a handshake accepts: the built-in ones, then `TELEGRAM_SERVER_KEY`'s if set.
    pub(crate) server_keys: Vec<ServerKey>,
    /// `TELEGRAM_DC_ADDRESS`: addresses used instead of the production ones for these DCs.
    pub(crate) dc_overrides: Vec<DcAddress>,
}

impl fmt::Debug for DirectConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectConfig")
            .field("api_id", &self.api_id)
            .field("api_hash", &"***")
            .field("server_keys", &self.server_keys.iter().map(ServerKey::fingerprint).collect::<Vec<_>>())
            .field("dc_overrides", &self.dc_overrides)
            .finish()
    }
}

/// The four direct-mode variables as set: `Some` when id and hash are both set, `None` when
/// none of the four is. One of the pair alone, or a key or address without the pair, is an error
/// naming what is missing.
pub(super) fn from_vars(vars: &Lookup<impl Fn(&str) -> Option<String>>) -> Result<Option<DirectConfig>, ConfigError> {
    let api_id = vars.optional("TELEGRAM_API_ID", |v| v.parse::<i32>().ok().filter(|&id| id > 0))?;
    let api_hash = vars.set("TELEGRAM_API_HASH");
    if api_hash.as_ref().is_some_and(|h| h.len() != 32 || !h.bytes().all(|b| b.is_ascii_hexdigit())) {
        return Err(vars.error("TELEGRAM_API_HASH", Some("<hidden>".into())));
    }
    let key = vars.set("TELEGRAM_SERVER_KEY").map(|path| server_key(vars, &path)).transpose()?;
    let dc_overrides = match vars.set("TELEGRAM_DC_ADDRESS") {
        Some(v) => parse_overrides(&v).map_err(|why| reason(vars, "TELEGRAM_DC_ADDRESS", v, why))?,
        None => Vec::new(),
    };
    let (api_id, api_hash) = match (api_id, api_hash) {
        (Some(id), Some(hash)) => (id, hash),
        (Some(_), None) => return Err(missing("TELEGRAM_API_HASH", "TELEGRAM_API_ID is set without it")),
        (None, Some(_)) => return Err(missing("TELEGRAM_API_ID", "TELEGRAM_API_HASH is set without it")),
        (None, None) => {
            if key.is_some() {
                return Err(missing("TELEGRAM_API_ID", "TELEGRAM_SERVER_KEY is for direct mode, which needs it"));
            }
            if !dc_overrides.is_empty() {
                return Err(missing("TELEGRAM_API_ID", "TELEGRAM_DC_ADDRESS is for direct mode, which needs it"));
            }
            return Ok(None);
        }
    };
    let mut server_keys = builtin().to_vec();
    server_keys.extend(key);
    Ok(Some(DirectConfig { api_id, api_hash, server_keys, dc_overrides }))
}

/// The key in the PEM file at `path`; the error says why it is not one.
fn server_key(vars: &Lookup<impl Fn(&str) -> Option<String>>, path: &str) -> Result<ServerKey, ConfigError> {
    let mut text = String::new();
    let read = std::fs::File::open(Path::new(path)).and_then(|f| f.take(MAX_KEY_FILE).read_to_string(&mut text));
    if let Err(e) = read {
        return Err(reason(vars, "TELEGRAM_SERVER_KEY", path.into(), format!("cannot read it: {e}")));
    }
    parse_pem(&text).map_err(|e| reason(vars, "TELEGRAM_SERVER_KEY", path.into(), e.to_string()))
}

/// The table's refusal of `value` for `name`, with why.
fn reason(vars: &Lookup<impl Fn(&str) -> Option<String>>, name: &str, value: String, why: String) -> ConfigError {
    let error = vars.error(name, Some(value));
    ConfigError { expected: Cow::Owned(format!("{} ({why})", error.expected)), ..error }
}

/// `name` is missing because another variable needs it.
fn missing(name: &'static str, because: &str) -> ConfigError {
    let what = match name {
        "TELEGRAM_API_ID" => "the api_id from my.telegram.org",
        _ => "the api_hash from my.telegram.org",
    };
    ConfigError { variable: name, value: None, expected: Cow::Owned(format!("{what}: {because}")) }
}
