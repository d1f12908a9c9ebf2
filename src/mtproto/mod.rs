//! MTProto downloads straight from Telegram's DCs, logged in as the bot: server keys, the auth
//! key handshake, one encrypted connection per DC, `upload.getFile` part plans and DC addresses.
//! A lower layer: it imports nothing from the bot, the HTTP side or the wiring.

/// One encrypted connection to one DC and its driver task.
pub(crate) mod conn;
/// DC addresses: production defaults and overrides (pure).
pub(crate) mod dc;
/// One byte range read part by part, with the retries a part needs.
pub(crate) mod download;
/// Call errors and the `NAME_123` split (pure).
pub(crate) mod error;
/// The auth key handshake as a sans-IO state machine.
pub(crate) mod handshake;
/// Server RSA public keys: PEM parsing and fingerprints (pure).
pub(crate) mod keys;
/// `upload.getFile` part plans and the pace under load (pure).
pub(crate) mod parts;
/// A connection's plain side: bounded frame reads, unencrypted calls, the handshake over them.
pub(crate) mod plain;
/// What a failed call leads to, and the reconnect backoff (pure).
pub(crate) mod policy;
/// The sessions: keys, connections and logins per DC.
pub(crate) mod pool;
/// Fresh file references from the message holding the file.
pub(crate) mod refresh;
/// Login and `upload.getFile` requests, and reading a planned range.
pub(crate) mod requests;
