//! Bot API `file_id` strings decoded to the MTProto location of the file's bytes (pure). A `file_id`
//! is TDLib's persistent id: a serialized `FullRemoteFileLocation`, zero-run-length encoded, then a
//! sub-version byte and the version byte 4, all in unpadded base64url.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use grammers_tl_types::Serializable;

/// Longest `file_id` decoded, in characters; real ones are 70 to 120 (a file reference is at most
/// a few dozen bytes), so anything longer is not a `file_id`.
pub const MAX_FILE_ID_LEN: usize = 512;
/// Most bytes a `file_id` expands to once its zero runs are decoded (a run can stand for 255
/// zeros, so a short string could otherwise grow a large buffer).
const MAX_DECODED_LEN: usize = 1024;
/// The last byte of every `file_id` TDLib has written since 2019 (`PERSISTENT_ID_VERSION`).
const PERSISTENT_ID_VERSION: u8 = 4;
/// Type flag: the location is a web file (`url` + `access_hash`), not in Telegram's storage.
const WEB_LOCATION_FLAG: i32 = 1 << 24;
/// Type flag: a TL `bytes` file reference follows the DC id.
const FILE_REFERENCE_FLAG: i32 = 1 << 25;
/// TDLib's placeholder for a file reference known to be invalid; it stands for none.
const INVALID_FILE_REFERENCE: &[u8] = b"#";

/// What a file is, as TDLib's `FileType` names it (the value is the number stored in a `file_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Thumbnail = 0,
    ProfilePhoto = 1,
    Photo = 2,
    VoiceNote = 3,
    Video = 4,
    Document = 5,
    Encrypted = 6,
    Sticker = 8,
    Audio = 9,
    Animation = 10,
    EncryptedThumbnail = 11,
    Wallpaper = 12,
    VideoNote = 13,
    SecureDecrypted = 14,
    SecureEncrypted = 15,
    Background = 16,
    DocumentAsFile = 17,
    Ringtone = 18,
    CallLog = 19,
    PhotoStory = 20,
    VideoStory = 21,
}

/// How a kind's bytes are addressed (TDLib's `FileTypeClass`, without `Temp`, which has no remote
/// location).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileClass {
    /// `inputPhotoFileLocation` (or a peer photo / sticker set thumbnail): id, access hash and a size.
    Photo,
    /// `inputDocumentFileLocation`: id, access hash, file reference.
    Document,
    /// `inputSecureFileLocation` (Telegram Passport).
    Secure,
    /// `inputEncryptedFileLocation` (secret chats).
    Encrypted,
}

impl FileKind {
    /// The kind stored as `raw` (flags removed); `None` for `Temp` and numbers TDLib does not know.
    pub fn from_raw(raw: i32) -> Option<FileKind> {
        use FileKind::*;
        Some(match raw {
            0 => Thumbnail,
            1 => ProfilePhoto,
            2 => Photo,
            3 => VoiceNote,
            4 => Video,
            5 => Document,
            6 => Encrypted,
            8 => Sticker,
            9 => Audio,
            10 => Animation,
            11 => EncryptedThumbnail,
            12 => Wallpaper,
            13 => VideoNote,
            14 => SecureDecrypted,
            15 => SecureEncrypted,
            16 => Background,
            17 => DocumentAsFile,
            18 => Ringtone,
            19 => CallLog,
            20 => PhotoStory,
            21 => VideoStory,
            _ => return None,
        })
    }

    /// How this kind's bytes are addressed (TDLib `get_file_type_class`).
    pub fn class(self) -> FileClass {
        use FileKind::*;
        match self {
            Thumbnail | ProfilePhoto | Photo | EncryptedThumbnail | Wallpaper | PhotoStory => FileClass::Photo,
            SecureDecrypted | SecureEncrypted => FileClass::Secure,
            Encrypted => FileClass::Encrypted,
            _ => FileClass::Document,
        }
    }
}

mod photo;
#[cfg(test)]
mod vectors;

pub use photo::{PhotoSizeInfo, PhotoSource};

