//! API methods of the fake DC: the invokeWithLayer / initConnection wrappers, bot login (on its home
//! DC if one is set), help.getConfig, export/import of authorizations, the message look-ups of
//! `chats` and upload.getFile with Telegram's offset/limit rules and the queued faults.

use super::chats;
use super::generated::generated_bytes;
use super::handshake::unix_now;
use super::state::{Content, DcFileKind, Shared, State, TABLE_CAP, random_bytes, random_i64};
use grammers_tl_types::{Cursor, Deserializable, Identifiable, RemoteCall, Serializable, enums, functions, types};

/// User id of the bot the fake logs clients in as (the fake Bot API's bot).
pub const BOT_ID: i64 = 424_242;
const KIB: i64 = 1024;
const MIB: i64 = 1024 * 1024;
/// Method names kept per fake (see `FakeDc::methods`).
const METHOD_LOG_CAP: usize = 10_000;

/// What to answer to one query.
pub(super) enum Reply {
    /// rpc_result with this serialized object.
    Ok(Vec<u8>),
    /// rpc_result with an rpc_error.
    Err(i32, String),
    /// Close the connection without answering.
    Drop,
}

fn err(code: i32, message: &str) -> Reply {
    Reply::Err(code, message.to_string())
}

/// The rest of a query, kept as bytes: the `X` of the generic wrappers.
struct Rest(Vec<u8>);

impl Deserializable for Rest {
    fn deserialize(buf: &mut Cursor) -> grammers_tl_types::deserialize::Result<Self> {
        let mut out = Vec::new();
        buf.read_to_end(&mut out)?;
        Ok(Rest(out))
    }
}

impl Serializable for Rest {
    fn serialize(&self, buf: &mut impl Extend<u8>) {
        buf.extend(self.0.iter().copied());
    }
}

impl RemoteCall for Rest {
    type Return = Rest;
}

/// Strips invokeWithLayer, initConnection, invokeWithoutUpdates and invokeAfterMsg.
fn unwrap_query(mut body: Vec<u8>) -> Option<Vec<u8>> {
    for _ in 0..8 {
        let mut cur = Cursor::from_slice(&body);
        let id = u32::deserialize(&mut cur).ok()?;
        body = match id {
            functions::InvokeWithLayer::<Rest>::CONSTRUCTOR_ID => {
                functions::InvokeWithLayer::<Rest>::deserialize(&mut cur).ok()?.query.0
            }
            functions::InitConnection::<Rest>::CONSTRUCTOR_ID => {
                functions::InitConnection::<Rest>::deserialize(&mut cur).ok()?.query.0
            }
            functions::InvokeWithoutUpdates::<Rest>::CONSTRUCTOR_ID => {
                functions::InvokeWithoutUpdates::<Rest>::deserialize(&mut cur).ok()?.query.0
            }
            functions::InvokeAfterMsg::<Rest>::CONSTRUCTOR_ID => {
                functions::InvokeAfterMsg::<Rest>::deserialize(&mut cur).ok()?.query.0
            }
            _ => return Some(body),
        };
    }
    None
}

