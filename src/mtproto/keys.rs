//! Telegram servers' RSA public keys: PEM parsing (PKCS#1 and SPKI, with a bounds-checked DER
//! reader) and the MTProto key fingerprint (pure).

use base64::Engine as _;
use grammers_tl_types::Serializable;
use num_bigint::BigUint;
use sha1::{Digest, Sha1};

/// Telegram's production server key modulus, decimal, as grammers-mtproto 0.11.0 hard-codes it
/// (`authentication.rs`, fingerprint -3414540481677951611).
const PRODUCTION_N: &str = "29379598170669337022986177149456128565388431120058863768162556424047512191330847455146576344487764408661701890505066208632169112269581063774293102577308490531282748465986139880977280302242772832972539403531316010870401287642763009136156734339538042419388722777357134487746169093539093850251243897188928735903389451772730245253062963384108812842079887538976360465290946139638691491496062099570836476454855996319192747663615955633778034897140982517446405334423701359108810182097749467210509584293428076654573384828809574217079944388301239431309115013843331317877374435868468779972014486325557807783825502498215169806323";
/// Telegram's test-DC server key modulus, decimal (grammers-mtproto 0.11.0, fingerprint -5595554452916591101).
const TEST_N: &str = "25342889448840415564971689590713473206898847759084779052582026594546022463853940585885215951168491965708222649399180603818074200620463776135424884632162512403163793083921641631564740959529419359595852941166848940585952337613333022396096584117954892216031229237302943701877588456738335398602461675225081791820393153757504952636234951323237820036543581047826906120927972487366805292115792231423684261262330394324750785450942589751755390156647751460719351439969059949569615302809050721500330239005077889855323917509948255722081644689442127297605422579707142646660768825302832201908302295573257427896031830742328565032949";
/// Both built-in keys use the usual public exponent.
const BUILTIN_E: &str = "65537";
/// A PEM file larger than this is not a public key (a 4096-bit SPKI key is about 800 bytes).
const MAX_PEM_LEN: usize = 16 * 1024;
/// RSA_PAD (`rsa::encrypt_hashed`) produces a 256-byte block and retries until it is below `n`:
/// only a 2048-bit modulus keeps that loop short, so other sizes are refused.
const MODULUS_LEN: usize = 256;
/// An exponent longer than this is not a public exponent anyone uses.
const MAX_EXPONENT_LEN: usize = 8;
/// `rsaEncryption`, 1.2.840.113549.1.1.1, DER-encoded (RFC 8017 appendix C).
const RSA_ENCRYPTION_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// One server public key: modulus and exponent (big-endian, no leading zeros) and its fingerprint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ServerKey {
    n: Vec<u8>,
    e: Vec<u8>,
    fingerprint: i64,
}

/// Why a PEM file is not a usable server key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum KeyError {
    /// Over `MAX_PEM_LEN` bytes.
    TooLong,
    /// No `-----BEGIN RSA PUBLIC KEY-----` or `-----BEGIN PUBLIC KEY-----` block.
    NoPemBlock,
    /// The block's body is not base64.
    BadBase64,
    /// The DER inside is malformed; the text says where.
    BadDer(&'static str),
    /// An SPKI key of another algorithm than RSA.
    NotRsa,
    /// The modulus is not 2048 bits.
    WrongSize { bits: usize },
    /// The exponent is zero, even or too long.
    BadExponent,
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::TooLong => write!(f, "larger than {MAX_PEM_LEN} bytes"),
            KeyError::NoPemBlock => f.write_str("no BEGIN RSA PUBLIC KEY or BEGIN PUBLIC KEY block"),
            KeyError::BadBase64 => f.write_str("the PEM body is not base64"),
            KeyError::BadDer(what) => write!(f, "malformed DER: {what}"),
            KeyError::NotRsa => f.write_str("not an RSA key"),
            KeyError::WrongSize { bits } => write!(f, "a {bits}-bit modulus, MTProto needs 2048 bits"),
            KeyError::BadExponent => f.write_str("the public exponent is zero, even or too long"),
        }
    }
}