/// A decoded `file_id`: enough for `upload.getFile` with an `inputDocumentFileLocation` (`id`,
/// `access_hash`, `file_reference`, `thumb_size` "") or an `inputPhotoFileLocation` (the same and
/// the size from `photo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLocation {
    /// The data centre holding the bytes.
    pub dc_id: i32,
    pub kind: FileKind,
    pub id: i64,
    pub access_hash: i64,
    /// Empty when the id carries none (the server then answers `FILE_REFERENCE_*`).
    pub file_reference: Vec<u8>,
    /// Present exactly for photo-class kinds.
    pub photo: Option<PhotoSizeInfo>,
    /// The TDLib serialization version the id was written with (its second-to-last byte).
    pub sub_version: u8,
}

impl FileLocation {
    /// The `thumb_size` to ask for: the size letter of a photo or thumbnail, "" for a whole document.
    pub fn thumb_size(&self) -> String {
        match &self.photo {
            Some(PhotoSizeInfo { source: PhotoSource::Thumbnail { thumb_size, .. }, .. }) => thumb_size.to_string(),
            _ => String::new(),
        }
    }
}

/// Why a `file_id` could not be decoded; the caller falls back to the Bot API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileIdError {
    /// Longer than [`MAX_FILE_ID_LEN`], or expanding past the decoded bound.
    TooLong,
    /// Not unpadded base64url.
    BadBase64,
    /// The last byte is not the persistent id version 4 (older ids use 2; `None`: empty).
    UnknownVersion(Option<u8>),
    /// A web file (`url` + `access_hash`): its bytes are not in Telegram's storage.
    WebLocation,
    /// The data ended inside a field or a zero run, or a length prefix is impossible.
    Truncated,
    /// A file type number that has no remote location (`Temp`) or that TDLib does not know.
    UnknownType(i32),
    /// A photo size source this sub-version cannot hold, or one that does not fit the kind.
    BadPhotoSource(i32),
    /// Bytes left after the location: a layout this decoder does not know.
    TrailingBytes(usize),
}

impl fmt::Display for FileIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileIdError::TooLong => write!(f, "file_id is too long"),
            FileIdError::BadBase64 => write!(f, "file_id is not unpadded base64url"),
            FileIdError::UnknownVersion(Some(v)) => write!(f, "file_id version {v} is not {PERSISTENT_ID_VERSION}"),
            FileIdError::UnknownVersion(None) => write!(f, "file_id is empty"),
            FileIdError::WebLocation => write!(f, "file_id names a web file, not a stored one"),
            FileIdError::Truncated => write!(f, "file_id ends inside a field"),
            FileIdError::UnknownType(t) => write!(f, "file_id has file type {t}, which has no remote location"),
            FileIdError::BadPhotoSource(s) => write!(f, "file_id has photo size source {s}, which does not fit"),
            FileIdError::TrailingBytes(n) => write!(f, "file_id has {n} bytes after the location"),
        }
    }
}

impl std::error::Error for FileIdError {}

/// Decodes a Bot API `file_id` to the location of its bytes.
pub fn decode(file_id: &str) -> Result<FileLocation, FileIdError> {
    if file_id.len() > MAX_FILE_ID_LEN {
        return Err(FileIdError::TooLong);
    }
    let raw = URL_SAFE_NO_PAD.decode(file_id).map_err(|_| FileIdError::BadBase64)?;
    // TDLib appends the two version bytes after zero-encoding, so they are read before decoding.
    let (&version, rest) = raw.split_last().ok_or(FileIdError::UnknownVersion(None))?;
    if version != PERSISTENT_ID_VERSION {
        return Err(FileIdError::UnknownVersion(Some(version)));
    }
    let (&sub_version, body) = rest.split_last().ok_or(FileIdError::Truncated)?;
    let body = zero_decode(body)?;
    let mut reader = Reader { buf: &body, pos: 0 };
    let location = read_location(&mut reader, sub_version)?;
    match body.len() - reader.pos {
        0 => Ok(location),
        left => Err(FileIdError::TrailingBytes(left)),
    }
}