/// Answers one query sent with auth key `key_id` on DC `dc`.
pub(super) fn call(shared: &Shared, dc: i32, key_id: u64, body: &[u8]) -> Reply {
    let Some(query) = unwrap_query(body.to_vec()) else {
        return err(400, "INPUT_REQUEST_INVALID");
    };
    let mut cur = Cursor::from_slice(&query);
    let Ok(id) = u32::deserialize(&mut cur) else {
        return err(400, "INPUT_REQUEST_INVALID");
    };
    {
        let mut st = shared.lock();
        if st.methods.len() < METHOD_LOG_CAP {
            let name = grammers_tl_types::name_for_id(id).to_string();
            st.methods.push((dc, name));
        }
        shared.notify();
    }
    match id {
        functions::auth::ImportBotAuthorization::CONSTRUCTOR_ID => {
            parse(&mut cur, |q| import_bot(shared, dc, key_id, q))
        }
        functions::help::GetConfig::CONSTRUCTOR_ID => Reply::Ok(config(&shared.lock(), dc)),
        functions::auth::ExportAuthorization::CONSTRUCTOR_ID => parse(&mut cur, |q| export_auth(shared, dc, key_id, q)),
        functions::auth::ImportAuthorization::CONSTRUCTOR_ID => parse(&mut cur, |q| import_auth(shared, dc, key_id, q)),
        functions::upload::GetFile::CONSTRUCTOR_ID => parse(&mut cur, |q| get_file(shared, dc, key_id, q)),
        functions::updates::GetState::CONSTRUCTOR_ID => authorized(shared, dc, key_id, |_| {
            let state = types::updates::State { pts: 1, qts: 0, date: unix_now() as i32, seq: 1, unread_count: 0 };
            enums::updates::State::State(state).to_bytes()
        }),
        functions::updates::GetDifference::CONSTRUCTOR_ID => authorized(shared, dc, key_id, |_| {
            let empty = types::updates::DifferenceEmpty { date: unix_now() as i32, seq: 1 };
            enums::updates::Difference::Empty(empty).to_bytes()
        }),
        functions::messages::GetMessages::CONSTRUCTOR_ID => parse(&mut cur, |q: functions::messages::GetMessages| {
            look_up(shared, dc, key_id, |st| chats::get_messages(st, &q.id))
        }),
        functions::channels::GetChannels::CONSTRUCTOR_ID => parse(&mut cur, |q: functions::channels::GetChannels| {
            look_up(shared, dc, key_id, |st| chats::get_channels(st, &q.id))
        }),
        functions::channels::GetMessages::CONSTRUCTOR_ID => parse(&mut cur, |q: functions::channels::GetMessages| {
            look_up(shared, dc, key_id, |st| chats::get_channel_messages(st, &q.channel, &q.id))
        }),
        functions::users::GetUsers::CONSTRUCTOR_ID => {
            authorized(shared, dc, key_id, |_| vec![chats::user(BOT_ID, true)].to_bytes())
        }
        _ => err(400, "METHOD_NOT_SUPPORTED_BY_FAKE_DC"),
    }
}

fn parse<T: Deserializable>(cur: &mut Cursor, then: impl FnOnce(T) -> Reply) -> Reply {
    match T::deserialize(cur) {
        Ok(q) => then(q),
        Err(_) => err(400, "INPUT_REQUEST_INVALID"),
    }
}

fn authorized(shared: &Shared, dc: i32, key_id: u64, then: impl FnOnce(i64) -> Vec<u8>) -> Reply {
    let user = shared.lock().keys.get(&(dc, key_id)).and_then(|k| k.user);
    match user {
        Some(user) => Reply::Ok(then(user)),
        None => err(401, "AUTH_KEY_UNREGISTERED"),
    }
}

/// A look-up in the state for a logged-in key.
fn look_up(
    shared: &Shared,
    dc: i32,
    key_id: u64,
    then: impl FnOnce(&State) -> Result<Vec<u8>, chats::RpcError>,
) -> Reply {
    let st = shared.lock();
    if st.keys.get(&(dc, key_id)).is_none_or(|k| k.user.is_none()) {
        return err(401, "AUTH_KEY_UNREGISTERED");
    }
    match then(&st) {
        Ok(answer) => Reply::Ok(answer),
        Err((code, message)) => Reply::Err(code, message),
    }
}

fn authorization() -> Vec<u8> {
    let auth = types::auth::Authorization {
        setup_password_required: false,
        otherwise_relogin_days: None,
        tmp_sessions: None,
        future_auth_token: None,
        user: chats::user(BOT_ID, true),
    };
    enums::auth::Authorization::Authorization(auth).to_bytes()
}

