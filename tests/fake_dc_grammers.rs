//! The fake MTProto DC driven by grammers-mtproto's own session layer and transports (the crates
//! the bot's client builds on): salts, gzip_packed, bot login and its home DC, getFile and its
//! errors, the -404 framing, and messages holding files in private chats and channels.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use grammers_crypto::DequeBuffer;
use grammers_mtproto::mtp::{self, Deserialization, Encrypted, Mtp};
use grammers_mtproto::transport::{self, Abridged, Full, Intermediate, Transport};
use grammers_tl_types::{self as tl, Deserializable, RemoteCall, Serializable};

use crate::support::fake_dc::{BOT_ID, DcFault, DcFile, FakeDc, Peer, generated_bytes};

const TOKEN: &str = "4242:fake-dc-token";
/// Longest one request may take, resends included.
const DEADLINE: Duration = Duration::from_secs(10);
const HEADROOM: usize =
    mtp::MAX_TRANSPORT_HEADER_LEN + mtp::ENCRYPTED_PACKET_HEADER_LEN + mtp::MESSAGE_CONTAINER_HEADER_LEN;
/// Largest packet read: a 1 MiB chunk and its headers.
const READ_CAP: usize = 2 * 1024 * 1024;

/// A minimal sequential client: one request at a time, resent on retryable bad messages.
struct Client<T: Transport> {
    stream: TcpStream,
    transport: T,
    mtp: Encrypted,
    inbox: Vec<u8>,
}

impl<T: Transport> Client<T> {
    fn connect(dc: &FakeDc, id: i32, transport: T, key: [u8; 256]) -> Client<T> {
        let stream = TcpStream::connect(dc.addr(id)).expect("connect to the fake DC");
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        // A small threshold so that login requests go out gzip_packed.
        let mtp = Encrypted::build().compression_threshold(Some(64)).finish(key);
        Client { stream, transport, mtp, inbox: Vec::new() }
    }

    fn flush(&mut self, buf: &mut DequeBuffer<u8>) {
        self.mtp.finalize(buf);
        if !buf.is_empty() {
            self.transport.pack(buf);
            self.stream.write_all(&buf[..]).expect("write to the fake DC");
        }
    }

