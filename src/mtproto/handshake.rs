//! The auth key handshake (core.telegram.org/mtproto/auth_key) as a sans-IO state machine on
//! grammers-crypto's primitives, accepting any listed server key; randomness and time are inputs.

use grammers_crypto::{AuthKey, aes, factorize, generate_key_data_from_nonce, rsa};
use grammers_tl_types::{self as tl, Cursor, Deserializable, Serializable};
use num_bigint::BigUint;
use sha1::{Digest, Sha1};

use super::keys::ServerKey;

/// Random bytes for step 2: the new nonce (32) and RSA_PAD's padding and temp key (224).
pub(crate) const STEP2_RANDOM: usize = 32 + 224;
/// Random bytes for step 3: the DH secret `b` (256) and the AES padding (16).
pub(crate) const STEP3_RANDOM: usize = 256 + 16;
/// `dh_prime` must be a 2048-bit number (core.telegram.org/mtproto/auth_key, step 5 checks).
const DH_PRIME_LEN: usize = 256;
/// The answer's plain text: a SHA1, `server_DH_inner_data` (~580 B with a 2048-bit prime), padding.
const MAX_ANSWER_LEN: usize = 1024;

/// Why a handshake failed; the connection is dropped and may be retried from step 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandshakeError {
    /// A server answer did not parse as the expected TL type.
    Malformed(&'static str),
    /// The client nonce came back different.
    Nonce,
    /// The server nonce changed during the exchange.
    ServerNonce,
    /// `pq` is not 8 bytes or has no two-factor split.
    BadPq,
    /// None of the server's fingerprints is an accepted key.
    UnknownFingerprints(Vec<i64>),
    /// `server_DH_params_fail`.
    DhParamsFail,
    /// The encrypted answer is not a whole number of AES blocks or is too short or too long.
    BadAnswerLen(usize),
    /// The answer's SHA1 does not match its contents.
    AnswerHash,
    /// `dh_prime` is not 2048 bits, or `g` not in 2..=7, or `g_a`/`g_b` out of the safe range.
    BadDhParams(&'static str),
    /// `new_nonce_hash` mismatch in the final answer.
    NewNonceHash,
    /// `dh_gen_retry` or `dh_gen_fail`: start again.
    DhGenNotOk,
}

impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandshakeError::Malformed(what) => write!(f, "malformed {what}"),
            HandshakeError::Nonce => f.write_str("the nonce came back changed"),
            HandshakeError::ServerNonce => f.write_str("the server nonce changed"),
            HandshakeError::BadPq => f.write_str("pq is not a product of two factors"),
            HandshakeError::UnknownFingerprints(list) => {
                write!(f, "no accepted server key among fingerprints {list:?}")
            }
            HandshakeError::DhParamsFail => f.write_str("server_DH_params_fail"),
            HandshakeError::BadAnswerLen(len) => write!(f, "encrypted answer of {len} bytes"),
            HandshakeError::AnswerHash => f.write_str("the DH answer's SHA1 does not match"),
            HandshakeError::BadDhParams(what) => write!(f, "unsafe DH parameters: {what}"),
            HandshakeError::NewNonceHash => f.write_str("new_nonce_hash mismatch"),
            HandshakeError::DhGenNotOk => f.write_str("dh_gen_retry or dh_gen_fail"),
        }
    }
}

impl std::error::Error for HandshakeError {}

/// After step 1: waiting for `resPQ`.
pub(crate) struct Step1 {
    nonce: [u8; 16],
}

/// After step 2: waiting for `server_DH_params`.
pub(crate) struct Step2 {
    nonce: [u8; 16],
    server_nonce: [u8; 16],
    new_nonce: [u8; 32],
}

/// After step 3: waiting for `dh_gen_ok`.
pub(crate) struct Step3 {
    nonce: [u8; 16],
    server_nonce: [u8; 16],
    new_nonce: [u8; 32],
    auth_key: [u8; 256],
    time_offset: i32,
}

