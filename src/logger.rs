//! The process logger: a `log::Log` that filters with `RUST_LOG` (env_logger, default `info`),
//! drops a message repeated within 5 s (key: call site + text, or an explicit `rate_key`; never
//! an `event` line), and
//! writes each line to stderr, to a fixed ring of recent lines (`/logs`) and, with `LOG_FILE`,
//! to a size-capped file rotated once. The HTTP library's own lines are capped at info: its
//! trace lines print request URLs, and every Bot API URL carries the bot token.

use std::fs::{File, OpenOptions};
use std::hash::{DefaultHasher, Hasher};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use log::{LevelFilter, Log, Metadata, Record};

use crate::memory::line_ring::LineRing;
use crate::memory::log_cache::LogCache;

/// Where the log file goes and how big it may grow before it is rotated to `<file>.1`.
pub struct FileSink {
    pub path: PathBuf,
    pub max_bytes: u64,
}

/// Rate-limiter figures for `/memory` and `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    pub used: usize,
    pub capacity: usize,
    pub suppressed: u64,
}

struct Shared {
    started: Instant,
    cache: Mutex<Box<LogCache>>,
    ring: Mutex<Box<LineRing>>,
    file: Mutex<Option<RotatingFile>>,
}

static SHARED: OnceLock<Shared> = OnceLock::new();

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct Logger {
    inner: env_logger::Logger,
    shared: &'static Shared,
}

/// Hashes formatted text without allocating it.
struct HashWriter(DefaultHasher);

impl std::fmt::Write for HashWriter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.write(s.as_bytes());
        Ok(())
    }
}

/// The rate-limit key of a record: its explicit `rate_key`, or its call site and text.
fn key_of(record: &Record<'_>) -> u64 {
    let mut h = HashWriter(DefaultHasher::new());
    if let Some(key) = record.key_values().get(log::kv::Key::from_str("rate_key")) {
        let _ = std::fmt::write(&mut h, format_args!("key:{key}"));
    } else {
        h.0.write(record.file().unwrap_or("").as_bytes());
        h.0.write_u32(record.line().unwrap_or(0));
        let _ = std::fmt::write(&mut h, *record.args());
    }
    h.0.finish()
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.inner.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.inner.matches(record) {
            return;
        }
        let now_ms = u64::try_from(self.shared.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        // Events are rare and each one counts for whoever watches for it: never dropped.
        if record.target() != crate::event::TARGET && !lock(&self.shared.cache).admit(key_of(record), now_ms) {
            return;
        }
        self.inner.log(record);
    }

    fn flush(&self) {
        self.inner.flush();
    }
}

/// Everything env_logger writes goes here: stderr, the ring, the file.
struct Tee(&'static Shared);

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let mut ring = lock(&self.0.ring);
        for line in text.lines() {
            ring.push(line);
        }
        drop(ring);
        if let Some(file) = lock(&self.0.file).as_mut() {
            file.write(buf);
        }
        // Last, so whoever reads a line on stderr finds it in the ring and the file already.
        // A logger cannot report its own failures anywhere better than stderr, which just failed.
        let _ = io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// A log file that is renamed to `<path>.1` when it reaches its cap, so at most two caps of disk.
struct RotatingFile {
    sink: FileSink,
    file: Option<File>,
    size: u64,
}

impl RotatingFile {
    fn open(sink: FileSink) -> io::Result<RotatingFile> {
        let file = OpenOptions::new().create(true).append(true).open(&sink.path)?;
        let size = file.metadata()?.len();
        Ok(RotatingFile { sink, file: Some(file), size })
    }

    fn write(&mut self, buf: &[u8]) {
        if self.size + buf.len() as u64 > self.sink.max_bytes {
            self.file = None;
            let mut rotated = self.sink.path.clone().into_os_string();
            rotated.push(".1");
            let _ = std::fs::rename(&self.sink.path, rotated);
            self.file = OpenOptions::new().create(true).append(true).open(&self.sink.path).ok();
            self.size = 0;
        }
        if let Some(file) = &mut self.file
            && file.write_all(buf).is_ok()
        {
            self.size += buf.len() as u64;
        }
    }
}

/// `LOG_FILE` could not be opened for appending.
#[derive(Debug)]
pub struct LogFileError {
    pub path: PathBuf,
    pub error: io::Error,
}

impl std::fmt::Display for LogFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot open LOG_FILE '{}': {}", self.path.display(), self.error)
    }
}

