//! The server side of the auth key exchange (core.telegram.org/mtproto/auth_key):
//! req_pq_multi → resPQ, req_DH_params → server_DH_params_ok, set_client_DH_params → dh_gen_ok.
//! The new key is stored for this DC with its first salt (new_nonce[0..8] ^ server_nonce[0..8]).

use super::keys::{RsaKey, left_pad};
use super::state::{AuthKeyEntry, Shared, TABLE_CAP, random_bytes};
use grammers_crypto::{AuthKey, aes, generate_key_data_from_nonce};
use grammers_tl_types::{Cursor, Deserializable, Identifiable, Serializable, enums, functions, types};
use num_bigint::BigUint;
use sha1::{Digest, Sha1};
use std::time::{SystemTime, UNIX_EPOCH};

/// Telegram's well-known 2048-bit safe prime (generator 3), as its servers send it.
const DH_PRIME_HEX: &str = "c71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f48198a0aa7c14058229493d22530f4dbfa336f6e0ac925139543aed44cce7c3720fd51f69458705ac68cd4fe6b6b13abdc9746512969328454f18faf8c595f642477fe96bb2a941d5bcd1d4ac8cc49880708fa9b378e3c4f3a9060bee67cf9a4a4a695811051907e162753b56b0f6b410dba74d8a84b2a14b3144e0ef1284754fd17ed950d5965b4b9dd46582db1178d169c6bc465b0d6ff9ca3928fef5b9ae4e418fc15e83ebea0f87fa9ff5eed70050ded2849f47bf959d956850ce929851f0d8115f635b105ee2e4e15d04b2454bf6f4fadf034b10403119cd8e3b92fcc5b";
const G: u32 = 3;
/// pq = P * Q: two primes just under 2^31 and 2^32, so factoring takes clients milliseconds.
const P: u64 = 2_147_483_647;
const Q: u64 = 4_294_967_291;

/// One connection's progress through the exchange.
#[derive(Default)]
pub(super) struct Handshake {
    nonce: [u8; 16],
    server_nonce: [u8; 16],
    new_nonce: [u8; 32],
    a: Option<BigUint>,
}

pub(super) fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Answers one plain (unencrypted) request body; `None` means drop the connection.
pub(super) fn answer(hs: &mut Handshake, key: &RsaKey, shared: &Shared, dc: i32, body: &[u8]) -> Option<Vec<u8>> {
    let mut cur = Cursor::from_slice(body);
    let id = u32::deserialize(&mut cur).ok()?;
    match id {
        functions::ReqPqMulti::CONSTRUCTOR_ID | functions::ReqPq::CONSTRUCTOR_ID => {
            let req = functions::ReqPqMulti::deserialize(&mut cur).ok()?;
            hs.nonce = req.nonce;
            hs.server_nonce = random_bytes(16).try_into().ok()?;
            hs.a = None;
            let res = types::ResPq {
                nonce: hs.nonce,
                server_nonce: hs.server_nonce,
                pq: (P * Q).to_be_bytes().to_vec(),
                server_public_key_fingerprints: vec![key.fingerprint],
            };
            Some(enums::ResPq::Pq(res).to_bytes())
        }
        functions::ReqDhParams::CONSTRUCTOR_ID => {
            let req = functions::ReqDhParams::deserialize(&mut cur).ok()?;
            dh_params(hs, key, req)
        }
        functions::SetClientDhParams::CONSTRUCTOR_ID => {
            let req = functions::SetClientDhParams::deserialize(&mut cur).ok()?;
            client_dh(hs, shared, dc, req)
        }
        _ => None,
    }
}

