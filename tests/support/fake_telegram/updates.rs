//! Building Bot API JSON: queued updates (messages, media, callback queries from fake users,
//! channel posts and their edits),
//! messages the bot creates, and the User/Chat objects they carry.

use super::state::{Shared, State};
use super::{BOT_ID, BOT_USERNAME, FakeUser, FileRef, MEDIA_KINDS, RECORD_CAP};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

impl Shared {
    pub(super) fn push_update(&self, content: Value) -> i64 {
        let mut st = self.lock();
        let id = st.enqueue(content);
        self.notify();
        id
    }

    pub(super) fn send_text(&self, user: &FakeUser, text: &str) -> i64 {
        self.send_text_replying(user, text, None)
    }

    pub(super) fn send_text_replying(&self, user: &FakeUser, text: &str, reply_to: Option<i64>) -> i64 {
        let mut st = self.lock();
        let mut msg = st.user_message(user);
        msg["text"] = json!(text);
        if let Some(original) = reply_to.and_then(|id| st.messages.get(&id).cloned()) {
            msg["reply_to_message"] = original;
        }
        if text.starts_with('/') {
            let command = text.split_whitespace().next().unwrap_or("");
            msg["entities"] = json!([{
                "type": "bot_command",
                "offset": 0,
                "length": command.encode_utf16().count(),
            }]);
        }
        st.store_message(&msg);
        let id = st.enqueue(json!({ "message": msg }));
        self.notify();
        id
    }

    pub(super) fn send_media(&self, user: &FakeUser, kind: &str, file: &FileRef) -> i64 {
        let mut st = self.lock();
        let mut msg = st.user_message(user);
        msg[kind] = st.media_json(kind, file);
        if kind == "animation" {
            msg["document"] = st.media_json("document", file);
        }
        st.store_message(&msg);
        let id = st.enqueue(json!({ "message": msg }));
        self.notify();
        id
    }

    pub(super) fn post_in_channel(
        &self,
        channel: i64,
        kind: &str,
        file: &FileRef,
        markup: Option<Value>,
    ) -> (i64, i64) {
        let mut st = self.lock();
        let message_id = st.new_message_id();
        let mut msg = message_in_chat(message_id, channel);
        msg[kind] = st.media_json(kind, file);
        if let Some(markup) = markup {
            msg["reply_markup"] = markup;
        }
        st.store_message(&msg);
        let id = st.enqueue(json!({ "channel_post": msg }));
        self.notify();
        (id, message_id)
    }

    pub(super) fn edit_channel_post(&self, message_id: i64, caption: &str, media: Option<(&str, &FileRef)>) -> i64 {
        let mut st = self.lock();
        let mut msg = st.messages.get(&message_id).cloned().expect("fake telegram: the edited post is stored");
        msg["caption"] = json!(caption);
        if let Some((kind, file)) = media {
            // editMessageMedia: the post now carries another file, its buttons as they were.
            for old in MEDIA_KINDS {
                msg.as_object_mut().unwrap().remove(old);
            }
            msg[kind] = st.media_json(kind, file);
        }
        msg["edit_date"] = json!(unix_now());
        st.store_message(&msg);
        let id = st.enqueue(json!({ "edited_channel_post": msg }));
        self.notify();
        id
    }

    pub(super) fn send_callback(&self, user: &FakeUser, message_id: i64, data: &str) -> i64 {
        let mut st = self.lock();
        let message = st.messages.get(&message_id).cloned().unwrap_or_else(|| {
            json!({
                "message_id": message_id,
                "date": unix_now(),
                "chat": user.chat_json(),
                "from": bot_user_json(),
            })
        });
        st.next_callback += 1;
        let query = json!({
            "id": format!("{}", 4_000_000_000_000_000_000u64 + st.next_callback),
            "from": user.user_json(),
            "chat_instance": format!("-{}", 9_000_000_000u64 + user.id),
            "data": data,
            "message": message,
        });
        let id = st.enqueue(json!({ "callback_query": query }));
        self.notify();
        id
    }
}

impl State {
    fn new_message_id(&mut self) -> i64 {
        if self.next_message_id == 0 {
            self.next_message_id = 1000;
        }
        let id = self.next_message_id;
        self.next_message_id += 1;
        id
    }

    fn enqueue(&mut self, content: Value) -> i64 {
        let mut obj = match content {
            Value::Object(map) => map,
            other => panic!("fake telegram: an update must be a JSON object, got {other}"),
        };
        self.next_update_id = self.next_update_id.max(1);
        let id = self.next_update_id;
        self.next_update_id += 1;
        obj.insert("update_id".to_string(), json!(id));
        self.queue(id, Value::Object(obj));
        id
    }

