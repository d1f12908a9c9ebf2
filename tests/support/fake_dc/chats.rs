//! Messages holding files, for clients refreshing a file reference: messages.getMessages (the
//! bot's private chats), channels.getChannels and channels.getMessages, answered with grammers'
//! TL types of the current layer (message, messageMediaDocument/Photo, channel, user).

use super::handshake::unix_now;
use super::state::{DcFileKind, FileEntry, Peer, State};
use grammers_tl_types::{Serializable, enums, types};

/// Most message ids one call may ask for (Telegram's limit for messages.getMessages).
const IDS_CAP: usize = 200;

/// An rpc_error: code and message.
pub(super) type RpcError = (i32, String);

fn error(code: i32, message: &str) -> RpcError {
    (code, message.to_string())
}

/// The access hash of channel `id` (bots may also name it with 0 in channels.getChannels).
pub(super) fn channel_access_hash(id: i64) -> i64 {
    (id.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x5eed) | 1
}

/// Answers messages.getMessages: messages of the bot's private chats by id.
pub(super) fn get_messages(st: &State, ids: &[enums::InputMessage]) -> Result<Vec<u8>, RpcError> {
    if ids.len() > IDS_CAP {
        return Err(error(400, "LIMIT_INVALID"));
    }
    let mut users = Vec::new();
    let messages = ids
        .iter()
        .map(|input| {
            let id = message_id(input);
            let found = st.messages.iter().find(|((peer, msg), _)| *msg == id && matches!(peer, Peer::User(_)));
            match found.and_then(|((peer, _), file)| Some((*peer, st.files.get(file)?))) {
                Some((peer @ Peer::User(user), entry)) => {
                    if !users.contains(&user) {
                        users.push(user);
                    }
                    message(peer, id, entry)
                }
                _ => empty(id),
            }
        })
        .collect();
    let users = users.into_iter().map(|id| user(id, false)).collect();
    Ok(enums::messages::Messages::Messages(types::messages::Messages {
        messages,
        topics: vec![],
        chats: vec![],
        users,
    })
    .to_bytes())
}

/// Answers channels.getChannels: channels that hold messages, named with their access hash or 0.
pub(super) fn get_channels(st: &State, ids: &[enums::InputChannel]) -> Result<Vec<u8>, RpcError> {
    if ids.len() > IDS_CAP {
        return Err(error(400, "LIMIT_INVALID"));
    }
    let mut chats = Vec::new();
    for input in ids {
        let enums::InputChannel::Channel(c) = input else {
            return Err(error(400, "CHANNEL_INVALID"));
        };
        let known = st.messages.keys().any(|(peer, _)| *peer == Peer::Channel(c.channel_id));
        if !known || (c.access_hash != 0 && c.access_hash != channel_access_hash(c.channel_id)) {
            return Err(error(400, "CHANNEL_INVALID"));
        }
        chats.push(channel(c.channel_id));
    }
    Ok(enums::messages::Chats::Chats(types::messages::Chats { chats }).to_bytes())
}

/// Answers channels.getMessages, which needs the channel's real access hash.
pub(super) fn get_channel_messages(
    st: &State,
    input: &enums::InputChannel,
    ids: &[enums::InputMessage],
) -> Result<Vec<u8>, RpcError> {
    let enums::InputChannel::Channel(c) = input else {
        return Err(error(400, "CHANNEL_INVALID"));
    };
    if c.access_hash != channel_access_hash(c.channel_id) {
        return Err(error(400, "CHANNEL_INVALID"));
    }
    if ids.len() > IDS_CAP {
        return Err(error(400, "LIMIT_INVALID"));
    }
    let peer = Peer::Channel(c.channel_id);
    let messages = ids
        .iter()
        .map(|input| {
            let id = message_id(input);
            match st.messages.get(&(peer, id)).and_then(|file| st.files.get(file)) {
                Some(entry) => message(peer, id, entry),
                None => empty(id),
            }
        })
        .collect();
    let answer = types::messages::ChannelMessages {
        inexact: false,
        pts: 1,
        count: ids.len() as i32,
        offset_id_offset: None,
        messages,
        topics: vec![],
        chats: vec![channel(c.channel_id)],
        users: vec![],
    };
    Ok(enums::messages::Messages::ChannelMessages(answer).to_bytes())
}

/// The id an inputMessageID names (0, which no message has, for the other kinds).
fn message_id(input: &enums::InputMessage) -> i32 {
    match input {
        enums::InputMessage::Id(m) => m.id,
        _ => 0,
    }
}

fn empty(id: i32) -> enums::Message {
    enums::Message::Empty(types::MessageEmpty { id, peer_id: None })
}

