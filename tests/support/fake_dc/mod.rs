//! Fake Telegram DCs speaking MTProto 2.0 (on 127.0.0.1 unless told), one listener per DC id: the
//! handshake with a test RSA key, encrypted sessions, bot login, export/import of authorizations,
//! help.getConfig, messages holding files and upload.getFile, with faults and counters for tests.
#![allow(dead_code)]

mod chats;
mod file_id;
mod generated;
mod handshake;
mod keys;
mod rpc;
mod session;
mod state;
mod transport;

// The encoders, the key PEM and the bot id are for tests of the bot's own MTProto client.
#[allow(unused_imports)]
pub use file_id::{SUB_VERSION, encode_document_file_id, encode_photo_file_id};
#[allow(unused_imports)]
pub use generated::{generated_byte, generated_bytes};
#[allow(unused_imports)]
pub use keys::{PUBLIC_KEY_PATH, PUBLIC_KEY_PEM};
#[allow(unused_imports)]
pub use rpc::BOT_ID;
pub use state::{DcFault, DcFile, DcFileKind, Peer};

use keys::RsaKey;
use state::{Content, FileEntry, Shared, State, random_bytes, random_i64};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// The fake DCs. Their threads stop when it is dropped.
pub struct FakeDc {
    shared: Arc<Shared>,
    addrs: Vec<(i32, SocketAddr)>,
    accepts: Vec<JoinHandle<()>>,
}

impl FakeDc {
    /// Starts DCs 1 to 5 that log in bots presenting `bot_token`.
    pub fn start(bot_token: &str) -> FakeDc {
        FakeDc::start_dcs(bot_token, &[1, 2, 3, 4, 5])
    }

    /// Starts one listener per DC id on ephemeral ports of 127.0.0.1; panics if it cannot listen.
    pub fn start_dcs(bot_token: &str, dc_ids: &[i32]) -> FakeDc {
        FakeDc::start_on(Ipv4Addr::LOCALHOST, bot_token, dc_ids).expect("fake dc: cannot listen on 127.0.0.1")
    }

    /// Starts one listener per DC id on ephemeral ports of `ip`, which help.getConfig names.
    pub fn start_on(ip: Ipv4Addr, bot_token: &str, dc_ids: &[i32]) -> io::Result<FakeDc> {
        let listeners =
            dc_ids.iter().map(|&id| Ok((id, TcpListener::bind((ip, 0))?))).collect::<io::Result<Vec<_>>>()?;
        let addrs = listeners
            .iter()
            .map(|(id, l)| Ok((*id, l.local_addr()?)))
            .collect::<io::Result<Vec<(i32, SocketAddr)>>>()?;
        let state = State {
            bot_token: bot_token.to_string(),
            ip: ip.to_string(),
            dcs: addrs.iter().map(|(id, a)| (*id, a.port())).collect(),
            ..State::default()
        };
        let shared = Arc::new(Shared::new(state));
        let rsa = Arc::new(RsaKey::load());
        let accepts = listeners
            .into_iter()
            .map(|(dc, listener)| {
                let (shared, rsa) = (Arc::clone(&shared), Arc::clone(&rsa));
                thread::Builder::new()
                    .name(format!("fake-dc{dc}-accept"))
                    .spawn(move || {
                        shared.accept_loop(listener, &format!("fake-dc{dc}-conn"), move |hub, stream| {
                            let _ = stream.set_nodelay(true);
                            let _ = session::serve(hub, &rsa, dc, stream);
                        })
                    })
                    .expect("fake dc: spawn accept thread")
            })
            .collect();
        Ok(FakeDc { shared, addrs, accepts })
    }

    /// The address of DC `dc`; panics for a DC this fake does not run.
    pub fn addr(&self, dc: i32) -> SocketAddr {
        self.addrs.iter().find(|(id, _)| *id == dc).map(|(_, a)| *a).unwrap_or_else(|| panic!("fake dc: no DC {dc}"))
    }