/// Zero-run-length decoding: a 0x00 byte followed by a count stands for that many zero bytes.
fn zero_decode(data: &[u8]) -> Result<Vec<u8>, FileIdError> {
    let mut out = Vec::with_capacity(data.len() * 2);
    let mut bytes = data.iter();
    while let Some(&b) = bytes.next() {
        if b == 0 {
            let &count = bytes.next().ok_or(FileIdError::Truncated)?;
            out.resize(out.len() + usize::from(count), 0);
        } else {
            out.push(b);
        }
        if out.len() > MAX_DECODED_LEN {
            return Err(FileIdError::TooLong);
        }
    }
    Ok(out)
}

/// TDLib's `FullRemoteFileLocation::parse`: type and flags, DC, file reference, then the location.
fn read_location(r: &mut Reader<'_>, sub_version: u8) -> Result<FileLocation, FileIdError> {
    let raw_type = r.i32()?;
    if raw_type & WEB_LOCATION_FLAG != 0 {
        return Err(FileIdError::WebLocation);
    }
    let has_reference = raw_type & FILE_REFERENCE_FLAG != 0;
    let type_number = raw_type & !FILE_REFERENCE_FLAG;
    let kind = FileKind::from_raw(type_number).ok_or(FileIdError::UnknownType(type_number))?;
    let dc_id = r.i32()?;
    let mut file_reference = if has_reference { r.tl_bytes()?.to_vec() } else { Vec::new() };
    if file_reference == INVALID_FILE_REFERENCE {
        file_reference.clear();
    }
    let id = r.i64()?;
    let access_hash = r.i64()?;
    let photo = match kind.class() {
        FileClass::Photo => Some(photo::read_photo_size(r, sub_version, kind)?),
        _ => None,
    };
    Ok(FileLocation { dc_id, kind, id, access_hash, file_reference, photo, sub_version })
}

/// Little-endian reads over the decoded bytes; every read is bounds-checked.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FileIdError> {
        let end = self.pos.checked_add(n).filter(|&end| end <= self.buf.len()).ok_or(FileIdError::Truncated)?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn i32(&mut self) -> Result<i32, FileIdError> {
        let bytes = self.take(4)?;
        Ok(i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn i64(&mut self) -> Result<i64, FileIdError> {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(self.take(8)?);
        Ok(i64::from_le_bytes(bytes))
    }

    /// TL `bytes`: a length byte (or 254 and three length bytes), the data, zero padding to 4.
    fn tl_bytes(&mut self) -> Result<&'a [u8], FileIdError> {
        let first = self.take(1)?[0];
        let (len, header) = if first == 255 {
            return Err(FileIdError::Truncated);
        } else if first == 254 {
            let l = self.take(3)?;
            (usize::from(l[0]) | usize::from(l[1]) << 8 | usize::from(l[2]) << 16, 4)
        } else {
            (usize::from(first), 1)
        };
        let data = self.take(len)?;
        self.take((4 - (header + len) % 4) % 4)?;
        Ok(data)
    }
}

/// TDLib's `FileView::get_persistent_id`: the inverse of [`decode`] (the tests' and the fake
/// DC's ids are made with it).
pub fn encode(loc: &FileLocation) -> String {
    let mut body = Vec::new();
    let has_reference = !loc.file_reference.is_empty();
    let raw_type = loc.kind as i32 | if has_reference { FILE_REFERENCE_FLAG } else { 0 };
    body.extend(raw_type.to_le_bytes());
    body.extend(loc.dc_id.to_le_bytes());
    if has_reference {
        // TL `bytes` (length prefix, padding to 4), as grammers serializes a byte string.
        (&loc.file_reference[..]).serialize(&mut body);
    }
    body.extend(loc.id.to_le_bytes());
    body.extend(loc.access_hash.to_le_bytes());
    if let Some(info) = &loc.photo {
        photo::push_photo_size(&mut body, info, loc.sub_version);
    }
    let mut out = zero_encode(&body);
    out.extend([loc.sub_version, PERSISTENT_ID_VERSION]);
    URL_SAFE_NO_PAD.encode(out)
}