impl std::error::Error for LogFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Installs the logger. Call once, before anything logs. An unwritable `LOG_FILE` is returned as
/// an error naming it; stderr logging works regardless.
pub fn init(file: Option<FileSink>) -> Result<(), LogFileError> {
    let (file, error) = match file.map(|sink| {
        let path = sink.path.clone();
        RotatingFile::open(sink).map_err(|error| LogFileError { path, error })
    }) {
        None => (None, None),
        Some(Ok(f)) => (Some(f), None),
        Some(Err(e)) => (None, Some(e)),
    };
    let shared = SHARED.get_or_init(|| Shared {
        started: Instant::now(),
        cache: Mutex::new(LogCache::new()),
        ring: Mutex::new(LineRing::new()),
        file: Mutex::new(file),
    });
    let mut builder = env_logger::Builder::new();
    builder.filter_level(LevelFilter::Info);
    if let Ok(spec) = std::env::var("RUST_LOG") {
        builder.parse_filters(&spec);
    }
    // After RUST_LOG, so these win over anything it says about them.
    for target in ["async_h1", "http_types", "rustls", "futures_rustls"] {
        builder.filter_module(target, LevelFilter::Info);
    }
    builder.format(|buf, record| {
        writeln!(
            buf,
            "{} {:<5} {}: {}",
            crate::units::iso_utc(crate::units::now_unix()),
            record.level(),
            record.target(),
            record.args()
        )
    });
    builder.target(env_logger::Target::Pipe(Box::new(Tee(shared))));
    let inner = builder.build();
    let max = inner.filter();
    if log::set_boxed_logger(Box::new(Logger { inner, shared })).is_ok() {
        log::set_max_level(max);
    }
    error.map_or(Ok(()), Err)
}

/// Rate-limiter figures (zeros before `init`).
pub fn cache_stats() -> CacheStats {
    match SHARED.get() {
        Some(s) => {
            let c = lock(&s.cache);
            CacheStats { used: c.used(), capacity: c.capacity(), suppressed: c.suppressed() }
        }
        None => CacheStats { used: 0, capacity: 0, suppressed: 0 },
    }
}

/// Frees rate-limiter slots whose window has passed (the 30-minute sweep); returns how many.
pub fn sweep_cache() -> usize {
    SHARED.get().map_or(0, |s| {
        let now_ms = u64::try_from(s.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        lock(&s.cache).sweep(now_ms)
    })
}

/// The most recent lines, oldest first.
pub fn recent_lines() -> Vec<String> {
    SHARED.get().map_or_else(Vec::new, |s| lock(&s.ring).lines())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record_key(line: u32, text: &str) -> u64 {
        key_of(&Record::builder().file(Some("a.rs")).line(Some(line)).args(format_args!("{text}")).build())
    }

    #[test]
    fn key_depends_on_call_site_and_text() {
        assert_eq!(record_key(1, "x"), record_key(1, "x"));
        assert_ne!(record_key(1, "x"), record_key(2, "x"));
        assert_ne!(record_key(1, "x"), record_key(1, "y"));
    }

    #[test]
    fn rotating_file_stays_under_two_caps() {
        let dir = std::env::temp_dir().join(format!("streambot-logrot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bot.log");
        let mut f = RotatingFile::open(FileSink { path: path.clone(), max_bytes: 100 }).unwrap();
        for i in 0..50 {
            f.write(format!("line number {i:03}\n").as_bytes());
        }
        let main = std::fs::metadata(&path).unwrap().len();
        let old = std::fs::metadata(dir.join("bot.log.1")).unwrap().len();
        assert!(main <= 100 && old <= 100, "{main} {old}");
        assert!(std::fs::read_to_string(&path).unwrap().ends_with("line number 049\n"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_unopenable_log_file_is_named_and_keeps_the_io_error_as_its_source() {
        use std::error::Error;
        let e = LogFileError { path: "/nope/bot.log".into(), error: io::ErrorKind::NotFound.into() };
        assert_eq!(e.to_string(), "cannot open LOG_FILE '/nope/bot.log': entity not found");
        assert!(e.source().is_some_and(|s| s.is::<io::Error>()));
    }
}
