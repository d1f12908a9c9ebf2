//! What a failed Bot API call ends with: [`TelegramError`], and for a network failure the
//! error it came from ([`NetworkError`], its text shown, the cause kept as its `source()`).

use std::sync::Arc;

/// A connection failure: its text, and the error it came from when there is one (shared, so the
/// error stays `Clone` and `Send`).
#[derive(Debug, Clone)]
pub struct NetworkError {
    text: String,
    cause: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl NetworkError {
    /// A failure from `cause`, shown as its text.
    pub fn from_error(cause: impl std::error::Error + Send + Sync + 'static) -> NetworkError {
        NetworkError { text: cause.to_string(), cause: Some(Arc::new(cause)) }
    }
}

/// Two network errors are the same failure when they read the same.
impl PartialEq for NetworkError {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for NetworkError {}

impl std::fmt::Display for NetworkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for NetworkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<&str> for NetworkError {
    fn from(text: &str) -> Self {
        NetworkError { text: text.to_owned(), cause: None }
    }
}

impl From<String> for NetworkError {
    fn from(text: String) -> Self {
        NetworkError { text, cause: None }
    }
}

impl From<http_types::Error> for NetworkError {
    fn from(e: http_types::Error) -> Self {
        let text = e.to_string();
        let cause: Box<dyn std::error::Error + Send + Sync> = e.into_inner().into();
        NetworkError { text, cause: Some(Arc::from(cause)) }
    }
}

impl From<std::io::Error> for NetworkError {
    fn from(e: std::io::Error) -> Self {
        NetworkError::from_error(e)
    }
}

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
    Decode(String),
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
}
