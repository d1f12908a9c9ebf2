//! Bytes relayed through a buffer. [`Relay`]: a body from Telegram, a Bot API download in a
//! [`ByteSource`] or MTProto parts, written out chunk by chunk as its source fills its buffer.
//! [`ByteSource`]: read from an upstream through one fixed buffer, and refusing to end early: if
//! the upstream stops before the promised length, reading fails, the connection is cut, and the
//! client sees an aborted transfer instead of a short file under 200. [`Load`]: how many bodies
//! stream now, which sizes the buffers.

use std::cell::Cell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, ready};

use futures_lite::future;
use futures_lite::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWriteExt};

use crate::http::guard::Guarded;
use crate::memory::stream_tracker::StreamGuard;
use crate::telegram::direct::DirectBody;
use crate::telegram::local::LocalFile;
use crate::telegram::transport::DownloadBody;

/// Default per-stream buffer size: one allocation for the life of a response.
pub const BUFFER_SIZE: usize = 64 * 1024;
/// Buffer of a stream that runs with few others (fewer reads of the upstream per MiB).
pub const LARGE_BUFFER: usize = 256 * 1024;
/// Buffer of each stream when many run at once.
pub const SMALL_BUFFER: usize = 16 * 1024;
/// Streams that may run with large buffers (512 KiB of buffers in all).
pub const LARGE_STREAMS: usize = 2;
/// Up to this many streams, each gets [`BUFFER_SIZE`]; past it, [`SMALL_BUFFER`].
pub const MEDIUM_STREAMS: usize = 8;

/// How big one stream's [`ByteSource`] buffer is, given how many streams run (this one
/// included): big buffers for a few streams (speed), small ones for many (memory). Local files
/// need none: the kernel sends them from the page cache (`egress::file`).
pub fn buffer_plan(active_streams: usize) -> usize {
    match active_streams {
        0..=LARGE_STREAMS => LARGE_BUFFER,
        n if n <= MEDIUM_STREAMS => BUFFER_SIZE,
        _ => SMALL_BUFFER,
    }
}

/// How many file bodies are streaming now. Buffers follow it: a stream that started alone with
/// large buffers shrinks them at its next refill (and its socket stops coalescing at the next
/// drain) once others join, so memory tracks the current load, not the load at each start.
#[derive(Clone, Default)]
pub struct Load(Rc<Cell<usize>>);

impl Load {
    pub fn streams(&self) -> usize {
        self.0.get()
    }

    /// Counts one more stream until the returned value drops.
    pub(super) fn enter(&self) -> Entered {
        self.0.set(self.0.get() + 1);
        Entered(self.clone())
    }
}

/// One stream counted in a [`Load`].
pub(super) struct Entered(Load);

impl Entered {
    /// How many streams run now, this one included.
    pub(super) fn streams(&self) -> usize {
        self.0.streams()
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let count = &(self.0).0;
        count.set(count.get().saturating_sub(1));
    }
}

/// What a body reads from: a Bot API file download or a file on our disk.
pub enum Upstream {
    Http(DownloadBody),
    File(LocalFile),
}

impl AsyncRead for Upstream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Upstream::Http(body) => Pin::new(body).poll_read(cx, buf),
            Upstream::File(file) => Pin::new(file).poll_read(cx, buf),
        }
    }
}

/// Exactly `len` bytes from Telegram, through a buffer.
pub struct Relay {
    len: u64,
    source: RelaySource,
}

/// Where a [`Relay`]'s bytes come from.
enum RelaySource {
    /// A Bot API download (or a local file read through a buffer) in a [`ByteSource`].
    Buffered(ByteSource<Upstream>),
    /// Direct mode: MTProto parts, handed on as they come (they are their own buffer).
    Direct(Tracked<DirectBody>),
}

impl Relay {
    /// All that `source` will hand on.
    pub fn buffered(source: ByteSource<Upstream>) -> Relay {
        Relay { len: source.remaining, source: RelaySource::Buffered(source) }
    }

    /// `len` bytes of MTProto parts.
    pub fn direct(body: Tracked<DirectBody>, len: u64) -> Relay {
        Relay { len, source: RelaySource::Direct(body) }
    }