fn dh_params(hs: &mut Handshake, key: &RsaKey, req: functions::ReqDhParams) -> Option<Vec<u8>> {
    if req.nonce != hs.nonce || req.server_nonce != hs.server_nonce || req.public_key_fingerprint != key.fingerprint {
        return None;
    }
    let inner = key.decrypt_inner(&req.encrypted_data)?;
    let pq_ok =
        inner.pq() == (P * Q).to_be_bytes() && inner.p() == P.to_be_bytes()[4..] && inner.q() == Q.to_be_bytes()[4..];
    if inner.nonce() != hs.nonce || inner.server_nonce() != hs.server_nonce || !pq_ok {
        return None;
    }
    hs.new_nonce = inner.new_nonce();
    let prime = BigUint::parse_bytes(DH_PRIME_HEX.as_bytes(), 16)?;
    let a = BigUint::from_bytes_be(&random_bytes(256));
    let g_a = BigUint::from(G).modpow(&a, &prime);
    hs.a = Some(a);
    let inner = enums::ServerDhInnerData::Data(types::ServerDhInnerData {
        nonce: hs.nonce,
        server_nonce: hs.server_nonce,
        g: G as i32,
        dh_prime: prime.to_bytes_be(),
        g_a: left_pad(&g_a.to_bytes_be(), 256),
        server_time: unix_now() as i32,
    })
    .to_bytes();
    let sha: [u8; 20] = Sha1::digest(&inner).into();
    let mut answer = sha.to_vec();
    answer.extend(&inner);
    let pad = (16 - answer.len() % 16) % 16;
    answer.extend(random_bytes(pad));
    let (tmp_key, tmp_iv) = generate_key_data_from_nonce(&hs.server_nonce, &hs.new_nonce);
    aes::ige_encrypt(&mut answer, &tmp_key, &tmp_iv);
    let ok = types::ServerDhParamsOk { nonce: hs.nonce, server_nonce: hs.server_nonce, encrypted_answer: answer };
    Some(enums::ServerDhParams::Ok(ok).to_bytes())
}

fn client_dh(hs: &mut Handshake, shared: &Shared, dc: i32, req: functions::SetClientDhParams) -> Option<Vec<u8>> {
    if req.nonce != hs.nonce || req.server_nonce != hs.server_nonce || !req.encrypted_data.len().is_multiple_of(16) {
        return None;
    }
    let a = hs.a.take()?;
    let (tmp_key, tmp_iv) = generate_key_data_from_nonce(&hs.server_nonce, &hs.new_nonce);
    let mut plain = req.encrypted_data;
    aes::ige_decrypt(&mut plain, &tmp_key, &tmp_iv);
    let mut cur = Cursor::from_slice(plain.get(20..)?);
    let enums::ClientDhInnerData::Data(inner) = enums::ClientDhInnerData::deserialize(&mut cur).ok()?;
    let sha: [u8; 20] = Sha1::digest(&plain[20..20 + cur.pos()]).into();
    if sha[..] != plain[..20] || inner.nonce != hs.nonce || inner.server_nonce != hs.server_nonce {
        return None;
    }
    let prime = BigUint::parse_bytes(DH_PRIME_HEX.as_bytes(), 16)?;
    let g_b = BigUint::from_bytes_be(&inner.g_b);
    let one = BigUint::from(1u32);
    if g_b <= one || g_b >= &prime - &one {
        return None;
    }
    let key_bytes = g_b.modpow(&a, &prime).to_bytes_be();
    let refuse = {
        let mut st = shared.lock();
        let refuse = st.retry_handshakes > 0;
        st.retry_handshakes = st.retry_handshakes.saturating_sub(1);
        refuse
    };
    if key_bytes.len() < 256 || refuse {
        // A key with a leading zero byte: Telethon keeps it 255 bytes long and grammers pads it to
        // 256, so the two would disagree on key id and msg_key; ask for a new attempt instead (and
        // so when a test asked for a refusal).
        let auth_key = AuthKey::from_bytes(left_pad(&key_bytes, 256).try_into().ok()?);
        let retry = types::DhGenRetry {
            nonce: hs.nonce,
            server_nonce: hs.server_nonce,
            new_nonce_hash2: auth_key.calc_new_nonce_hash(&hs.new_nonce, 2),
        };
        return Some(enums::SetClientDhParamsAnswer::DhGenRetry(retry).to_bytes());
    }
    let key: [u8; 256] = key_bytes.try_into().ok()?;
    let auth_key = AuthKey::from_bytes(key);
    let salt = i64::from_le_bytes(std::array::from_fn(|i| hs.new_nonce[i] ^ hs.server_nonce[i]));
    let mut st = shared.lock();
    if st.keys.len() < TABLE_CAP {
        st.keys.insert((dc, key_id(&key)), AuthKeyEntry { key, salt, user: None });
    }
    *st.handshakes.entry(dc).or_default() += 1;
    shared.notify();
    drop(st);
    let ok = types::DhGenOk {
        nonce: hs.nonce,
        server_nonce: hs.server_nonce,
        new_nonce_hash1: auth_key.calc_new_nonce_hash(&hs.new_nonce, 1),
    };
    Some(enums::SetClientDhParamsAnswer::DhGenOk(ok).to_bytes())
}

/// auth_key_id: the low 64 bits of SHA1(auth_key), little endian.
pub(super) fn key_id(key: &[u8; 256]) -> u64 {
    let sha: [u8; 20] = Sha1::digest(key).into();
    u64::from_le_bytes(sha[12..20].try_into().unwrap_or([0; 8]))
}
