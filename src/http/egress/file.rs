//! A local file's bytes to the socket: [`FileBody`], sent by the kernel with no buffer in this
//! process, on a corked socket, one chunk per turn of the executor: with `sendfile(2)` to a client
//! on another host, from a mapped window (`mapped`) to one on this host. A small file goes out
//! with the head in one write; a file system that refuses both ways gets a buffer (`relay`). A
//! file cut short by someone else fails the response instead of padding it.

use std::fs::File;
use std::io;
use std::os::fd::BorrowedFd;
use std::task::{Context, Poll};

use futures_lite::future;
use futures_lite::io::AsyncWriteExt;

use super::relay::{self, ByteSource, Entered, Load, Upstream, buffer_plan};
use crate::http::guard::Guarded;
use crate::memory::stream_tracker::StreamGuard;
use crate::telegram::local::LocalFile;

/// A file body up to this size is read into the response head's buffer and written with it (one
/// transient buffer of at most this much per response being written).
const INLINE_BODY: u64 = 16 * 1024;
/// Most bytes one `sendfile(2)` call may send to a client on another host before the task lets
/// the others run (nginx's `sendfile_max_chunk`, 2 MiB, serves the same end). Eight streams to a
/// viewer behind a veth pair ran at 0.89, 0.94 and 0.97× nginx's speed with 1, 2 and 4 MiB, at
/// 1.40, 1.14 and 0.96× its server CPU per GiB (medians of 8 rounds, `bench/remote.sh`).
const SENDFILE_CHUNK: usize = 4 << 20;
/// The same for a mapped window's `send(2)` to a client on this host: on loopback one stream ran
/// at 1.53, 1.58 and 1.45× nginx's speed with 512 KiB, 1 MiB and 2 MiB windows (medians of 9),
/// eight streams at 1.58, 1.58 and 1.24×.
const WINDOW_CHUNK: usize = 1 << 20;

/// A local file's bytes for a response: no buffer in this process, and at most one copy where
/// `pread` and `write` make two.
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

    /// Sends `head` and then the file. A small file (a thumbnail, a subtitle, a player's probe) is
    /// read whole and sent with the head in one write, without the cork toggles and the window or
    /// `sendfile` call of a big file. A big one goes out corked until the file is out: the head
    /// rides in the first full segment, and no chunk ends in a small one.
    pub(super) async fn send(mut self, io: &mut Guarded, head: String) -> io::Result<()> {
        if self.left <= INLINE_BODY {
            let (bytes, n) = self.read_rest_after(head.as_bytes())?;
            io.write_all(&bytes).await?;
            self.sent(n);
            return Ok(());
        }
        io.cork(true);
        io.write_all(head.as_bytes()).await?;
        let sent = self.send_chunks(io).await;
        io.cork(false);
        sent
    }

    /// Sends the rest one chunk per turn of the executor; a file system that refuses `sendfile`
    /// and mapping gets the rest copied through a buffer.
    async fn send_chunks(mut self, io: &mut Guarded) -> io::Result<()> {
        let same_host = io.same_host();
        let chunk = if same_host { WINDOW_CHUNK } else { SENDFILE_CHUNK };
        while self.left > 0 {
            let count = usize::try_from(self.left).unwrap_or(usize::MAX).min(chunk);
            let file = &mut self.file;
            let sent = future::poll_fn(|cx| poll_send(io, cx, file, count, same_host)).await;
            match sent {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file ended before its length")),
                Ok(n) => self.sent(n),
                Err(e) if refuses_sendfile(&e) => {
                    let len = self.left;
                    return relay::copy(&mut self.buffered(), io, len).await;
                }
                Err(e) => return Err(e),
            }
            future::yield_now().await;
        }
        Ok(())
    }

    /// `head` followed by the whole rest of the body (a small body that goes out with the head),
    /// and the body's length; count it with [`FileBody::sent`] once it is written. The buffer
    /// comes zeroed from the allocator (`calloc`): zero-filling it with `Vec::resize` took 4.6 %
    /// of the process's CPU on 4 KiB responses, as a byte loop at `opt-level = "z"` (`perf`).
    fn read_rest_after(&mut self, head: &[u8]) -> io::Result<(Vec<u8>, usize)> {
        let n = usize::try_from(self.left).map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
        let mut out = vec![0u8; head.len() + n];
        out[..head.len()].copy_from_slice(head);
        self.file.read_exact(&mut out[head.len()..])?;
        Ok((out, n))
    }

    /// Counts `n` bytes handed to the socket.
    fn sent(&mut self, n: usize) {
        self.left = self.left.saturating_sub(n as u64);
        self.guard.progress(n as u64, std::time::Instant::now());
    }

    /// The rest of the body through a buffer, for a file system that refuses `sendfile` and mapping.
    fn buffered(self) -> ByteSource<Upstream> {
        let size = buffer_plan(self.load.streams());
        ByteSource::with_buffer(Upstream::File(self.file), self.left, size).tracked(self.guard).counted(self.load)
    }
}

