//! [`Guarded`]: the socket one connection reads and writes. It bounds the wait for write progress
//! (a client that stopped reading), for buffered writes and for the calls egress makes on its
//! descriptor (`sendfile(2)`, a mapped window's `send(2)`) alike. Reading request heads, with
//! their size cap and idle timeout, is the connection loop's (`conn.rs`).

use std::cell::{RefCell, RefMut};
use std::future::Future;
use std::io;
use std::net::{Shutdown as Half, TcpStream as StdStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_io::{Async, Timer};
use async_net::TcpStream;
use futures_lite::io::{AsyncRead, AsyncReadExt, AsyncWrite};

use super::request::HEAD_MAX;

/// One client connection's socket, owned by its connection task. One thread: a `RefCell`, borrowed
/// only inside one call.
pub struct Guarded(RefCell<State>);

struct State {
    stream: Arc<Async<StdStream>>,
    /// Longest time a write may make no progress (a client that stopped reading).
    write_timeout: Duration,
    write_timer: Option<Timer>,
    /// The client is on this host (a reverse proxy on loopback).
    same_host: bool,
}

impl Guarded {
    pub fn new(stream: TcpStream, write_timeout: Duration) -> Guarded {
        let same_host = same_host(&stream);
        let state = State { stream: stream.into(), write_timeout, write_timer: None, same_host };
        Guarded(RefCell::new(state))
    }

    /// Whether the client is on this host (a loopback address, or the address it came in on): file
    /// bytes then go out copied from a mapped window, not with `sendfile(2)`.
    pub fn same_host(&self) -> bool {
        self.state().same_host
    }

    fn state(&self) -> RefMut<'_, State> {
        self.0.borrow_mut()
    }

    /// Ends the sending side (a FIN after the last response); reads still work.
    pub fn shutdown_write(&self) {
        let _ = self.state().stream.get_ref().shutdown(Half::Write);
    }

    /// Holds partial segments back (`TCP_CORK`, tcp(7)) until uncorked, which sends them. On
    /// loopback, `sendfile` on a corked socket served one stream at 1.0× nginx's speed (which
    /// corks the same way), uncorked at 0.72–0.89× (medians of 7 rounds, several runs).
    pub fn cork(&self, on: bool) {
        #[cfg(target_os = "linux")]
        {
            let _ = rustix::net::sockopt::set_tcp_cork(self.state().stream.as_fd(), on);
        }
        #[cfg(not(target_os = "linux"))]
        let _ = on;
    }

    /// Writes with `write`, a call on the socket's non-blocking descriptor that this type does not
    /// make itself (`sendfile(2)`, `send(2)` from a mapped window): tried again when interrupted,
    /// and while the send buffer is full (`WouldBlock`), waited for, bounded by the write timeout.
    pub fn poll_write_with(
        &self,
        cx: &mut Context<'_>,
        mut write: impl FnMut(BorrowedFd<'_>) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let mut st = self.state();
        let st = &mut *st;
        loop {
            match write(st.stream.as_fd()) {
                Ok(n) => {
                    st.write_timer = None;
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Poll::Ready(Err(e)),
                // Full: wait for room. Ready means room came since the last try, so try again.
                Err(_) => match st.stream.poll_writable(cx) {
                    Poll::Ready(Ok(())) => continue,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return stalled(&mut st.write_timer, st.write_timeout, cx),
                },
            }
        }
    }
}

/// Whether the peer is this host: a loopback address, or the address the connection came in on.
fn same_host(stream: &TcpStream) -> bool {
    match (stream.peer_addr(), stream.local_addr()) {
        (Ok(peer), Ok(local)) => {
            let peer = peer.ip().to_canonical();
            peer.is_loopback() || peer == local.ip().to_canonical()
        }
        _ => false,
    }
}

/// The write timeout's error: no byte could be written for `HTTP_WRITE_TIMEOUT_SECS`, so the
/// client stopped reading. Carried inside an `io::Error` of kind `TimedOut`.
#[derive(Debug)]
pub struct WriteStalled;

impl std::fmt::Display for WriteStalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("client stopped reading")
    }
}

