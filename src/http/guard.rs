//! [`Guarded`]: the socket one connection reads and writes. It bounds the wait for write progress
//! (a client that stopped reading) and can coalesce a body's writes into big ones. Reading request
//! heads, with their size cap and idle timeout, is the connection loop's (`conn.rs`).

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

/// A clonable handle on one client connection (the connection loop writes, a route asks it to
/// coalesce). `Arc<Mutex>` because http-types bodies must be `Send`; the lock is only held inside
/// one call, so it never contends on our one thread.
#[derive(Clone)]
pub struct Guarded(Arc<Mutex<State>>);

struct State {
    stream: TcpStream,
    /// Longest time a write may make no progress (a client that stopped reading).
    write_timeout: Duration,
    write_timer: Option<Timer>,
    /// Writes gathered here while coalescing is on (capacity > 0); freed at the next flush.
    out: Vec<u8>,
    out_pos: usize,
    /// Streams running in the process: coalescing stops when they get many.
    load: Load,
}

impl Guarded {
    pub fn new(stream: TcpStream, write_timeout: Duration, load: Load) -> Guarded {
        Guarded(Arc::new(Mutex::new(State {
            stream,
            write_timeout,
            write_timer: None,
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
        // A panic while the lock is held ends this connection's task (caught there); the state
        // it leaves is bytes and timers, still consistent for the drop that follows.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends the sending side (a FIN after the last response); reads still work.
    pub fn shutdown_write(&self) {
        let _ = self.state().stream.shutdown(Half::Write);
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
    fn poll_write(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        if self.out.capacity() > 0 && self.out.len() == self.out.capacity() {
            ready!(self.poll_drain(cx))?;
        }
        // Read after the drain: it may have released the buffer (other streams started), and
        // then this write and the rest of the response go straight through.
        let cap = self.out.capacity();
        if cap == 0 || (self.out.is_empty() && data.len() >= cap) {
            return write_some(&mut self.stream, &mut self.write_timer, self.write_timeout, cx, data);
        }
        let n = data.len().min(cap - self.out.len());
        self.out.extend_from_slice(&data[..n]);
        Poll::Ready(Ok(n))
    }

    /// Sends everything gathered in `out`.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.out_pos < self.out.len() {
            let pending = &self.out[self.out_pos..];
            let n = ready!(write_some(&mut self.stream, &mut self.write_timer, self.write_timeout, cx, pending))?;
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
        Pin::new(&mut self.state().stream).poll_read(cx, buf)
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

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::io::{AsyncReadExt, AsyncWriteExt};

    /// A connected pair on loopback: the guarded server side and the plain client side.
    async fn pair(write_timeout: Duration) -> (Guarded, TcpStream) {
        let listener = async_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (Guarded::new(server, write_timeout, Load::default()), client)
    }

    const LONG: Duration = Duration::from_secs(30);

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
