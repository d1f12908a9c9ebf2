//! The fake DC's RSA key (a test-only key pair under tests/fixtures) and the server half of the
//! RSA step of the handshake: both RSA_PAD (current clients) and the older sha1-prefixed padding.

use grammers_crypto::aes;
use grammers_tl_types::{Cursor, Deserializable, Serializable, enums};
use num_bigint::BigUint;
use sha1::{Digest, Sha1};
use sha2::Sha256;

/// Path of the PKCS#1 public key ("BEGIN RSA PUBLIC KEY") a client under test must trust. It is a
/// TEST key made with openssl for these tests only; it protects nothing.
pub const PUBLIC_KEY_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fake_dc_rsa.pub.pem");
/// The test key's PKCS#1 PEM, as `TELEGRAM_SERVER_KEY` or Telethon's `rsa.add_key` take it.
pub const PUBLIC_KEY_PEM: &str = include_str!("../../fixtures/fake_dc_rsa.pub.pem");
const PRIVATE_KEY_PEM: &str = include_str!("../../fixtures/fake_dc_rsa.pem");

/// The private key: modulus, public and private exponent, and Telegram's fingerprint.
pub(super) struct RsaKey {
    pub(super) n: BigUint,
    pub(super) e: BigUint,
    d: BigUint,
    pub(super) fingerprint: i64,
}

impl RsaKey {
    /// Parses the committed PKCS#1 private key (SEQUENCE { version, n, e, d, ... }).
    pub(super) fn load() -> RsaKey {
        let der = pem_body(PRIVATE_KEY_PEM);
        let mut ints = der_integers(&der);
        let (_version, n, e, d) = (ints.remove(0), ints.remove(0), ints.remove(0), ints.remove(0));
        let (n, e, d) = (BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e), BigUint::from_bytes_be(&d));
        let fingerprint = fingerprint(&n, &e);
        RsaKey { n, e, d, fingerprint }
    }

    /// Decrypts `encrypted_data` of req_DH_params and returns the client's p_q_inner_data, trying
    /// RSA_PAD first (its SHA256 check is conclusive) and then the sha1(data) ‖ data ‖ random form
    /// that Telethon 1.x still sends.
    pub(super) fn decrypt_inner(&self, encrypted: &[u8]) -> Option<enums::PQInnerData> {
        if encrypted.len() != 256 {
            return None;
        }
        let c = BigUint::from_bytes_be(encrypted);
        if c >= self.n {
            return None;
        }
        let m = left_pad(&c.modpow(&self.d, &self.n).to_bytes_be(), 256);
        rsa_pad_inner(&m).or_else(|| old_inner(&m))
    }
}

/// Telegram's key fingerprint: the low 64 bits of SHA1(TL bytes(n) ‖ TL bytes(e)), little endian.
pub(super) fn fingerprint(n: &BigUint, e: &BigUint) -> i64 {
    // TL `bytes` of each (length prefix, padding to 4).
    let mut data = n.to_bytes_be().to_bytes();
    data.extend(e.to_bytes_be().to_bytes());
    let sha: [u8; 20] = Sha1::digest(&data).into();
    i64::from_le_bytes(sha[12..20].try_into().unwrap_or([0; 8]))
}

fn rsa_pad_inner(m: &[u8]) -> Option<enums::PQInnerData> {
    // core.telegram.org/mtproto/auth_key, 4.1 RSA_PAD, undone step by step.
    let (temp_key_xor, aes_encrypted) = m.split_at(32);
    let hash: [u8; 32] = Sha256::digest(aes_encrypted).into();
    let mut temp_key = [0u8; 32];
    for (i, k) in temp_key.iter_mut().enumerate() {
        *k = temp_key_xor[i] ^ hash[i];
    }
    let mut data_with_hash = aes_encrypted.to_vec();
    aes::ige_decrypt(&mut data_with_hash, &temp_key, &[0u8; 32]);
    let data_with_padding: Vec<u8> = data_with_hash[..192].iter().rev().copied().collect();
    let mut hasher = Sha256::new();
    hasher.update(temp_key);
    hasher.update(&data_with_padding);
    let check: [u8; 32] = hasher.finalize().into();
    if check[..] != data_with_hash[192..224] {
        return None;
    }
    enums::PQInnerData::deserialize(&mut Cursor::from_slice(&data_with_padding)).ok()
}

