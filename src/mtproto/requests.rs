//! The requests a download needs: the bot login wrapped in `invokeWithLayer(initConnection(..))`
//! (the first call on a new auth key must carry the layer and client info), `upload.getFile`
//! for a planned part, and reading a planned range part by part.

use std::time::Duration;

use grammers_tl_types::{self as tl, RemoteCall, enums, functions};

use super::conn::{Conn, MAX_IN_FLIGHT};
use super::error::InvokeError;
use super::parts::{Part, Parts};

/// The login call type: `auth.importBotAuthorization` inside the connection's first wrappers.
pub(crate) type Login = functions::InvokeWithLayer<functions::InitConnection<functions::auth::ImportBotAuthorization>>;

/// `query` as the first call of a connection: wrapped in `invokeWithLayer(initConnection(..))`,
/// which carries the layer and the client's description.
pub(crate) fn init<Q: RemoteCall>(api_id: i32, query: Q) -> functions::InvokeWithLayer<functions::InitConnection<Q>> {
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
            query,
        },
    }
}

/// Logs the bot in on a fresh auth key (api_id and api_hash from my.telegram.org).
pub(crate) fn login(api_id: i32, api_hash: &str, bot_token: &str) -> Login {
    let query = functions::auth::ImportBotAuthorization {
        flags: 0,
        api_id,
        api_hash: api_hash.into(),
        bot_auth_token: bot_token.into(),
    };
    init(api_id, query)
}

/// A photo's location: the size `thumb_size` (a letter, e.g. `y` for the largest).
pub(crate) fn photo(
    id: i64,
    access_hash: i64,
    file_reference: Vec<u8>,
    thumb_size: String,
) -> enums::InputFileLocation {
    enums::InputFileLocation::InputPhotoFileLocation(tl::types::InputPhotoFileLocation {
        id,
        access_hash,
        file_reference,
        thumb_size,
    })
}

/// A document's location (`thumb_size` empty: the file itself).
pub(crate) fn document(id: i64, access_hash: i64, file_reference: Vec<u8>) -> enums::InputFileLocation {
    enums::InputFileLocation::InputDocumentFileLocation(tl::types::InputDocumentFileLocation {
        id,
        access_hash,
        file_reference,
        thumb_size: String::new(),
    })
}

/// Reads the planned parts, up to `in_flight` calls at once on the one connection (batches,
/// answered in any order, matched by msg_id), and hands each part's wanted bytes to `sink` in
/// file order, cut to the range (`skip_first`, `keep_last`). Stops early at the end of the file.
pub(crate) async fn read_parts(
    conn: &Conn,
    location: &enums::InputFileLocation,
    parts: &Parts,
    in_flight: usize,
    timeout: Duration,
    mut sink: impl FnMut(&[u8]),
) -> Result<(), InvokeError> {
    let in_flight = in_flight.clamp(1, MAX_IN_FLIGHT);
    let count = parts.count();
    let mut all = parts.iter().enumerate().peekable();
    while all.peek().is_some() {
        let batch: Vec<(usize, Part)> = all.by_ref().take(in_flight).collect();
        let calls = batch.iter().map(|(_, part)| get_part(conn, location, *part, timeout));
        for ((i, part), bytes) in batch.iter().zip(join_all(calls.collect()).await) {
            let bytes = bytes?;
            let from = if *i == 0 { parts.skip_first as usize } else { 0 };
            let to = if *i as u64 + 1 == count { parts.keep_last as usize } else { bytes.len() };
            let to = to.min(bytes.len());
            if from < to {
                sink(&bytes[from..to]);
            }
            if bytes.len() < part.limit as usize {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// One `upload.getFile` call: the part's bytes (fewer than asked at the end of the file).
pub(crate) async fn get_part(
    conn: &Conn,
    location: &enums::InputFileLocation,
    part: Part,
    timeout: Duration,
) -> Result<Vec<u8>, InvokeError> {
    let call = functions::upload::GetFile {
        precise: false,
        cdn_supported: false,
        location: location.clone(),
        offset: part.offset as i64,
        limit: part.limit as i32,
    };
    match conn.invoke(&call, timeout).await? {
        enums::upload::File::File(file) => Ok(file.bytes),
        enums::upload::File::CdnRedirect(_) => {
            Err(InvokeError::Rpc { code: 303, name: "CDN_REDIRECT".into(), value: None })
        }
    }
}

/// Polls every future until all are done; the outputs in the input order (at most `MAX_IN_FLIGHT`).
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().flatten().collect()
}
