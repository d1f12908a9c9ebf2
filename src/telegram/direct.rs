//! Direct mode's side of file access: a Bot API `file_id` decoded into the file's place on
//! Telegram's DCs, and a byte range of it read over MTProto as a response body.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::io::{AsyncBufRead, AsyncRead};

use super::file_id::{self, FileClass, FileLocation, PhotoSizeInfo, PhotoSource};
use crate::mtproto::download::{Download, RemoteFile};
use crate::mtproto::pool::Pool;

/// A file to read over MTProto.
pub struct DirectFile(RemoteFile);

/// Why a `file_id` cannot be read over MTProto (the Bot API path serves it instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undecodable {
    FileId(file_id::FileIdError),
    /// A kind `upload.getFile` reaches another way (secure, encrypted, legacy photo sources).
    Unsupported(&'static str),
}

impl std::fmt::Display for Undecodable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Undecodable::FileId(e) => write!(f, "{e}"),
            Undecodable::Unsupported(what) => write!(f, "{what} are not read over MTProto"),
        }
    }
}

impl DirectFile {
    /// `file_id` as an MTProto location; `source` is the message holding it (chat, message id).
    pub fn decode(file_id: &str, source: Option<(i64, i32)>) -> Result<DirectFile, Undecodable> {
        let location = file_id::decode(file_id).map_err(Undecodable::FileId)?;
        remote_file(location, source).map(DirectFile)
    }

    /// Bytes `start..=end`; nothing is asked before the first read.
    pub fn read(self, pool: &Pool, start: u64, end: u64) -> DirectBody {
        DirectBody(Download::new(pool, self.0, start, end))
    }
}

fn remote_file(location: FileLocation, source: Option<(i64, i32)>) -> Result<RemoteFile, Undecodable> {
    let thumb_size = match location.kind.class() {
        FileClass::Document => None,
        FileClass::Photo => match &location.photo {
            Some(PhotoSizeInfo { source: PhotoSource::Thumbnail { .. }, .. }) => Some(location.thumb_size()),
            _ => return Err(Undecodable::Unsupported("photos with a legacy or chat-photo source")),
        },
        FileClass::Secure => return Err(Undecodable::Unsupported("Telegram Passport files")),
        FileClass::Encrypted => return Err(Undecodable::Unsupported("secret chat files")),
    };
    Ok(RemoteFile {
        dc: location.dc_id,
        id: location.id,
        access_hash: location.access_hash,
        reference: location.file_reference,
        thumb_size,
        source,
    })
}

/// A byte range of a file, read part by part from its DC.
pub struct DirectBody(Download);

impl DirectBody {
    /// Waits for the first bytes: a file Telegram will not give fails before the response starts.
    pub async fn first_bytes(&mut self) -> io::Result<()> {
        self.0.first_bytes().await
    }
}

impl AsyncRead for DirectBody {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

/// The parts themselves are the buffer: no copy into another one.
impl AsyncBufRead for DirectBody {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Pin::new(&mut self.get_mut().0).poll_fill_buf(cx)
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut self.0).consume(amt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_and_photos_become_locations_and_garbage_does_not() {
        let document = file_id::encode(&FileLocation {
            dc_id: 4,
            kind: file_id::FileKind::Video,
            id: 77,
            access_hash: -5,
            file_reference: vec![1, 2, 3],
            photo: None,
            sub_version: 54,
        });
        let DirectFile(file) = DirectFile::decode(&document, Some((9, 10))).unwrap();
        assert_eq!(
            (file.dc, file.id, file.access_hash, file.thumb_size, file.source),
            (4, 77, -5, None, Some((9, 10)))
        );
        assert_eq!(file.reference, vec![1, 2, 3]);
        assert!(matches!(DirectFile::decode("not a file id", None), Err(Undecodable::FileId(_))));
    }
}