impl ServerKey {
    /// A key from its modulus and exponent (big-endian); leading zero bytes are dropped.
    pub(crate) fn new(n: &[u8], e: &[u8]) -> Result<ServerKey, KeyError> {
        let (n, e) = (strip_zeros(n), strip_zeros(e));
        if n.len() != MODULUS_LEN {
            return Err(KeyError::WrongSize { bits: bit_len(n) });
        }
        if e.is_empty() || e.len() > MAX_EXPONENT_LEN || e[e.len() - 1] & 1 == 0 {
            return Err(KeyError::BadExponent);
        }
        Ok(ServerKey { n: n.to_vec(), e: e.to_vec(), fingerprint: fingerprint(n, e) })
    }

    /// The MTProto fingerprint the server lists in `resPQ`.
    pub(crate) fn fingerprint(&self) -> i64 {
        self.fingerprint
    }

    /// The key in the form grammers-crypto's RSA_PAD takes (decimal strings).
    pub(crate) fn rsa_key(&self) -> grammers_crypto::rsa::Key {
        let n = BigUint::from_bytes_be(&self.n).to_str_radix(10);
        let e = BigUint::from_bytes_be(&self.e).to_str_radix(10);
        // Decimal digits from `to_str_radix(10)` always parse back.
        grammers_crypto::rsa::Key::new(&n, &e).expect("decimal digits parse")
    }
}

/// Telegram's production key and its test-DC key.
pub(crate) fn builtin() -> [ServerKey; 2] {
    [decimal_key(PRODUCTION_N), decimal_key(TEST_N)]
}

fn decimal_key(n: &str) -> ServerKey {
    let n = BigUint::parse_bytes(n.as_bytes(), 10).expect("a built-in modulus is decimal");
    let e = BigUint::parse_bytes(BUILTIN_E.as_bytes(), 10).expect("a built-in exponent is decimal");
    ServerKey::new(&n.to_bytes_be(), &e.to_bytes_be()).expect("a built-in key is 2048 bits")
}

/// The fingerprint: the lower 64 bits (little endian: SHA1's last 8 bytes) of
/// SHA1(TL bytes(n) ‖ TL bytes(e)), core.telegram.org/mtproto/auth_key#dh-exchange-initiation.
pub(crate) fn fingerprint(n: &[u8], e: &[u8]) -> i64 {
    let mut hasher = Sha1::new();
    // TL `bytes` of each (length prefix, padding to 4), as grammers serializes a byte string.
    hasher.update(n.to_bytes());
    hasher.update(e.to_bytes());
    let sha: [u8; 20] = hasher.finalize().into();
    let mut low = [0u8; 8];
    low.copy_from_slice(&sha[12..20]);
    i64::from_le_bytes(low)
}

/// A PEM file with one RSA public key, PKCS#1 (`RSA PUBLIC KEY`) or SPKI (`PUBLIC KEY`).
pub(crate) fn parse_pem(text: &str) -> Result<ServerKey, KeyError> {
    if text.len() > MAX_PEM_LEN {
        return Err(KeyError::TooLong);
    }
    let (label, body) = pem_block(text).ok_or(KeyError::NoPemBlock)?;
    let der = base64::engine::general_purpose::STANDARD.decode(body).map_err(|_| KeyError::BadBase64)?;
    match label {
        "RSA PUBLIC KEY" => parse_pkcs1(&der),
        _ => parse_spki(&der),
    }
}

/// The label and the base64 body (whitespace removed) of the first public-key block.
fn pem_block(text: &str) -> Option<(&'static str, String)> {
    for label in ["RSA PUBLIC KEY", "PUBLIC KEY"] {
        let begin = format!("-----BEGIN {label}-----");
        let end = format!("-----END {label}-----");
        if let Some(start) = text.find(&begin) {
            let rest = &text[start + begin.len()..];
            let stop = rest.find(&end)?;
            let body: String = rest[..stop].chars().filter(|c| !c.is_ascii_whitespace()).collect();
            return Some((label, body));
        }
    }
    None
}

