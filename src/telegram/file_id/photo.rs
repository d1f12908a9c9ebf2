//! The size part of a photo-class `file_id` (TDLib's `PhotoSizeSource`), in the three layouts TDLib
//! has written: before sub-version 22, from 22 (a typed source) and from 32 (no volume id).

use super::{FileIdError, FileKind, Reader};

/// TDLib `Version::AddPhotoSizeSource`: from here a photo carries a typed size source.
pub(super) const SUB_PHOTO_SIZE_SOURCE: u8 = 22;
/// TDLib `Version::RemovePhotoVolumeAndLocalId`: from here a photo has no volume id and local id
/// around its size source.
pub(super) const SUB_NO_PHOTO_VOLUME: u8 = 32;

/// Where a photo-class file's size comes from (TDLib's `PhotoSizeSource`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhotoSource {
    /// One size of a photo, or a document's thumbnail: `thumb_size` of `inputPhotoFileLocation` or
    /// `inputDocumentFileLocation` (`file_kind` is the kind the size belongs to).
    Thumbnail { file_kind: FileKind, thumb_size: char },
    /// A chat's current photo (`inputPeerPhotoFileLocation`), small or big.
    ChatPhoto { big: bool, chat_id: i64, chat_access_hash: i64 },
    /// A sticker set's thumbnail (`inputStickerSetThumb`); `version` is absent in older ids.
    StickerSetThumbnail { set_id: i64, set_access_hash: i64, version: Option<i32> },
    /// A pre-2019 location addressed by volume, local id and secret.
    Legacy { secret: i64 },
}

/// A legacy photo's volume id and local id (only in older ids and legacy sources).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Volume {
    pub volume_id: i64,
    pub local_id: i32,
}

/// The size part of a photo-class location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoSizeInfo {
    pub source: PhotoSource,
    pub volume: Option<Volume>,
}

/// The size part of `PhotoRemoteFileLocation::parse`, in the three layouts TDLib has written.
pub(super) fn read_photo_size(
    r: &mut Reader<'_>,
    sub_version: u8,
    kind: FileKind,
) -> Result<PhotoSizeInfo, FileIdError> {
    let info = if sub_version >= SUB_NO_PHOTO_VOLUME {
        let tag = r.i32()?;
        let (source, volume) = read_source(r, tag)?;
        // Since this version TDLib rejects the sources that need an outer volume id.
        if matches!(tag, 0 | 4) {
            return Err(FileIdError::BadPhotoSource(tag));
        }
        PhotoSizeInfo { source, volume }
    } else {
        let volume_id = r.i64()?;
        let (tag, source) = if sub_version >= SUB_PHOTO_SIZE_SOURCE {
            let tag = r.i32()?;
            (tag, read_source(r, tag)?.0)
        } else {
            (0, PhotoSource::Legacy { secret: r.i64()? })
        };
        let local_id = r.i32()?;
        // Sources 5 and up appeared with the layout above; this one never held them.
        if tag > 4 {
            return Err(FileIdError::BadPhotoSource(tag));
        }
        PhotoSizeInfo { source, volume: Some(Volume { volume_id, local_id }) }
    };
    check_source_fits(&info.source, kind)?;
    Ok(info)
}

/// One `PhotoSizeSource` variant (the tag is its index in TDLib's variant); legacy variants carry
/// their own volume.
fn read_source(r: &mut Reader<'_>, tag: i32) -> Result<(PhotoSource, Option<Volume>), FileIdError> {
    Ok(match tag {
        0 => (PhotoSource::Legacy { secret: r.i64()? }, None),
        1 => {
            let file_kind = r.i32()?;
            let file_kind = FileKind::from_raw(file_kind).ok_or(FileIdError::BadPhotoSource(tag))?;
            let size = r.i32()?;
            let thumb_size = u8::try_from(size).ok().filter(u8::is_ascii).ok_or(FileIdError::BadPhotoSource(tag))?;
            (PhotoSource::Thumbnail { file_kind, thumb_size: char::from(thumb_size) }, None)
        }
        2 | 3 => (PhotoSource::ChatPhoto { big: tag == 3, chat_id: r.i64()?, chat_access_hash: r.i64()? }, None),
        4 => (PhotoSource::StickerSetThumbnail { set_id: r.i64()?, set_access_hash: r.i64()?, version: None }, None),
        5 => {
            let volume_id = r.i64()?;
            let secret = r.i64()?;
            let local_id = r.i32()?;
            (PhotoSource::Legacy { secret }, Some(Volume { volume_id, local_id }))
        }
        6 | 7 => {
            let source = PhotoSource::ChatPhoto { big: tag == 7, chat_id: r.i64()?, chat_access_hash: r.i64()? };
            (source, Some(Volume { volume_id: r.i64()?, local_id: r.i32()? }))
        }
        8 => {
            let source =
                PhotoSource::StickerSetThumbnail { set_id: r.i64()?, set_access_hash: r.i64()?, version: None };
            (source, Some(Volume { volume_id: r.i64()?, local_id: r.i32()? }))
        }
        9 => {
            let (set_id, set_access_hash) = (r.i64()?, r.i64()?);
            (PhotoSource::StickerSetThumbnail { set_id, set_access_hash, version: Some(r.i32()?) }, None)
        }
        _ => return Err(FileIdError::BadPhotoSource(tag)),
    })
}

