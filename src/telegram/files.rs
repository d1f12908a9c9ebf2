//! Reaching a file's bytes through the Bot API, in cloud mode (a download URL, files up to 20 MB)
//! and local mode (a path on a `telegram-bot-api --local` server's disk): `getFile` answers are
//! cached and concurrent calls for one file share one request; in local mode the answer is a path
//! opened inside `TELEGRAM_LOCAL_FILES`, fetched again if the file vanished, pre-warmed at intake
//! (a few at a time, a bounded line behind them).

use std::cell::{Cell, RefCell};
use std::path::Path;
use std::rc::Rc;
use std::time::Instant;

use async_io::Timer;
use frankenstein::AsyncTelegramApi;
use frankenstein::methods::GetFileParams;
use smol::LocalExecutor;
use smol::channel::{Receiver, Sender, bounded};
use smol::lock::Semaphore;

use super::direct::DirectFile;
use super::local::{LocalError, Root};
use super::open_files::{OPEN_FILE_TTL, OpenFiles};
pub use super::path_cache::Located;
use super::path_cache::PathCache;
use super::transport::{TelegramError, Transport};
use crate::mtproto::pool::Pool;

/// Distinct files with a `getFile` call in flight that later callers can join; past this,
/// callers make their own call.
pub const MAX_IN_FLIGHT: usize = 64;
/// Pre-warm calls retried after a timeout: a local server answers `getFile` only once it has the
/// whole file, which takes minutes for 2 GB (30 s per call, so about 5 minutes in all).
const PREWARM_ATTEMPTS: u32 = 10;
/// Pre-warm `getFile` calls running at once: a local server fetching many big files at once only
/// slows each of them.
pub const PREWARM_RUNNING: usize = 4;
/// Pre-warms waiting for a turn. Past this a file is not pre-warmed: its first download asks
/// `getFile` itself.
pub const PREWARM_QUEUE: usize = 64;

/// Why a file cannot be opened.
#[derive(Debug)]
pub enum FileError {
    Telegram(TelegramError),
    /// Local mode: the path is outside `TELEGRAM_LOCAL_FILES` (never served).
    Outside(std::path::PathBuf),
    /// Local mode: `getFile` named a path that is not on our disk, even after asking again.
    Missing(String),
    /// Local mode: the path names a directory, FIFO, socket or device.
    NotRegular,
    Io(std::io::Error),
}

impl FileError {
    /// A one-word cause for the `file_unreadable` event.
    pub fn reason(&self) -> &'static str {
        match self {
            FileError::Telegram(_) => "telegram",
            FileError::Outside(_) => "outside",
            FileError::Missing(_) => "missing",
            FileError::NotRegular => "not_regular",
            FileError::Io(_) => "io",
        }
    }
}

/// What the operator reads in the log: the cause and what to do, paths with tokens masked.
impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::Telegram(e) => write!(f, "telegram could not provide a file: {e}"),
            FileError::Outside(path) => write!(
                f,
                "refused to serve '{}': it is outside TELEGRAM_LOCAL_FILES (a '..' or symlink in the path the Bot API server gave)",
                super::local::loggable_path(path)
            ),
            FileError::Missing(path) => write!(
                f,
                "the Bot API server names '{}' but it is not on this disk: mount its working directory at the same path (TELEGRAM_LOCAL_FILES)",
                super::local::loggable_path(Path::new(path))
            ),
            FileError::NotRegular => write!(f, "cannot read a local file: not a regular file"),
            FileError::Io(e) => write!(f, "cannot read a local file: {e}"),
        }
    }
}

impl std::error::Error for FileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FileError::Telegram(e) => Some(e),
            FileError::Io(e) => Some(e),
            FileError::Outside(_) | FileError::Missing(_) | FileError::NotRegular => None,
        }
    }
}

/// A file ready to stream.
pub enum Opened {
    /// Download `path` from the Bot API file URL.
    Cloud(Located),
    /// Read this file, `len` bytes long.
    Local { file: Rc<std::fs::File>, len: u64 },
    /// Direct mode: read the file from its DC over MTProto.
    Direct(DirectFile),
}