/// TDLib's `zero_encode`: each zero run becomes 0x00 and its length, runs cut at 250.
fn zero_encode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        out.push(data[i]);
        if data[i] == 0 {
            let run = data[i..].iter().take(250).take_while(|&&b| b == 0).count();
            out.push(run as u8);
            i += run;
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::photo::{SUB_NO_PHOTO_VOLUME, SUB_PHOTO_SIZE_SOURCE, Volume};
    use super::vectors::{PYROGRAM, TDLIB_ONLY, all_vectors};
    use super::*;
    use FileKind::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// The `file_unique_id` Telegram derives from a location, for documents and photo sizes: the
    /// class + 1, then the id and a size byte, or (in ids that still hold one) the volume.
    fn unique_id(loc: &FileLocation) -> String {
        let mut body = Vec::new();
        match &loc.photo {
            None => {
                body.extend(2i32.to_le_bytes());
                body.extend(loc.id.to_le_bytes());
            }
            Some(PhotoSizeInfo { source: PhotoSource::Thumbnail { thumb_size, .. }, volume }) => {
                body.extend(1i32.to_le_bytes());
                if let Some(v) = volume {
                    body.extend(v.volume_id.to_le_bytes());
                    body.extend(v.local_id.to_le_bytes());
                } else {
                    body.extend(loc.id.to_le_bytes());
                    body.push(match thumb_size {
                        'a' => 0,
                        'c' => 1,
                        other => *other as u8 + 5,
                    });
                }
            }
            Some(other) => panic!("no unique id rule for {other:?}"),
        }
        URL_SAFE_NO_PAD.encode(zero_encode(&body))
    }

    #[test]
    fn real_file_ids_of_every_media_kind_decode_to_their_location() {
        for vector in all_vectors() {
            let loc = decode(vector.file_id).unwrap_or_else(|e| panic!("{}: {e}", vector.file_id));
            assert_eq!(loc.kind, vector.kind, "{}", vector.file_id);
            assert_eq!(loc.dc_id, vector.dc_id, "{}", vector.file_id);
            assert!((1..=5).contains(&loc.dc_id), "{}", vector.file_id);
            assert_eq!(loc.id, vector.id, "{}", vector.file_id);
            assert_eq!(loc.access_hash, vector.access_hash, "{}", vector.file_id);
            assert_eq!(loc.file_reference, hex(vector.reference_hex), "{}", vector.file_id);
            assert_eq!(loc.sub_version, vector.sub_version, "{}", vector.file_id);
            assert_eq!(loc.thumb_size(), vector.thumb.map(String::from).unwrap_or_default(), "{}", vector.file_id);
            assert_eq!(loc.photo.is_some(), loc.kind.class() == FileClass::Photo, "{}", vector.file_id);
        }
        let kinds: Vec<FileKind> = all_vectors().map(|v| v.kind).collect();
        for accepted in [Document, Video, Audio, Photo, Animation, VoiceNote, VideoNote, Sticker] {
            assert!(kinds.contains(&accepted), "no vector for {accepted:?}");
        }
    }

    #[test]
    fn decoded_locations_give_the_file_unique_id_telegram_sent_with_them() {
        for vector in all_vectors() {
            if let Some(expected) = vector.unique_id {
                assert_eq!(unique_id(&decode(vector.file_id).unwrap()), expected, "{}", vector.file_id);
            }
        }
    }

    #[test]
    fn real_file_ids_encode_back_to_the_same_string() {
        for vector in all_vectors() {
            assert_eq!(encode(&decode(vector.file_id).unwrap()), vector.file_id);
        }
    }

    #[test]
    fn document_kinds_ask_for_the_whole_file_and_photos_for_their_size() {
        let document = decode(PYROGRAM[5].file_id).unwrap();
        assert_eq!((document.kind.class(), document.thumb_size().as_str()), (FileClass::Document, ""));
        let photo = decode(TDLIB_ONLY[1].file_id).unwrap();
        assert_eq!(photo.kind.class(), FileClass::Photo);
        assert_eq!(
            photo.photo,
            Some(PhotoSizeInfo { source: PhotoSource::Thumbnail { file_kind: Photo, thumb_size: 'x' }, volume: None })
        );
        let old_photo = decode(PYROGRAM[0].file_id).unwrap();
        assert_eq!(old_photo.photo.unwrap().volume, Some(Volume { volume_id: 200297500501, local_id: 179328 }));
    }

    fn sample(kind: FileKind) -> FileLocation {
        FileLocation {
            dc_id: 4,
            kind,
            id: 1,
            access_hash: -2,
            file_reference: vec![1, 2, 3],
            photo: None,
            sub_version: 54,
        }
    }

    fn with_body(body: &[u8], sub_version: u8) -> String {
        let mut out = zero_encode(body);
        out.extend([sub_version, PERSISTENT_ID_VERSION]);
        URL_SAFE_NO_PAD.encode(out)
    }

    #[test]
    fn what_cannot_be_decoded_is_named() {
        assert_eq!(decode(""), Err(FileIdError::UnknownVersion(None)));
        assert_eq!(decode("BQAC+gIA"), Err(FileIdError::BadBase64));
        assert_eq!(decode("AgADBAsAAgKLowAB=="), Err(FileIdError::BadBase64));
        assert_eq!(decode(&"A".repeat(MAX_FILE_ID_LEN + 1)), Err(FileIdError::TooLong));
        // A real sticker id from before the versioned format (and before file references).
        assert_eq!(decode("CAADAQADegAD997LEUiQZafDlhIeAQ"), Err(FileIdError::UnknownVersion(Some(1))));
        let cut = URL_SAFE_NO_PAD.decode(PYROGRAM[5].file_id).unwrap();
        let short = [&cut[..cut.len() - 6], &cut[cut.len() - 2..]].concat();
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode(short)), Err(FileIdError::Truncated));
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode([5, 0, 54, 4])), Err(FileIdError::Truncated));
        assert_eq!(
            decode(&URL_SAFE_NO_PAD.encode([0, 255, 0, 255, 0, 255, 0, 255, 0, 255, 54, 4])),
            Err(FileIdError::TooLong)
        );
        let temp = [7i32.to_le_bytes(), 2i32.to_le_bytes()].concat();
        assert_eq!(decode(&with_body(&temp, 54)), Err(FileIdError::UnknownType(7)));
        let web = [(5 | WEB_LOCATION_FLAG).to_le_bytes(), 2i32.to_le_bytes()].concat();
        assert_eq!(decode(&with_body(&web, 54)), Err(FileIdError::WebLocation));
        let mut extra = URL_SAFE_NO_PAD.decode(encode(&sample(Document))).unwrap();
        extra.splice(extra.len() - 2..extra.len() - 2, [7u8, 7]);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode(extra)), Err(FileIdError::TrailingBytes(2)));
    }

    #[test]
    fn a_size_that_does_not_fit_its_kind_is_refused() {
        let mut chat_photo_as_photo = sample(Photo);
        chat_photo_as_photo.photo = Some(PhotoSizeInfo {
            source: PhotoSource::ChatPhoto { big: true, chat_id: 5, chat_access_hash: 6 },
            volume: None,
        });
        assert_eq!(decode(&encode(&chat_photo_as_photo)), Err(FileIdError::BadPhotoSource(Photo as i32)));
        let mut no_volume_source = sample(Photo);
        no_volume_source.photo = Some(PhotoSizeInfo { source: PhotoSource::Legacy { secret: 9 }, volume: None });
        assert_eq!(decode(&encode(&no_volume_source)), Err(FileIdError::BadPhotoSource(0)));
    }

    #[test]
    fn the_invalid_file_reference_placeholder_stands_for_none() {
        let mut loc = sample(Video);
        loc.file_reference = b"#".to_vec();
        let decoded = decode(&encode(&loc)).unwrap();
        assert!(decoded.file_reference.is_empty());
    }

    const PHOTO_KINDS: [FileKind; 6] = [Thumbnail, ProfilePhoto, Photo, EncryptedThumbnail, Wallpaper, PhotoStory];

    /// A valid location for any draw of numbers: the source is one the kind and layout allow.
    fn build(
        kind_pick: u8,
        sub_version: u8,
        pick: u8,
        numbers: [i64; 4],
        local_id: i32,
        reference: Vec<u8>,
    ) -> FileLocation {
        let all =
            [Video, Document, Sticker, Audio, Animation, VoiceNote, VideoNote, Encrypted, SecureEncrypted, Ringtone];
        let kinds: Vec<FileKind> = all.iter().chain(&PHOTO_KINDS).copied().collect();
        let kind = kinds[usize::from(kind_pick) % kinds.len()];
        let mut loc = sample(kind);
        (loc.dc_id, loc.id, loc.access_hash, loc.sub_version) =
            (numbers[0] as i32, numbers[1], numbers[2], sub_version);
        loc.file_reference = if reference == b"#" { b"##".to_vec() } else { reference };
        if kind.class() == FileClass::Photo {
            loc.photo = Some(photo_for(kind, sub_version, pick, numbers[3], local_id));
        }
        loc
    }

    fn photo_for(kind: FileKind, sub_version: u8, pick: u8, n: i64, local_id: i32) -> PhotoSizeInfo {
        let volume = Some(Volume { volume_id: n ^ 0x55, local_id });
        let new_layout = sub_version >= SUB_NO_PHOTO_VOLUME;
        let legacy = PhotoSizeInfo { source: PhotoSource::Legacy { secret: n }, volume };
        if sub_version < SUB_PHOTO_SIZE_SOURCE {
            return legacy;
        }
        let (source, own_volume) = match (kind, pick % 4) {
            (_, 0) => return legacy,
            (Photo | PhotoStory | Thumbnail | EncryptedThumbnail, 1) => {
                (PhotoSource::Thumbnail { file_kind: kind, thumb_size: char::from(b'a' + pick % 26) }, false)
            }
            (ProfilePhoto, _) => (
                PhotoSource::ChatPhoto { big: pick.is_multiple_of(2), chat_id: n, chat_access_hash: !n },
                pick.is_multiple_of(3),
            ),
            (Thumbnail, 2) => {
                (PhotoSource::StickerSetThumbnail { set_id: n, set_access_hash: !n, version: None }, true)
            }
            (Thumbnail, _) if new_layout => {
                (PhotoSource::StickerSetThumbnail { set_id: n, set_access_hash: 1, version: Some(local_id) }, false)
            }
            _ => return legacy,
        };
        let keeps_volume = !new_layout || own_volume;
        PhotoSizeInfo { source, volume: volume.filter(|_| keeps_volume) }
    }

    proptest! {
        #[test]
        fn any_location_survives_encode_and_decode(
            kind_pick in any::<u8>(),
            sub_version in 1u8..=70,
            pick in any::<u8>(),
            numbers in any::<[i64; 4]>(),
            local_id in any::<i32>(),
            reference in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let loc = build(kind_pick, sub_version, pick, numbers, local_id, reference);
            prop_assert_eq!(decode(&encode(&loc)), Ok(loc));
        }

        #[test]
        fn any_string_decodes_or_errs_without_panicking(s in "\\PC{0,200}") {
            let _ = decode(&s);
        }

        #[test]
        fn any_bytes_decode_or_err_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode(&URL_SAFE_NO_PAD.encode(&bytes));
            let mut versioned = bytes;
            versioned.extend([54, PERSISTENT_ID_VERSION]);
            let _ = decode(&URL_SAFE_NO_PAD.encode(&versioned));
        }

        #[test]
        fn any_damage_to_a_real_id_decodes_or_errs_without_panicking(index in any::<usize>(), at in any::<usize>(), byte in any::<u8>()) {
            let vector = all_vectors().nth(index % (PYROGRAM.len() + TDLIB_ONLY.len())).unwrap();
            let mut raw = URL_SAFE_NO_PAD.decode(vector.file_id).unwrap();
            let at = at % raw.len();
            raw[at] = byte;
            let _ = decode(&URL_SAFE_NO_PAD.encode(&raw));
            raw.truncate(at);
            let _ = decode(&URL_SAFE_NO_PAD.encode(&raw));
        }
    }
}
