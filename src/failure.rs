//! [`Failure`]: an error shown, cloned and compared by its text that keeps the error it came from
//! as its `source()`. A connection failure, an answer that did not decode and an MTProto
//! transport failure are each one of these (`telegram::error::NetworkError`, `DecodeError`,
//! `mtproto::error::TransportError`), held by error enums that must stay `Clone` and `Eq`.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// A failure's text and, when there is one, the error it came from (shared, so the failure stays
/// `Clone` and `Send` while io, TLS and serde errors are neither `Clone` nor comparable).
#[derive(Debug, Clone)]
pub struct Failure {
    text: String,
    cause: Option<Arc<dyn Error + Send + Sync>>,
}

impl Failure {
    /// A failure from `cause`, shown as its text.
    pub fn from_error(cause: impl Error + Send + Sync + 'static) -> Failure {
        Failure { text: cause.to_string(), cause: Some(Arc::new(cause)) }
    }

    /// A failure from `cause` during `step` (`read`, a method's name, ...), shown as `step: cause`.
    pub fn during(step: &str, cause: impl Error + Send + Sync + 'static) -> Failure {
        Failure { text: format!("{step}: {cause}"), cause: Some(Arc::new(cause)) }
    }
}

/// Two failures are the same failure when they read the same.
impl PartialEq for Failure {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Failure {}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Error for Failure {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.cause.as_deref().map(|e| e as &(dyn Error + 'static))
    }
}

/// A failure with no error behind it, only what went wrong.
impl From<&str> for Failure {
    fn from(text: &str) -> Self {
        Failure { text: text.to_owned(), cause: None }
    }
}

impl From<String> for Failure {
    fn from(text: String) -> Self {
        Failure { text, cause: None }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::from_error(e)
    }
}

impl From<serde_json::Error> for Failure {
    fn from(e: serde_json::Error) -> Self {
        Failure::from_error(e)
    }
}

/// http-types' error keeps its cause as an `anyhow`-like box; the text is taken before it is
/// unwrapped, so it reads as it always did.
impl From<http_types::Error> for Failure {
    fn from(e: http_types::Error) -> Self {
        let text = e.to_string();
        let cause: Box<dyn Error + Send + Sync> = e.into_inner().into();
        Failure { text, cause: Some(Arc::from(cause)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_reads_as_its_cause_and_keeps_it() {
        let f = Failure::during("read", std::io::Error::other("reset"));
        assert_eq!(f.to_string(), "read: reset");
        assert_eq!(f.source().map(|e| e.to_string()).as_deref(), Some("reset"));
        assert_eq!(f, Failure::from("read: reset"), "compared by text");
        assert!(Failure::from("plain").source().is_none());
    }
}