impl Opened {
    /// The length, if known before downloading.
    pub fn known_len(&self) -> Option<u64> {
        match self {
            Opened::Cloud(l) => l.size,
            Opened::Local { len, .. } => Some(*len),
            Opened::Direct(_) => None,
        }
    }
}

/// File access for the whole process; cheap to clone.
#[derive(Clone)]
pub struct Files(Rc<Inner>);

struct Inner {
    api: Transport,
    root: Option<Root>,
    /// Direct mode's MTProto sessions.
    direct: Option<Pool>,
    cache: RefCell<PathCache>,
    /// Local mode: descriptors of files just served.
    open_files: RefCell<OpenFiles>,
    /// A task closes expired descriptors while the table holds any.
    sweeping_open: Cell<bool>,
    in_flight: RefCell<Vec<Flight>>,
    ex: Rc<LocalExecutor<'static>>,
    /// Turns for pre-warm calls ([`PREWARM_RUNNING`]).
    prewarm_turns: Semaphore,
    /// Pre-warm tasks alive, running or waiting for a turn.
    prewarms: Cell<usize>,
}

/// One `getFile` call others can wait for: `done` closes when it ends (or is cancelled).
struct Flight {
    file_id: String,
    done: Receiver<()>,
    result: Rc<RefCell<Option<Result<Located, TelegramError>>>>,
}

/// Removes its flight and wakes the waiters when the leading call ends, however it ends.
struct Leader<'a> {
    inner: &'a Inner,
    file_id: &'a str,
    _done: Sender<()>,
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        self.inner.in_flight.borrow_mut().retain(|f| f.file_id != self.file_id);
    }
}

impl Files {
    /// `local_dir`: `TELEGRAM_LOCAL_FILES`, which must exist.
    #[cfg(test)]
    pub fn new(api: Transport, local_dir: Option<&Path>, ex: Rc<LocalExecutor<'static>>) -> std::io::Result<Files> {
        Files::with_direct(api, local_dir, None, ex)
    }

    /// Files read over MTProto through `direct` when it is given (and `local_dir` is not).
    pub(crate) fn with_direct(
        api: Transport,
        local_dir: Option<&Path>,
        direct: Option<Pool>,
        ex: Rc<LocalExecutor<'static>>,
    ) -> std::io::Result<Files> {
        let root = local_dir.map(Root::new).transpose()?;
        Ok(Files(Rc::new(Inner {
            api,
            root,
            direct,
            cache: RefCell::new(PathCache::new()),
            open_files: RefCell::new(OpenFiles::new()),
            sweeping_open: Cell::new(false),
            in_flight: RefCell::new(Vec::with_capacity(MAX_IN_FLIGHT)),
            ex,
            prewarm_turns: Semaphore::new(PREWARM_RUNNING),
            prewarms: Cell::new(0),
        })))
    }

    pub fn is_local(&self) -> bool {
        self.0.root.is_some()
    }

    /// Direct mode's sessions, when file bytes come over MTProto.
    pub(crate) fn direct(&self) -> Option<&Pool> {
        self.0.direct.as_ref()
    }

