//! Bot API `file_id` strings that point at the fake DC's files, in TDLib's persistent id format
//! (`FileView::get_persistent_id`): zero-encoded location ‖ sub-version ‖ 4, base64url.

use super::keys::tl_bytes;
use super::state::{DcFile, DcFileKind};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// TDLib's persistent id version, the last byte of every id since 2019.
const PERSISTENT_ID_VERSION: u8 = 4;
/// Sub-version written (current Bot API servers write 54 and later; photos lost their volume
/// id at 32).
pub const SUB_VERSION: u8 = 54;
/// TDLib's flag for "a file reference follows the DC id".
const FILE_REFERENCE_FLAG: i32 = 1 << 25;
const KIND_PHOTO: i32 = 2;
const KIND_DOCUMENT: i32 = 5;
/// PhotoSizeSource::Thumbnail, TDLib's variant index.
const SOURCE_THUMBNAIL: i32 = 1;

/// The file_id of a document (Bot API `document`) stored on `dc_id`.
pub fn encode_document_file_id(dc_id: i32, id: i64, access_hash: i64, file_reference: &[u8]) -> String {
    encode(KIND_DOCUMENT, dc_id, id, access_hash, file_reference, None, SUB_VERSION)
}

/// The file_id of one size (`thumb_size`, e.g. 'x' or 'y') of a photo stored on `dc_id`.
pub fn encode_photo_file_id(dc_id: i32, id: i64, access_hash: i64, file_reference: &[u8], thumb_size: char) -> String {
    encode(KIND_PHOTO, dc_id, id, access_hash, file_reference, Some(thumb_size), SUB_VERSION)
}

impl DcFile {
    /// The Bot API file_id of this file (a photo as its 'y' size).
    pub fn bot_api_file_id(&self) -> String {
        match self.kind {
            DcFileKind::Document => {
                encode_document_file_id(self.dc_id, self.id, self.access_hash, &self.file_reference)
            }
            DcFileKind::Photo => encode_photo_file_id(self.dc_id, self.id, self.access_hash, &self.file_reference, 'y'),
        }
    }
}

fn encode(
    kind: i32,
    dc_id: i32,
    id: i64,
    access_hash: i64,
    reference: &[u8],
    thumb: Option<char>,
    sub_version: u8,
) -> String {
    let mut body = Vec::new();
    let flags = if reference.is_empty() { 0 } else { FILE_REFERENCE_FLAG };
    body.extend((kind | flags).to_le_bytes());
    body.extend(dc_id.to_le_bytes());
    if !reference.is_empty() {
        body.extend(tl_bytes(reference));
    }
    body.extend(id.to_le_bytes());
    body.extend(access_hash.to_le_bytes());
    if let Some(size) = thumb {
        // Sub-version >= 32: only the PhotoSizeSource, Thumbnail{file_type, thumb_size}.
        body.extend(SOURCE_THUMBNAIL.to_le_bytes());
        body.extend(kind.to_le_bytes());
        body.extend((size as i32).to_le_bytes());
    }
    let mut out = zero_encode(&body);
    out.extend([sub_version, PERSISTENT_ID_VERSION]);
    URL_SAFE_NO_PAD.encode(out)
}

/// TDLib's `zero_encode`: each run of zeros becomes 0x00 and the run length, runs cut at 250.
fn zero_encode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
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
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn a_real_document_file_id_is_reproduced_byte_for_byte() {
        // A real Bot API id (sub-version 52) and its location, also among src/telegram/file_id.rs's vectors.
        let reference = hex("01000001a965dcee0aaa4c4d5902363713e11788b60d517178");
        let id = encode(KIND_DOCUMENT, 2, 5397917491773065992, -7951178932299266113, &reference, None, 52);
        assert_eq!(id, "BQACAgIAAxkBAAIBqWXc7gqqTE1ZAjY3E-EXiLYNUXF4AAIISwACXEHpSr-Hu2LjvKeRNAQ");
    }

    #[test]
    fn a_real_photo_file_id_is_reproduced_byte_for_byte() {
        // A real photo 'x' size of sub-version 53 (no volume id since 32).
        let reference = hex("0100001fb76669e021863fec04acb3b1adbcb4f4e230e98765");
        let id = encode(KIND_PHOTO, 2, 5427153334613172922, 1160717359135038678, &reference, Some('x'), 53);
        assert_eq!(id, "AgACAgIAAxkBAAIft2Zp4CGGP-wErLOxrby09OIw6YdlAAK64jEbNB9RS9ac39NJshsQAQADAgADeAADNQQ");
    }
}