/// The new auth key and what the encrypted session starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Finished {
    /// The 2048-bit auth key.
    pub(crate) auth_key: [u8; 256],
    /// Server time minus local time, seconds.
    pub(crate) time_offset: i32,
    /// `new_nonce[0..8] XOR server_nonce[0..8]`.
    pub(crate) first_salt: i64,
}

/// Step 1: `req_pq_multi` with a random nonce.
pub(crate) fn step1(random: &[u8; 16]) -> (tl::functions::ReqPqMulti, Step1) {
    (tl::functions::ReqPqMulti { nonce: *random }, Step1 { nonce: *random })
}

/// Step 2: check `resPQ`, split `pq`, pick the first listed fingerprint among `keys` and send
/// `req_DH_params` with `p_q_inner_data` under RSA_PAD.
pub(crate) fn step2(
    state: Step1,
    answer: &[u8],
    keys: &[ServerKey],
    random: &[u8; STEP2_RANDOM],
) -> Result<(tl::functions::ReqDhParams, Step2), HandshakeError> {
    let tl::enums::ResPq::Pq(res) =
        tl::enums::ResPq::from_bytes(answer).map_err(|_| HandshakeError::Malformed("resPQ"))?;
    check(res.nonce == state.nonce, HandshakeError::Nonce)?;
    let pq = u64::from_be_bytes(res.pq.as_slice().try_into().map_err(|_| HandshakeError::BadPq)?);
    let (p, q) = split_pq(pq)?;
    let key = res
        .server_public_key_fingerprints
        .iter()
        .find_map(|&fp| keys.iter().find(|k| k.fingerprint() == fp))
        .ok_or_else(|| HandshakeError::UnknownFingerprints(res.server_public_key_fingerprints.clone()))?;
    let mut new_nonce = [0u8; 32];
    new_nonce.copy_from_slice(&random[..32]);
    let mut pad = [0u8; 224];
    pad.copy_from_slice(&random[32..]);
    // Telegram answers -404 unless p and q use the fewest bytes (as grammers notes).
    let (p, q) = (minimal_be(p), minimal_be(q));
    let inner = tl::enums::PQInnerData::Data(tl::types::PQInnerData {
        pq: res.pq.clone(),
        p: p.clone(),
        q: q.clone(),
        nonce: state.nonce,
        server_nonce: res.server_nonce,
        new_nonce,
    })
    .to_bytes();
    let encrypted_data = rsa::encrypt_hashed(&inner, &key.rsa_key(), &pad);
    let request = tl::functions::ReqDhParams {
        nonce: state.nonce,
        server_nonce: res.server_nonce,
        p,
        q,
        public_key_fingerprint: key.fingerprint(),
        encrypted_data,
    };
    Ok((request, Step2 { nonce: state.nonce, server_nonce: res.server_nonce, new_nonce }))
}

