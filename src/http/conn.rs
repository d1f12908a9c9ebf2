//! One HTTP/1.1 connection: read a request head (bounded in bytes and time), answer it, and go on
//! with the next one, in order (RFC 9112 §9.3.2: pipelined requests are answered in the order
//! they came). No request body is read: a head that announces one, or any malformed head, gets
//! its status line and the connection closes. A panic in a route costs that request a 500 and
//! closes the connection; the process goes on.

use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use async_io::Timer;
use futures_lite::future::{self, FutureExt};
use futures_lite::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use http_types::{Method, StatusCode};

use super::body::{Body, FileBody, RelaySource, Reply};
use super::guard::Guarded;
use super::request::{self, HEAD_MAX, Head, Refusal, Scan};
use super::routes::{self, Client, text};
use super::slots::Slot;
use super::state::HttpState;
use crate::app::App;
use crate::net::ClientKey;
use crate::panics::Domain;
use crate::shutdown::{Shutdown, Trigger};
use crate::urls::Face;

/// After a refusal, the client's remaining bytes are read and dropped for at most this long and
/// this many bytes: closing with unread bytes is a reset that can destroy the answer in transit.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 64 * 1024;
/// A file body up to this size is read into the response head's buffer and written with it (one
/// transient buffer of at most this much per response being written).
const INLINE_BODY: u64 = 16 * 1024;

/// What one connection task owns.
pub(crate) struct Connection {
    pub app: Rc<App>,
    pub http: Rc<HttpState>,
    pub io: Guarded,
    pub peer: SocketAddr,
    pub slot: Slot,
    /// Ends this connection (the stream tracker's sweep, an eviction).
    pub end: Trigger,
    pub shutdown: Shutdown,
}

/// What reading the next head gave.
enum Next {
    Request(Box<Head>),
    Refused(Refusal),
    /// The client closed, or sent nothing for the idle time between requests.
    Gone,
}

/// Serves requests until the client closes, a request asks to, or an error ends the connection.
pub(crate) async fn serve(mut c: Connection) {
    // Bytes read past the last head: the start of the next (pipelined) request; at most HEAD_MAX.
    let mut pending = Vec::new();
    loop {
        let head = match read_head(&mut c, &mut pending).await {
            Next::Request(head) => head,
            // Boxed, as the route is: the rare refusal's state stays out of every task's size.
            Next::Refused(refusal) => return Box::pin(refuse(&mut c, refusal)).await,
            Next::Gone => return,
        };
        if !counted_for_client(&c, &head) {
            return Box::pin(refuse(&mut c, OVER_CAP)).await;
        }
        let draining = c.shutdown.is_fired();
        let close = head.close || draining;
        let head_only = head.request.method() == Method::Head;
        let (reply, panicked) = answer(&c, head, draining).await;
        if let Err(e) = write_response(&mut c.io, reply, head_only, close || panicked).await {
            log::debug!("connection from {} ended: {e}", c.peer);
            crate::event::emit(crate::event::Event::ConnectionEnded { kind: e.kind() });
            return;
        }
        if close || panicked {
            return;
        }
        c.slot.idle(Instant::now());
    }
}

/// The refusal of a forwarded client's request past `MAX_CONNECTIONS_PER_IP`.
const OVER_CAP: Refusal = Refusal { status: 429, why: "too many connections from your address, close some first" };

/// Behind a trusted proxy, counts the connection for the client the head names; `false` when
/// that client is at its cap with no connection of its own that waits (then it is refused).
fn counted_for_client(c: &Connection, head: &Head) -> bool {
    let proxies = &c.app.config.http.trust_proxy;
    if !proxies.trusts(c.peer.ip()) {
        return true;
    }
    let forwarded = head.request.header("x-forwarded-for").map(|v| v.last().as_str());
    c.slot.rekey(ClientKey::of(proxies.client_ip(c.peer.ip(), forwarded)))
}

/// The route's reply; a 500 if it panicked (and then the connection closes).
async fn answer(c: &Connection, head: Box<Head>, draining: bool) -> (Reply, bool) {
    let req = head.request;
    if draining && starts_download(&req) {
        c.app.responses.count(503);
        return (shutting_down(), false);
    }
    let route = route_name(req.url().path());
    let client = Client { peer: c.peer, end: c.end.clone(), conn: c.io.clone() };
    // Boxed: the route's state (several KiB) lives only while it runs, instead of sizing every
    // connection's task for its whole life (a task is as big as its largest state).
    let handled = Box::pin(routes::handle(c.app.clone(), c.http.clone(), client, req));
    match c.app.panics.catch(Domain::Http, route, handled).await {
        Some(reply) => (reply, false),
        None => {
            c.app.responses.count(500);
            (text(StatusCode::InternalServerError, "internal error"), true)
        }
    }
}