fn import_bot(shared: &Shared, dc: i32, key_id: u64, q: functions::auth::ImportBotAuthorization) -> Reply {
    let mut st = shared.lock();
    if q.api_id == 0 || q.api_hash.is_empty() {
        return err(400, "API_ID_INVALID");
    }
    if q.bot_auth_token != st.bot_token {
        return err(400, "ACCESS_TOKEN_INVALID");
    }
    // Telegram logs a bot in on its own DC only and names it to the others (pyrogram's
    // sign_in_bot and Telethon follow USER_MIGRATE_X by reconnecting there).
    if let Some(home) = st.home_dc.filter(|home| *home != dc) {
        return Reply::Err(303, format!("USER_MIGRATE_{home}"));
    }
    match st.keys.get_mut(&(dc, key_id)) {
        Some(key) => key.user = Some(BOT_ID),
        None => return err(401, "AUTH_KEY_UNREGISTERED"),
    }
    Reply::Ok(authorization())
}

fn config(st: &State, dc: i32) -> Vec<u8> {
    let dc_options = st
        .dcs
        .iter()
        .map(|&(id, port)| {
            enums::DcOption::Option(types::DcOption {
                ipv6: false,
                media_only: false,
                tcpo_only: false,
                cdn: false,
                r#static: false,
                this_port_only: false,
                id,
                ip_address: st.ip.clone(),
                port: i32::from(port),
                secret: None,
            })
        })
        .collect();
    let now = unix_now() as i32;
    enums::Config::Config(types::Config {
        default_p2p_contacts: false,
        preload_featured_stickers: false,
        revoke_pm_inbox: false,
        blocked_mode: false,
        force_try_ipv6: false,
        date: now,
        expires: now + 3600,
        test_mode: false,
        this_dc: dc,
        dc_options,
        dc_txt_domain_name: "fake.invalid".to_string(),
        chat_size_max: 200,
        megagroup_size_max: 200_000,
        forwarded_count_max: 100,
        online_update_period_ms: 210_000,
        offline_blur_timeout_ms: 5000,
        offline_idle_timeout_ms: 30_000,
        online_cloud_timeout_ms: 300_000,
        notify_cloud_delay_ms: 30_000,
        notify_default_delay_ms: 1500,
        push_chat_period_ms: 60_000,
        push_chat_limit: 2,
        edit_time_limit: 172_800,
        revoke_time_limit: i32::MAX,
        revoke_pm_time_limit: i32::MAX,
        rating_e_decay: 2_419_200,
        stickers_recent_limit: 200,
        channels_read_media_period: 604_800,
        tmp_sessions: None,
        call_receive_timeout_ms: 20_000,
        call_ring_timeout_ms: 90_000,
        call_connect_timeout_ms: 30_000,
        call_packet_timeout_ms: 10_000,
        me_url_prefix: "https://t.me/".to_string(),
        autoupdate_url_prefix: None,
        gif_search_username: None,
        venue_search_username: None,
        img_search_username: None,
        static_maps_provider: None,
        caption_length_max: 1024,
        message_length_max: 4096,
        webfile_dc_id: 4,
        suggested_lang_code: None,
        lang_pack_version: None,
        base_lang_pack_version: None,
        reactions_default: None,
        autologin_token: None,
    })
    .to_bytes()
}

fn export_auth(shared: &Shared, dc: i32, key_id: u64, q: functions::auth::ExportAuthorization) -> Reply {
    let mut st = shared.lock();
    let Some(user) = st.keys.get(&(dc, key_id)).and_then(|k| k.user) else {
        return err(401, "AUTH_KEY_UNREGISTERED");
    };
    if q.dc_id == dc || !st.dcs.iter().any(|&(id, _)| id == q.dc_id) {
        return err(400, "DC_ID_INVALID");
    }
    let (id, bytes) = (random_i64(), random_bytes(128));
    if st.exported.len() < TABLE_CAP {
        st.exported.insert(id, (bytes.clone(), user, q.dc_id));
    }
    Reply::Ok(
        enums::auth::ExportedAuthorization::Authorization(types::auth::ExportedAuthorization { id, bytes }).to_bytes(),
    )
}