    /// The Bot API client (cloud downloads go through it).
    /// The executor background work is spawned on (pre-warms, broadcasts).
    pub fn executor(&self) -> &Rc<LocalExecutor<'static>> {
        &self.0.ex
    }

    pub fn api(&self) -> &Transport {
        &self.0.api
    }

    /// Where `file_id` lives now: a cached answer, or one `getFile` shared by every caller
    /// that asks while it runs.
    pub async fn locate(&self, file_id: &str) -> Result<Located, TelegramError> {
        let inner = &*self.0;
        loop {
            if let Some(hit) = inner.cache.borrow().get(file_id, Instant::now()) {
                return Ok(hit);
            }
            let joined = inner
                .in_flight
                .borrow()
                .iter()
                .find(|f| f.file_id == file_id)
                .map(|f| (f.done.clone(), f.result.clone()));
            if let Some((done, result)) = joined {
                // Never sent to: `recv` ends when the leader drops its sender.
                let _ = done.recv().await;
                match result.borrow().clone() {
                    Some(r) => return r,
                    None => continue, // the leading request was cancelled: try again
                }
            }
            let (tx, rx) = bounded(1);
            let result = Rc::new(RefCell::new(None));
            {
                let mut flights = inner.in_flight.borrow_mut();
                if flights.len() < MAX_IN_FLIGHT {
                    flights.push(Flight { file_id: file_id.to_owned(), done: rx, result: result.clone() });
                }
            }
            let _leader = Leader { inner, file_id, _done: tx };
            let answer = get_file(&inner.api, file_id).await;
            if let Ok(located) = &answer {
                inner.cache.borrow_mut().put(file_id, located.clone(), Instant::now());
            }
            *result.borrow_mut() = Some(answer.clone());
            return answer;
        }
    }

    /// Gets `file_id` ready to stream. Local mode: opens the path inside the root, and asks
    /// `getFile` once more if the file vanished since the cached answer. Direct mode: decodes
    /// the `file_id` (`source`: the message holding it), or falls back to the Bot API.
    pub async fn open(&self, file_id: &str, source: Option<(i64, i32)>) -> Result<Opened, FileError> {
        if self.0.direct.is_some() {
            match DirectFile::decode(file_id, source) {
                Ok(file) => return Ok(Opened::Direct(file)),
                Err(e) => {
                    log::warn!("cannot read file {} over MTProto ({e}); asking the Bot API for it", short(file_id));
                    crate::event::emit(crate::event::Event::DirectFallback);
                }
            }
        }
        let Some(root) = &self.0.root else {
            return self.locate(file_id).await.map(Opened::Cloud).map_err(FileError::Telegram);
        };
        let mut retried = false;
        loop {
            let located = self.locate(file_id).await.map_err(FileError::Telegram)?;
            let now = Instant::now();
            if let Some((file, len)) = self.0.open_files.borrow().get(&located.path, now) {
                return Ok(Opened::Local { file, len });
            }
            match root.open(&located.path) {
                Ok((file, len)) => {
                    let file = Rc::new(file);
                    self.keep_open(&located.path, file.clone(), len, now);
                    return Ok(Opened::Local { file, len });
                }
                Err(LocalError::Missing) if !retried => {
                    log::debug!("local file of {} vanished; asking getFile again", short(file_id));
                    self.0.cache.borrow_mut().remove(file_id);
                    retried = true;
                }
                Err(LocalError::Missing) => return Err(FileError::Missing(located.path)),
                Err(LocalError::Outside(path)) => return Err(FileError::Outside(path)),
                Err(LocalError::NotRegular) => return Err(FileError::NotRegular),
                Err(LocalError::Io(e)) => return Err(FileError::Io(e)),
            }
        }
    }

    /// Keeps `file` open for the next requests of `path`, and starts the task that closes
    /// expired descriptors unless it runs.
    fn keep_open(&self, path: &str, file: Rc<std::fs::File>, len: u64, now: Instant) {
        self.0.open_files.borrow_mut().put(path, file, len, now);
        if self.0.sweeping_open.replace(true) {
            return;
        }
        let files = Rc::downgrade(&self.0);
        let sweep = async move {
            loop {
                Timer::after(OPEN_FILE_TTL).await;
                let Some(inner) = files.upgrade() else { return };
                if inner.open_files.borrow_mut().sweep(Instant::now()) == 0 {
                    inner.sweeping_open.set(false);
                    return;
                }
            }
        };
        self.0.ex.spawn(sweep).detach();
    }

    /// Local mode: asks for `file_id` in the background so the local server fetches it from
    /// Telegram before the first download asks (that download then joins the call or hits the
    /// cache). At most [`PREWARM_RUNNING`] run and [`PREWARM_QUEUE`] wait; past that, none.
    pub fn prewarm(&self, file_id: &str) {
        if !self.is_local() {
            return;
        }
        let inner = &self.0;
        if inner.prewarms.get() >= PREWARM_RUNNING + PREWARM_QUEUE {
            log::debug!("pre-warm line full: {} waits for its first download", short(file_id));
            return;
        }
        inner.prewarms.set(inner.prewarms.get() + 1);
        let alive = Alive(self.clone());
        let file_id = file_id.to_owned();
        inner
            .ex
            .spawn(async move {
                let files = &alive.0;
                let _turn = files.0.prewarm_turns.acquire().await;
                files.prewarm_now(&file_id).await;
            })
            .detach();
    }

    #[cfg(test)]
    /// Pre-warm tasks alive now, running or waiting.
    pub fn prewarms(&self) -> usize {
        self.0.prewarms.get()
    }

    async fn prewarm_now(&self, file_id: &str) {
        let started = Instant::now();
        for _ in 0..PREWARM_ATTEMPTS {
            match self.locate(file_id).await {
                Ok(_) => {
                    log::debug!("pre-warmed {} in {} ms", short(file_id), started.elapsed().as_millis());
                    return;
                }
                Err(TelegramError::Timeout) => continue,
                Err(e) => {
                    log::warn!("pre-warming a file failed: {e}");
                    return;
                }
            }
        }
        log::warn!("pre-warming {} gave up after {} s", short(file_id), started.elapsed().as_secs());
    }

    /// Drops the cached answer for `file_id` (its path failed).
    pub fn forget(&self, file_id: &str) {
        self.0.cache.borrow_mut().remove(file_id);
    }

    /// Drops expired `getFile` answers; returns how many remain (for the cleanup scheduler).
    pub fn sweep(&self) -> usize {
        self.0.cache.borrow_mut().sweep(Instant::now())
    }
}

