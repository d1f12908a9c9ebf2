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
        Some(v) => parse_overrides(&v).map_err(|why| reason(vars, "TELEGRAM_DC_ADDRESS", v, why.to_string()))?,
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

#[cfg(test)]
mod tests {
    use super::super::{CLOUD_FILE_LIMIT, Config, DIRECT_FILE_LIMIT, Mode, PREMIUM_FILE_LIMIT};
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    const HASH: &str = "0123456789abcdef0123456789ABCDEF";
    const FAKE_DC_KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fake_dc_rsa.pub.pem");

    #[test]
    fn api_id_and_hash_turn_direct_mode_on_and_the_hash_is_never_printed() {
        let c = config(&[("BOT_TOKEN", "1:abc"), ("TELEGRAM_API_ID", "12345"), ("TELEGRAM_API_HASH", HASH)]).unwrap();
        let direct = c.direct.as_ref().expect("direct mode");
        assert_eq!((direct.api_id, direct.api_hash.as_str()), (12345, HASH));
        assert_eq!(direct.server_keys, crate::mtproto::keys::builtin().to_vec());
        assert!(direct.dc_overrides.is_empty());
        assert_eq!((c.mode(), c.mode().name(), c.direct_ignored), (Mode::Direct, "direct", false));
        assert!(!format!("{c:?}").contains(HASH) && format!("{c:?}").contains("12345"), "{c:?}");
        let c = config(&[("BOT_TOKEN", "1:abc")]).unwrap();
        assert_eq!((c.mode(), c.direct), (Mode::Cloud, None));
    }