fn import_auth(shared: &Shared, dc: i32, key_id: u64, q: functions::auth::ImportAuthorization) -> Reply {
    let mut st = shared.lock();
    let user = match st.exported.get(&q.id) {
        Some((bytes, user, target)) if *bytes == q.bytes && *target == dc => *user,
        _ => return err(400, "AUTH_BYTES_INVALID"),
    };
    st.exported.remove(&q.id);
    match st.keys.get_mut(&(dc, key_id)) {
        Some(key) => key.user = Some(user),
        None => return err(401, "AUTH_KEY_UNREGISTERED"),
    }
    Reply::Ok(authorization())
}

/// Telegram's chunk rules (core.telegram.org/api/files#downloading-files): offset and limit
/// multiples of 4 KiB (1 KiB with `precise`), 1 MiB % limit == 0 unless precise, limit <= 1 MiB
/// (512 KiB is the upload part limit, not a download one), and a chunk never crosses a 1 MiB
/// boundary: Telegram answered LIMIT_INVALID to 128 KiB at offset 960 KiB (Telethon issue 4390).
pub(super) fn check_range(precise: bool, offset: i64, limit: i32) -> Result<(), &'static str> {
    let limit = i64::from(limit);
    let unit = if precise { KIB } else { 4 * KIB };
    if offset < 0 || offset % unit != 0 {
        return Err("OFFSET_INVALID");
    }
    if limit <= 0 || limit > MIB || limit % unit != 0 || (!precise && MIB % limit != 0) {
        return Err("LIMIT_INVALID");
    }
    if offset / MIB != (offset + limit - 1) / MIB {
        return Err("LIMIT_INVALID");
    }
    Ok(())
}

fn location(loc: &enums::InputFileLocation) -> Option<(DcFileKind, i64, i64, &[u8])> {
    match loc {
        enums::InputFileLocation::InputDocumentFileLocation(l) => {
            Some((DcFileKind::Document, l.id, l.access_hash, &l.file_reference))
        }
        enums::InputFileLocation::InputPhotoFileLocation(l) => {
            Some((DcFileKind::Photo, l.id, l.access_hash, &l.file_reference))
        }
        _ => None,
    }
}

fn get_file(shared: &Shared, dc: i32, key_id: u64, q: functions::upload::GetFile) -> Reply {
    let delay = {
        let mut st = shared.lock();
        *st.get_file_calls.entry(dc).or_default() += 1;
        shared.notify();
        if let Some(n) = st.drop_after.as_mut() {
            if *n == 0 {
                st.drop_after = None;
                return Reply::Drop;
            }
            *n -= 1;
        }
        st.get_file_delay
    };
    if !delay.is_zero() {
        shared.sleep(delay);
    }
    let mut st = shared.lock();
    if st.keys.get(&(dc, key_id)).is_none_or(|k| k.user.is_none()) {
        return err(401, "AUTH_KEY_UNREGISTERED");
    }
    if let Some(fault) = st.faults.pop_front() {
        let (code, message) = fault.rpc_error();
        return Reply::Err(code, message);
    }
    let Some((kind, id, access_hash, reference)) = location(&q.location) else {
        return err(400, "LOCATION_INVALID");
    };
    let Some(entry) = st.files.get(&id) else {
        return err(400, "FILE_ID_INVALID");
    };
    let file = &entry.file;
    if file.kind != kind || file.access_hash != access_hash {
        return err(400, "FILE_ID_INVALID");
    }
    if file.dc_id != dc {
        return Reply::Err(303, format!("FILE_MIGRATE_{}", file.dc_id));
    }
    if file.file_reference != reference {
        return err(400, "FILE_REFERENCE_EXPIRED");
    }
    if let Err(e) = check_range(q.precise, q.offset, q.limit) {
        return err(400, e);
    }
    let (content, size) = (entry.content.clone(), file.size);
    // The bytes are cut or made with the lock released: other connections serve meanwhile.
    drop(st);
    let part = chunk(&content, size, q.offset, q.limit);
    *shared.lock().bytes_served.entry(dc).or_default() += part.len() as u64;
    Reply::Ok(upload_file(&part))
}