    /// Reads until at least one whole packet arrived and returns what it carried.
    fn events(&mut self) -> Result<Vec<Deserialization>, transport::Error> {
        loop {
            match self.transport.unpack(&mut self.inbox[..]) {
                Ok(off) => {
                    let mut payload = self.inbox[off.data_range].to_vec();
                    self.inbox.drain(..off.next_offset);
                    let len = payload.len();
                    return Ok(self
                        .mtp
                        .deserialize(&mut payload)
                        .unwrap_or_else(|e| panic!("a well-formed server message, {len} bytes: {e}")));
                }
                Err(transport::Error::MissingBytes) => {
                    assert!(self.inbox.len() < READ_CAP, "packet larger than {READ_CAP} bytes");
                    let mut chunk = [0u8; 64 * 1024];
                    let n = self.stream.read(&mut chunk).expect("read from the fake DC");
                    assert!(n > 0, "the fake DC closed the connection");
                    self.inbox.extend_from_slice(&chunk[..n]);
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn invoke(&mut self, request: &[u8]) -> Result<Vec<u8>, tl::types::RpcError> {
        let deadline = Instant::now() + DEADLINE;
        'send: while Instant::now() < deadline {
            let mut buf = DequeBuffer::with_capacity(request.len() + 256, HEADROOM);
            let msg_id = loop {
                if let Some(id) = self.mtp.push(&mut buf, request) {
                    break id;
                }
                // A salt request is out: send it and read until its answer is in.
                self.flush(&mut buf);
                buf = DequeBuffer::with_capacity(request.len() + 256, HEADROOM);
                self.events().expect("transport");
            };
            self.flush(&mut buf);
            while Instant::now() < deadline {
                for event in self.events().expect("transport") {
                    match event {
                        Deserialization::RpcResult(r) if r.msg_id == msg_id => return Ok(r.body),
                        Deserialization::RpcError(e) if e.msg_id == msg_id => return Err(e.error),
                        Deserialization::BadMessage(b) if b.retryable() => continue 'send,
                        _ => {}
                    }
                }
            }
        }
        panic!("no answer within {DEADLINE:?}");
    }

    /// Invokes `request` and parses its answer.
    fn call<R: RemoteCall>(&mut self, request: &R) -> Result<R::Return, tl::types::RpcError> {
        let body = self.invoke(&request.to_bytes())?;
        Ok(R::Return::from_bytes(&body).expect("a well-formed answer"))
    }

    fn login(&mut self) -> i64 {
        self.try_login().expect("bot login")
    }

    fn try_login(&mut self) -> Result<i64, tl::types::RpcError> {
        let query = tl::functions::auth::ImportBotAuthorization {
            flags: 0,
            api_id: 17349,
            api_hash: "344583e45741c457fe1862106095a5eb".to_string(),
            bot_auth_token: TOKEN.to_string(),
        };
        let init = tl::functions::InitConnection {
            api_id: 17349,
            // Long and repetitive, so that it goes out gzip_packed.
            device_model: "fake-dc test ".repeat(40),
            system_version: "linux".to_string(),
            app_version: "0".to_string(),
            system_lang_code: "en".to_string(),
            lang_pack: String::new(),
            lang_code: "en".to_string(),
            proxy: None,
            params: None,
            query,
        };
        match self.call(&tl::functions::InvokeWithLayer { layer: tl::LAYER, query: init })? {
            tl::enums::auth::Authorization::Authorization(auth) => Ok(auth.user.id()),
            other => panic!("sign-up required? {other:?}"),
        }
    }

    fn get_file(&mut self, file: &DcFile, offset: i64, limit: i32) -> Result<Vec<u8>, tl::types::RpcError> {
        let location = tl::enums::InputFileLocation::InputDocumentFileLocation(tl::types::InputDocumentFileLocation {
            id: file.id,
            access_hash: file.access_hash,
            file_reference: file.file_reference.clone(),
            thumb_size: String::new(),
        });
        let request = tl::functions::upload::GetFile { precise: false, cdn_supported: false, location, offset, limit };
        let body = self.invoke(&request.to_bytes())?;
        match tl::enums::upload::File::from_bytes(&body).expect("upload.File") {
            tl::enums::upload::File::File(f) => Ok(f.bytes),
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn key(seed: u8) -> [u8; 256] {
    std::array::from_fn(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
}

fn message<T: std::fmt::Debug>(e: Result<T, tl::types::RpcError>) -> (i32, String) {
    let e = e.expect_err("an rpc_error");
    (e.error_code, e.error_message)
}

#[test]
fn grammers_sessions_log_in_and_download_over_full_intermediate_and_abridged() {
    let dc = FakeDc::start(TOKEN);
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let file = dc.add_document(2, bytes.clone());
    let k = key(1);
    dc.install_auth_key(2, k);
    let mut full = Client::connect(&dc, 2, Full::new(), k);
    assert_eq!(full.login(), BOT_ID);
    let mut got = Vec::new();
    for offset in (0..bytes.len() as i64).step_by(131_072) {
        got.extend(full.get_file(&file, offset, 131_072).expect("chunk"));
    }
    assert_eq!(got, bytes);
    // The same key on new connections (new sessions) is already logged in.
    let mut inter = Client::connect(&dc, 2, Intermediate::new(), k);
    assert_eq!(inter.get_file(&file, 262_144, 4096).expect("chunk"), bytes[262_144..266_240]);
    let mut abridged = Client::connect(&dc, 2, Abridged::new(), k);
    assert_eq!(abridged.get_file(&file, 0, 1 << 20).expect("chunk"), bytes);
    assert!(dc.methods().iter().any(|(_, m)| m == "auth.importBotAuthorization"));
    assert!(dc.gzip_packed_received() >= 1, "the login went out gzip_packed");
}

#[test]
fn grammers_sees_the_get_file_errors_and_faults() {
    let dc = FakeDc::start(TOKEN);
    let file = dc.add_document(2, vec![7; 10_000]);
    let far = dc.add_document(5, vec![8; 10]);
    let k = key(2);
    dc.install_auth_key(2, k);
    let mut c = Client::connect(&dc, 2, Full::new(), k);
    assert_eq!(message(c.get_file(&file, 0, 4096)), (401, "AUTH_KEY_UNREGISTERED".to_string()), "before login");
    c.login();
    assert_eq!(message(c.get_file(&file, 0, 12_288)), (400, "LIMIT_INVALID".to_string()));
    assert_eq!(message(c.get_file(&file, 1024, 4096)), (400, "OFFSET_INVALID".to_string()));
    assert_eq!(message(c.get_file(&far, 0, 4096)), (303, "FILE_MIGRATE_5".to_string()));
    let mut stale = file.clone();
    stale.file_reference[0] ^= 1;
    assert_eq!(message(c.get_file(&stale, 0, 4096)), (400, "FILE_REFERENCE_EXPIRED".to_string()));
    let mut unknown = file.clone();
    unknown.id ^= 1;
    assert_eq!(message(c.get_file(&unknown, 0, 4096)), (400, "FILE_ID_INVALID".to_string()));
    for (fault, want) in [
        (DcFault::FloodWait(3), (420, "FLOOD_WAIT_3")),
        (DcFault::FileReferenceExpired, (400, "FILE_REFERENCE_EXPIRED")),
        (DcFault::FileMigrate(4), (303, "FILE_MIGRATE_4")),
        (DcFault::AuthKeyUnregistered, (401, "AUTH_KEY_UNREGISTERED")),
    ] {
        dc.fail_next_get_file(fault);
        assert_eq!(message(c.get_file(&file, 0, 4096)), (want.0, want.1.to_string()));
    }
    assert_eq!(c.get_file(&file, 8192, 4096).expect("chunk").len(), 1808, "the tail of the file");
    assert_eq!(dc.get_file_calls(2), 11);
}

/// Sends a ping and returns the transport status the DC answers with.
fn status_after_ping<T: Transport>(mut client: Client<T>) -> u32 {
    let mut buf = DequeBuffer::with_capacity(64, HEADROOM);
    client.mtp.push(&mut buf, &tl::functions::Ping { ping_id: 1 }.to_bytes());
    client.flush(&mut buf);
    match client.events() {
        Err(transport::Error::BadStatus { status }) => status,
        Err(e) => panic!("want a transport status, got {e:?}"),
        Ok(_) => panic!("want a transport status, got a message"),
    }
}

#[test]
fn grammers_transports_read_the_404_of_a_forgotten_auth_key() {
    let dc = FakeDc::start(TOKEN);
    let k = key(3);
    dc.install_auth_key(1, k);
    dc.forget_auth_keys(1);
    assert_eq!(status_after_ping(Client::connect(&dc, 1, Full::new(), k)), 404);
    assert_eq!(status_after_ping(Client::connect(&dc, 1, Intermediate::new(), k)), 404);
    assert_eq!(status_after_ping(Client::connect(&dc, 1, Abridged::new(), k)), 404);
}

fn input_ids(ids: &[i32]) -> Vec<tl::enums::InputMessage> {
    ids.iter().map(|&id| tl::enums::InputMessage::Id(tl::types::InputMessageId { id })).collect()
}

fn media(message: &tl::enums::Message) -> &tl::enums::MessageMedia {
    match message {
        tl::enums::Message::Message(m) => m.media.as_ref().expect("a message with media"),
        other => panic!("want a message, got {other:?}"),
    }
}

fn document(message: &tl::enums::Message) -> &tl::types::Document {
    match media(message) {
        tl::enums::MessageMedia::Document(tl::types::MessageMediaDocument {
            document: Some(tl::enums::Document::Document(d)),
            ..
        }) => d,
        other => panic!("want a document, got {other:?}"),
    }
}

fn private_messages(c: &mut Client<Full>, ids: &[i32]) -> tl::types::messages::Messages {
    match c.call(&tl::functions::messages::GetMessages { id: input_ids(ids) }).expect("messages.getMessages") {
        tl::enums::messages::Messages::Messages(m) => m,
        other => panic!("want messages.messages, got {other:?}"),
    }
}

#[test]
fn grammers_reads_a_private_chat_message_with_the_current_file_reference_after_a_rotation() {
    let dc = FakeDc::start(TOKEN);
    let doc = dc.add_generated_document(2, 5 << 20);
    dc.set_file_meta(&doc, "video/mp4", "clip.mp4");
    dc.put_message(Peer::User(77), 10, &doc);
    let k = key(4);
    dc.install_auth_key(2, k);
    let mut c = Client::connect(&dc, 2, Full::new(), k);
    assert_eq!(message(c.call(&tl::functions::messages::GetMessages { id: input_ids(&[10]) })).0, 401, "before login");
    c.login();
    let answer = private_messages(&mut c, &[10, 11]);
    let d = document(&answer.messages[0]);
    assert_eq!((d.id, d.access_hash, d.dc_id, d.size), (doc.id, doc.access_hash, 2, 5 << 20));
    assert_eq!((d.file_reference.as_slice(), d.mime_type.as_str()), (doc.file_reference.as_slice(), "video/mp4"));
    let name =
        tl::enums::DocumentAttribute::Filename(tl::types::DocumentAttributeFilename { file_name: "clip.mp4".into() });
    assert_eq!(d.attributes, vec![name]);
    let tl::enums::Message::Message(m) = &answer.messages[0] else { unreachable!() };
    assert_eq!(m.peer_id, tl::enums::Peer::User(tl::types::PeerUser { user_id: 77 }));
    assert!(matches!(&answer.messages[1], tl::enums::Message::Empty(e) if e.id == 11), "{:?}", answer.messages[1]);
    assert_eq!(answer.users.iter().map(|u| u.id()).collect::<Vec<_>>(), vec![77]);

    let fresh = dc.rotate_file_reference(&doc);
    assert_ne!(fresh, doc.file_reference);
    assert_eq!(message(c.get_file(&doc, 0, 4096)), (400, "FILE_REFERENCE_EXPIRED".to_string()));
    let answer = private_messages(&mut c, &[10]);
    assert_eq!(document(&answer.messages[0]).file_reference, fresh);
    let renewed = DcFile { file_reference: fresh, ..doc.clone() };
    assert_eq!(c.get_file(&renewed, 3 << 20, 512 << 10).expect("chunk"), generated_bytes(3 << 20, 512 << 10));
}

#[test]
fn grammers_resolves_a_channel_by_id_alone_and_reads_its_photo_message_with_the_hash_it_got() {
    let dc = FakeDc::start(TOKEN);
    let photo = dc.add_photo(3, vec![9; 70_000]);
    dc.put_message(Peer::Channel(500), 3, &photo);
    let k = key(5);
    dc.install_auth_key(2, k);
    let mut c = Client::connect(&dc, 2, Full::new(), k);
    c.login();
    let by_id =
        |access_hash| tl::enums::InputChannel::Channel(tl::types::InputChannel { channel_id: 500, access_hash });
    let read = |c: &mut Client<Full>, access_hash| {
        c.call(&tl::functions::channels::GetMessages { channel: by_id(access_hash), id: input_ids(&[3, 4]) })
    };
    assert_eq!(message(read(&mut c, 0)), (400, "CHANNEL_INVALID".to_string()), "getMessages needs the hash");
    let tl::enums::messages::Chats::Chats(chats) =
        c.call(&tl::functions::channels::GetChannels { id: vec![by_id(0)] }).expect("channels.getChannels")
    else {
        panic!("want messages.chats");
    };
    let Some(tl::enums::Chat::Channel(channel)) = chats.chats.first() else { panic!("{chats:?}") };
    let hash = channel.access_hash.expect("an access hash");
    assert!(hash != 0 && hash == dc.channel_access_hash(500) && channel.id == 500);
    let unknown = tl::enums::InputChannel::Channel(tl::types::InputChannel { channel_id: 501, access_hash: 0 });
    assert_eq!(message(c.call(&tl::functions::channels::GetChannels { id: vec![unknown] })).1, "CHANNEL_INVALID");

    let tl::enums::messages::Messages::ChannelMessages(answer) = read(&mut c, hash).expect("channels.getMessages")
    else {
        panic!("want messages.channelMessages");
    };
    let tl::enums::MessageMedia::Photo(tl::types::MessageMediaPhoto {
        photo: Some(tl::enums::Photo::Photo(p)), ..
    }) = media(&answer.messages[0])
    else {
        panic!("want a photo: {:?}", answer.messages[0]);
    };
    assert_eq!(
        (p.id, p.access_hash, p.dc_id, &p.file_reference),
        (photo.id, photo.access_hash, 3, &photo.file_reference)
    );
    // The largest size is the one a photo's Bot API file_id names ('y', see DcFile::bot_api_file_id).
    let largest = p.sizes.iter().filter_map(|s| match s {
        tl::enums::PhotoSize::Size(s) => Some((s.size, s.r#type.as_str())),
        _ => None,
    });
    assert_eq!(largest.max(), Some((70_000, "y")));
    assert!(matches!(&answer.messages[1], tl::enums::Message::Empty(e) if e.id == 4));
}

#[test]
fn grammers_logs_the_bot_in_on_its_home_dc_only_and_carries_the_login_to_another_dc() {
    let dc = FakeDc::start(TOKEN);
    dc.set_home_dc(2);
    let far = dc.add_generated_document(4, 100_000);
    let keys = [(1, key(6)), (2, key(7)), (4, key(8))];
    for (id, k) in keys {
        dc.install_auth_key(id, k);
    }
    let mut elsewhere = Client::connect(&dc, 1, Full::new(), keys[0].1);
    assert_eq!(message(elsewhere.try_login()), (303, "USER_MIGRATE_2".to_string()));
    let mut home = Client::connect(&dc, 2, Full::new(), keys[1].1);
    assert_eq!(home.login(), BOT_ID);
    assert_eq!(message(home.get_file(&far, 0, 4096)), (303, "FILE_MIGRATE_4".to_string()));
    let tl::enums::auth::ExportedAuthorization::Authorization(exported) =
        home.call(&tl::functions::auth::ExportAuthorization { dc_id: 4 }).expect("export");
    let mut there = Client::connect(&dc, 4, Full::new(), keys[2].1);
    assert_eq!(message(there.get_file(&far, 0, 4096)).0, 401, "not logged in yet");
    let import = tl::functions::auth::ImportAuthorization { id: exported.id, bytes: exported.bytes };
    there.call(&import).expect("import");
    assert_eq!(there.get_file(&far, 0, 1 << 20).expect("chunk"), generated_bytes(0, 100_000));
}
