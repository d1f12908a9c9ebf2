//! [`Guarded`]: the socket async-h1 reads and writes. It caps the bytes read between two writes
//! (async-h1 grows one header line without bound), bounds the wait for a request and for write
//! progress, lets HTTP/1.0 requests in (async-h1 drops them), answers 400 to a request head
//! async-h1 would panic on (a non-ASCII header value), and can coalesce a body's writes.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use async_io::Timer;
use async_net::{Shutdown as Half, TcpStream};
use futures_lite::io::{AsyncRead, AsyncWrite};

use super::body::{Load, buffer_plan};
use super::head::{HeadCheck, RequestLine};

/// Most bytes read between two writes: a request head and whatever follows it. async-h1 refuses
/// heads over 8 KiB itself, but only after a whole line arrived.
pub const HEAD_CAP: usize = 16 * 1024;

/// The answer to a request head with a byte no head may hold. async-h1 must never see such a
/// head: httparse lets bytes 0x80-0xFF through in header values and async-h1 then unwraps
/// http-types' ASCII check, a panic (an abort in release) that one client could send at will.
const BAD_REQUEST: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Length: 37\r\nConnection: close\r\n\r\nrequest head must be printable ASCII\n";
/// After the 400, the client's remaining bytes are read and dropped for at most this long and
/// this many bytes (closing with unread bytes is a reset that can destroy the 400 in transit).
const REFUSE_DRAIN_TIME: Duration = Duration::from_secs(2);
const REFUSE_DRAIN: usize = HEAD_CAP;

/// Timeouts of one connection.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// From the first read that has to wait (after the previous response) to a whole request.
    pub idle: Duration,
    /// Longest time a write may make no progress (a client that stopped reading).
    pub write: Duration,
}

/// A clonable handle on one client connection (async-h1 needs `Clone + Send + Sync`). The lock is
/// only held inside one `poll_*` call, so it never contends on our one thread.
#[derive(Clone)]
pub struct Guarded(Arc<Mutex<State>>);

struct State {
    stream: TcpStream,
    timeouts: Timeouts,
    read_since_write: usize,
    read_timer: Option<Timer>,
    write_timer: Option<Timer>,
    line: RequestLine,
    head: HeadCheck,
    /// Set once a head was refused: the 400 goes out, then every read fails.
    refusal: Option<Refusal>,
    /// Writes gathered here while coalescing is on (capacity > 0); freed at the next flush.
    out: Vec<u8>,
    out_pos: usize,
    /// Streams running in the process: coalescing stops when they get many.
    load: Load,
}

impl Guarded {
    pub fn new(stream: TcpStream, timeouts: Timeouts, load: Load) -> Guarded {
        Guarded(Arc::new(Mutex::new(State {
            stream,
            timeouts,
            read_since_write: 0,
            read_timer: None,
            write_timer: None,
            line: RequestLine::new(),
            head: HeadCheck::new(),
            refusal: None,
            out: Vec::new(),
            out_pos: 0,
            load,
        })))
    }