    /// The port of DC `dc` on 127.0.0.1.
    pub fn port(&self, dc: i32) -> u16 {
        self.addr(dc).port()
    }

    /// Registers `bytes` as a document stored on DC `dc` with a random id, access hash and file
    /// reference.
    pub fn add_document(&self, dc: i32, bytes: Vec<u8>) -> DcFile {
        self.add(DcFileKind::Document, dc, bytes)
    }

    /// Registers `bytes` as a photo stored on DC `dc`.
    pub fn add_photo(&self, dc: i32, bytes: Vec<u8>) -> DcFile {
        self.add(DcFileKind::Photo, dc, bytes)
    }

    /// Registers a document of `size` bytes on DC `dc` whose bytes are [`generated_bytes`]: it
    /// costs no memory whatever its size.
    pub fn add_generated_document(&self, dc: i32, size: u64) -> DcFile {
        let file = new_file(DcFileKind::Document, dc, size);
        self.insert(file.clone(), Content::Generated);
        file
    }

    fn add(&self, kind: DcFileKind, dc_id: i32, bytes: Vec<u8>) -> DcFile {
        let file = new_file(kind, dc_id, bytes.len() as u64);
        self.register(file.clone(), bytes);
        file
    }

    /// Registers a file with chosen ids (replacing one with the same id).
    pub fn register(&self, file: DcFile, bytes: Vec<u8>) {
        self.insert(file, Content::Stored(Arc::new(bytes)));
    }

    fn insert(&self, file: DcFile, content: Content) {
        let mut st = self.shared.lock();
        if st.files.len() < state::TABLE_CAP || st.files.contains_key(&file.id) {
            let (mime, name) = match file.kind {
                DcFileKind::Document => ("application/octet-stream", format!("file-{}.bin", file.id)),
                DcFileKind::Photo => ("image/jpeg", format!("photo-{}.jpg", file.id)),
            };
            st.files.insert(file.id, FileEntry { file, content, mime: mime.to_string(), name });
        }
    }

    /// Sets the MIME type and file name messages give a registered document.
    pub fn set_file_meta(&self, file: &DcFile, mime: &str, name: &str) {
        if let Some(entry) = self.shared.lock().files.get_mut(&file.id) {
            (entry.mime, entry.name) = (mime.to_string(), name.to_string());
        }
    }

    /// Makes message `msg_id` of `peer` hold `file` (a registered file): messages.getMessages
    /// (private chats) and channels.getMessages answer it with the file's current reference.
    pub fn put_message(&self, peer: Peer, msg_id: i32, file: &DcFile) {
        let mut st = self.shared.lock();
        if st.messages.len() < state::TABLE_CAP || st.messages.contains_key(&(peer, msg_id)) {
            st.messages.insert((peer, msg_id), file.id);
        }
    }

    /// Gives `file` a new file reference and returns it: upload.getFile with the old one answers
    /// FILE_REFERENCE_EXPIRED from now on, and messages holding the file carry the new one.
    pub fn rotate_file_reference(&self, file: &DcFile) -> Vec<u8> {
        let reference = random_bytes(20);
        if let Some(entry) = self.shared.lock().files.get_mut(&file.id) {
            entry.file.file_reference = reference.clone();
        }
        reference
    }

    /// The access hash of channel `channel_id`, as channels.getChannels answers it.
    pub fn channel_access_hash(&self, channel_id: i64) -> i64 {
        chats::channel_access_hash(channel_id)
    }

    /// Makes `dc` the bot's home DC: auth.importBotAuthorization on any other DC answers
    /// `303 USER_MIGRATE_X`, as Telegram does. Unset, every DC logs bots in.
    pub fn set_home_dc(&self, dc: i32) {
        self.shared.lock().home_dc = Some(dc);
    }