    #[test]
    fn one_of_api_id_and_hash_alone_names_the_missing_one() {
        let err = config(&[("BOT_TOKEN", "1:abc"), ("TELEGRAM_API_ID", "12345")]).unwrap_err();
        assert_eq!(err.variable, "TELEGRAM_API_HASH");
        assert!(
            err.to_string().starts_with("missing TELEGRAM_API_HASH") && err.to_string().contains("TELEGRAM_API_ID")
        );
        let err = config(&[("BOT_TOKEN", "1:abc"), ("TELEGRAM_API_HASH", HASH)]).unwrap_err();
        assert_eq!(err.variable, "TELEGRAM_API_ID");
        assert!(!err.to_string().contains(HASH), "{err}");
        for (name, value) in [("TELEGRAM_SERVER_KEY", FAKE_DC_KEY), ("TELEGRAM_DC_ADDRESS", "2=127.0.0.1:4430")] {
            let err = config(&[("BOT_TOKEN", "1:abc"), (name, value)]).unwrap_err();
            assert_eq!(err.variable, "TELEGRAM_API_ID", "{name}");
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn a_bad_api_id_or_hash_is_refused_without_echoing_the_hash() {
        for id in ["0", "-5", "x", "2147483648"] {
            let err = config(&[("BOT_TOKEN", "1:abc"), ("TELEGRAM_API_ID", id), ("TELEGRAM_API_HASH", HASH)]);
            assert_eq!(err.unwrap_err().variable, "TELEGRAM_API_ID", "{id}");
        }
        for hash in ["0123456789abcdef", "0123456789abcdef0123456789abcdeg", "0123456789abcdef0123456789abcdef0"] {
            let err = config(&[("BOT_TOKEN", "1:abc"), ("TELEGRAM_API_ID", "1"), ("TELEGRAM_API_HASH", hash)]);
            let err = err.unwrap_err();
            assert_eq!(err.variable, "TELEGRAM_API_HASH");
            assert!(!err.to_string().contains(hash) && err.to_string().contains("32 hex"), "{err}");
        }
    }

    #[test]
    fn a_server_key_file_and_dc_addresses_are_read_and_a_bad_one_says_why() {
        let direct = [("BOT_TOKEN", "1:abc"), ("TELEGRAM_API_ID", "1"), ("TELEGRAM_API_HASH", HASH)];
        let with = |extra: &[(&'static str, &'static str)]| config(&[&direct[..], extra].concat());
        let c = with(&[("TELEGRAM_SERVER_KEY", FAKE_DC_KEY), ("TELEGRAM_DC_ADDRESS", "2=127.0.0.1:4430")]).unwrap();
        let d = c.direct.unwrap();
        let fake = crate::mtproto::keys::parse_pem(&std::fs::read_to_string(FAKE_DC_KEY).unwrap()).unwrap();
        assert_eq!((d.server_keys.len(), d.server_keys.last()), (3, Some(&fake)));
        assert_eq!(
            (d.dc_overrides[0].dc, d.dc_overrides[0].host.as_str(), d.dc_overrides[0].port),
            (2, "127.0.0.1", 4430)
        );
        let err = with(&[("TELEGRAM_SERVER_KEY", "/nonexistent/key.pem")]).unwrap_err();
        assert_eq!(err.variable, "TELEGRAM_SERVER_KEY");
        assert!(err.to_string().contains("cannot read it"), "{err}");
        let err = with(&[("TELEGRAM_SERVER_KEY", concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))]).unwrap_err();
        assert!(err.to_string().starts_with("invalid TELEGRAM_SERVER_KEY") && err.to_string().contains("PEM"), "{err}");
        let err = with(&[("TELEGRAM_DC_ADDRESS", "2=127.0.0.1")]).unwrap_err();
        assert_eq!(err.variable, "TELEGRAM_DC_ADDRESS");
        assert!(err.to_string().contains("`2=127.0.0.1`"), "{err}");
    }

    #[test]
    fn local_files_win_over_direct_mode_and_say_so() {
        let c = config(&[
            ("BOT_TOKEN", "1:abc"),
            ("TELEGRAM_API_ID", "1"),
            ("TELEGRAM_API_HASH", HASH),
            ("TELEGRAM_LOCAL_FILES", "/var/lib/telegram-bot-api"),
        ])
        .unwrap();
        assert_eq!((c.mode(), c.direct.is_none(), c.direct_ignored), (Mode::Local, true, true));
    }

    #[test]
    fn the_env_example_copied_as_it_is_stays_in_cloud_mode_until_the_pair_is_filled_in() {
        let example = include_str!("../../.env.example");
        let mut vars: Vec<(String, String)> = dotenvy::from_read_iter(example.as_bytes()).map(Result::unwrap).collect();
        let c = Config::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())).unwrap();
        assert_eq!((c.mode(), c.direct), (Mode::Cloud, None), "placeholder credentials must not turn direct mode on");
        for (name, value) in &mut vars {
            match name.as_str() {
                "TELEGRAM_API_ID" => *value = "12345".into(),
                "TELEGRAM_API_HASH" => *value = HASH.into(),
                _ => {}
            }
        }
        let c = Config::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())).unwrap();
        assert_eq!(c.mode(), Mode::Direct, "the example names both variables");
    }

    #[test]
    fn direct_mode_links_2000_mb_and_4000_mb_from_premium_senders() {
        let c = config(&[("BOT_TOKEN", "1:abc"), ("TELEGRAM_API_ID", "1"), ("TELEGRAM_API_HASH", HASH)]).unwrap();
        assert_eq!((c.file_size_limit(), c.file_size_limit_for(false)), (DIRECT_FILE_LIMIT, DIRECT_FILE_LIMIT));
        assert_eq!(c.file_size_limit_for(true), PREMIUM_FILE_LIMIT);
        let c = config(&[("BOT_TOKEN", "1:abc"), ("TELEGRAM_LOCAL_FILES", "/srv")]).unwrap();
        assert_eq!(c.file_size_limit_for(true), PREMIUM_FILE_LIMIT);
        let c = config(&[("BOT_TOKEN", "1:abc")]).unwrap();
        assert_eq!(c.file_size_limit_for(true), CLOUD_FILE_LIMIT, "the cloud limit is the Bot API's, Premium or not");
    }
}