/// The checks of TDLib's `FullRemoteFileLocation::parse`: a size belongs to its own kind, a chat
/// photo is a profile photo, a sticker set thumbnail is a thumbnail.
fn check_source_fits(source: &PhotoSource, kind: FileKind) -> Result<(), FileIdError> {
    let fits = match source {
        PhotoSource::Legacy { .. } => true,
        PhotoSource::Thumbnail { file_kind, .. } => {
            *file_kind == kind
                && matches!(
                    kind,
                    FileKind::Photo | FileKind::PhotoStory | FileKind::Thumbnail | FileKind::EncryptedThumbnail
                )
        }
        PhotoSource::ChatPhoto { .. } => kind == FileKind::ProfilePhoto,
        PhotoSource::StickerSetThumbnail { .. } => kind == FileKind::Thumbnail,
    };
    if fits { Ok(()) } else { Err(FileIdError::BadPhotoSource(kind as i32)) }
}

/// The source's tag and fields as TDLib stores them (tags 5 to 8 carry their own volume).
fn push_source(out: &mut Vec<u8>, info: &PhotoSizeInfo, own_volume: bool) {
    let volume = info.volume.filter(|_| own_volume);
    let tag: i32 = match (&info.source, volume) {
        (PhotoSource::Legacy { .. }, None) => 0,
        (PhotoSource::Thumbnail { .. }, _) => 1,
        (PhotoSource::ChatPhoto { big, .. }, None) => 2 + i32::from(*big),
        (PhotoSource::StickerSetThumbnail { version: None, .. }, None) => 4,
        (PhotoSource::Legacy { .. }, Some(_)) => 5,
        (PhotoSource::ChatPhoto { big, .. }, Some(_)) => 6 + i32::from(*big),
        (PhotoSource::StickerSetThumbnail { .. }, Some(_)) => 8,
        (PhotoSource::StickerSetThumbnail { version: Some(_), .. }, None) => 9,
    };
    out.extend(tag.to_le_bytes());
    match &info.source {
        PhotoSource::Legacy { secret } => {
            if let Some(v) = volume {
                out.extend(v.volume_id.to_le_bytes());
            }
            out.extend(secret.to_le_bytes());
            if let Some(v) = volume {
                out.extend(v.local_id.to_le_bytes());
            }
            return;
        }
        PhotoSource::Thumbnail { file_kind, thumb_size } => {
            out.extend((*file_kind as i32).to_le_bytes());
            out.extend((*thumb_size as i32).to_le_bytes());
        }
        PhotoSource::ChatPhoto { chat_id, chat_access_hash, .. } => {
            out.extend(chat_id.to_le_bytes());
            out.extend(chat_access_hash.to_le_bytes());
        }
        PhotoSource::StickerSetThumbnail { set_id, set_access_hash, version } => {
            out.extend(set_id.to_le_bytes());
            out.extend(set_access_hash.to_le_bytes());
            if let Some(version) = version {
                out.extend(version.to_le_bytes());
            }
        }
    }
    if let Some(v) = volume {
        out.extend(v.volume_id.to_le_bytes());
        out.extend(v.local_id.to_le_bytes());
    }
}

/// The photo size in the layout of `sub_version` (the inverse of `read_photo_size`).
pub(super) fn push_photo_size(out: &mut Vec<u8>, info: &PhotoSizeInfo, sub_version: u8) {
    if sub_version >= SUB_NO_PHOTO_VOLUME {
        return push_source(out, info, true);
    }
    let volume = info.volume.expect("older layouts always hold a volume");
    out.extend(volume.volume_id.to_le_bytes());
    match (&info.source, sub_version >= SUB_PHOTO_SIZE_SOURCE) {
        (PhotoSource::Legacy { secret }, false) => out.extend(secret.to_le_bytes()),
        _ => push_source(out, info, false),
    }
    out.extend(volume.local_id.to_le_bytes());
}
