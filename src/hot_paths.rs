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