/// Step 3: decrypt and check `server_DH_inner_data`, check the DH parameters, answer with
/// `set_client_DH_params` carrying `g_b`. `now` is the local Unix time in seconds.
pub(crate) fn step3(
    state: Step2,
    answer: &[u8],
    random: &[u8; STEP3_RANDOM],
    now: i32,
) -> Result<(tl::functions::SetClientDhParams, Step3), HandshakeError> {
    let params = match tl::enums::ServerDhParams::from_bytes(answer)
        .map_err(|_| HandshakeError::Malformed("server_DH_params"))?
    {
        tl::enums::ServerDhParams::Ok(params) => params,
        tl::enums::ServerDhParams::Fail(fail) => {
            check(fail.nonce == state.nonce, HandshakeError::Nonce)?;
            check(fail.server_nonce == state.server_nonce, HandshakeError::ServerNonce)?;
            check(fail.new_nonce_hash[..] == sha1(&[&state.new_nonce])[4..], HandshakeError::NewNonceHash)?;
            return Err(HandshakeError::DhParamsFail);
        }
    };
    check(params.nonce == state.nonce, HandshakeError::Nonce)?;
    check(params.server_nonce == state.server_nonce, HandshakeError::ServerNonce)?;
    let inner = decrypt_inner(&state, params.encrypted_answer)?;
    check(inner.nonce == state.nonce, HandshakeError::Nonce)?;
    check(inner.server_nonce == state.server_nonce, HandshakeError::ServerNonce)?;
    let (g_b, gab) = exchange(&inner, &random[..256])?;
    let client = tl::enums::ClientDhInnerData::Data(tl::types::ClientDhInnerData {
        nonce: state.nonce,
        server_nonce: state.server_nonce,
        retry_id: 0,
        g_b,
    })
    .to_bytes();
    let mut data = Vec::with_capacity(20 + client.len() + 16);
    data.extend_from_slice(&sha1(&[&client]));
    data.extend_from_slice(&client);
    // Padding from the given randomness (AES-IGE needs whole blocks), so tests are reproducible.
    let pad = (16 - data.len() % 16) % 16;
    data.extend_from_slice(&random[256..256 + pad]);
    let (key, iv) = generate_key_data_from_nonce(&state.server_nonce, &state.new_nonce);
    aes::ige_encrypt(&mut data, &key, &iv);
    let mut auth_key = [0u8; 256];
    auth_key[256 - gab.len()..].copy_from_slice(&gab);
    let request =
        tl::functions::SetClientDhParams { nonce: state.nonce, server_nonce: state.server_nonce, encrypted_data: data };
    let time_offset = inner.server_time.wrapping_sub(now);
    Ok((
        request,
        Step3 {
            nonce: state.nonce,
            server_nonce: state.server_nonce,
            new_nonce: state.new_nonce,
            auth_key,
            time_offset,
        },
    ))
}

/// `encrypted_answer` = AES-IGE(SHA1(inner) ‖ inner ‖ 0-15 bytes of padding) under the key and
/// IV derived from the nonces.
fn decrypt_inner(state: &Step2, mut answer: Vec<u8>) -> Result<tl::types::ServerDhInnerData, HandshakeError> {
    if !answer.len().is_multiple_of(16) || answer.len() < 32 || answer.len() > MAX_ANSWER_LEN {
        return Err(HandshakeError::BadAnswerLen(answer.len()));
    }
    let (key, iv) = generate_key_data_from_nonce(&state.server_nonce, &state.new_nonce);
    aes::ige_decrypt(&mut answer, &key, &iv);
    let mut cursor = Cursor::from_slice(&answer[20..]);
    let tl::enums::ServerDhInnerData::Data(inner) = tl::enums::ServerDhInnerData::deserialize(&mut cursor)
        .map_err(|_| HandshakeError::Malformed("server_DH_inner_data"))?;
    let end = 20 + cursor.pos();
    check(answer.len() - end < 16, HandshakeError::Malformed("server_DH_inner_data padding"))?;
    check(answer[..20] == sha1(&[&answer[20..end]]), HandshakeError::AnswerHash)?;
    Ok(inner)
}

/// `g_b = g^b mod p` and `g^ab`, after the checks of core.telegram.org/mtproto/auth_key
/// ("DH key exchange complete"): a 2048-bit `dh_prime`, `g` in 2..=7, and `g_a`, `g_b` within
/// `(2^(2048-64), dh_prime - 2^(2048-64))`. Whether `dh_prime` is a safe prime is not checked.
fn exchange(inner: &tl::types::ServerDhInnerData, b: &[u8]) -> Result<(Vec<u8>, Vec<u8>), HandshakeError> {
    let prime = BigUint::from_bytes_be(&inner.dh_prime);
    check(prime.bits() == DH_PRIME_LEN as u64 * 8, HandshakeError::BadDhParams("dh_prime is not 2048 bits"))?;
    check((2..=7).contains(&inner.g), HandshakeError::BadDhParams("g is not in 2..=7"))?;
    let g = BigUint::from(inner.g as u32);
    let g_a = BigUint::from_bytes_be(&inner.g_a);
    let b = BigUint::from_bytes_be(b);
    let g_b = g.modpow(&b, &prime);
    let margin = BigUint::from(1u32) << (2048 - 64);
    let high = &prime - &margin;
    check(margin < g_a && g_a < high, HandshakeError::BadDhParams("g_a out of range"))?;
    check(margin < g_b && g_b < high, HandshakeError::BadDhParams("g_b out of range"))?;
    let gab = g_a.modpow(&b, &prime);
    Ok((g_b.to_bytes_be(), gab.to_bytes_be()))
}

