//! The file in a message: its kind, id, name and MIME type, with a name and type made up where
//! Telegram gives none. Pure.

use frankenstein::types::Message;

/// The kind of attachment, as Telegram names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Document,
    Video,
    Audio,
    Photo,
    Animation,
    Voice,
    VideoNote,
    Sticker,
}

/// The file in a message, with a name and MIME type even when Telegram gives none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    pub kind: Kind,
    pub file_id: String,
    pub file_unique_id: String,
    pub name: String,
    pub size: Option<u64>,
    pub mime: String,
}

fn named(name: Option<&String>, fallback: impl FnOnce() -> String) -> String {
    match name.map(|n| n.trim()) {
        Some(n) if !n.is_empty() => n.to_owned(),
        _ => fallback(),
    }
}

/// The declared type if it is usable in a header, else `fallback`.
fn mime_or(mime: Option<&String>, fallback: &str) -> String {
    match mime.map(|m| crate::mime::sanitize(m.trim())) {
        Some(m) if m != crate::mime::OCTET_STREAM => m.to_owned(),
        _ => fallback.to_owned(),
    }
}

fn media(kind: Kind, file_id: &str, unique: &str, name: String, size: Option<u64>, mime: String) -> Media {
    Media { kind, file_id: file_id.to_owned(), file_unique_id: unique.to_owned(), name, size, mime }
}

/// A file of a kind Telegram sends with `file_name` and `mime_type` (document, video, audio,
/// animation): its own name and type, or `<prefix>_<file_unique_id><ext>` and `fallback_mime`.
/// The four Bot API types share those field names but no trait, hence a macro.
macro_rules! own_named {
    ($file:expr, $kind:expr, $prefix:literal, $ext:literal, $fallback_mime:literal) => {{
        let f = $file;
        let name = named(f.file_name.as_ref(), || format!(concat!($prefix, "_{}", $ext), f.file_unique_id));
        media($kind, &f.file_id, &f.file_unique_id, name, f.file_size, mime_or(f.mime_type.as_ref(), $fallback_mime))
    }};
}

/// Finds the one file a message carries (pure).
pub fn media_of(m: &Message) -> Option<Media> {
    if let Some(d) = &m.document {
        return Some(own_named!(d, Kind::Document, "document", "", "application/octet-stream"));
    }
    if let Some(v) = &m.video {
        return Some(own_named!(v, Kind::Video, "video", ".mp4", "video/mp4"));
    }
    if let Some(a) = &m.audio {
        return Some(own_named!(a, Kind::Audio, "audio", ".mp3", "audio/mpeg"));
    }
    if let Some(a) = &m.animation {
        return Some(own_named!(a, Kind::Animation, "animation", ".mp4", "video/mp4"));
    }
    named_by_telegram(m)
}

/// Files Telegram gives no name of their own: voice, video notes, stickers and photos.
fn named_by_telegram(m: &Message) -> Option<Media> {
    if let Some(v) = &m.voice {
        let name = format!("voice_{}.ogg", v.file_unique_id);
        let mime = mime_or(v.mime_type.as_ref(), "audio/ogg");
        return Some(media(Kind::Voice, &v.file_id, &v.file_unique_id, name, v.file_size, mime));
    }
    if let Some(v) = &m.video_note {
        let name = format!("video_note_{}.mp4", v.file_unique_id);
        return Some(media(Kind::VideoNote, &v.file_id, &v.file_unique_id, name, v.file_size, "video/mp4".into()));
    }
    if let Some(s) = &m.sticker {
        let (ext, mime) = if s.is_video {
            ("webm", "video/webm")
        } else if s.is_animated {
            ("tgs", "application/x-tgsticker")
        } else {
            ("webp", "image/webp")
        };
        let name = format!("sticker_{}.{ext}", s.file_unique_id);
        return Some(media(Kind::Sticker, &s.file_id, &s.file_unique_id, name, s.file_size, mime.into()));
    }
    // Telegram lists photo sizes smallest first; link the largest.
    let photo = m.photo.as_ref()?.iter().max_by_key(|p| (p.file_size.unwrap_or(0), p.width * p.height))?;
    let name = format!("photo_{}.jpg", photo.file_unique_id);
    Some(media(Kind::Photo, &photo.file_id, &photo.file_unique_id, name, photo.file_size, "image/jpeg".into()))
}

