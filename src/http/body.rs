//! Responses and their bodies. [`Reply`]: a status, headers and a [`Body`] of our own, in memory,
//! a local file or a relay from Telegram. [`ByteSource`]: read from an upstream through one fixed buffer, and
//! refusing to end early: if the upstream stops before the promised length, reading fails, the
//! connection is cut, and the client sees an aborted transfer instead of a short file under 200.
//! [`FileBody`]: a local file, sent by the kernel with no buffer here, under the same rule.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};

use futures_lite::io::{AsyncBufRead, AsyncRead};
use http_types::{Response, StatusCode};

use crate::memory::stream_tracker::StreamGuard;
use crate::telegram::direct::DirectBody;
use crate::telegram::local::LocalFile;

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
/// need none: the kernel sends them from the page cache ([`FileBody`]).
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
pub struct Load(Arc<AtomicUsize>);

impl Load {
    pub fn streams(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// Counts one more stream until the returned value drops.
    fn enter(&self) -> Entered {
        self.0.fetch_add(1, Ordering::Relaxed);
        Entered(self.clone())
    }
}

/// One stream counted in a [`Load`].
struct Entered(Load);

impl Drop for Entered {
    fn drop(&mut self) {
        (self.0).0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What a body reads from: a Bot API file download or a file on our disk.
pub enum Upstream {
    Http(http_types::Body),
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

/// A response: the status line and headers (an http-types `Response`, whose own body is never
/// set), and the body, which the connection loop writes itself: file and relay sources are not
/// `Send`, which an http-types body must be.
pub struct Reply {
    pub head: Response,
    pub body: Body,
}

impl Reply {
    pub fn new(status: StatusCode, body: Body) -> Reply {
        Reply { head: Response::new(status), body }
    }

    /// A reply with no body (`Content-Length: 0`, or none at all for 204 and 304).
    pub fn empty(status: StatusCode) -> Reply {
        Reply::new(status, Body::Bytes(Vec::new()))
    }
}

/// What follows a response's head. Every body knows its length, which the head declares.
pub enum Body {
    /// Built in memory: pages, JSON, metrics, playlists, short texts.
    Bytes(Vec<u8>),
    /// A local file, sent by the kernel.
    File(FileBody),
    /// Bytes from Telegram through a buffer.
    Relay(Relay),
    /// Only a length: what the answer to HEAD declares for a file it does not open. Written after
    /// a GET's head, it fails the response, as any body that ends before its length does.
    Length(u64),
}

impl Body {
    /// The bytes the head declares.
    pub fn len(&self) -> u64 {
        match self {
            Body::Bytes(bytes) => bytes.len() as u64,
            Body::File(file) => file.left(),
            Body::Relay(relay) => relay.len,
            Body::Length(len) => *len,
        }
    }
}

impl From<String> for Body {
    fn from(text: String) -> Body {
        Body::Bytes(text.into_bytes())
    }
}

/// Exactly `len` bytes from Telegram, through a buffer.
pub struct Relay {
    len: u64,
    source: RelaySource,
}

/// Where a [`Relay`]'s bytes come from.
pub enum RelaySource {
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

    /// The length and the source, to write out.
    pub fn into_parts(self) -> (u64, RelaySource) {
        (self.len, self.source)
    }
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

/// A local file's bytes for a response, sent by the connection loop with `sendfile(2)` (or, to a
/// client on this host, from one mapped window at a time): no buffer in this process, and at most
/// one copy where `pread` and `write` make two.
pub struct FileBody {
    file: LocalFile,
    left: u64,
    guard: StreamGuard,
    load: Entered,
}

impl FileBody {
    /// `len` bytes of `file` from its position, tracked by `guard` and counted in `load`.
    pub fn new(file: LocalFile, len: u64, guard: StreamGuard, load: &Load) -> FileBody {
        FileBody { file, left: len, guard, load: load.enter() }
    }

    /// Bytes still to send.
    pub fn left(&self) -> u64 {
        self.left
    }

    /// The file, to send from; report what went out with [`FileBody::sent`].
    pub fn file(&mut self) -> &mut LocalFile {
        &mut self.file
    }

    /// Appends the whole rest of the body to `out` (a small body that goes out with the head);
    /// count it with [`FileBody::sent`] once it is written.
    pub fn read_rest_into(&mut self, out: &mut Vec<u8>) -> io::Result<usize> {
        let n = usize::try_from(self.left).map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
        let at = out.len();
        out.resize(at + n, 0);
        self.file.read_exact(&mut out[at..])?;
        Ok(n)
    }

    /// Counts `n` bytes handed to the socket.
    pub fn sent(&mut self, n: usize) {
        self.left = self.left.saturating_sub(n as u64);
        self.guard.progress(n as u64, std::time::Instant::now());
    }

    /// The rest of the body through a buffer, for a file system that refuses `sendfile` and mapping.
    pub fn buffered(self) -> ByteSource<Upstream> {
        let size = buffer_plan((self.load.0).streams());
        let mut source = ByteSource::with_buffer(Upstream::File(self.file), self.left, size);
        source.guard = Some(self.guard);
        source.load = Some(self.load);
        source
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
