//! One byte range of a file read from its DC: `upload.getFile` parts sized and prefetched by the
//! current load ([`parts::pace`]), each part a task that waits out flood limits, follows the file
//! to its DC, logs in again, refreshes a stale file reference and reconnects; the parts are
//! handed on in order and cut to the range, as an `AsyncRead`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use futures_lite::io::{AsyncBufRead, AsyncRead};
use grammers_tl_types::enums;

use super::error::InvokeError;
use super::parts::{self, MIN_PART, Part};
use super::policy::{self, Next};
use super::pool::{CALL_TIMEOUT, Pool, Reserved, Running};
use super::{refresh, requests};

/// How long a part keeps trying through lost connections before the download fails; the viewer
/// sees a stall meanwhile.
pub(crate) const STALL_LIMIT: Duration = Duration::from_secs(60);
/// `FILE_MIGRATE_X` answers one part follows before giving up (a loop between DCs).
const MAX_MIGRATIONS: u32 = 3;
/// The first part of every download.
const FIRST_PART: u32 = 64 * 1024;
/// Parts asked for ahead of what the downloads wait for, all downloads together (measured: a
/// hundred stalled viewers otherwise kept the early downloads' 512 KiB parts, 13 MiB in all).
pub(crate) const PREFETCH_BUDGET: u64 = 2 * 1024 * 1024;

/// A file on Telegram's DCs, as `upload.getFile` names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RemoteFile {
    pub(crate) dc: i32,
    pub(crate) id: i64,
    pub(crate) access_hash: i64,
    pub(crate) reference: Vec<u8>,
    /// `None` for a document; a photo's size letter (`y`, `x`, ...) otherwise.
    pub(crate) thumb_size: Option<String>,
    /// The message holding the file (chat id as the Bot API gives it, message id): where a fresh
    /// file reference comes from.
    pub(crate) source: Option<(i64, i32)>,
}

impl RemoteFile {
    fn location(&self) -> enums::InputFileLocation {
        match &self.thumb_size {
            None => requests::document(self.id, self.access_hash, self.reference.clone()),
            Some(size) => requests::photo(self.id, self.access_hash, self.reference.clone(), size.clone()),
        }
    }
}

/// A part call running on the executor: the part's bytes, or why there are none.
type PartTask = smol::Task<Result<Vec<u8>, InvokeError>>;

/// Bytes `start..=end` of a file, read part by part.
pub(crate) struct Download {
    pool: Pool,
    file: Rc<RefCell<RemoteFile>>,
    /// Offset of the next part to ask for.
    next: u64,
    /// The last byte wanted.
    end: u64,
    /// Bytes to drop at the start of the first part (the range starts inside it).
    skip: u64,
    pending: VecDeque<(Part, PartTask, Reserved)>,
    chunk: Vec<u8>,
    pos: usize,
    /// Bytes still to hand on.
    left: u64,
    _running: Running,
}

impl Download {
    /// Reads `start..=end` of `file` (`start <= end`); nothing is asked before the first read.
    pub(crate) fn new(pool: &Pool, mut file: RemoteFile, start: u64, end: u64) -> Download {
        if let Some(fresh) = pool.reference(file.id) {
            file.reference = fresh;
        }
        let running = pool.enter();
        // The first part is small whatever the pace (a quick first byte, and a viewer who stops
        // at once holds little); sizes then grow with the offset's alignment up to the pace.
        let size = u64::from(parts::pace(pool.downloads()).part.min(FIRST_PART));
        let next = start / size * size;
        Download {
            pool: pool.clone(),
            file: Rc::new(RefCell::new(file)),
            next,
            end,
            skip: start - next,
            pending: VecDeque::new(),
            chunk: Vec::new(),
            pos: 0,
            left: end - start + 1,
            _running: running,
        }
    }

