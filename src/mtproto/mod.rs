//! MTProto downloads straight from Telegram's DCs, logged in as the bot: server keys, the auth
//! key handshake, one encrypted connection per DC, `upload.getFile` part plans and DC addresses.
//! A lower layer: it imports nothing from the bot, the HTTP side or the wiring.

/// The auth key handshake as a sans-IO state machine.
pub(crate) mod handshake;
/// Server RSA public keys: PEM parsing and fingerprints (pure).
pub(crate) mod keys;