    /// The process's streaming load (to size a new body's buffers).
    pub fn load(&self) -> Load {
        self.state().load.clone()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // panic = "abort" in release; in tests a poisoned lock still holds consistent bytes.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the request being served came as HTTP/1.0 (its response must close the connection).
    pub fn is_http10(&self) -> bool {
        self.state().line.http10
    }

    /// The previous request is done with (response sent, its body read): the next bytes read are a
    /// request head again and get checked. Only the server loop knows this: a request body is
    /// read (or discarded) after the response was written, so writes cannot tell it.
    pub fn next_request(&self) {
        self.state().head = HeadCheck::new();
    }

    /// Gathers the next writes into `capacity` bytes and sends them in big writes, until the
    /// response ends (async-h1 flushes once, at the end of each response). async-h1 copies
    /// bodies 8 KiB at a time, one `write` each; coalescing saves most of those system calls.
    pub fn coalesce(&self, capacity: usize) {
        let mut st = self.state();
        if capacity > st.out.capacity() && st.out.is_empty() {
            st.out = Vec::with_capacity(capacity);
            st.out_pos = 0;
        }
    }
}

impl State {
    /// A write means the request was read: the next read starts a new request.
    fn wrote(&mut self) {
        self.read_since_write = 0;
        self.read_timer = None;
        self.line.restart();
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if self.refusal.is_some() {
            return self.poll_refuse(cx);
        }
        let room = HEAD_CAP.saturating_sub(self.read_since_write).min(buf.len());
        if room == 0 && !buf.is_empty() {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, "request head too large")));
        }
        let buf = &mut buf[..room];
        loop {
            let carried = self.line.take_carry(buf);
            if carried == buf.len() {
                return self.hand_on(cx, &buf[..carried]);
            }
            let n = match Pin::new(&mut self.stream).poll_read(cx, &mut buf[carried..]) {
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    self.line.put_back(&buf[..carried]);
                    let timer = self.read_timer.get_or_insert_with(|| Timer::after(self.timeouts.idle));
                    if Pin::new(timer).poll(cx).is_ready() {
                        return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "no request in time")));
                    }
                    return Poll::Pending;
                }
            };
            let total = carried + n;
            let out = if n == 0 { total } else { self.line.scan(buf, total) };
            if out > 0 || n == 0 {
                return self.hand_on(cx, &buf[..out]);
            }
        }
    }

    /// Hands `bytes` on to async-h1, or refuses the request when they cannot be part of its head.
    fn hand_on(&mut self, cx: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
        if !self.head.pass(bytes) {
            self.refusal = Some(Refusal::Answering(0));
            return self.poll_refuse(cx);
        }
        self.read_since_write += bytes.len();
        Poll::Ready(Ok(bytes.len()))
    }

    /// Sends the 400, shuts the write side, drains what the client still sends (bounded), then
    /// fails the read so async-h1 ends the connection without having seen the head.
    fn poll_refuse(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        loop {
            match self.refusal {
                Some(Refusal::Answering(pos)) => {
                    let sent = write_some(
                        &mut self.stream,
                        &mut self.write_timer,
                        self.timeouts.write,
                        cx,
                        &BAD_REQUEST[pos..],
                    );
                    let pos = match ready!(sent) {
                        Ok(n) if n > 0 => pos + n,
                        // The client is gone or stuck: nothing more to tell it.
                        _ => {
                            self.refusal = Some(Refusal::Done);
                            continue;
                        }
                    };
                    if pos < BAD_REQUEST.len() {
                        self.refusal = Some(Refusal::Answering(pos));
                        continue;
                    }
                    let _ = self.stream.shutdown(Half::Write);
                    self.read_timer = Some(Timer::after(REFUSE_DRAIN_TIME));
                    self.refusal = Some(Refusal::Draining(0));
                }
                Some(Refusal::Draining(drained)) => {
                    let mut sink = [0u8; 1024];
                    self.refusal = match Pin::new(&mut self.stream).poll_read(cx, &mut sink) {
                        Poll::Ready(Ok(n)) if n > 0 && drained + n < REFUSE_DRAIN => {
                            Some(Refusal::Draining(drained + n))
                        }
                        Poll::Ready(_) => Some(Refusal::Done),
                        Poll::Pending => {
                            let timer = self.read_timer.get_or_insert_with(|| Timer::after(REFUSE_DRAIN_TIME));
                            if Pin::new(timer).poll(cx).is_pending() {
                                return Poll::Pending;
                            }
                            Some(Refusal::Done)
                        }
                    };
                }
                Some(Refusal::Done) | None => {
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, "request head not ASCII")));
                }
            }
        }
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        self.wrote();
        if self.out.capacity() > 0 && self.out.len() == self.out.capacity() {
            ready!(self.poll_drain(cx))?;
        }
        // Read after the drain: it may have released the buffer (other streams started), and
        // then this write and the rest of the response go straight through.
        let cap = self.out.capacity();
        if cap == 0 || (self.out.is_empty() && data.len() >= cap) {
            return write_some(&mut self.stream, &mut self.write_timer, self.timeouts.write, cx, data);
        }
        let n = data.len().min(cap - self.out.len());
        self.out.extend_from_slice(&data[..n]);
        Poll::Ready(Ok(n))
    }

    /// Sends everything gathered in `out`.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.out_pos < self.out.len() {
            let pending = &self.out[self.out_pos..];
            let n = ready!(write_some(&mut self.stream, &mut self.write_timer, self.timeouts.write, cx, pending))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out_pos += n;
        }
        self.out.clear();
        self.out_pos = 0;
        if self.out.capacity() > buffer_plan(self.load.streams()).coalesce {
            // Other streams started: give the memory back and write through from now on.
            self.out = Vec::new();
        }
        Poll::Ready(Ok(()))
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        ready!(Pin::new(&mut self.stream).poll_flush(cx))?;
        // The response is out: an idle keep-alive connection keeps no coalescing buffer.
        self.out = Vec::new();
        Poll::Ready(Ok(()))
    }

    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.stream).poll_close(cx)
    }
}