/// Reads until `pending` holds a whole head. A client silent for the idle time between requests
/// is closed without a word; a head must be whole within the head timeout of its first byte (as
/// nginx's `client_header_timeout`), or it gets 408: a head trickled in a byte at a time holds its
/// slot that long at most.
async fn read_head(c: &mut Connection, pending: &mut Vec<u8>) -> Next {
    let http = &c.app.config.http;
    let idle_until = Instant::now() + http.idle;
    let mut head_until = None;
    loop {
        if !pending.is_empty() && head_until.is_none() {
            let now = Instant::now();
            head_until = Some(now + http.header_timeout);
            c.slot.head(now);
        }
        // Parsed again after every read: httparse refuses garbage (TLS bytes, a bad method) at its
        // first byte, and a whole 8 KiB head parses in microseconds.
        if !pending.is_empty() {
            match request::scan(pending, pending.len() >= HEAD_MAX) {
                Scan::Complete(head, len) => {
                    c.slot.busy();
                    pending.drain(..len);
                    if pending.is_empty() {
                        // An idle keep-alive connection holds no buffer.
                        *pending = Vec::new();
                    }
                    return Next::Request(head);
                }
                Scan::Refused(refusal) => return Next::Refused(refusal),
                Scan::Partial => {}
            }
        }
        let start = pending.len();
        let deadline = head_until.unwrap_or(idle_until);
        let socket = &c.io;
        let read = future::poll_fn(|cx| socket.poll_read_into(cx, pending, HEAD_MAX - start)).or(async {
            Timer::at(deadline).await;
            Err(io::ErrorKind::TimedOut.into())
        });
        match read.await {
            Ok(n) if n > 0 => {}
            Err(e) if e.kind() == io::ErrorKind::TimedOut && start > 0 => {
                return Next::Refused(Refusal { status: 408, why: "request head not received in time" });
            }
            _ => return Next::Gone,
        }
    }
}

/// Answers a refused head, then closes gracefully: FIN, and the client's remaining bytes
/// drained (bounded) so the close is not a reset.
async fn refuse(c: &mut Connection, refusal: Refusal) {
    c.app.responses.count(refusal.status);
    log::debug!("refused a request from {}: {} {}", c.peer, refusal.status, refusal.why);
    let status = StatusCode::try_from(refusal.status).unwrap_or(StatusCode::BadRequest);
    let mut reply = text(status, refusal.why);
    match refusal.status {
        405 => drop(reply.head.insert_header("allow", "GET, HEAD")),
        429 => drop(reply.head.insert_header("retry-after", "5")),
        _ => {}
    }
    if write_response(&mut c.io, reply, false, true).await.is_err() {
        return;
    }
    let drain = async {
        let mut sink = [0u8; 1024];
        let mut drained = 0;
        while drained < LINGER_BYTES {
            match c.io.read(&mut sink).await {
                Ok(n) if n > 0 => drained += n,
                _ => break,
            }
        }
    };
    drain
        .or(async {
            Timer::after(LINGER).await;
        })
        .await;
}

/// Writes `reply` as HTTP/1.1: status line, headers, `Date`, `Content-Length` (the body's; none
/// for 204 and 304, RFC 9110 §8.6), and the body unless the request was HEAD. A body that ends
/// before its declared length fails the write, so the connection is cut, never padded.
pub(crate) async fn write_response(io: &mut Guarded, reply: Reply, head_only: bool, close: bool) -> io::Result<()> {
    let Reply { head: mut res, body } = reply;
    let status = u16::from(res.status());
    let bodiless = status == 204 || status == 304;
    let close = close || res.header("connection").is_some_and(|v| v.as_str().eq_ignore_ascii_case("close"));
    for framing in ["connection", "content-length", "transfer-encoding", "date"] {
        res.remove_header(framing);
    }
    let len = body.len();
    let mut head = String::with_capacity(512);
    let _ = write!(head, "HTTP/1.1 {status} {}\r\n", crate::status::reason(status));
    for (name, values) in res.iter() {
        for value in values.iter() {
            let _ = write!(head, "{name}: {value}\r\n");
        }
    }
    let _ = write!(head, "date: {}\r\n", crate::units::http_date(crate::units::now_unix()));
    if !bodiless {
        let _ = write!(head, "content-length: {len}\r\n");
    }
    head.push_str(if close { "connection: close\r\n\r\n" } else { "\r\n" });
    if bodiless || head_only {
        io.write_all(head.as_bytes()).await?;
    } else {
        write_body(io, head, body).await?;
    }
    io.flush().await?;
    if close {
        io.shutdown_write();
    }
    Ok(())
}

