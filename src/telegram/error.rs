//! What a failed Bot API call ends with: [`TelegramError`], and for a network failure or an
//! answer that did not decode the error it came from ([`NetworkError`], [`DecodeError`]: its
//! text shown, the cause kept as its `source()`).

/// A connection failure: its text, and the io, TLS-name or HTTP error it came from.
pub type NetworkError = crate::failure::Failure;

/// An answer that was not what we expected: its text, and the `serde_json` or multipart error it
/// came from.
pub type DecodeError = crate::failure::Failure;

/// A failed Telegram call. Never contains the token or a file URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TelegramError {
    /// Telegram answered `ok: false`.
    Api { code: u64, description: String, retry_after: Option<u16> },
    /// Could not connect, the TLS handshake failed for a reason other than the certificate, or
    /// the connection broke.
    Network(NetworkError),
    /// The server's TLS certificate was refused (unknown issuer, wrong name, expired): a setup
    /// problem that retrying does not fix.
    Certificate(String),
    /// The call's deadline passed.
    Timeout,
    /// The answer was not the JSON we expected.
    Decode(DecodeError),
}

impl std::fmt::Display for TelegramError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TelegramError::Api { code, description, retry_after: Some(s) } => {
                write!(f, "telegram error {code}: {description} (retry after {s}s)")
            }
            TelegramError::Api { code, description, .. } => write!(f, "telegram error {code}: {description}"),
            TelegramError::Network(e) => write!(f, "network error: {e}"),
            TelegramError::Certificate(e) => write!(f, "tls certificate refused: {e}"),
            TelegramError::Timeout => write!(f, "telegram call timed out"),
            TelegramError::Decode(e) => write!(f, "unexpected answer from telegram: {e}"),
        }
    }
}

impl std::error::Error for TelegramError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TelegramError::Network(e) => Some(e),
            TelegramError::Decode(e) => Some(e),
            _ => None,
        }
    }
}

impl TelegramError {
    /// Whether the API description contains `text` (Telegram's error texts are stable phrases).
    pub fn description_contains(&self, text: &str) -> bool {
        matches!(self, TelegramError::Api { description, .. } if description.contains(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    #[test]
    fn a_network_error_reads_as_its_cause_and_keeps_it_as_the_source() {
        let e = TelegramError::Network(std::io::Error::from(std::io::ErrorKind::ConnectionReset).into());
        assert_eq!(e.to_string(), "network error: connection reset");
        let inner = e.source().and_then(|s| s.source());
        assert!(inner.is_some_and(|s| s.is::<std::io::Error>()), "{e:?}");
        assert_eq!(e.clone(), TelegramError::Network("connection reset".into()));
        assert!(TelegramError::Network("no host".into()).source().and_then(|s| s.source()).is_none());
        assert!(TelegramError::Timeout.source().is_none());
    }

    #[test]
    fn an_answer_that_did_not_decode_keeps_the_json_error_as_the_source() {
        let json = serde_json::from_slice::<u64>(b"{").unwrap_err();
        let text = json.to_string();
        let e = TelegramError::Decode(DecodeError::during("getMe", json));
        assert_eq!(e.to_string(), format!("unexpected answer from telegram: getMe: {text}"));
        let inner = e.source().and_then(|s| s.source());
        assert!(inner.is_some_and(|s| s.is::<serde_json::Error>()), "{e:?}");
        let io = DecodeError::from_error(std::io::Error::other("too long"));
        assert!(io.source().is_some_and(|s| s.is::<std::io::Error>()));
        assert!(TelegramError::Decode("answer too large".into()).source().is_some());
        assert!(TelegramError::Decode("answer too large".into()).source().and_then(|s| s.source()).is_none());
    }
}
