//! A fresh file reference for a file whose reference expired (`FILE_REFERENCE_EXPIRED`): the
//! message that holds the file is fetched again on the home DC, from the bot's private chat or
//! basic group (`messages.getMessages`) or from a channel (`channels.getMessages`).

use grammers_tl_types::{enums, functions, types};

use super::download::RemoteFile;
use super::error::InvokeError;
use super::pool::{FIRST_DC, Pool};

/// Bot API ids of channels and supergroups are `-100` followed by the channel id.
const CHANNEL_ID_BASE: i64 = -1_000_000_000_000;

/// Why no fresh reference was found, as an error a download ends with.
fn gone(what: &str) -> InvokeError {
    InvokeError::Rpc { code: 400, name: format!("FILE_REFERENCE_EXPIRED ({what})"), value: None }
}

/// The current reference of `file`, read from its message.
pub(crate) async fn fresh_reference(pool: &Pool, file: &RemoteFile) -> Result<Vec<u8>, InvokeError> {
    let Some((chat, message)) = file.source else {
        return Err(gone("no message is known for this link"));
    };
    let home = pool.home().unwrap_or(FIRST_DC);
    let ids = vec![enums::InputMessage::Id(types::InputMessageId { id: message })];
    let answer = match channel_id(chat) {
        None => pool.call(home, &functions::messages::GetMessages { id: ids }).await?,
        Some(channel_id) => {
            let access_hash = channel_access_hash(pool, home, channel_id).await?;
            let channel = enums::InputChannel::Channel(types::InputChannel { channel_id, access_hash });
            pool.call(home, &functions::channels::GetMessages { channel, id: ids }).await?
        }
    };
    let messages = match answer {
        enums::messages::Messages::Messages(m) => m.messages,
        enums::messages::Messages::Slice(m) => m.messages,
        enums::messages::Messages::ChannelMessages(m) => m.messages,
        enums::messages::Messages::NotModified(_) => Vec::new(),
    };
    let found = messages.iter().find_map(|m| reference_in(m, file.id));
    found.ok_or_else(|| gone("the message no longer holds the file"))
}

/// The channel id in a Bot API chat id, for channels and supergroups.
fn channel_id(chat: i64) -> Option<i64> {
    (chat < CHANNEL_ID_BASE).then(|| CHANNEL_ID_BASE - chat)
}

/// A channel's access hash: bots may name a channel they are in with access hash 0
/// (`channels.getChannels`), which answers with the real one.
async fn channel_access_hash(pool: &Pool, home: i32, channel_id: i64) -> Result<i64, InvokeError> {
    let id = vec![enums::InputChannel::Channel(types::InputChannel { channel_id, access_hash: 0 })];
    let chats = match pool.call(home, &functions::channels::GetChannels { id }).await? {
        enums::messages::Chats::Chats(c) => c.chats,
        enums::messages::Chats::Slice(c) => c.chats,
    };
    chats
        .iter()
        .find_map(|chat| match chat {
            enums::Chat::Channel(c) if c.id == channel_id => c.access_hash,
            _ => None,
        })
        .ok_or_else(|| gone("the channel is not reachable"))
}

/// The reference of document or photo `id` in a message's media.
fn reference_in(message: &enums::Message, id: i64) -> Option<Vec<u8>> {
    let enums::Message::Message(message) = message else { return None };
    media_reference(message.media.as_ref()?, id)
}

fn media_reference(media: &enums::MessageMedia, id: i64) -> Option<Vec<u8>> {
    match media {
        enums::MessageMedia::Document(media) => {
            let alternatives = media.alt_documents.iter().flatten();
            media.document.iter().chain(alternatives).find_map(|d| match d {
                enums::Document::Document(d) if d.id == id => Some(d.file_reference.clone()),
                _ => None,
            })
        }
        enums::MessageMedia::Photo(media) => match media.photo.as_ref()? {
            enums::Photo::Photo(p) if p.id == id => Some(p.file_reference.clone()),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_ids_come_out_of_bot_api_chat_ids() {
        assert_eq!(channel_id(-1001234567890), Some(1234567890));
        assert_eq!(channel_id(-1000000000001), Some(1));
        assert_eq!(channel_id(-4123), None, "a basic group");
        assert_eq!(channel_id(777), None, "a private chat");
    }

    fn document(id: i64, reference: &[u8]) -> enums::Document {
        enums::Document::Document(types::Document {
            id,
            access_hash: 1,
            file_reference: reference.to_vec(),
            date: 0,
            mime_type: "video/mp4".into(),
            size: 10,
            thumbs: None,
            video_thumbs: None,
            dc_id: 2,
            attributes: Vec::new(),
        })
    }

    #[test]
    fn the_reference_is_read_from_the_matching_document_only() {
        let media = |d| {
            enums::MessageMedia::Document(types::MessageMediaDocument {
                nopremium: false,
                spoiler: false,
                video: true,
                round: false,
                voice: false,
                document: Some(d),
                alt_documents: None,
                video_cover: None,
                video_timestamp: None,
                ttl_seconds: None,
            })
        };
        assert_eq!(media_reference(&media(document(7, b"fresh")), 7), Some(b"fresh".to_vec()));
        assert_eq!(media_reference(&media(document(8, b"other")), 7), None);
        assert_eq!(media_reference(&enums::MessageMedia::Empty, 7), None);
    }
}
