//! One client connection: plain handshake packets, then MTProto 2.0 encrypted messages
//! (core.telegram.org/mtproto/description): msg_key and AES-IGE key derivation, salts, sessions,
//! containers, gzip_packed, acks, pings, future salts and rpc_result framing.

use super::handshake::{self, Handshake, unix_now};
use super::keys::RsaKey;
use super::rpc::{self, Reply};
use super::state::{Shared, random_i64};
use super::transport::{MAX_PACKET, Transport};
use grammers_crypto::aes;
use grammers_tl_types::{Cursor, Deserializable, Serializable, enums, types};
use ring::digest::{Context, SHA256};
use std::io::{self, Read};
use std::net::TcpStream;
use std::time::{SystemTime, UNIX_EPOCH};

const MSG_CONTAINER: u32 = 0x73f1_f8dc;
const GZIP_PACKED: u32 = 0x3072_cfa1;
const MSGS_ACK: u32 = 0x62d6_b459;
const PING: u32 = 0x7abe_77ec;
const PING_DELAY_DISCONNECT: u32 = 0xf342_7b8c;
const GET_FUTURE_SALTS: u32 = 0xb921_bd04;
const RPC_RESULT: u32 = 0xf35c_6d01;
const RPC_ERROR: u32 = 0x2144_ca19;
const BAD_SERVER_SALT: u32 = 0xedab_447b;
const NEW_SESSION_CREATED: u32 = 0x9ec2_0908;
const PONG: u32 = 0x3477_73c5;
/// Containers inside gzip inside containers: deeper nesting than this is refused.
const MAX_DEPTH: u32 = 4;

pub(super) struct Conn<'a> {
    pub(super) shared: &'a Shared,
    pub(super) dc: i32,
    transport: Transport,
    stream: TcpStream,
    hs: Handshake,
    /// (auth_key_id, key, salt) of the key the current packet came with.
    key: Option<(u64, [u8; 256], i64)>,
    session_id: Option<i64>,
    last_msg_id: i64,
    content_sent: i32,
}

/// Serves one connection until it closes, errs, or a fault drops it.
pub(super) fn serve(shared: &Shared, rsa: &RsaKey, dc: i32, mut stream: TcpStream) -> io::Result<()> {
    let transport = Transport::detect(&mut stream)?;
    let mut conn = Conn {
        shared,
        dc,
        transport,
        stream,
        hs: Handshake::default(),
        key: None,
        session_id: None,
        last_msg_id: 0,
        content_sent: 0,
    };
    while !shared.stopping() {
        let packet = conn.transport.read_packet(&mut conn.stream)?;
        let key_id = u64::from_le_bytes(
            packet.get(..8).ok_or_else(|| io::Error::other("short packet"))?.try_into().unwrap_or([0; 8]),
        );
        if key_id == 0 {
            let body = packet.get(20..).ok_or_else(|| io::Error::other("short plain packet"))?;
            let answer = handshake::answer(&mut conn.hs, rsa, shared, dc, body)
                .ok_or_else(|| io::Error::other("bad handshake step"))?;
            conn.send_plain(&answer)?;
            continue;
        }
        let entry = shared.lock().keys.get(&(dc, key_id)).map(|e| (key_id, e.key, e.salt));
        let Some(entry) = entry else {
            conn.transport.write_error(&mut conn.stream, 404)?;
            return Ok(());
        };
        conn.key = Some(entry);
        let plain = decrypt(&entry.1, &packet).ok_or_else(|| io::Error::other("bad msg_key"))?;
        if !conn.on_message(&plain)? {
            return Ok(());
        }
    }
    Ok(())
}

