//! The hot paths that `benches/` measures, as plain public functions over crate-private modules
//! (the modules stay private so the compiler keeps reporting dead code). Not an API.

/// One byte range against a length: `Some((start, end))` for a 206, `None` otherwise.
pub fn range(header: Option<&str>, len: u64) -> Option<(u64, u64)> {
    match crate::http::range::resolve(header, len) {
        crate::http::range::Ranged::Partial { start, end } => Some((start, end)),
        _ => None,
    }
}

/// A request head scanned as a connection does: its length when complete and accepted, or the
/// refusal status (`Err(0)`: not complete yet).
pub fn scan_head(bytes: &[u8]) -> Result<usize, u16> {
    crate::http::request::scan_len(bytes)
}

/// A log rate-limiter cache of the default capacity, for [`LogCacheBench::admit`].
pub struct LogCacheBench(Box<crate::memory::log_cache::LogCache>);

impl LogCacheBench {
    /// A cache with every slot taken by keys `0..capacity`, all seen at `now_ms`.
    pub fn full(now_ms: u64) -> LogCacheBench {
        let mut cache = crate::memory::log_cache::LogCache::new();
        for key in 0..cache.capacity() as u64 {
            cache.admit(key, now_ms);
        }
        LogCacheBench(cache)
    }

    /// Whether a line with `key` goes out at `now_ms`.
    pub fn admit(&mut self, key: u64, now_ms: u64) -> bool {
        self.0.admit(key, now_ms)
    }
}

/// Decodes a `getUpdates` answer as the poller does: the envelope to JSON values, then each value
/// to an update; returns how many decoded.
pub fn decode_updates(body: &[u8]) -> usize {
    let Ok(envelope) = serde_json::from_slice::<frankenstein::response::MethodResponse<Vec<serde_json::Value>>>(body)
    else {
        return 0;
    };
    envelope
        .result
        .into_iter()
        .filter(|v| serde_json::from_value::<frankenstein::updates::Update>(v.clone()).is_ok())
        .count()
}

/// One direct download through the MTProto client, for the fake-DC integration tests: connect to
/// `host:port` with a new auth key (accepting Telegram's keys and the PEM `server_key`, if any), log the
/// bot in, then read bytes `start..=end` of a document in parts of `part` bytes, `in_flight` calls
/// at once. Runs on its own
/// executor within `timeout`; `Err` is the failure's text.
#[allow(clippy::too_many_arguments)]
pub fn mtproto_read_document(
    host: &str,
    port: u16,
    server_key: Option<&str>,
    login: (i32, &str, &str),
    document: (i64, i64, Vec<u8>),
    range: (u64, u64),
    part: u32,
    in_flight: usize,
    timeout: std::time::Duration,
) -> Result<Vec<u8>, String> {
    use crate::mtproto::{conn, keys, parts, requests};
    let ex = std::rc::Rc::new(smol::LocalExecutor::new());
    let mut accepted = keys::builtin().to_vec();
    if let Some(pem) = server_key {
        accepted.push(keys::parse_pem(pem).map_err(|e| format!("server key: {e}"))?);
    }
    let work = async {
        let (conn, _) =
            conn::connect(&ex, host, port, None, &accepted, timeout).await.map_err(|e| format!("connect: {e}"))?;
        let (api_id, api_hash, token) = login;
        conn.invoke(&requests::login(api_id, api_hash, token), timeout).await.map_err(|e| format!("login: {e}"))?;
        let plan = parts::plan(range.0, range.1, part).map_err(|e| format!("plan: {e:?}"))?;
        let (id, access_hash, file_reference) = document;
        let mut out = Vec::new();
        requests::read_parts(
            &conn,
            &requests::document(id, access_hash, file_reference),
            &plan,
            in_flight,
            timeout,
            |bytes| out.extend_from_slice(bytes),
        )
        .await
        .map_err(|e| format!("getFile: {e}"))?;
        Ok(out)
    };
    futures_lite::future::block_on(ex.run(work))
}

/// A Bot API `file_id` for a document, or with `photo_size` for that size of a photo (layout of
/// `sub_version` 32 and later), as TDLib writes them: for the fake DC of the integration tests.
pub fn encode_file_id(
    dc_id: i32,
    id: i64,
    access_hash: i64,
    file_reference: &[u8],
    photo_size: Option<char>,
    sub_version: u8,
) -> String {
    use crate::telegram::file_id::{self, FileKind, FileLocation, PhotoSizeInfo, PhotoSource};
    let photo = photo_size.map(|thumb_size| PhotoSizeInfo {
        source: PhotoSource::Thumbnail { file_kind: FileKind::Photo, thumb_size },
        volume: None,
    });
    let kind = if photo.is_some() { FileKind::Photo } else { FileKind::Document };
    let location =
        FileLocation { dc_id, kind, id, access_hash, file_reference: file_reference.to_vec(), photo, sub_version };
    file_id::encode(&location)
}