/// upload.file carrying `part`, as grammers serializes it, but with the bytes appended in one
/// copy: grammers' byte-string serializer is generic, so it is compiled into the test binary
/// unoptimized and went byte by byte at a few MiB/s.
fn upload_file(part: &[u8]) -> Vec<u8> {
    let head =
        types::upload::File { r#type: enums::storage::FileType::FilePartial, mtime: unix_now() as i32, bytes: vec![] };
    let mut out = enums::upload::File::File(head).to_bytes();
    // The empty byte string last: a zero length and three bytes of padding.
    out.truncate(out.len() - 4);
    out.reserve(part.len() + 8);
    let prefix = if part.len() <= 253 {
        out.push(part.len() as u8);
        1
    } else {
        out.push(254);
        out.extend_from_slice(&(part.len() as u32).to_le_bytes()[..3]);
        0
    };
    out.extend_from_slice(part);
    out.resize(out.len() + (4 - (part.len() + prefix) % 4) % 4, 0);
    out
}

/// Bytes `offset .. offset + limit` of a file of `size` bytes, cut at its end.
fn chunk(content: &Content, size: u64, offset: i64, limit: i32) -> Vec<u8> {
    let start = u64::try_from(offset).unwrap_or(u64::MAX).min(size);
    let end = start.saturating_add(u64::try_from(limit).unwrap_or(0)).min(size);
    match content {
        Content::Stored(bytes) => {
            let len = bytes.len();
            bytes[(start as usize).min(len)..(end as usize).min(len)].to_vec()
        }
        Content::Generated => generated_bytes(start, (end - start) as usize),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_file_chunks_follow_telegrams_offset_and_limit_rules() {
        assert_eq!(check_range(false, 0, 1 << 20), Ok(()));
        assert_eq!(check_range(false, 3 << 20, 512 * 1024), Ok(()));
        assert_eq!(check_range(false, 4096, 4096), Ok(()));
        assert_eq!(check_range(false, 1024, 4096), Err("OFFSET_INVALID"));
        assert_eq!(check_range(false, 0, 12 * 1024), Err("LIMIT_INVALID"), "1 MiB % limit != 0");
        assert_eq!(check_range(false, 0, (1 << 20) + 4096), Err("LIMIT_INVALID"));
        assert_eq!(check_range(false, 0, 0), Err("LIMIT_INVALID"));
        assert_eq!(check_range(false, (1 << 20) - 4096, 8192), Err("LIMIT_INVALID"), "crosses 1 MiB");
        assert_eq!(check_range(true, 1024, 3072), Ok(()));
        assert_eq!(check_range(true, 512, 1024), Err("OFFSET_INVALID"));
        assert_eq!(check_range(true, (1 << 20) - 1024, 2048), Err("LIMIT_INVALID"), "crosses 1 MiB");
        assert_eq!(check_range(true, 0, 1536), Err("LIMIT_INVALID"));
    }

    #[test]
    fn upload_file_answers_are_laid_out_as_grammers_serializes_them() {
        for len in [0, 1, 2, 3, 4, 252, 253, 254, 255, 4099, 512 * 1024] {
            let part: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let ours = upload_file(&part);
            let mtime = i32::from_le_bytes(ours[8..12].try_into().unwrap());
            let file = types::upload::File { r#type: enums::storage::FileType::FilePartial, mtime, bytes: part };
            assert!(ours == enums::upload::File::File(file).to_bytes(), "{len} bytes");
        }
    }
}