    /// Waits for the first bytes, so that a file Telegram will not give fails before the
    /// response starts.
    pub(crate) async fn first_bytes(&mut self) -> io::Result<()> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_fill_buf(cx).map_ok(drop)).await
    }

    /// Starts part calls up to the pace's count of parts held (the one being handed on included).
    fn top_up(&mut self) {
        let pace = parts::pace(self.pool.downloads());
        let held = self.pending.len() + usize::from(self.pos < self.chunk.len());
        for _ in held..usize::from(pace.in_flight) {
            if self.next > self.end {
                return;
            }
            // Parts beyond the one a download waits for come out of one budget for all.
            let waiting_for = self.pending.is_empty() && self.pos == self.chunk.len();
            if !waiting_for && self.pool.reserved() + u64::from(pace.part) > PREFETCH_BUDGET {
                return;
            }
            // The largest size up to the pace's that the offset is a multiple of: a part then
            // never crosses a 1 MiB boundary, and sizes follow the load as it changes.
            let mut size = pace.part;
            while !self.next.is_multiple_of(u64::from(size)) && size > MIN_PART {
                size /= 2;
            }
            let part = Part { offset: self.next, limit: size };
            self.next += u64::from(size);
            let (pool, file) = (self.pool.clone(), self.file.clone());
            let task = self.pool.executor().spawn(async move { get_part(&pool, &file, part).await });
            self.pending.push_back((part, task, self.pool.reserve(u64::from(size))));
        }
    }

    /// Takes a finished part as the chunk to hand on, cut to the range.
    fn take(&mut self, part: Part, bytes: Vec<u8>) -> io::Result<()> {
        let wanted = (self.end - part.offset + 1).min(u64::from(part.limit)) as usize;
        if bytes.len() < wanted {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "telegram sent {} bytes at offset {}: the file is shorter than its size",
                    bytes.len(),
                    part.offset
                ),
            ));
        }
        let from = std::mem::take(&mut self.skip) as usize;
        self.chunk = bytes;
        self.chunk.truncate(wanted);
        self.pos = from.min(wanted);
        self.left = self.left.saturating_sub((wanted - self.pos) as u64);
        Ok(())
    }
}

impl AsyncBufRead for Download {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        while this.pos == this.chunk.len() && this.left > 0 {
            // Freed before waiting: a slow viewer holds one part, not two.
            this.chunk = Vec::new();
            this.pos = 0;
            this.top_up();
            let Some((part, task, _)) = this.pending.front_mut() else {
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no part left to read")));
            };
            let part = *part;
            let bytes = ready!(Pin::new(task).poll(cx)).map_err(|e| io::Error::other(format!("telegram: {e}")))?;
            this.pending.pop_front();
            this.take(part, bytes)?;
            this.top_up();
        }
        Poll::Ready(Ok(&this.chunk[this.pos..]))
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        self.pos = (self.pos + amt).min(self.chunk.len());
    }
}

impl AsyncRead for Download {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut [u8]) -> Poll<io::Result<usize>> {
        crate::buffered::poll_read(self, cx, out)
    }
}

/// One part, through everything a retry can fix (see [`policy::next`]).
async fn get_part(pool: &Pool, file: &RefCell<RemoteFile>, part: Part) -> Result<Vec<u8>, InvokeError> {
    let started = Instant::now();
    let (mut migrations, mut logins, mut refreshed) = (0, 0, false);
    loop {
        let (dc, location, reference) = {
            let file = file.borrow();
            (file.dc, file.location(), file.reference.clone())
        };
        let state = pool.dc(dc)?;
        state.wait_flood().await;
        let result = {
            let _permit = state.permit().await;
            let conn = pool.connection(&state).await;
            match conn {
                Ok(conn) => {
                    state.touch();
                    let result = requests::get_part(&conn, &location, part, CALL_TIMEOUT).await;
                    state.after_call(&conn, &result);
                    result
                }
                Err(error) => Err(error),
            }
        };
        let error = match result {
            Ok(bytes) => return Ok(bytes),
            Err(error) => error,
        };
        match policy::next(&error) {
            Next::Reconnect if started.elapsed() < STALL_LIMIT => {
                log::debug!("a part from telegram DC {dc} failed ({error}); trying again");
            }
            Next::Wait(pause) => state.flood(pause),
            Next::Migrate(to) if migrations < MAX_MIGRATIONS => {
                migrations += 1;
                file.borrow_mut().dc = to;
            }
            Next::Authorize if logins < 1 => {
                logins += 1;
                log::info!("telegram DC {dc} asks to log in again ({error})");
                crate::event::emit(crate::event::Event::DcLoginAgain { dc });
                state.unauthorized();
            }
            // Another part of this download may have refreshed it meanwhile.
            Next::Refresh if file.borrow().reference != reference => {}
            Next::Refresh if !refreshed => {
                refreshed = true;
                // A copy, not a borrow held across the await: another part of this download
                // may refresh too and write the reference meanwhile.
                let current = file.borrow().clone();
                let fresh = refresh::fresh_reference(pool, &current).await?;
                pool.remember_reference(file.borrow().id, fresh.clone());
                file.borrow_mut().reference = fresh;
            }
            _ => return Err(error),
        }
    }
}