    pub(super) fn enqueue_raw(&mut self, mut value: Value) -> i64 {
        self.next_update_id = self.next_update_id.max(1);
        let given = value.get("update_id").and_then(Value::as_i64);
        let id = match given {
            Some(id) => id,
            None => {
                let id = self.next_update_id;
                if let Some(obj) = value.as_object_mut() {
                    obj.insert("update_id".to_string(), json!(id));
                }
                id
            }
        };
        self.next_update_id = self.next_update_id.max(id + 1);
        self.queue(id, value);
        id
    }

    fn queue(&mut self, id: i64, value: Value) {
        if self.updates.len() >= RECORD_CAP {
            self.updates.pop_front();
        }
        self.updates.push_back((id, value));
    }

    pub(super) fn store_message(&mut self, msg: &Value) {
        let Some(id) = msg.get("message_id").and_then(Value::as_i64) else {
            return;
        };
        if self.messages.len() < RECORD_CAP || self.messages.contains_key(&id) {
            self.messages.insert(id, msg.clone());
        }
    }

    fn user_message(&mut self, user: &FakeUser) -> Value {
        json!({
            "message_id": self.new_message_id(),
            "date": unix_now(),
            "chat": user.chat_json(),
            "from": user.user_json(),
        })
    }

    pub(super) fn bot_message(&mut self, chat_id: i64) -> Value {
        let id = self.new_message_id();
        self.last_bot_message = Some(id);
        message_in_chat(id, chat_id)
    }

    pub(super) fn media_json(&mut self, kind: &str, f: &FileRef) -> Value {
        let mut v = json!({
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "file_size": f.size,
        });
        let stem =
            Path::new(&f.name).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| f.name.clone());
        let extra = match kind {
            "document" => json!({"file_name": f.name, "mime_type": f.mime}),
            "video" => json!({
                "width": 1280, "height": 720, "duration": 10,
                "file_name": f.name, "mime_type": f.mime,
            }),
            "animation" => json!({
                "width": 480, "height": 270, "duration": 3,
                "file_name": f.name, "mime_type": f.mime,
            }),
            "audio" => json!({
                "duration": 180, "title": stem, "performer": "Fake Artist",
                "file_name": f.name, "mime_type": f.mime,
            }),
            "voice" => json!({"duration": 5, "mime_type": f.mime}),
            "video_note" => json!({"length": 240, "duration": 5}),
            "sticker" => json!({
                "type": "regular", "width": 512, "height": 512,
                "is_animated": false, "is_video": false, "emoji": "\u{1F642}",
            }),
            "photo" => {
                let bytes =
                    self.files.get(&f.file_id).map(|s| s.bytes[..s.bytes.len().min(2048)].to_vec()).unwrap_or_default();
                let thumb = self.register(Arc::new(bytes), None, "thumb.jpg", "image/jpeg");
                return json!([
                    {
                        "file_id": thumb.file_id,
                        "file_unique_id": thumb.file_unique_id,
                        "file_size": thumb.size,
                        "width": 90,
                        "height": 90,
                    },
                    {
                        "file_id": f.file_id,
                        "file_unique_id": f.file_unique_id,
                        "file_size": f.size,
                        "width": 1280,
                        "height": 720,
                    },
                ]);
            }
            other => panic!("fake telegram: unknown media kind {other:?}"),
        };
        if let (Some(obj), Value::Object(extra)) = (v.as_object_mut(), extra) {
            obj.extend(extra);
        }
        v
    }
}

pub(super) fn bot_user_json() -> Value {
    json!({
        "id": BOT_ID,
        "is_bot": true,
        "first_name": "Stream Bot",
        "username": BOT_USERNAME,
    })
}

fn chat_json_for(chat_id: i64) -> Value {
    if chat_id <= -1_000_000_000_000 {
        json!({"id": chat_id, "type": "channel", "title": "Fake Channel"})
    } else if chat_id < 0 {
        json!({"id": chat_id, "type": "group", "title": "Fake Group"})
    } else {
        json!({"id": chat_id, "type": "private"})
    }
}

/// A message sent by the bot into `chat_id` (channel posts carry `sender_chat` instead of `from`).
pub(super) fn message_in_chat(message_id: i64, chat_id: i64) -> Value {
    let chat = chat_json_for(chat_id);
    let mut msg = json!({"message_id": message_id, "date": unix_now(), "chat": chat});
    if chat["type"] == "channel" {
        msg["sender_chat"] = chat;
    } else {
        msg["from"] = bot_user_json();
    }
    msg
}

pub(super) fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