/// One write to the socket; fails once no byte could be written for `timeout`.
fn write_some(
    stream: &mut TcpStream,
    timer: &mut Option<Timer>,
    timeout: Duration,
    cx: &mut Context<'_>,
    data: &[u8],
) -> Poll<io::Result<usize>> {
    match Pin::new(stream).poll_write(cx, data) {
        Poll::Ready(Ok(n)) => {
            *timer = None;
            Poll::Ready(Ok(n))
        }
        Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        Poll::Pending => {
            let t = timer.get_or_insert_with(|| Timer::after(timeout));
            if Pin::new(t).poll(cx).is_ready() {
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "client stopped reading")));
            }
            Poll::Pending
        }
    }
}

impl AsyncRead for Guarded {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.state().poll_read(cx, buf)
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.state().poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.state().poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.state().poll_close(cx)
    }
}

/// Where a refused connection stands.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    /// This many bytes of [`BAD_REQUEST`] are sent.
    Answering(usize),
    /// The answer is out; this many bytes of the client's were dropped since.
    Draining(usize),
    /// Every read fails.
    Done,
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::io::{AsyncReadExt, AsyncWriteExt};

    /// A connected pair on loopback: the guarded server side and the plain client side.
    async fn pair(timeouts: Timeouts) -> (Guarded, TcpStream) {
        let listener = async_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (Guarded::new(server, timeouts, Load::default()), client)
    }

    const LONG: Timeouts = Timeouts { idle: Duration::from_secs(30), write: Duration::from_secs(30) };

    #[test]
    fn coalesced_writes_wait_for_the_flush_and_free_the_buffer() {
        smol::block_on(async {
            let (mut conn, mut client) = pair(LONG).await;
            conn.coalesce(64 * 1024);
            for _ in 0..4 {
                conn.write_all(&[7u8; 8 * 1024]).await.unwrap();
            }
            assert_eq!(conn.state().out.len(), 32 * 1024, "gathered, not sent");
            conn.flush().await.unwrap();
            assert_eq!(conn.state().out.capacity(), 0, "freed once the response is out");
            let mut got = vec![0u8; 32 * 1024];
            client.read_exact(&mut got).await.unwrap();
            assert!(got.iter().all(|&b| b == 7));
        });
    }

    #[test]
    fn a_head_past_the_cap_fails_the_read() {
        smol::block_on(async {
            let (mut conn, mut client) = pair(LONG).await;
            let line = vec![b'a'; HEAD_CAP + 100];
            let writer = smol::spawn(async move {
                let _ = client.write_all(&line).await;
                client
            });
            let mut buf = vec![0u8; 4096];
            let mut read = 0;
            let err = loop {
                match conn.read(&mut buf).await {
                    Ok(n) => read += n,
                    Err(e) => break e,
                }
            };
            assert_eq!((read, err.kind()), (HEAD_CAP, io::ErrorKind::InvalidData));
            drop(writer.await);
        });
    }

    #[test]
    fn a_client_silent_for_the_idle_time_fails_the_read() {
        smol::block_on(async {
            let quick = Timeouts { idle: Duration::from_millis(100), write: Duration::from_secs(30) };
            let (mut conn, mut client) = pair(quick).await;
            client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
            let mut buf = [0u8; 64];
            assert_eq!(conn.read(&mut buf).await.unwrap(), 16);
            let err = conn.read(&mut buf).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        });
    }

    #[test]
    fn a_client_that_stops_reading_fails_the_write() {
        smol::block_on(async {
            let quick = Timeouts { idle: Duration::from_secs(30), write: Duration::from_millis(200) };
            let (mut conn, _client) = pair(quick).await;
            let chunk = vec![1u8; 256 * 1024];
            let err = loop {
                if let Err(e) = conn.write_all(&chunk).await {
                    break e;
                }
            };
            assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        });
    }

    #[test]
    fn the_canned_400_declares_its_exact_length() {
        let text = std::str::from_utf8(BAD_REQUEST).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let declared = head.lines().find_map(|l| l.strip_prefix("Content-Length: ")).unwrap();
        assert_eq!(declared.parse::<usize>().unwrap(), body.len());
        assert!(head.starts_with("HTTP/1.1 400 ") && head.ends_with("\r\nConnection: close"));
    }

    #[test]
    fn a_non_ascii_head_gets_a_400_and_the_read_fails() {
        smol::block_on(async {
            let (mut conn, mut client) = pair(LONG).await;
            client.write_all("GET / HTTP/1.1\r\nHost: a\r\nX: é\r\n\r\n".as_bytes()).await.unwrap();
            // Like a real client, it closes once the announced body is in: the drain ends then.
            let reader = smol::spawn(async move {
                let mut got = vec![0u8; BAD_REQUEST.len()];
                client.read_exact(&mut got).await.unwrap();
                got
            });
            let mut buf = [0u8; 4096];
            let err = conn.read(&mut buf).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
            assert_eq!(conn.read(&mut buf).await.unwrap_err().kind(), io::ErrorKind::InvalidData, "and stays failed");
            assert_eq!(reader.await, BAD_REQUEST);
        });
    }

    #[test]
    fn a_body_after_the_head_is_handed_on_and_the_next_request_is_checked_again() {
        smol::block_on(async {
            let (mut conn, mut client) = pair(LONG).await;
            let mut sent = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n".to_vec();
            sent.extend_from_slice(b"\xc3\xa9\xff\0");
            client.write_all(&sent).await.unwrap();
            let mut got = vec![0u8; sent.len()];
            conn.read_exact(&mut got).await.unwrap();
            assert_eq!(got, sent);
            conn.write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n").await.unwrap();
            conn.next_request();
            client.write_all("GET / HTTP/1.1\r\nX: é\r\n\r\n".as_bytes()).await.unwrap();
            client.close().await.unwrap();
            assert_eq!(conn.read(&mut got).await.unwrap_err().kind(), io::ErrorKind::InvalidData);
        });
    }

    #[test]
    fn writes_go_straight_through_once_a_drain_released_the_buffer() {
        smol::block_on(async {
            let (mut conn, mut client) = pair(LONG).await;
            // Bigger than any plan coalesces at: the first drain gives it back.
            let cap = 2 * buffer_plan(0).coalesce;
            let total = cap + 100;
            let reader = smol::spawn(async move {
                let mut got = vec![0u8; total];
                client.read_exact(&mut got).await.unwrap();
                got.iter().all(|&b| b == 3)
            });
            conn.coalesce(cap);
            for _ in 0..cap / (8 * 1024) {
                conn.write_all(&[3u8; 8 * 1024]).await.unwrap();
            }
            assert_eq!(conn.state().out.len(), cap, "gathered");
            assert_eq!(conn.write(&[3u8; 100]).await.unwrap(), 100);
            let capacity = conn.state().out.capacity();
            let gathered = conn.state().out.len();
            assert_eq!((capacity, gathered), (0, 0), "written through, no new buffer");
            assert!(reader.await);
        });
    }
}