    /// The bytes it hands on.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Writes the relay's bytes to `io`; a source that ends early fails the write.
    pub(super) async fn send(self, io: &mut Guarded) -> io::Result<()> {
        match self.source {
            RelaySource::Buffered(mut source) => copy(&mut source, io, self.len).await,
            RelaySource::Direct(mut source) => copy(&mut source, io, self.len).await,
        }
    }
}

/// Copies `len` bytes of a body chunk by chunk as its source fills its own buffer (no second
/// copy buffer), one chunk per turn of the executor.
pub(super) async fn copy(body: &mut (impl AsyncBufRead + Unpin), io: &mut Guarded, len: u64) -> io::Result<()> {
    let mut left = len;
    while left > 0 {
        let chunk = body.fill_buf().await?;
        if chunk.is_empty() {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "body ended before its length"));
        }
        let n = usize::try_from(left).map_or(chunk.len(), |left| chunk.len().min(left));
        io.write_all(&chunk[..n]).await?;
        body.consume(n);
        left -= n as u64;
        // A client that reads as fast as we write never makes a write wait: without this, its
        // download would hold the one thread until it ends.
        future::yield_now().await;
    }
    Ok(())
}

/// A body that buffers itself, tracked in the stream table and counted in the load.
pub struct Tracked<R> {
    inner: R,
    guard: StreamGuard,
    _load: Entered,
}

impl<R> Tracked<R> {
    pub fn new(inner: R, guard: StreamGuard, load: &Load) -> Tracked<R> {
        Tracked { inner, guard, _load: load.enter() }
    }
}

impl<R: AsyncBufRead + Unpin> AsyncBufRead for Tracked<R> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Pin::new(&mut self.get_mut().inner).poll_fill_buf(cx)
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        self.guard.progress(amt as u64, std::time::Instant::now());
        Pin::new(&mut self.inner).consume(amt);
    }
}

impl<R: AsyncBufRead + Unpin> AsyncRead for Tracked<R> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut [u8]) -> Poll<io::Result<usize>> {
        crate::buffered::poll_read(self, cx, out)
    }
}

/// Exactly `len` bytes of `inner`, through a fixed buffer.
pub struct ByteSource<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    filled: usize,
    remaining: u64,
    /// Bytes still to discard before the body starts (an upstream that ignored our Range).
    skip: u64,
    /// The stream's slot in the tracker: counts bytes as they are handed on, freed on drop.
    guard: Option<StreamGuard>,
    /// Counted in the process's load; the buffer shrinks to the plan for the current load.
    load: Option<Entered>,
}

impl<R: AsyncRead + Unpin> ByteSource<R> {
    /// A source of `len` bytes from `inner` with a `size`-byte buffer (no bigger than the body
    /// needs).
    pub fn with_buffer(inner: R, len: u64, size: usize) -> Self {
        let size = usize::try_from(len).map_or(size, |len| len.clamp(1, size));
        ByteSource {
            inner,
            buf: vec![0; size].into_boxed_slice(),
            pos: 0,
            filled: 0,
            remaining: len,
            skip: 0,
            guard: None,
            load: None,
        }
    }

    /// Counts this body in `load` and keeps its buffer no bigger than the plan for it.
    pub fn loaded(mut self, load: &Load) -> Self {
        self.load = Some(load.enter());
        self
    }

    /// Tracks this body in the stream table.
    pub fn tracked(mut self, guard: StreamGuard) -> Self {
        self.guard = Some(guard);
        self
    }

    /// Counts this body in the load as the stream `entered` already is (a body that goes on
    /// through a buffer after it began another way).
    pub(super) fn counted(mut self, entered: Entered) -> Self {
        self.load = Some(entered);
        self
    }

    /// Discards the first `n` bytes of `inner` before the body starts.
    pub fn skipping(mut self, n: u64) -> Self {
        self.skip = n;
        self
    }
}

