//! The requests a download needs: the bot login wrapped in `invokeWithLayer(initConnection(..))`
//! (the first call on a new auth key must carry the layer and client info), `upload.getFile`
//! for a planned part, and reading a planned range part by part.

use std::time::Duration;

use grammers_tl_types::{self as tl, enums, functions};

use super::conn::Conn;
use super::error::InvokeError;
use super::parts::Parts;

/// The login call type: `auth.importBotAuthorization` inside the connection's first wrappers.
pub(crate) type Login = functions::InvokeWithLayer<functions::InitConnection<functions::auth::ImportBotAuthorization>>;

/// Logs the bot in on a fresh auth key (api_id and api_hash from my.telegram.org).
pub(crate) fn login(api_id: i32, api_hash: &str, bot_token: &str) -> Login {
    functions::InvokeWithLayer {
        layer: tl::LAYER,
        query: functions::InitConnection {
            api_id,
            device_model: "streambot".into(),
            system_version: std::env::consts::OS.into(),
            app_version: env!("CARGO_PKG_VERSION").into(),
            system_lang_code: "en".into(),
            lang_pack: String::new(),
            lang_code: "en".into(),
            proxy: None,
            params: None,
            query: functions::auth::ImportBotAuthorization { flags: 0, api_id, api_hash: api_hash.into(), bot_auth_token: bot_token.into() },
        },
    }
}

/// A document's location (`thumb_size` empty: the file itself).
pub(crate) fn document(id: i64, access_hash: i64, file_reference: Vec<u8>) -> enums::InputFileLocation {
    enums::InputFileLocation::InputDocumentFileLocation(tl::types::InputDocumentFileLocation { id, access_hash, file_reference, thumb_size: String::new() })
}

/// Reads the planned parts one call at a time and hands each part's wanted bytes to `sink`,
/// cut to the range (`skip_first`, `keep_last`). Stops early at the end of the file.
pub(crate) async fn read_parts(conn: &Conn, location: &enums::InputFileLocation, parts: &Parts, timeout: Duration, mut sink: impl FnMut(&[u8])) -> Result<(), InvokeError> {
    let count = parts.count();
    for (i, part) in parts.iter().enumerate() {
        let call = functions::upload::GetFile { precise: false, cdn_supported: false, location: location.clone(), offset: part.offset as i64, limit: part.limit as i32 };
        let bytes = match conn.invoke(&call, timeout).await? {
            enums::upload::File::File(file) => file.bytes,
            enums::upload::File::CdnRedirect(_) => return Err(InvokeError::Rpc { code: 303, name: "CDN_REDIRECT".into(), value: None }),
        };
        let from = if i == 0 { parts.skip_first as usize } else { 0 };
        let to = if i as u64 + 1 == count { parts.keep_last as usize } else { bytes.len() };
        let to = to.min(bytes.len());
        if from < to {
            sink(&bytes[from..to]);
        }
        if bytes.len() < part.limit as usize {
            break;
        }
    }
    Ok(())
}