/// The media of a message holding `entry`, with the file's current reference.
fn media(entry: &FileEntry) -> enums::MessageMedia {
    let f = &entry.file;
    let now = unix_now() as i32;
    match f.kind {
        DcFileKind::Document => enums::MessageMedia::Document(types::MessageMediaDocument {
            nopremium: false,
            spoiler: false,
            video: false,
            round: false,
            voice: false,
            document: Some(enums::Document::Document(types::Document {
                id: f.id,
                access_hash: f.access_hash,
                file_reference: f.file_reference.clone(),
                date: now,
                mime_type: entry.mime.clone(),
                size: f.size as i64,
                thumbs: None,
                video_thumbs: None,
                dc_id: f.dc_id,
                attributes: vec![enums::DocumentAttribute::Filename(types::DocumentAttributeFilename {
                    file_name: entry.name.clone(),
                })],
            })),
            alt_documents: None,
            video_cover: None,
            video_timestamp: None,
            ttl_seconds: None,
        }),
        DcFileKind::Photo => {
            // The largest size is 'y', the size a photo's Bot API file_id names (see file_id.rs).
            let size = |kind: &str, w: i32, h: i32, size: u64| {
                enums::PhotoSize::Size(types::PhotoSize { r#type: kind.to_string(), w, h, size: size as i32 })
            };
            let sizes = vec![size("m", 320, 240, f.size.min(4096)), size("y", 1280, 960, f.size)];
            enums::MessageMedia::Photo(types::MessageMediaPhoto {
                spoiler: false,
                live_photo: false,
                photo: Some(enums::Photo::Photo(types::Photo {
                    has_stickers: false,
                    id: f.id,
                    access_hash: f.access_hash,
                    file_reference: f.file_reference.clone(),
                    date: now,
                    sizes,
                    video_sizes: None,
                    dc_id: f.dc_id,
                })),
                ttl_seconds: None,
                video: None,
            })
        }
    }
}

/// Message `id` of `peer` holding `entry`: sent by the user in a private chat, a post in a channel.
fn message(peer: Peer, id: i32, entry: &FileEntry) -> enums::Message {
    let (peer_id, from_id, post) = match peer {
        Peer::User(user) => {
            let from = enums::Peer::User(types::PeerUser { user_id: user });
            (from.clone(), Some(from), false)
        }
        Peer::Channel(channel) => (enums::Peer::Channel(types::PeerChannel { channel_id: channel }), None, true),
    };
    enums::Message::Message(types::Message {
        out: false,
        mentioned: false,
        media_unread: false,
        silent: false,
        post,
        from_scheduled: false,
        legacy: false,
        edit_hide: false,
        pinned: false,
        noforwards: false,
        invert_media: false,
        offline: false,
        video_processing_pending: false,
        paid_suggested_post_stars: false,
        paid_suggested_post_ton: false,
        id,
        from_id,
        from_boosts_applied: None,
        from_rank: None,
        peer_id,
        saved_peer_id: None,
        fwd_from: None,
        via_bot_id: None,
        via_business_bot_id: None,
        guestchat_via_from: None,
        reply_to: None,
        date: unix_now() as i32,
        message: String::new(),
        media: Some(media(entry)),
        reply_markup: None,
        entities: None,
        views: None,
        forwards: None,
        replies: None,
        edit_date: None,
        post_author: None,
        grouped_id: None,
        reactions: None,
        restriction_reason: None,
        ttl_period: None,
        quick_reply_shortcut_id: None,
        effect: None,
        factcheck: None,
        report_delivery_until_date: None,
        paid_message_stars: None,
        suggested_post: None,
        schedule_repeat_period: None,
        summary_from_language: None,
        rich_message: None,
    })
}

/// Broadcast channel `id`, with its access hash.
fn channel(id: i64) -> enums::Chat {
    enums::Chat::Channel(types::Channel {
        creator: false,
        left: false,
        broadcast: true,
        verified: false,
        megagroup: false,
        restricted: false,
        signatures: false,
        min: false,
        scam: false,
        has_link: false,
        has_geo: false,
        slowmode_enabled: false,
        call_active: false,
        call_not_empty: false,
        fake: false,
        gigagroup: false,
        noforwards: false,
        join_to_send: false,
        join_request: false,
        forum: false,
        stories_hidden: false,
        stories_hidden_min: false,
        stories_unavailable: false,
        signature_profiles: false,
        autotranslation: false,
        broadcast_messages_allowed: false,
        monoforum: false,
        forum_tabs: false,
        id,
        access_hash: Some(channel_access_hash(id)),
        title: format!("Fake channel {id}"),
        username: None,
        photo: enums::ChatPhoto::Empty,
        date: unix_now() as i32,
        restriction_reason: None,
        admin_rights: None,
        banned_rights: None,
        default_banned_rights: None,
        participants_count: None,
        usernames: None,
        stories_max_id: None,
        color: None,
        profile_color: None,
        emoji_status: None,
        level: None,
        subscription_until_date: None,
        bot_verification_icon: None,
        send_paid_messages_stars: None,
        linked_monoforum_id: None,
        linked_community_id: None,
    })
}

/// User `id`: the logged-in bot itself when `me`, otherwise a user writing to it.
pub(super) fn user(id: i64, me: bool) -> enums::User {
    enums::User::User(types::User {
        is_self: me,
        contact: false,
        mutual_contact: false,
        deleted: false,
        bot: me,
        bot_chat_history: false,
        bot_nochats: false,
        verified: false,
        restricted: false,
        min: false,
        bot_inline_geo: false,
        support: false,
        scam: false,
        apply_min_photo: false,
        fake: false,
        bot_attach_menu: false,
        premium: false,
        attach_menu_enabled: false,
        bot_can_edit: false,
        close_friend: false,
        stories_hidden: false,
        stories_unavailable: false,
        contact_require_premium: false,
        bot_business: false,
        bot_has_main_app: false,
        bot_forum_view: false,
        bot_forum_can_manage_topics: false,
        bot_can_manage_bots: false,
        bot_guestchat: false,
        bot_guard: false,
        id,
        access_hash: Some(if me { 0x05ee_db07 } else { id ^ 0x0a11_ce00 }),
        first_name: Some(if me { "Fake Stream Bot".to_string() } else { format!("User {id}") }),
        last_name: None,
        username: me.then(|| "fake_stream_bot".to_string()),
        phone: None,
        photo: None,
        status: None,
        bot_info_version: me.then_some(1),
        restriction_reason: None,
        bot_inline_placeholder: None,
        lang_code: None,
        emoji_status: None,
        usernames: None,
        stories_max_id: None,
        color: None,
        profile_color: None,
        bot_active_users: None,
        bot_verification_icon: None,
        send_paid_messages_stars: None,
        linked_community_id: None,
    })
}