    /// Queues a fault answered to the next upload.getFile (any DC, FIFO), after the login check.
    pub fn fail_next_get_file(&self, fault: DcFault) {
        let mut st = self.shared.lock();
        if st.faults.len() < state::TABLE_CAP {
            st.faults.push_back(fault);
        }
    }

    /// Answers the next `n` upload.getFile calls, then closes the connection of the one after
    /// instead of answering it.
    pub fn drop_connection_after_get_files(&self, n: usize) {
        self.shared.lock().drop_after = Some(n);
    }

    /// Delays every upload.getFile answer by `delay` (zero turns it off).
    pub fn set_get_file_delay(&self, delay: Duration) {
        self.shared.lock().get_file_delay = delay;
    }

    /// Stores `key` as an auth key of DC `dc`, as if a handshake had made it (not counted in
    /// [`FakeDc::handshakes`]); returns its server salt.
    pub fn install_auth_key(&self, dc: i32, key: [u8; 256]) -> i64 {
        let salt = random_i64();
        let entry = state::AuthKeyEntry { key, salt, user: None };
        self.shared.lock().keys.insert((dc, handshake::key_id(&key)), entry);
        salt
    }

    /// Forgets every auth key of DC `dc`: the next packet with one gets the -404 transport error.
    pub fn forget_auth_keys(&self, dc: i32) {
        self.shared.lock().keys.retain(|(key_dc, _), _| *key_dc != dc);
    }

    /// Answers the next `n` handshakes' `set_client_DH_params` with `dh_gen_retry`, as a server
    /// that refuses a client's `g_b` does.
    pub fn retry_next_handshakes(&self, n: usize) {
        self.shared.lock().retry_handshakes = n;
    }

    /// Logs out every auth key of DC `dc` (they stay known; calls get AUTH_KEY_UNREGISTERED).
    pub fn log_out(&self, dc: i32) {
        for ((key_dc, _), key) in self.shared.lock().keys.iter_mut() {
            if *key_dc == dc {
                key.user = None;
            }
        }
    }

    /// upload.getFile calls DC `dc` received (faulted and refused ones included).
    pub fn get_file_calls(&self, dc: i32) -> usize {
        self.shared.lock().get_file_calls.get(&dc).copied().unwrap_or(0)
    }

    /// File bytes DC `dc` sent in upload.file answers.
    pub fn bytes_served(&self, dc: i32) -> u64 {
        self.shared.lock().bytes_served.get(&dc).copied().unwrap_or(0)
    }

    /// Auth keys created on DC `dc` (completed handshakes).
    pub fn handshakes(&self, dc: i32) -> usize {
        self.shared.lock().handshakes.get(&dc).copied().unwrap_or(0)
    }

    /// gzip_packed messages received from clients.
    pub fn gzip_packed_received(&self) -> usize {
        self.shared.lock().gzip_packed
    }

    /// Names of the API methods called (wrappers stripped), with the DC, in order.
    pub fn methods(&self) -> Vec<(i32, String)> {
        self.shared.lock().methods.clone()
    }

    /// Waits until DC `dc` received at least `n` upload.getFile calls; false on timeout.
    pub fn wait_for_get_file_calls(&self, dc: i32, n: usize, timeout: Duration) -> bool {
        self.shared.wait_until(timeout, |st| st.get_file_calls.get(&dc).copied().unwrap_or(0) >= n)
    }
}

/// A file with random id, access hash and reference.
fn new_file(kind: DcFileKind, dc_id: i32, size: u64) -> DcFile {
    DcFile {
        kind,
        dc_id,
        id: random_i64() & i64::MAX,
        access_hash: random_i64(),
        file_reference: random_bytes(20),
        size,
    }
}

impl Drop for FakeDc {
    fn drop(&mut self) {
        let addrs: Vec<SocketAddr> = self.addrs.iter().map(|(_, addr)| *addr).collect();
        self.shared.stop(&addrs, self.accepts.drain(..).collect());
    }
}
