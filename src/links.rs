//! Link tokens: `base64url(link_id ‖ expires_at ‖ tag)` where the tag is the first 10 bytes of
//! HMAC-SHA256 over the id and expiry. Pure: minting and verifying take `now` and touch no
//! database; whether the link row still exists is the caller's question.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;

const TAG_LEN: usize = 10;
const RAW_LEN: usize = 8 + 8 + TAG_LEN;
/// Length of an encoded token in characters.
pub const TOKEN_LEN: usize = (RAW_LEN * 4).div_ceil(3);

/// Signs and checks tokens with one secret.
pub struct Signer {
    key: hmac::Key,
}

/// What a token says once its tag checks out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claims {
    pub link_id: u64,
    /// Unix seconds; 0 = never expires.
    pub expires_at: u64,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token of ours (wrong length, bad encoding or bad tag): 404.
    Invalid,
    /// Genuine but past its expiry: 410.
    Expired,
}

impl Signer {
    pub fn new(secret: &[u8]) -> Signer {
        Signer { key: hmac::Key::new(hmac::HMAC_SHA256, secret) }
    }

    fn tag(&self, body: &[u8; 16]) -> [u8; TAG_LEN] {
        let full = hmac::sign(&self.key, body);
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&full.as_ref()[..TAG_LEN]);
        tag
    }

    /// Mints the token for a link.
    pub fn mint(&self, claims: Claims) -> String {
        let mut raw = [0u8; RAW_LEN];
        raw[..8].copy_from_slice(&claims.link_id.to_be_bytes());
        raw[8..16].copy_from_slice(&claims.expires_at.to_be_bytes());
        let body: [u8; 16] = raw[..16].try_into().expect("16-byte prefix");
        raw[16..].copy_from_slice(&self.tag(&body));
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Checks the tag in constant time, then the expiry against `now` (unix seconds).
    pub fn verify(&self, token: &str, now: u64) -> Result<Claims, TokenError> {
        if token.len() != TOKEN_LEN {
            return Err(TokenError::Invalid);
        }
        let mut raw = [0u8; RAW_LEN];
        match URL_SAFE_NO_PAD.decode_slice(token, &mut raw) {
            Ok(RAW_LEN) => {}
            _ => return Err(TokenError::Invalid),
        }
        let body: [u8; 16] = raw[..16].try_into().expect("16-byte prefix");
        let full = hmac::sign(&self.key, &body);
        // ring's verify compares the whole MAC; we keep a truncated tag, so compare that prefix
        // without an early exit.
        let diff = full.as_ref()[..TAG_LEN].iter().zip(&raw[16..]).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff != 0 {
            return Err(TokenError::Invalid);
        }
        let claims = Claims {
            link_id: u64::from_be_bytes(raw[..8].try_into().expect("8 bytes")),
            expires_at: u64::from_be_bytes(raw[8..16].try_into().expect("8 bytes")),
        };
        if expired(claims.expires_at, now) {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

/// Whether an expiry (unix seconds, 0 = never) has passed at `now`: for the token's and for the
/// link row's, which must both be in the future.
pub fn expired(expires_at: u64, now: u64) -> bool {
    expires_at != 0 && expires_at <= now
}

/// `N` bytes from the system's secure random generator (link ids, the link secret); `None` only
/// if the OS cannot provide randomness.
pub fn random_bytes<const N: usize>() -> Option<[u8; N]> {
    let mut bytes = [0u8; N];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).ok()?;
    Some(bytes)
}

/// A new link id: random, within SQLite's signed integers, never 0.
pub fn new_link_id() -> Option<u64> {
    random_bytes::<8>().map(|b| (u64::from_be_bytes(b) >> 1).max(1))
}

/// The loggable part of a token: its first 8 characters.
pub fn token_prefix(token: &str) -> &str {
    token.get(..8).unwrap_or(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::new(b"0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn minted_token_verifies_to_its_claims() {
        let claims = Claims { link_id: 0xdead_beef_1234, expires_at: 2_000 };
        let token = signer().mint(claims);
        assert_eq!(token.len(), TOKEN_LEN);
        assert_eq!(signer().verify(&token, 1_999), Ok(claims));
    }

    #[test]
    fn token_at_or_past_expiry_is_expired() {
        let token = signer().mint(Claims { link_id: 7, expires_at: 2_000 });
        assert_eq!(signer().verify(&token, 2_000), Err(TokenError::Expired));
        assert_eq!(signer().verify(&token, 9_999), Err(TokenError::Expired));
    }

    #[test]
    fn zero_expiry_never_expires() {
        let token = signer().mint(Claims { link_id: 7, expires_at: 0 });
        assert!(signer().verify(&token, u64::MAX).is_ok());
    }

    #[test]
    fn any_changed_character_is_invalid() {
        let token = signer().mint(Claims { link_id: 42, expires_at: 0 });
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            assert_eq!(signer().verify(&tampered, 0), Err(TokenError::Invalid), "position {i}");
        }
    }

    #[test]
    fn other_secret_or_garbage_is_invalid() {
        let token = signer().mint(Claims { link_id: 42, expires_at: 0 });
        assert_eq!(Signer::new(b"another secret!!").verify(&token, 0), Err(TokenError::Invalid));
        assert_eq!(signer().verify("", 0), Err(TokenError::Invalid));
        assert_eq!(signer().verify(&"!".repeat(TOKEN_LEN), 0), Err(TokenError::Invalid));
        assert_eq!(signer().verify(&format!("{token}A"), 0), Err(TokenError::Invalid));
    }

    #[test]
    fn prefix_is_short() {
        assert_eq!(token_prefix("abcdefghijk"), "abcdefgh");
        assert_eq!(token_prefix("abc"), "abc");
    }
}
