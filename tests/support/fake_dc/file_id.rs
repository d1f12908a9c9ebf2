//! Bot API `file_id` strings that point at the fake DC's files, made by streambot's own encoder
//! (TDLib's `FileView::get_persistent_id`), which the tests below hold to real ids byte for byte.

use super::state::{DcFile, DcFileKind};
use streambot::hot_paths::encode_file_id;

/// Sub-version written (current Bot API servers write 54 and later; photos lost their volume
/// id at 32).
pub const SUB_VERSION: u8 = 54;

/// The file_id of a document (Bot API `document`) stored on `dc_id`.
pub fn encode_document_file_id(dc_id: i32, id: i64, access_hash: i64, file_reference: &[u8]) -> String {
    encode_file_id(dc_id, id, access_hash, file_reference, None, SUB_VERSION)
}

/// The file_id of one size (`thumb_size`, e.g. 'x' or 'y') of a photo stored on `dc_id`.
pub fn encode_photo_file_id(dc_id: i32, id: i64, access_hash: i64, file_reference: &[u8], thumb_size: char) -> String {
    encode_file_id(dc_id, id, access_hash, file_reference, Some(thumb_size), SUB_VERSION)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn a_real_document_file_id_is_reproduced_byte_for_byte() {
        // A real Bot API id (sub-version 52) and its location, also among src/telegram/file_id/vectors.rs.
        let reference = hex("01000001a965dcee0aaa4c4d5902363713e11788b60d517178");
        let id = encode_file_id(2, 5397917491773065992, -7951178932299266113, &reference, None, 52);
        assert_eq!(id, "BQACAgIAAxkBAAIBqWXc7gqqTE1ZAjY3E-EXiLYNUXF4AAIISwACXEHpSr-Hu2LjvKeRNAQ");
    }

    #[test]
    fn a_real_photo_file_id_is_reproduced_byte_for_byte() {
        // A real photo 'x' size of sub-version 53 (no volume id since 32).
        let reference = hex("0100001fb76669e021863fec04acb3b1adbcb4f4e230e98765");
        let id = encode_file_id(2, 5427153334613172922, 1160717359135038678, &reference, Some('x'), 53);
        assert_eq!(id, "AgACAgIAAxkBAAIft2Zp4CGGP-wErLOxrby09OIw6YdlAAK64jEbNB9RS9ac39NJshsQAQADAgADeAADNQQ");
    }
}