/// Step 4: `dh_gen_ok` with the matching `new_nonce_hash1` gives the key; `dh_gen_retry`/`fail`
/// (after the same checks) end this attempt.
pub(crate) fn finish(state: Step3, answer: &[u8]) -> Result<Finished, HandshakeError> {
    use tl::enums::SetClientDhParamsAnswer as Answer;
    let (nonce, server_nonce, hash, number) =
        match Answer::from_bytes(answer).map_err(|_| HandshakeError::Malformed("set_client_DH_params_answer"))? {
            Answer::DhGenOk(x) => (x.nonce, x.server_nonce, x.new_nonce_hash1, 1),
            Answer::DhGenRetry(x) => (x.nonce, x.server_nonce, x.new_nonce_hash2, 2),
            Answer::DhGenFail(x) => (x.nonce, x.server_nonce, x.new_nonce_hash3, 3),
        };
    check(nonce == state.nonce, HandshakeError::Nonce)?;
    check(server_nonce == state.server_nonce, HandshakeError::ServerNonce)?;
    let expected = AuthKey::from_bytes(state.auth_key).calc_new_nonce_hash(&state.new_nonce, number);
    check(hash == expected, HandshakeError::NewNonceHash)?;
    check(number == 1, HandshakeError::DhGenNotOk)?;
    let mut salt = [0u8; 8];
    for (i, byte) in salt.iter_mut().enumerate() {
        *byte = state.new_nonce[i] ^ state.server_nonce[i];
    }
    Ok(Finished { auth_key: state.auth_key, time_offset: state.time_offset, first_salt: i64::from_le_bytes(salt) })
}

/// `pq` into `(p, q)`, `p <= q`, both above 1. grammers' Pollard-Brent loops forever below 13
/// and runs ~2^32 steps on a prime, so those are refused before it runs.
fn split_pq(pq: u64) -> Result<(u64, u64), HandshakeError> {
    if pq < 1 << 16 || is_prime(pq) {
        return Err(HandshakeError::BadPq);
    }
    let (a, b) = factorize(pq);
    let (p, q) = (a.min(b), a.max(b));
    if p <= 1 || p.checked_mul(q) != Some(pq) {
        return Err(HandshakeError::BadPq);
    }
    Ok((p, q))
}

/// Deterministic Miller-Rabin for 64-bit numbers (these bases suffice below 3.3 * 10^24).
fn is_prime(n: u64) -> bool {
    const BASES: [u64; 12] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
    if n < 2 {
        return false;
    }
    if let Some(&b) = BASES.iter().find(|&&b| n.is_multiple_of(b)) {
        return n == b;
    }
    let mul = |a: u64, b: u64| ((a as u128 * b as u128) % n as u128) as u64;
    let pow = |mut base: u64, mut exp: u64| {
        let mut acc = 1u64;
        while exp > 0 {
            if exp & 1 == 1 {
                acc = mul(acc, base);
            }
            base = mul(base, base);
            exp >>= 1;
        }
        acc
    };
    let (d, s) = ((n - 1) >> (n - 1).trailing_zeros(), (n - 1).trailing_zeros());
    BASES.iter().all(|&a| {
        let mut x = pow(a, d);
        if x == 1 || x == n - 1 {
            return true;
        }
        (1..s).any(|_| {
            x = mul(x, x);
            x == n - 1
        })
    })
}