impl<R: AsyncRead + Unpin> AsyncBufRead for ByteSource<R> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        while this.skip > 0 {
            let want = usize::try_from(this.skip).unwrap_or(usize::MAX).min(this.buf.len());
            let n = ready!(Pin::new(&mut this.inner).poll_read(cx, &mut this.buf[..want]))?;
            if n == 0 {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "upstream ended before the range",
                )));
            }
            this.skip -= n as u64;
        }
        if this.pos == this.filled && this.remaining > 0 {
            if let Some(Entered(load)) = &this.load {
                let want = buffer_plan(load.streams());
                if this.buf.len() > want {
                    this.buf = vec![0; want].into_boxed_slice();
                }
            }
            let want = usize::try_from(this.remaining).unwrap_or(usize::MAX).min(this.buf.len());
            let n = ready!(Pin::new(&mut this.inner).poll_read(cx, &mut this.buf[..want]))?;
            if n == 0 {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("upstream ended {} bytes early", this.remaining),
                )));
            }
            this.pos = 0;
            this.filled = n;
            this.remaining -= n as u64;
        }
        Poll::Ready(Ok(&this.buf[this.pos..this.filled]))
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        let amt = amt.min(self.filled - self.pos);
        self.pos += amt;
        if let Some(guard) = &self.guard {
            guard.progress(amt as u64, std::time::Instant::now());
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for ByteSource<R> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut [u8]) -> Poll<io::Result<usize>> {
        crate::buffered::poll_read(self, cx, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::io::{AsyncReadExt, Cursor};

    #[test]
    fn reads_exactly_the_promised_length() {
        let data: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let mut src = ByteSource::with_buffer(Cursor::new(data.clone()), 150_000, BUFFER_SIZE);
        let mut out = Vec::new();
        smol::block_on(src.read_to_end(&mut out)).unwrap();
        assert_eq!(out, data[..150_000]);
    }

    #[test]
    fn short_upstream_is_an_error_not_a_short_body() {
        let mut src = ByteSource::with_buffer(Cursor::new(vec![1u8; 1000]), 2000, BUFFER_SIZE);
        let mut out = Vec::new();
        let err = smol::block_on(src.read_to_end(&mut out)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn skipping_starts_the_body_later() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut src = ByteSource::with_buffer(Cursor::new(data.clone()), 1000, BUFFER_SIZE).skipping(200_000);
        let mut out = Vec::new();
        smol::block_on(src.read_to_end(&mut out)).unwrap();
        assert_eq!(out, data[200_000..201_000]);
    }

    #[test]
    fn buffers_shrink_as_streams_multiply() {
        assert_eq!(buffer_plan(1), LARGE_BUFFER);
        assert_eq!(buffer_plan(LARGE_STREAMS + 1), BUFFER_SIZE);
        assert_eq!(buffer_plan(100), SMALL_BUFFER);
    }

    #[test]
    fn a_buffer_shrinks_at_its_next_refill_when_streams_join() {
        let data = vec![3u8; 3 * LARGE_BUFFER];
        let load = Load::default();
        let mut src = ByteSource::with_buffer(Cursor::new(data), 3 * LARGE_BUFFER as u64, LARGE_BUFFER).loaded(&load);
        assert_eq!(load.streams(), 1);
        smol::block_on(futures_lite::io::AsyncBufReadExt::fill_buf(&mut src)).unwrap();
        assert_eq!(src.buf.len(), LARGE_BUFFER);
        let others: Vec<Entered> = (0..MEDIUM_STREAMS).map(|_| load.enter()).collect();
        Pin::new(&mut src).consume(LARGE_BUFFER);
        smol::block_on(futures_lite::io::AsyncBufReadExt::fill_buf(&mut src)).unwrap();
        assert_eq!(src.buf.len(), SMALL_BUFFER);
        drop((others, src));
        assert_eq!(load.streams(), 0);
    }

    #[test]
    fn a_short_body_gets_a_short_buffer() {
        let src = ByteSource::with_buffer(Cursor::new(vec![7u8; 10]), 10, LARGE_BUFFER);
        assert_eq!(src.buf.len(), 10);
    }

    #[test]
    fn empty_body_is_fine() {
        let mut src = ByteSource::with_buffer(Cursor::new(Vec::new()), 0, BUFFER_SIZE);
        let mut out = Vec::new();
        smol::block_on(src.read_to_end(&mut out)).unwrap();
        assert!(out.is_empty());
    }
}