/// Writes the head and then `body`.
async fn write_body(io: &mut Guarded, head: String, body: Body) -> io::Result<()> {
    match body {
        Body::File(file) => send_file(io, head, file).await,
        Body::Relay(relay) => {
            io.write_all(head.as_bytes()).await?;
            match relay.into_parts() {
                (len, RelaySource::Buffered(mut source)) => copy_body(&mut source, io, len).await,
                (len, RelaySource::Direct(mut source)) => copy_body(&mut source, io, len).await,
            }
        }
        Body::Bytes(bytes) => {
            io.write_all(head.as_bytes()).await?;
            copy_body(&mut bytes.as_slice(), io, bytes.len() as u64).await
        }
        Body::Length(len) => {
            io.write_all(head.as_bytes()).await?;
            copy_body(&mut futures_lite::io::empty(), io, len).await
        }
    }
}

/// Sends `head` and then a local file. A small file (a thumbnail, a subtitle, a player's probe)
/// is read whole and sent with the head in one write, without the cork toggles and the window or
/// `sendfile` call of a big file. A big one goes out on a corked socket (the head rides in the
/// first full segment, and no chunk ends in a small one), one chunk per turn of the executor
/// (with `sendfile(2)`, or from mapped windows to a client on this host, see
/// `Guarded::poll_send_file`); a file system that refuses both gets the rest copied through a
/// buffer. A file cut short by someone else fails the response instead of padding it.
async fn send_file(io: &mut Guarded, head: String, mut body: FileBody) -> io::Result<()> {
    if body.left() <= INLINE_BODY {
        let mut bytes = head.into_bytes();
        let n = body.read_rest_into(&mut bytes)?;
        io.write_all(&bytes).await?;
        body.sent(n);
        return Ok(());
    }
    io.cork(true);
    io.write_all(head.as_bytes()).await?;
    let sent = send_chunks(io, body).await;
    io.cork(false);
    sent
}

async fn send_chunks(io: &mut Guarded, mut body: FileBody) -> io::Result<()> {
    while body.left() > 0 {
        let count = usize::try_from(body.left()).unwrap_or(usize::MAX).min(io.send_chunk());
        let sent = future::poll_fn(|cx| io.poll_send_file(cx, body.file(), count)).await;
        match sent {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file ended before its length")),
            Ok(n) => body.sent(n),
            Err(e) if refuses_sendfile(&e) => {
                let len = body.left();
                return copy_body(&mut body.buffered(), io, len).await;
            }
            Err(e) => return Err(e),
        }
        future::yield_now().await;
    }
    Ok(())
}

/// `sendfile(2)`'s answer for a source it cannot read from (sendfile(2): EINVAL, ENOSYS).
fn refuses_sendfile(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Unsupported || e.raw_os_error() == Some(22) || e.raw_os_error() == Some(38)
}

/// Copies `len` bytes of a body chunk by chunk as its source fills its own buffer (no second
/// copy buffer), one chunk per turn of the executor.
async fn copy_body(body: &mut (impl AsyncBufRead + Unpin), io: &mut Guarded, len: u64) -> io::Result<()> {
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

/// Whether `req` would start a file body (what the shutdown grace period does not take on).
fn starts_download(req: &http_types::Request) -> bool {
    let path = req.url().path();
    req.method() == Method::Get && Face::of_path(path).is_some_and(|link| link.face.streams_bytes())
}

/// The route a path belongs to, for a panic's log line (never the token).
fn route_name(path: &str) -> &'static str {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match first {
        "dl" => "GET /dl",
        "stream" => "GET /stream",
        "watch" => "GET /watch",
        "health" => "GET /health",
        "metrics" => "GET /metrics",
        "api" => "GET /api",
        _ => "a request",
    }
}

/// The answer to a new download once shutdown began.
fn shutting_down() -> Reply {
    let mut reply = text(StatusCode::ServiceUnavailable, "shutting down, try again soon");
    reply.head.insert_header("retry-after", "5");
    reply
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::body::Load;
    use crate::memory::stream_tracker::StreamTracker;
    use crate::telegram::local::LocalFile;

    /// The guarded server side of a loopback connection, and the client side.
    async fn pair() -> (Guarded, async_net::TcpStream) {
        crate::http::guard::test_pair(Duration::from_secs(30)).await
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
            let (mut conn, mut client) = pair().await;
            send_chunks(&mut conn, body).await.unwrap();
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
            let (mut conn, _client) = pair().await;
            send_chunks(&mut conn, body).await.unwrap_err()
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
}