impl Conn<'_> {
    fn next_msg_id(&mut self, response: bool) -> i64 {
        // Server message ids: unix time * 2^32 with the fraction of the second below, ≡ 1 mod 4
        // for responses and 3 otherwise. The fraction keeps a new connection's ids above those of
        // one closed in the same second: Telethon, moving to another DC (USER_MIGRATE), ignores
        // ids it has just seen as resent.
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let fraction = (u64::from(now.subsec_nanos()) << 32) / 1_000_000_000;
        let mut id = ((now.as_secs() << 32) | fraction) as i64;
        id = id.max(self.last_msg_id + 1);
        let want = if response { 1 } else { 3 };
        while id % 4 != want {
            id += 1;
        }
        self.last_msg_id = id;
        id
    }

    fn send_plain(&mut self, body: &[u8]) -> io::Result<()> {
        let mut out = vec![0u8; 8];
        out.extend(self.next_msg_id(true).to_le_bytes());
        out.extend((body.len() as i32).to_le_bytes());
        out.extend(body);
        self.transport.write_packet(&mut self.stream, &out)
    }

    /// Encrypts and sends one message of the current session.
    pub(super) fn send(&mut self, body: &[u8], response: bool, content: bool) -> io::Result<()> {
        let (Some((key_id, key, salt)), Some(session)) = (self.key, self.session_id) else {
            return Err(io::Error::other("no session to send in"));
        };
        let msg_id = self.next_msg_id(response);
        let seq = if content {
            self.content_sent += 1;
            self.content_sent * 2 - 1
        } else {
            self.content_sent * 2
        };
        let mut plain = Vec::with_capacity(body.len() + 64);
        plain.extend(salt.to_le_bytes());
        plain.extend(session.to_le_bytes());
        plain.extend(msg_id.to_le_bytes());
        plain.extend(seq.to_le_bytes());
        plain.extend((body.len() as i32).to_le_bytes());
        plain.extend(body);
        let packet = encrypt(key_id, &key, plain);
        self.transport.write_packet(&mut self.stream, &packet)
    }

    /// Handles one decrypted packet; false means close the connection.
    fn on_message(&mut self, plain: &[u8]) -> io::Result<bool> {
        let Some((salt, session, msg_id, seq_no, body)) = split_message(plain) else {
            return Err(io::Error::other("bad message header"));
        };
        let (_, _, key_salt) = self.key.unwrap_or((0, [0; 256], 0));
        if self.session_id != Some(session) {
            self.session_id = Some(session);
            self.content_sent = 0;
            if salt == key_salt {
                let created =
                    types::NewSessionCreated { first_msg_id: msg_id, unique_id: random_i64(), server_salt: key_salt };
                // Bare types serialize without their constructor id.
                self.send(&with_id(NEW_SESSION_CREATED, &created.to_bytes()), false, true)?;
            }
        }
        if salt != key_salt {
            let mut bad = Vec::new();
            bad.extend(BAD_SERVER_SALT.to_le_bytes());
            bad.extend(msg_id.to_le_bytes());
            bad.extend(seq_no.to_le_bytes());
            bad.extend(48i32.to_le_bytes());
            bad.extend(key_salt.to_le_bytes());
            self.send(&bad, true, false)?;
            // The next message with the right salt starts the session properly.
            self.session_id = None;
            return Ok(true);
        }
        self.on_body(msg_id, body, 0)
    }

    fn on_body(&mut self, msg_id: i64, body: &[u8], depth: u32) -> io::Result<bool> {
        if depth > MAX_DEPTH || body.len() < 4 {
            return Err(io::Error::other("message too deep or too short"));
        }
        let id = u32::from_le_bytes(body[..4].try_into().unwrap_or([0; 4]));
        match id {
            MSG_CONTAINER => {
                let inner = split_container(&body[4..]).ok_or_else(|| io::Error::other("bad container"))?;
                for (inner_id, inner_body) in inner {
                    if !self.on_body(inner_id, inner_body, depth + 1)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            GZIP_PACKED => {
                let packed = Vec::<u8>::deserialize(&mut Cursor::from_slice(&body[4..])).map_err(io::Error::other)?;
                self.shared.lock().gzip_packed += 1;
                let mut unpacked = Vec::new();
                flate2::read::GzDecoder::new(&packed[..]).take(MAX_PACKET as u64).read_to_end(&mut unpacked)?;
                self.on_body(msg_id, &unpacked, depth + 1)
            }
            MSGS_ACK => Ok(true),
            PING | PING_DELAY_DISCONNECT => {
                let ping_id = body.get(4..12).ok_or_else(|| io::Error::other("short ping"))?;
                let mut pong = PONG.to_le_bytes().to_vec();
                pong.extend(msg_id.to_le_bytes());
                pong.extend(ping_id);
                self.send(&pong, true, true)?;
                Ok(true)
            }
            GET_FUTURE_SALTS => {
                let num = i32::from_le_bytes(body.get(4..8).and_then(|b| b.try_into().ok()).unwrap_or([1, 0, 0, 0]));
                self.send(&self.future_salts(msg_id, num), true, true)?;
                Ok(true)
            }
            _ => self.on_rpc(msg_id, body),
        }
    }

    fn future_salts(&self, msg_id: i64, num: i32) -> Vec<u8> {
        // Every future salt is the key's one salt, in consecutive 30-minute windows.
        let (_, _, salt) = self.key.unwrap_or((0, [0; 256], 0));
        let now = unix_now() as i32;
        let salts = (0..num.clamp(1, 64))
            .map(|i| types::FutureSalt { valid_since: now - 60 + i * 1800, valid_until: now + 1740 + i * 1800, salt })
            .collect();
        let salts = grammers_tl_types::RawVec(salts);
        enums::FutureSalts::Salts(types::FutureSalts { req_msg_id: msg_id, now, salts }).to_bytes()
    }

    fn on_rpc(&mut self, msg_id: i64, body: &[u8]) -> io::Result<bool> {
        let (key_id, _, _) = self.key.unwrap_or((0, [0; 256], 0));
        let reply = rpc::call(self.shared, self.dc, key_id, body);
        let mut out = RPC_RESULT.to_le_bytes().to_vec();
        out.extend(msg_id.to_le_bytes());
        match reply {
            Reply::Drop => return Ok(false),
            Reply::Ok(result) => out.extend(result),
            Reply::Err(code, message) => {
                out.extend(RPC_ERROR.to_le_bytes());
                out.extend(code.to_le_bytes());
                out.extend(message.to_bytes());
            }
        }
        self.send(&out, true, true)?;
        Ok(true)
    }
}

fn with_id(id: u32, rest: &[u8]) -> Vec<u8> {
    let mut out = id.to_le_bytes().to_vec();
    out.extend(rest);
    out
}

/// salt, session_id, msg_id, seq_no and body of a decrypted message.
fn split_message(plain: &[u8]) -> Option<(i64, i64, i64, i32, &[u8])> {
    let word = |at: usize| plain.get(at..at + 8).and_then(|b| b.try_into().ok()).map(i64::from_le_bytes);
    let int = |at: usize| plain.get(at..at + 4).and_then(|b| b.try_into().ok()).map(i32::from_le_bytes);
    let len = usize::try_from(int(28)?).ok()?;
    let body = plain.get(32..32 + len)?;
    // MTProto 2.0 padding is 12..1024 bytes.
    let padding = plain.len() - 32 - len;
    if !(12..=1024).contains(&padding) {
        return None;
    }
    Some((word(0)?, word(8)?, word(16)?, int(24)?, body))
}

fn split_container(mut rest: &[u8]) -> Option<Vec<(i64, &[u8])>> {
    let count = i32::from_le_bytes(rest.get(..4)?.try_into().ok()?);
    rest = &rest[4..];
    let mut out = Vec::new();
    for _ in 0..count.clamp(0, 1024) {
        let msg_id = i64::from_le_bytes(rest.get(..8)?.try_into().ok()?);
        let len = usize::try_from(i32::from_le_bytes(rest.get(12..16)?.try_into().ok()?)).ok()?;
        out.push((msg_id, rest.get(16..16 + len)?));
        rest = &rest[16 + len..];
    }
    Some(out)
}

/// SHA-256 of `a ‖ b`, by ring: sha2's buffering is generic, so it would be compiled into the
/// test binary unoptimized, and the fake hashes every (up to 1 MiB) packet it sends.
fn sha256(a: &[u8], b: &[u8]) -> [u8; 32] {
    let mut ctx = Context::new(&SHA256);
    ctx.update(a);
    ctx.update(b);
    ctx.finish().as_ref().try_into().unwrap_or([0; 32])
}

/// aes_key and aes_iv for a msg_key (x = 0 client to server, 8 server to client).
fn calc_key(key: &[u8; 256], msg_key: &[u8], x: usize) -> ([u8; 32], [u8; 32]) {
    let a: [u8; 32] = sha256(msg_key, &key[x..x + 36]);
    let b: [u8; 32] = sha256(&key[40 + x..76 + x], msg_key);
    let aes_key: [u8; 32] = [&a[..8], &b[8..24], &a[24..32]].concat().try_into().unwrap_or([0; 32]);
    let aes_iv: [u8; 32] = [&b[..8], &a[8..24], &b[24..32]].concat().try_into().unwrap_or([0; 32]);
    (aes_key, aes_iv)
}

/// Decrypts a client packet (auth_key_id ‖ msg_key ‖ data) and checks its msg_key.
pub(super) fn decrypt(key: &[u8; 256], packet: &[u8]) -> Option<Vec<u8>> {
    if packet.len() < 24 + 32 || !(packet.len() - 24).is_multiple_of(16) {
        return None;
    }
    let msg_key = &packet[8..24];
    let (aes_key, aes_iv) = calc_key(key, msg_key, 0);
    let mut plain = packet[24..].to_vec();
    aes::ige_decrypt(&mut plain, &aes_key, &aes_iv);
    let check: [u8; 32] = sha256(&key[88..120], &plain);
    (check[8..24] == *msg_key).then_some(plain)
}

/// Pads (12..1024 bytes, to a multiple of 16) and encrypts a server message.
pub(super) fn encrypt(key_id: u64, key: &[u8; 256], mut plain: Vec<u8>) -> Vec<u8> {
    let pad = 12 + (16 - (plain.len() + 12) % 16) % 16;
    plain.extend(super::state::random_bytes(pad));
    let large: [u8; 32] = sha256(&key[96..128], &plain);
    let msg_key = &large[8..24];
    let (aes_key, aes_iv) = calc_key(key, msg_key, 8);
    aes::ige_encrypt(&mut plain, &aes_key, &aes_iv);
    let mut out = key_id.to_le_bytes().to_vec();
    out.extend(msg_key);
    out.extend(plain);
    out
}