fn minimal_be(value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(7);
    bytes[first..].to_vec()
}

fn check(ok: bool, error: HandshakeError) -> Result<(), HandshakeError> {
    if ok { Ok(()) } else { Err(error) }
}

/// SHA1 of the parts, in order.
fn sha1(parts: &[&[u8]]) -> [u8; 20] {
    let mut hasher = Sha1::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::mtproto::keys;
    use grammers_crypto::hex::from_hex;

    // A recorded handshake with Telegram's test-DC key (the server lists its fingerprint first):
    // the fixed randomness, requests and server answers of grammers-mtproto 0.11.0's
    // `emulate_successful_auth_key_gen_flow` test.
    pub(crate) const STEP1_RANDOM: &str = "4e44b426241e8b839153122d44585ac6";
    pub(crate) const STEP1_REQUEST: &str = "f18e7ebe4e44b426241e8b839153122d44585ac6";
    pub(crate) const STEP1_ANSWER: &str = "632416054e44b426241e8b839153122d44585ac665ba0b393e1094329eda2c42d62833030819546f942a11278d00000015c4b51c0300000003268d20df9858b2029f4ba16d109296216be86c022bb4c3";
    pub(crate) const STEP2_RANDOM_HEX: &str = "b9dce68b05ef760fa7edfefeff45aaa8afbac11dc3d333bc3132fd16ab816d63ed93c5bef9d0452add8164a2d5df5804277ee5a06fd4523372707ddbd8106d03766d76fb8bec672bdcddcd225f7766b83663b32a0fda1055175c5582edd10430937666be4fd15510ba5f19aa645973b6e4e9270efac25b58741635fe84dd0af07a4686f750bf34de1073f1e7fa24e9b01a76e537504bd52b8195e5b78c9af2baa982454e1a99eeae0f35944089ad12726d2433a2c18c9698a725364f9c4e939ce4f1aee3891e58b85de90c88cc2eaef5db1841a594c0edc13cb4b7480a7e564fe892f82282d03ed07eb5ceac6644247bb137241166fe194756dfcffd68c6c345";
    pub(crate) const STEP2_REQUEST: &str = "bee412d74e44b426241e8b839153122d44585ac665ba0b393e1094329eda2c42d62833030444b2e50d000000045e63ac8100000003268d20df9858b2fe0001007ec37ca8a84aa1b26d21bc8ac28b261ffa57b44e29f0d6722261e9b436059cc80ae9768a3ae4fbefe46cfbb76b88a1f80a1ebd95ae5d17bf655ed1015755e04c483a01cf4094a0830864054a71a0ac8a5ec34d6b24a69bf66c9654b32a8c65b0302718351b28f72a9a49610d5259b6edb6da37acc5fedc47d1a09c58df2c7eccbfaf54dfe123ebc253d9069f74e8be128051e5d280b3c9a5e8d3c6da344cb7374a6d410d4e088cc0eda3d8b1108ba4f4a85d79fbd2758000723780bc5459f59fd1cea1b511b77cc1411781d3feb57b14a97726cf3d2146cf43e648a69ff9cb5d48a31f543bd5bc3a023cf382d86d36bbfbbcb5e4a136acee25fd8e3e597e714d";
    pub(crate) const STEP2_ANSWER: &str = "5c07e8d04e44b426241e8b839153122d44585ac665ba0b393e1094329eda2c42d6283303fe500200fd064e91012ade621b26a48ac7dc8b2c8670ed67092a00fe8c936483e4b02822c3cc655aaffe00542e311df5abdaa645b1da85ca50a6c7b0e7cc7cb2b23d42c84e288bb3b5cfe313e1ebafe19833916df4d1f58dba62e0ac49cac17a31b8b0d57d43eefda546d67e80e311c4b213adec9635c73f75a18ffb26fb71391523bd5ddfcc8be51b36d6b2552394c511ec935d53811a981baca62a2b58cbfe96f1b35e118e5e17456994aea931839925c4578f281f3f129d28026ec80224617a9ca8c615a12fba9c53e774476567f07b01a59d2e6635e39c16dc0a54679f3b54b0482f1cbeac821147d93d7365f4e23fb5794eb5fd4ffdc6456638ea32f641f49ee705e7b0da71cb75753e2f4f80d5af07edb017948f332e34a9c5886b0c86281e0e7228d5a652a9faaf819f7686c099186169aaa377c136fac57b69b7f7b383aaece652f8dcb14e0dfb23e2a65330307a74c31c508cc504450fa208eee14d8bbead1c1f90ccfc183ae1d3345c62424ea3477776204e8fe69efbb6a27b168913d3babaca30aa1c9589d6655b2ad4cd59f67e9b3957ab3270d70afab9bd488a6c5f39ca739ca8947def00cdb8812152731710f5108235775a019d3b4986d6b720b05167b4ee731a10a29fc1e03c42e99d8ff5cf64f45070c2f5ce485ea5fddc281728b6e4d0dea561c9097e3f8a54b055b0c069a9f8207520f6429eb5225c985e3379f2cf6754f56d414fcd00d502e69223b911b915978e0890a9ef128715b828bf3fda3fee6c7b9b2621d971a6f7820f89f4c4c2ab29dec00007c3ec6cead64f7f5802d5e6a4a16a185cfbfced5351fa68380e";
    pub(crate) const STEP3_RANDOM_HEX: &str = "8fc3605a4604cbb5461fdeff439c761150083cdd502550558e92c730d46c9caf0b1b2d64d2c264942c50d98694fff604fdd2bd87f2cafb719bc55e65a1f60b08809660a650721c40d56fc9c792df1d463aad1718c6924b7bdffbe395f14633d33fc38ce47c18a1561b83a5c66d29f9e292637127471c3baab0028ae42796b689e53a7f9ab5f0ee6d3fb658d847c1abca509fc4ed0d45edbb1c946488910d8d78fa0767255b57a7c3898da8d26625bde40c5a0e80b581408ecd95a17d396dc7574a8ed3cbc4c085197ffaad29c18e577eb292aa8b98caa92efd6f9536049b5a7defc861e270eca90c55b9585405cb96f3e6ea754850b09e7a59ba5fd92d357982915d39752aaa2ec16b6cbde6a6c33971";
    pub(crate) const STEP3_REQUEST: &str = "1f5f04f54e44b426241e8b839153122d44585ac665ba0b393e1094329eda2c42d6283303fe500100def448d48c608480bab65df3f8990be8011f7b415a6f8113617bea749b8b0ea6a937987b18cc4dcce8197efdcf8d6ec6af7fc3364b4945df77e4a1ae9db7acea4abcd73247edb36bde20fc969c1d55717277afe0bc31a9ee99f7d822f91fa2dc69c868a19511b162d55e0814d0292b7708b67d57eb04569349d5a20ffe85c0141fc17e9bbbaf207bef56e66decda718c52c45273f868c2eff89bb06355cd515fbfe123d719b244234867d2889c9d0e4436ba644076e5014a78af60b2f0e1b30285f4f71539bcf8c506ccafd62cfcd1b040fe5e35bb30e519ad56d753100f604e3ea5d02409d74dd3ab0861227410f1e13591cf2a638347e6c6d0bcae14e0e8753313b51daee40a67407b5cc8b213856a290a0c7b6cda9ff9c58d69faaf6a748cff05512b69f1380f7a36843edecdc764048bc16d9808f353a9caf6d49ca8b717c8f6de037518a444931a7da2b80f16d0";
    pub(crate) const STEP3_ANSWER: &str =
        "34f7cb3b4e44b426241e8b839153122d44585ac665ba0b393e1094329eda2c42d628330313b781a0de4ab6bc7ab414cbe13f9f86";
    pub(crate) const AUTH_KEY: &str = "7582e48ad36cd6eef7944ac9bd7027de9ee3202543b68850ac01e1221350f7174e6c3771c9d86b3075f777539c23d053e9da9a1510d49e8fa0ad76a016ce28bfe3543dde69959bc682dab762b95a36629a8438e65baa53cc79b551c23d555c7675a36f4ece90882ece497d28a903409b780a8a80516cb0f8534fee3a67530beb2b1929626e07c2a052c4870b18b0a626606ca05cb13668a65aee3fa32cbebf1b3a56532138cb22c017cac44a292021902eea9b9f906c6be19c9203c7bb3ebc5f1b2044d0a90cb008f7248c3ae4449e0895b6090abb04c24131c2948bd27d879ecb934e50a46671f987653385ab388e4fa1ddd4c95743111e08bf11fef1f8f739";
    pub(crate) const STEP3_NOW: i32 = 1693436740;

    pub(crate) fn fixed<const N: usize>(hex: &str) -> [u8; N] {
        from_hex(hex).try_into().unwrap()
    }

    fn recorded_step2(keys: &[ServerKey]) -> Result<(tl::functions::ReqDhParams, Step2), HandshakeError> {
        let (_, s1) = step1(&fixed(STEP1_RANDOM));
        step2(s1, &from_hex(STEP1_ANSWER), keys, &fixed(STEP2_RANDOM_HEX))
    }

    fn recorded_step3() -> Step3 {
        let (_, s2) = recorded_step2(&keys::builtin()).unwrap();
        step3(s2, &from_hex(STEP2_ANSWER), &fixed(STEP3_RANDOM_HEX), STEP3_NOW).unwrap().1
    }

    #[test]
    fn a_recorded_handshake_replays_to_the_same_requests_and_auth_key() {
        let keys = keys::builtin();
        let (request, s1) = step1(&fixed(STEP1_RANDOM));
        assert_eq!(request.to_bytes(), from_hex(STEP1_REQUEST));
        let (request, s2) = step2(s1, &from_hex(STEP1_ANSWER), &keys, &fixed(STEP2_RANDOM_HEX)).unwrap();
        assert_eq!(request.to_bytes(), from_hex(STEP2_REQUEST));
        let (request, s3) = step3(s2, &from_hex(STEP2_ANSWER), &fixed(STEP3_RANDOM_HEX), STEP3_NOW).unwrap();
        assert_eq!(request.to_bytes(), from_hex(STEP3_REQUEST));
        let finished = finish(s3, &from_hex(STEP3_ANSWER)).unwrap();
        assert_eq!(finished, Finished { auth_key: fixed(AUTH_KEY), time_offset: 0, first_salt: 4459407212920268508 });
    }

    #[test]
    fn a_server_listing_only_keys_we_do_not_accept_is_refused() {
        let production = keys::builtin()[0].clone();
        let fingerprints = tl::enums::ResPq::from_bytes(&from_hex(STEP1_ANSWER))
            .map(|tl::enums::ResPq::Pq(r)| r.server_public_key_fingerprints)
            .unwrap();
        assert_eq!(recorded_step2(&[production]).err(), Some(HandshakeError::UnknownFingerprints(fingerprints)));
    }

    #[test]
    fn a_changed_nonce_in_res_pq_is_refused() {
        let (_, s1) = step1(&[0; 16]);
        assert_eq!(
            step2(s1, &from_hex(STEP1_ANSWER), &keys::builtin(), &fixed(STEP2_RANDOM_HEX)).err(),
            Some(HandshakeError::Nonce)
        );
    }

    #[test]
    fn a_tampered_dh_answer_is_refused() {
        let mut answer = from_hex(STEP2_ANSWER);
        let at = answer.len() - 100;
        answer[at] ^= 1;
        let (_, s2) = recorded_step2(&keys::builtin()).unwrap();
        let error = step3(s2, &answer, &fixed(STEP3_RANDOM_HEX), STEP3_NOW).err().unwrap();
        assert!(matches!(error, HandshakeError::AnswerHash | HandshakeError::Malformed(_)), "{error:?}");
    }

    #[test]
    fn an_encrypted_answer_of_a_bad_length_is_refused() {
        let mut answer = from_hex(STEP2_ANSWER);
        // encrypted_answer's TL length (fe 50 02 00, after the constructor and two nonces) one
        // less: 591 bytes and one byte of TL padding, same total size.
        answer[36..40].copy_from_slice(&[0xfe, 0x4f, 0x02, 0x00]);
        let (_, s2) = recorded_step2(&keys::builtin()).unwrap();
        assert_eq!(
            step3(s2, &answer, &fixed(STEP3_RANDOM_HEX), STEP3_NOW).err(),
            Some(HandshakeError::BadAnswerLen(0x24f))
        );
    }

    #[test]
    fn a_dh_gen_answer_with_a_wrong_hash_is_refused() {
        let mut answer = from_hex(STEP3_ANSWER);
        let last = answer.len() - 1;
        answer[last] ^= 1;
        assert_eq!(finish(recorded_step3(), &answer).err(), Some(HandshakeError::NewNonceHash));
    }

    #[test]
    fn dh_gen_retry_with_a_valid_hash_ends_the_attempt() {
        let s3 = recorded_step3();
        let hash = AuthKey::from_bytes(s3.auth_key).calc_new_nonce_hash(&s3.new_nonce, 2);
        let answer = tl::enums::SetClientDhParamsAnswer::DhGenRetry(tl::types::DhGenRetry {
            nonce: s3.nonce,
            server_nonce: s3.server_nonce,
            new_nonce_hash2: hash,
        })
        .to_bytes();
        assert_eq!(finish(s3, &answer).err(), Some(HandshakeError::DhGenNotOk));
    }

    #[test]
    fn unsafe_dh_parameters_are_refused() {
        let prime = from_hex(&"c7".repeat(256));
        let inner = |g: i32, dh_prime: Vec<u8>, g_a: Vec<u8>| tl::types::ServerDhInnerData {
            nonce: [0; 16],
            server_nonce: [0; 16],
            g,
            dh_prime,
            g_a,
            server_time: 0,
        };
        let b = [0x55u8; 256];
        assert!(exchange(&inner(3, prime.clone(), vec![0x44; 256]), &b).is_ok());
        assert_eq!(
            exchange(&inner(3, prime[1..].to_vec(), vec![0x44; 255]), &b).err(),
            Some(HandshakeError::BadDhParams("dh_prime is not 2048 bits"))
        );
        assert_eq!(
            exchange(&inner(8, prime.clone(), vec![0x44; 256]), &b).err(),
            Some(HandshakeError::BadDhParams("g is not in 2..=7"))
        );
        assert_eq!(
            exchange(&inner(3, prime.clone(), vec![1]), &b).err(),
            Some(HandshakeError::BadDhParams("g_a out of range"))
        );
        assert_eq!(
            exchange(&inner(3, prime.clone(), vec![0xc7; 256]), &b).err(),
            Some(HandshakeError::BadDhParams("g_a out of range"))
        );
    }

    #[test]
    fn pq_that_cannot_be_split_is_refused_without_running_the_factorizer() {
        assert_eq!(split_pq(0), Err(HandshakeError::BadPq));
        assert_eq!(split_pq(9), Err(HandshakeError::BadPq));
        assert_eq!(split_pq(18446744073709551557), Err(HandshakeError::BadPq));
        assert_eq!(split_pq(0x17ED48941A08F981), Ok((0x494C553B, 0x53911073)));
    }

    #[test]
    fn miller_rabin_agrees_with_trial_division_on_small_numbers() {
        for n in 0u64..5000 {
            let trial = n >= 2 && (2..n).take_while(|d| d * d <= n).all(|d| n % d != 0);
            assert_eq!(is_prime(n), trial, "{n}");
        }
    }
}
