//! State shared by every DC listener and connection thread: auth keys per DC, exported
//! authorizations, registered files and the messages holding them, queued faults and the counters
//! tests assert on.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

/// Upper bound on auth keys, exported authorizations, files and queued faults, each.
pub const TABLE_CAP: usize = 10_000;

/// A fault served instead of the next upload.getFile answer (any DC).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DcFault {
    /// `420 FLOOD_WAIT_X`.
    FloodWait(u32),
    /// `400 FILE_REFERENCE_EXPIRED`.
    FileReferenceExpired,
    /// `303 FILE_MIGRATE_X`.
    FileMigrate(i32),
    /// `401 AUTH_KEY_UNREGISTERED`.
    AuthKeyUnregistered,
    /// Any other rpc_error.
    Rpc(i32, String),
}

impl DcFault {
    pub(super) fn rpc_error(&self) -> (i32, String) {
        match self {
            DcFault::FloodWait(s) => (420, format!("FLOOD_WAIT_{s}")),
            DcFault::FileReferenceExpired => (400, "FILE_REFERENCE_EXPIRED".to_string()),
            DcFault::FileMigrate(dc) => (303, format!("FILE_MIGRATE_{dc}")),
            DcFault::AuthKeyUnregistered => (401, "AUTH_KEY_UNREGISTERED".to_string()),
            DcFault::Rpc(code, msg) => (*code, msg.clone()),
        }
    }
}

/// Whether a registered file is a document or a photo (which input location reaches it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DcFileKind {
    /// Reached by inputDocumentFileLocation.
    Document,
    /// Reached by inputPhotoFileLocation.
    Photo,
}

/// A file the fake DCs serve through upload.getFile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DcFile {
    /// Document or photo.
    pub kind: DcFileKind,
    /// DC that stores it; other DCs answer FILE_MIGRATE_X.
    pub dc_id: i32,
    /// Document or photo id.
    pub id: i64,
    /// access_hash the location must carry.
    pub access_hash: i64,
    /// file_reference the location must carry (FILE_REFERENCE_EXPIRED otherwise).
    pub file_reference: Vec<u8>,
    /// Size in bytes.
    pub size: u64,
}

/// A chat a message holding a file is in, as the bot sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Peer {
    /// The private chat of user `user_id` with the bot (reached by messages.getMessages).
    User(i64),
    /// Channel `channel_id` (reached by channels.getMessages with the channel's access hash).
    Channel(i64),
}

/// Where a registered file's bytes come from.
#[derive(Clone)]
pub(super) enum Content {
    /// Held in memory.
    Stored(Arc<Vec<u8>>),
    /// Made on demand by `generated_bytes`, costing no memory whatever the size.
    Generated,
}

/// A registered file: its location, bytes and the MIME type and name messages give it.
#[derive(Clone)]
pub(super) struct FileEntry {
    pub(super) file: DcFile,
    pub(super) content: Content,
    pub(super) mime: String,
    pub(super) name: String,
}

pub(super) struct AuthKeyEntry {
    pub(super) key: [u8; 256],
    pub(super) salt: i64,
    /// The bot user this key is logged in as, if any.
    pub(super) user: Option<i64>,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) bot_token: String,
    /// The address help.getConfig gives for every DC.
    pub(super) ip: String,
    pub(super) dcs: Vec<(i32, u16)>,
    pub(super) keys: HashMap<(i32, u64), AuthKeyEntry>,
    /// Exported authorizations: id → (bytes, user, DC it may be imported on).
    pub(super) exported: HashMap<i64, (Vec<u8>, i64, i32)>,
    pub(super) files: HashMap<i64, FileEntry>,
    /// Messages holding files: (chat, message id) → file id.
    pub(super) messages: HashMap<(Peer, i32), i64>,
    /// The DC bots must log in on (USER_MIGRATE_X elsewhere); any DC when unset.
    pub(super) home_dc: Option<i32>,
    pub(super) faults: VecDeque<DcFault>,
    /// Close the connection instead of answering once this many more getFile calls arrived.
    pub(super) drop_after: Option<usize>,
    pub(super) get_file_delay: Duration,
    /// Handshakes still to be answered `dh_gen_retry` (see `FakeDc::retry_next_handshakes`).
    pub(super) retry_handshakes: usize,
    pub(super) get_file_calls: HashMap<i32, usize>,
    pub(super) bytes_served: HashMap<i32, u64>,
    pub(super) handshakes: HashMap<i32, usize>,
    pub(super) gzip_packed: usize,
    pub(super) methods: Vec<(i32, String)>,
}

/// The fake's state and threads (see `hub.rs`).
pub(super) type Shared = crate::support::hub::Hub<State>;

/// Test-grade random bytes (SipHash under a fresh random key per call); the fake's nonces and
/// DH secret need to differ between runs, not to resist an attacker.
pub(super) fn random_bytes(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 8);
    let state = RandomState::new();
    let mut i = 0u64;
    while out.len() < n {
        let mut h = state.build_hasher();
        h.write_u64(i);
        out.extend(h.finish().to_le_bytes());
        i += 1;
    }
    out.truncate(n);
    out
}

/// A random i64.
pub(super) fn random_i64() -> i64 {
    i64::from_le_bytes(random_bytes(8).try_into().unwrap_or([0; 8]))
}