fn old_inner(m: &[u8]) -> Option<enums::PQInnerData> {
    // m = 0 ‖ sha1(data) ‖ data ‖ random (255 bytes of payload below a 2048-bit modulus).
    let body = m.get(21..)?;
    let mut cursor = Cursor::from_slice(body);
    let inner = enums::PQInnerData::deserialize(&mut cursor).ok()?;
    let sha: [u8; 20] = Sha1::digest(&body[..cursor.pos()]).into();
    (sha[..] == m[1..21]).then_some(inner)
}

/// Big-endian bytes left-padded with zeros to `len`.
pub(super) fn left_pad(bytes: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len.saturating_sub(bytes.len())];
    out.extend(bytes);
    out
}

fn pem_body(pem: &str) -> Vec<u8> {
    use base64::Engine;
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(b64.trim()).expect("the test key's PEM is base64")
}

/// The INTEGERs of a DER SEQUENCE, in order (enough of DER for a PKCS#1 key).
fn der_integers(der: &[u8]) -> Vec<Vec<u8>> {
    let (tag, body, _) = der_item(der).expect("the test key is a DER SEQUENCE");
    assert_eq!(tag, 0x30, "the test key is a DER SEQUENCE");
    let mut rest = body;
    let mut out = Vec::new();
    while let Some((tag, value, next)) = der_item(rest) {
        if tag == 0x02 {
            let start = value.iter().position(|&b| b != 0).unwrap_or(value.len());
            out.push(value[start..].to_vec());
        }
        rest = next;
    }
    out
}

fn der_item(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *der.first()?;
    let first = *der.get(1)? as usize;
    let (len, head) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        let len = der.get(2..2 + n)?.iter().fold(0usize, |acc, &b| (acc << 8) | b as usize);
        (len, 2 + n)
    };
    let body = der.get(head..head + len)?;
    Some((tag, body, &der[head + len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inner() -> enums::PQInnerData {
        enums::PQInnerData::Data(grammers_tl_types::types::PQInnerData {
            pq: vec![1, 2, 3, 4, 5, 6, 7, 8],
            p: vec![1, 2, 3, 4],
            q: vec![5, 6, 7, 8],
            nonce: [7; 16],
            server_nonce: [9; 16],
            new_nonce: [11; 32],
        })
    }

    #[test]
    fn grammers_rsa_pad_encryption_decrypts_to_the_inner_data() {
        use grammers_tl_types::Serializable;
        let key = RsaKey::load();
        let public = grammers_crypto::rsa::Key::new(&key.n.to_string(), &key.e.to_string()).unwrap();
        let random: [u8; 224] = std::array::from_fn(|i| (i * 7 + 3) as u8);
        let encrypted = grammers_crypto::rsa::encrypt_hashed(&inner().to_bytes(), &public, &random);
        assert_eq!(key.decrypt_inner(&encrypted), Some(inner()));
        let mut tampered = encrypted.clone();
        tampered[100] ^= 1;
        assert_eq!(key.decrypt_inner(&tampered), None);
    }

    #[test]
    fn the_sha1_prefixed_encryption_telethon_sends_decrypts_to_the_inner_data() {
        use grammers_tl_types::Serializable;
        let key = RsaKey::load();
        // Telethon 1.x rsa.encrypt: sha1(data) ‖ data ‖ random up to 255 bytes, raw RSA.
        let data = inner().to_bytes();
        let mut block: Vec<u8> = Sha1::digest(&data).to_vec();
        block.extend(&data);
        block.resize(255, 0x5a);
        let c = BigUint::from_bytes_be(&block).modpow(&key.e, &key.n);
        assert_eq!(key.decrypt_inner(&left_pad(&c.to_bytes_be(), 256)), Some(inner()));
    }

    #[test]
    fn the_public_pem_matches_the_private_key() {
        let key = RsaKey::load();
        let public = der_integers(&pem_body(PUBLIC_KEY_PEM));
        assert_eq!(BigUint::from_bytes_be(&public[0]), key.n);
        assert_eq!(BigUint::from_bytes_be(&public[1]), key.e);
    }
}