impl std::error::Error for WriteStalled {}

impl WriteStalled {
    /// Whether `e` is the write timeout, not some other timed-out or failed call.
    pub fn is(e: &io::Error) -> bool {
        e.get_ref().is_some_and(|inner| inner.is::<WriteStalled>())
    }
}

/// A write that cannot go on yet: pending, or failed once no byte could be written for `timeout`.
fn stalled(timer: &mut Option<Timer>, timeout: Duration, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
    let t = timer.get_or_insert_with(|| Timer::after(timeout));
    if Pin::new(t).poll(cx).is_ready() {
        return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, WriteStalled)));
    }
    Poll::Pending
}

/// Reads and drops what the client still sends, up to `max` bytes, until it closes or fails: the
/// lingering close after a final answer and a FIN. Closing with unread bytes would make the
/// kernel reset the connection, and the client could lose the answer (RFC 9112 §9.6). The caller
/// bounds the time.
pub async fn drain(io: &mut (impl AsyncRead + Unpin), max: usize) {
    let mut sink = [0u8; 1024];
    let mut drained = 0;
    while drained < max {
        match io.read(&mut sink).await {
            Ok(n) if n > 0 => drained += n,
            _ => break,
        }
    }
}

std::thread_local! {
    /// The one read buffer of this thread's connections: a head is read into it and only its own
    /// bytes are kept, so a connection waiting for its next request holds no buffer, and none is
    /// allocated and zeroed per request (that was 9 % of a 4 KiB download's CPU time).
    static SCRATCH: std::cell::RefCell<Box<[u8]>> = std::cell::RefCell::new(vec![0; HEAD_MAX].into_boxed_slice());
}

impl Guarded {
    /// Appends what the socket has, `max` bytes at most (up to [`HEAD_MAX`]), to `pending`;
    /// pending until there is something. 0 is the end of the stream.
    pub fn poll_read_into(&self, cx: &mut Context<'_>, pending: &mut Vec<u8>, max: usize) -> Poll<io::Result<usize>> {
        SCRATCH.with_borrow_mut(|scratch| {
            let buf = &mut scratch[..max.min(HEAD_MAX)];
            let read = Pin::new(&mut &*self.state().stream).poll_read(cx, buf);
            if let Poll::Ready(Ok(n)) = read {
                pending.extend_from_slice(&buf[..n]);
            }
            read
        })
    }
}

impl AsyncRead for Guarded {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.state().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let mut st = self.state();
        let st = &mut *st;
        match Pin::new(&mut &*st.stream).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                st.write_timer = None;
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => stalled(&mut st.write_timer, st.write_timeout, cx),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self.state().stream).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self.state().stream).poll_close(cx)
    }
}

/// A connected pair on loopback, for tests: the guarded server side and the plain client side.
#[cfg(test)]
pub(crate) async fn test_pair(write_timeout: Duration) -> (Guarded, TcpStream) {
    let listener = async_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (Guarded::new(server, write_timeout), client)
}

#[cfg(test)]
mod tests {
    use super::test_pair as pair;
    use super::*;
    use futures_lite::io::AsyncWriteExt;

    #[test]
    fn the_write_timeout_is_told_apart_from_other_timeouts() {
        assert!(WriteStalled::is(&io::Error::new(io::ErrorKind::TimedOut, WriteStalled)));
        assert!(!WriteStalled::is(&io::Error::new(io::ErrorKind::TimedOut, "read timed out")));
        assert!(!WriteStalled::is(&io::ErrorKind::TimedOut.into()));
    }

    #[test]
    fn a_client_that_stops_reading_fails_the_write() {
        smol::block_on(async {
            let quick = Duration::from_millis(200);
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
}