/// Whether the built-in player (or `VIDEO_FRONTEND_URL`) can play this file.
pub fn is_playable(media: &Media) -> bool {
    matches!(media.kind, Kind::Video | Kind::Audio | Kind::Animation | Kind::Voice | Kind::VideoNote)
        || crate::mime::playable(&media.mime)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A private-chat message with the fields of `json` added.
    pub(in crate::bot) fn message(json: serde_json::Value) -> Message {
        let mut base = serde_json::json!({"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}});
        base.as_object_mut().unwrap().extend(json.as_object().unwrap().clone());
        serde_json::from_value(base).unwrap()
    }

    #[test]
    fn document_keeps_its_name_and_mime() {
        let m = message(
            serde_json::json!({"document": {"file_id": "F", "file_unique_id": "U", "file_name": "a b.pdf", "mime_type": "application/pdf", "file_size": 10}}),
        );
        let media = media_of(&m).unwrap();
        assert_eq!(
            (media.kind, media.name.as_str(), media.mime.as_str(), media.size),
            (Kind::Document, "a b.pdf", "application/pdf", Some(10))
        );
    }

    #[test]
    fn video_audio_and_animation_without_names_get_their_kind_extension_and_type() {
        let cases = [
            ("video", "video_u.mp4", "video/mp4", Kind::Video),
            ("audio", "audio_u.mp3", "audio/mpeg", Kind::Audio),
            ("animation", "animation_u.mp4", "video/mp4", Kind::Animation),
        ];
        for (field, name, mime, kind) in cases {
            let file = serde_json::json!({"file_id": "F", "file_unique_id": "u", "width": 1, "height": 1, "duration": 1, "file_name": " "});
            let media = media_of(&message(serde_json::json!({ field: file }))).unwrap();
            assert_eq!((media.kind, media.name.as_str(), media.mime.as_str()), (kind, name, mime), "{field}");
        }
        let m = message(serde_json::json!({"document": {"file_id": "D", "file_unique_id": "d"}}));
        assert_eq!(media_of(&m).unwrap().name, "document_d");
    }

    #[test]
    fn largest_photo_is_linked() {
        let m = message(serde_json::json!({"photo": [
            {"file_id": "S", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 1000},
            {"file_id": "L", "file_unique_id": "l", "width": 1280, "height": 1280, "file_size": 90000}
        ]}));
        let media = media_of(&m).unwrap();
        assert_eq!(
            (media.file_id.as_str(), media.name.as_str(), media.mime.as_str()),
            ("L", "photo_l.jpg", "image/jpeg")
        );
    }

    #[test]
    fn voice_and_sticker_get_names() {
        let m = message(serde_json::json!({"voice": {"file_id": "V", "file_unique_id": "v", "duration": 3}}));
        assert_eq!(media_of(&m).unwrap().name, "voice_v.ogg");
        let m = message(
            serde_json::json!({"sticker": {"file_id": "S", "file_unique_id": "s", "type": "regular", "width": 1, "height": 1, "is_animated": false, "is_video": true}}),
        );
        let media = media_of(&m).unwrap();
        assert_eq!((media.name.as_str(), media.mime.as_str()), ("sticker_s.webm", "video/webm"));
    }

    #[test]
    fn media_and_media_documents_are_playable() {
        let video = message(
            serde_json::json!({"video": {"file_id": "V", "file_unique_id": "v", "width": 1, "height": 1, "duration": 1}}),
        );
        assert!(is_playable(&media_of(&video).unwrap()));
        let doc = |mime: &str| {
            message(serde_json::json!({"document": {"file_id": "D", "file_unique_id": "d", "mime_type": mime}}))
        };
        assert!(is_playable(&media_of(&doc("video/x-matroska")).unwrap()));
        assert!(is_playable(&media_of(&doc("audio/flac")).unwrap()));
        assert!(!is_playable(&media_of(&doc("application/zip")).unwrap()));
    }

    #[test]
    fn text_message_has_no_media() {
        assert_eq!(media_of(&message(serde_json::json!({"text": "hi"}))), None);
    }
}