/// PKCS#1 `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }` (RFC 8017 A.1.1).
fn parse_pkcs1(der: &[u8]) -> Result<ServerKey, KeyError> {
    let mut outer = Der::new(der);
    let mut seq = Der::new(outer.expect(TAG_SEQUENCE)?);
    outer.end()?;
    let n = seq.integer()?;
    let e = seq.integer()?;
    seq.end()?;
    ServerKey::new(n, e)
}

/// SPKI `SEQUENCE { SEQUENCE { OID, params }, BIT STRING }` (RFC 5280 4.1) around a PKCS#1 key.
fn parse_spki(der: &[u8]) -> Result<ServerKey, KeyError> {
    let mut outer = Der::new(der);
    let mut spki = Der::new(outer.expect(TAG_SEQUENCE)?);
    outer.end()?;
    let mut algorithm = Der::new(spki.expect(TAG_SEQUENCE)?);
    if algorithm.expect(TAG_OID)? != RSA_ENCRYPTION_OID {
        return Err(KeyError::NotRsa);
    }
    let bits = spki.expect(TAG_BIT_STRING)?;
    spki.end()?;
    match bits.split_first() {
        Some((0, key)) => parse_pkcs1(key),
        _ => Err(KeyError::BadDer("a BIT STRING with unused bits")),
    }
}

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;

/// A DER reader over a slice: every read checks its bounds and fails with an error, never a panic.
struct Der<'a> {
    rest: &'a [u8],
}

impl<'a> Der<'a> {
    fn new(bytes: &'a [u8]) -> Der<'a> {
        Der { rest: bytes }
    }

    /// The contents of the next element, which must carry `tag`.
    fn expect(&mut self, tag: u8) -> Result<&'a [u8], KeyError> {
        let (&got, rest) = self.rest.split_first().ok_or(KeyError::BadDer("truncated"))?;
        if got != tag {
            return Err(KeyError::BadDer("unexpected tag"));
        }
        let (&first, mut rest) = rest.split_first().ok_or(KeyError::BadDer("truncated length"))?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            // Long form: 1 to 4 length bytes (DER keys here are far below 4 GiB).
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return Err(KeyError::BadDer("bad length"));
            }
            let len = rest[..count].iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            rest = &rest[count..];
            len
        };
        if rest.len() < len {
            return Err(KeyError::BadDer("length past the end"));
        }
        let (contents, after) = rest.split_at(len);
        self.rest = after;
        Ok(contents)
    }

    /// A non-negative INTEGER's magnitude, big-endian.
    fn integer(&mut self) -> Result<&'a [u8], KeyError> {
        let bytes = self.expect(TAG_INTEGER)?;
        match bytes.first() {
            None => Err(KeyError::BadDer("empty INTEGER")),
            Some(b) if b & 0x80 != 0 => Err(KeyError::BadDer("negative INTEGER")),
            Some(_) => Ok(bytes),
        }
    }

    /// Nothing may follow.
    fn end(&self) -> Result<(), KeyError> {
        if self.rest.is_empty() { Ok(()) } else { Err(KeyError::BadDer("trailing bytes")) }
    }
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