/// `sendfile(2)`'s answer for a source it cannot read from (sendfile(2): EINVAL, ENOSYS).
fn refuses_sendfile(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Unsupported || e.raw_os_error() == Some(22) || e.raw_os_error() == Some(38)
}

/// Sends up to `count` bytes of `file` from its position, waiting (bounded by the write timeout)
/// while the socket's send buffer is full: copied from a mapped window to a client on this host,
/// with `sendfile(2)` to one on another.
fn poll_send(
    io: &Guarded,
    cx: &mut Context<'_>,
    file: &mut LocalFile,
    count: usize,
    same_host: bool,
) -> Poll<io::Result<usize>> {
    io.poll_write_with(cx, |out| {
        file.send_with(|file, pos| match same_host {
            true => copy_window(out, file, pos, count),
            false => sendfile(out, file, pos, count),
        })
    })
}

/// Sends up to `count` bytes of `file` from `pos` to `out` with `sendfile(2)`: the kernel hands
/// page-cache pages to the socket, so the bytes are never copied through this process. A
/// non-blocking `out` that is full gives `WouldBlock`; a file system without `sendfile` support
/// gives `EINVAL` or `Unsupported`, and then a buffer is the way.
fn sendfile(out: BorrowedFd<'_>, file: &File, pos: u64, count: usize) -> io::Result<usize> {
    #[cfg(target_os = "linux")]
    {
        let mut at = pos;
        Ok(rustix::fs::sendfile(out, file, Some(&mut at), count)?)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (out, file, pos, count);
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// Sends up to `count` bytes of `file` from `pos` to `out` with one copy made by this thread, from
/// a window of the file mapped for the call (`mapped`): the cheaper way when the receiver is on
/// this host. Where the file cannot be mapped, this is [`sendfile`]. The window stops at the
/// file's current length (the rest of its last page reads as zeros), so a file cut short gives 0
/// at its new end, as `sendfile` does.
fn copy_window(out: BorrowedFd<'_>, file: &File, pos: u64, count: usize) -> io::Result<usize> {
    #[cfg(target_os = "linux")]
    {
        let len = file.metadata()?.len();
        let left = usize::try_from(len.saturating_sub(pos)).unwrap_or(usize::MAX);
        // Nothing to map (the end, or a file that reports no length, as procfs files do):
        // `sendfile` gives 0 at the end, or refuses a file it cannot read that way.
        let window = match left.min(count) {
            0 => None,
            count => super::mapped::Window::map(file, pos, count).ok(),
        };
        let Some(window) = window else {
            return sendfile(out, file, pos, count);
        };
        window.send(out).map_err(|e| match e.raw_os_error() {
            // Truncated between the length check and the copy (see `mapped`).
            Some(libc::EFAULT) => io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank while being sent"),
            _ => e,
        })
    }
    #[cfg(not(target_os = "linux"))]
    sendfile(out, file, pos, count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::stream_tracker::StreamTracker;
    use async_net::TcpStream;
    use futures_lite::io::AsyncReadExt;
    use std::time::{Duration, Instant};

    /// The guarded server side of a loopback connection, and the client side.
    async fn pair(timeout: Duration) -> (Guarded, TcpStream) {
        crate::http::guard::test_pair(timeout).await
    }

    /// `len` bytes of `path` from `start` as a tracked file body, and the tracker counting it.
    fn file_body(path: &str, start: u64, len: u64) -> (FileBody, std::sync::Arc<StreamTracker>) {
        let tracker = StreamTracker::new(1);
        let (end, _) = crate::shutdown::channel();
        let guard = tracker.register(1, 1, "127.0.0.1:1".parse().unwrap(), end, Instant::now()).unwrap();
        let file = LocalFile::new(std::fs::File::open(path).unwrap(), start);
        (FileBody::new(file, len, guard, &Load::default()), tracker)
    }

    #[test]
    fn a_file_sendfile_refuses_is_copied_through_a_buffer() {
        // procfs files refuse sendfile (EINVAL) and answer pread.
        let (body, tracker) = file_body("/proc/self/status", 0, 5);
        smol::block_on(async {
            let (mut conn, mut client) = pair(Duration::from_secs(30)).await;
            body.send_chunks(&mut conn).await.unwrap();
            let mut got = [0u8; 5];
            client.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"Name:");
        });
        assert_eq!(tracker.bytes_sent(), 5, "counted like a sendfile body");
    }

    #[test]
    fn a_file_shorter_than_promised_fails_the_response() {
        let path = std::env::temp_dir().join(format!("streambot-conn-short-{}", std::process::id()));
        std::fs::write(&path, vec![9u8; 10_000]).unwrap();
        let (body, tracker) = file_body(path.to_str().unwrap(), 4_000, 7_000);
        std::fs::remove_file(&path).unwrap();
        let err = smol::block_on(async {
            let (mut conn, _client) = pair(Duration::from_secs(30)).await;
            body.send_chunks(&mut conn).await.unwrap_err()
        });
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(tracker.bytes_sent(), 6_000, "what the file had went out, then the cut");
    }

    #[test]
    fn only_einval_enosys_and_unsupported_fall_back_to_a_buffer() {
        assert!(refuses_sendfile(&io::Error::from_raw_os_error(22)));
        assert!(refuses_sendfile(&io::Error::from_raw_os_error(38)));
        assert!(refuses_sendfile(&io::ErrorKind::Unsupported.into()));
        assert!(!refuses_sendfile(&io::Error::from_raw_os_error(32)), "EPIPE: the client left");
    }

    fn temp_file(tag: &str, data: &[u8]) -> std::fs::File {
        let path = std::env::temp_dir().join(format!("streambot-egress-{tag}-{}", std::process::id()));
        std::fs::write(&path, data).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        file
    }

    /// Runs `test` once for each way out for file bytes: `sendfile(2)` and the mapped window.
    fn each_way(
        test: impl Fn(Guarded, TcpStream, bool) -> std::pin::Pin<Box<dyn Future<Output = ()>>>,
        timeout: Duration,
    ) {
        for same_host in [false, true] {
            smol::block_on(async {
                let (conn, client) = pair(timeout).await;
                assert!(conn.same_host(), "a loopback peer is this host");
                test(conn, client, same_host).await;
            });
        }
    }

    #[test]
    fn a_file_goes_out_from_its_position_and_waits_for_room() {
        let data: std::rc::Rc<Vec<u8>> = std::rc::Rc::new((0..3_000_000u32).map(|i| (i % 253) as u8).collect());
        each_way(
            |conn, mut client, same_host| {
                let data = data.clone();
                Box::pin(async move {
                    let expected = data[1001..].to_vec();
                    let reader = smol::spawn(async move {
                        let mut got = vec![0u8; expected.len()];
                        client.read_exact(&mut got).await.unwrap();
                        got == expected
                    });
                    let mut file = LocalFile::new(temp_file("send", &data), 1001);
                    let mut left = data.len() - 1001;
                    while left > 0 {
                        let n = future::poll_fn(|cx| poll_send(&conn, cx, &mut file, left, same_host)).await.unwrap();
                        assert!(n > 0);
                        left -= n;
                    }
                    assert!(reader.await, "byte-exact across more than one socket buffer");
                })
            },
            Duration::from_secs(30),
        );
    }

    #[test]
    fn a_file_to_a_client_that_stops_reading_times_out() {
        let data = std::rc::Rc::new(vec![5u8; 32 * 1024 * 1024]);
        each_way(
            |conn, client, same_host| {
                let data = data.clone();
                Box::pin(async move {
                    let _client = client;
                    let mut file = LocalFile::new(temp_file("stall", &data), 0);
                    let err = loop {
                        match future::poll_fn(|cx| poll_send(&conn, cx, &mut file, 1 << 20, same_host)).await {
                            Ok(n) => assert!(n > 0, "the file is longer than any socket buffer"),
                            Err(e) => break e,
                        }
                    };
                    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
                })
            },
            Duration::from_millis(200),
        );
    }
}
