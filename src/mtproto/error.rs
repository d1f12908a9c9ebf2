//! What a call on an MTProto connection can end with, and Telegram's `NAME_123` error split
//! (like grammers-mtsender's `RpcError::from`, but only a whole `_`-separated digits part counts:
//! mtsender reads `2FA_CONFIRM_WAIT_60` as value 2).

use super::handshake::HandshakeError;

/// A socket, transport or protocol failure: its text, and the io, transport or deserialization
/// error it came from, if any (a [`Failure`](crate::failure::Failure), so [`InvokeError`] stays
/// `Clone`).
pub type TransportError = crate::failure::Failure;

/// Why an `invoke` did not return the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InvokeError {
    /// Telegram answered `rpc_error`: `303 FILE_MIGRATE_4` is `{303, "FILE_MIGRATE", Some(4)}`.
    Rpc { code: i32, name: String, value: Option<u32> },
    /// The connection died (or was dropped) before the answer came.
    Dropped,
    /// Socket, transport or protocol failure; the connection is dead.
    Transport(TransportError),
    /// No answer within the call's deadline.
    Timeout,
    /// Already `MAX_IN_FLIGHT` calls waiting on this connection.
    Busy,
    /// The request is not a multiple of 4 bytes or larger than one MTProto message may be.
    BadRequest,
    /// The answer did not parse as the request's return type.
    Decode,
    /// `bad_msg_notification` with a code that retrying cannot fix.
    BadMessage(i32),
    /// A transport status instead of a frame: 404 = the server does not know the auth key (make
    /// a new one), 429 = too many connections from this address.
    Status(u32),
    /// The auth key handshake failed.
    Handshake(HandshakeError),
}

impl InvokeError {
    /// An `rpc_error` split into name and numeric value.
    pub(crate) fn rpc(code: i32, message: &str) -> InvokeError {
        let (name, value) = split_rpc_message(message);
        InvokeError::Rpc { code, name, value }
    }
}

impl std::fmt::Display for InvokeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InvokeError::Rpc { code, name, value: Some(v) } => write!(f, "rpc error {code} {name} ({v})"),
            InvokeError::Rpc { code, name, value: None } => write!(f, "rpc error {code} {name}"),
            InvokeError::Dropped => f.write_str("connection dropped"),
            InvokeError::Transport(what) => write!(f, "transport: {what}"),
            InvokeError::Timeout => f.write_str("timed out"),
            InvokeError::Busy => f.write_str("too many calls in flight"),
            InvokeError::BadRequest => f.write_str("request not serializable as one message"),
            InvokeError::Decode => f.write_str("answer did not decode"),
            InvokeError::BadMessage(code) => write!(f, "bad_msg_notification {code}"),
            InvokeError::Status(status) => write!(f, "transport status -{status}"),
            InvokeError::Handshake(error) => write!(f, "handshake: {error}"),
        }
    }
}

impl std::error::Error for InvokeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InvokeError::Handshake(e) => Some(e),
            InvokeError::Transport(e) => Some(e),
            _ => None,
        }
    }
}

/// `FILE_MIGRATE_4` → `("FILE_MIGRATE", Some(4))`, `2FA_CONFIRM_WAIT_60` → `("2FA_CONFIRM_WAIT", Some(60))`
/// (the first digits-only `_` part counts), `FILE_REFERENCE_EXPIRED` → unchanged, `None`.
pub(crate) fn split_rpc_message(message: &str) -> (String, Option<u32>) {
    let parts: Vec<&str> = message.split('_').collect();
    let numeric = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    match parts.iter().position(numeric) {
        Some(at) => match parts[at].parse::<u32>() {
            Ok(value) => {
                let name: Vec<&str> = parts.iter().enumerate().filter(|&(i, _)| i != at).map(|(_, p)| *p).collect();
                (name.join("_"), Some(value))
            }
            Err(_) => (message.to_string(), None),
        },
        None => (message.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_migrate_error_splits_into_name_and_dc() {
        assert_eq!(
            InvokeError::rpc(303, "FILE_MIGRATE_4"),
            InvokeError::Rpc { code: 303, name: "FILE_MIGRATE".into(), value: Some(4) }
        );
        assert_eq!(split_rpc_message("FLOOD_WAIT_17"), ("FLOOD_WAIT".into(), Some(17)));
    }

    #[test]
    fn an_error_without_digits_keeps_its_name() {
        assert_eq!(split_rpc_message("FILE_REFERENCE_EXPIRED"), ("FILE_REFERENCE_EXPIRED".into(), None));
        assert_eq!(split_rpc_message(""), ("".into(), None));
    }

    #[test]
    fn digits_in_the_middle_or_too_many_are_handled() {
        assert_eq!(split_rpc_message("EMAIL_UNCONFIRMED_6_X"), ("EMAIL_UNCONFIRMED_X".into(), Some(6)));
        assert_eq!(split_rpc_message("2FA_CONFIRM_WAIT_60"), ("2FA_CONFIRM_WAIT".into(), Some(60)));
        assert_eq!(split_rpc_message("FLOOD_WAIT_99999999999"), ("FLOOD_WAIT_99999999999".into(), None));
    }

    #[test]
    fn a_failed_handshake_is_the_source_of_the_invoke_error() {
        let e = InvokeError::Handshake(HandshakeError::Nonce);
        assert!(std::error::Error::source(&e).is_some_and(|s| s.is::<HandshakeError>()));
        assert!(std::error::Error::source(&InvokeError::Timeout).is_none());
    }

    #[test]
    fn a_socket_failure_is_the_source_of_the_transport_error() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let e = InvokeError::Transport(TransportError::during("read", io));
        assert_eq!(e.to_string(), "transport: read: connection reset");
        let inner = std::error::Error::source(&e).and_then(|s| s.source());
        assert!(inner.is_some_and(|s| s.is::<std::io::Error>()), "{e:?}");
        let plain = InvokeError::Transport("closed by the server".into());
        assert!(std::error::Error::source(&plain).and_then(|s| s.source()).is_none());
    }
}