/// Counts one pre-warm task while it lives, however it ends (even dropped before it ran).
struct Alive(Files);

impl Drop for Alive {
    fn drop(&mut self) {
        let count = &self.0.0.prewarms;
        count.set(count.get() - 1);
    }
}

/// A loggable handle for a `file_id` (they are long and not secret, but noisy).
fn short(file_id: &str) -> &str {
    file_id.get(file_id.len().saturating_sub(12)..).unwrap_or(file_id)
}

/// One `getFile` call.
async fn get_file(api: &Transport, file_id: &str) -> Result<Located, TelegramError> {
    let file = api.get_file(&GetFileParams::builder().file_id(file_id).build()).await?.result;
    let path = file.file_path.ok_or_else(|| TelegramError::Decode("getFile answered without file_path".into()))?;
    Ok(Located { path, size: file.file_size })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prewarms_past_the_running_and_waiting_bound_are_skipped() {
        let dir = std::env::temp_dir().join(format!("streambot-prewarm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ex = Rc::new(LocalExecutor::new());
        let api = Transport::new("http://127.0.0.1:1", "1:x", 5, Vec::new()).unwrap();
        let files = Files::new(api, Some(&dir), ex.clone()).unwrap();
        for i in 0..200 {
            files.prewarm(&format!("file-{i}"));
        }
        assert_eq!(files.prewarms(), PREWARM_RUNNING + PREWARM_QUEUE);
        // Nothing listens on port 1: every call fails at once and its task ends.
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        smol::block_on(ex.run(async {
            while files.prewarms() > 0 {
                assert!(Instant::now() < deadline, "{} pre-warms still alive", files.prewarms());
                async_io::Timer::after(std::time::Duration::from_millis(5)).await;
            }
        }));
        files.prewarm("again");
        assert_eq!(files.prewarms(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn file_errors_keep_the_telegram_or_io_error_as_their_source() {
        use std::error::Error;
        assert!(FileError::Telegram(TelegramError::Timeout).source().is_some_and(|s| s.is::<TelegramError>()));
        assert!(FileError::Io(std::io::ErrorKind::NotFound.into()).source().is_some_and(|s| s.is::<std::io::Error>()));
        assert!(FileError::Missing("a".into()).source().is_none());
    }
}