fn bit_len(bytes: &[u8]) -> usize {
    match bytes.first() {
        None => 0,
        Some(b) => bytes.len() * 8 - b.leading_zeros() as usize,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn der(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match contents.len() {
            len if len < 0x80 => out.push(len as u8),
            len if len < 0x100 => out.extend([0x81, len as u8]),
            len => out.extend([0x82, (len >> 8) as u8, len as u8]),
        }
        out.extend_from_slice(contents);
        out
    }

    fn pkcs1(n: &[u8], e: &[u8]) -> Vec<u8> {
        let mut n_int = vec![0];
        n_int.extend_from_slice(n);
        let mut body = der(TAG_INTEGER, &n_int);
        body.extend(der(TAG_INTEGER, e));
        der(TAG_SEQUENCE, &body)
    }

    fn pem(label: &str, der: &[u8]) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
        format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
    }

    fn production() -> ServerKey {
        builtin()[0].clone()
    }

    #[test]
    fn the_fingerprints_of_the_built_in_keys_are_telegrams() {
        let [production, test] = builtin();
        assert_eq!(production.fingerprint(), -3414540481677951611);
        assert_eq!(test.fingerprint(), -5595554452916591101);
    }

    #[test]
    fn a_pkcs1_pem_gives_the_same_key_as_its_numbers() {
        let key = production();
        let text = pem("RSA PUBLIC KEY", &pkcs1(&key.n, &key.e));
        assert_eq!(parse_pem(&text), Ok(key));
    }

    #[test]
    fn an_spki_pem_gives_the_same_key_as_its_numbers() {
        let key = production();
        let mut algorithm = der(TAG_OID, RSA_ENCRYPTION_OID);
        algorithm.extend([0x05, 0x00]);
        let mut bits = vec![0];
        bits.extend(pkcs1(&key.n, &key.e));
        let mut body = der(TAG_SEQUENCE, &algorithm);
        body.extend(der(TAG_BIT_STRING, &bits));
        let text = format!("comment line\n{}", pem("PUBLIC KEY", &der(TAG_SEQUENCE, &body)));
        assert_eq!(parse_pem(&text), Ok(key));
    }

    #[test]
    fn an_spki_pem_of_another_algorithm_is_not_rsa() {
        let mut body = der(TAG_SEQUENCE, &der(TAG_OID, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]));
        body.extend(der(TAG_BIT_STRING, &[0, 4, 1, 2]));
        assert_eq!(parse_pem(&pem("PUBLIC KEY", &der(TAG_SEQUENCE, &body))), Err(KeyError::NotRsa));
    }

    #[test]
    fn a_small_modulus_or_an_even_exponent_is_refused() {
        let key = production();
        assert_eq!(
            parse_pem(&pem("RSA PUBLIC KEY", &pkcs1(&key.n[..128], &key.e))),
            Err(KeyError::WrongSize { bits: 1024 })
        );
        assert_eq!(parse_pem(&pem("RSA PUBLIC KEY", &pkcs1(&key.n, &[1, 0]))), Err(KeyError::BadExponent));
    }

    #[test]
    fn a_file_without_a_block_or_with_bad_base64_says_so() {
        assert_eq!(parse_pem("hello"), Err(KeyError::NoPemBlock));
        assert_eq!(
            parse_pem("-----BEGIN RSA PUBLIC KEY-----\n!!\n-----END RSA PUBLIC KEY-----"),
            Err(KeyError::BadBase64)
        );
        assert_eq!(parse_pem("-----BEGIN RSA PUBLIC KEY-----\nMAA=\n"), Err(KeyError::NoPemBlock));
    }

    #[test]
    fn truncated_der_is_an_error() {
        let key = production();
        let full = pkcs1(&key.n, &key.e);
        for cut in 0..full.len() {
            assert!(parse_pkcs1(&full[..cut]).is_err(), "cut at {cut}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_der_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse_pkcs1(&bytes);
            let _ = parse_spki(&bytes);
        }

        #[test]
        fn a_mutated_key_never_panics(at in 0usize..300, byte in any::<u8>()) {
            let key = production();
            let mut bytes = pkcs1(&key.n, &key.e);
            let at = at % bytes.len();
            bytes[at] = byte;
            let _ = parse_pkcs1(&bytes);
        }

        #[test]
        fn arbitrary_text_never_panics(text in "(-----BEGIN (RSA )?PUBLIC KEY-----)?[A-Za-z0-9+/=\n]{0,80}(-----END (RSA )?PUBLIC KEY-----)?") {
            let _ = parse_pem(&text);
        }
    }
}
