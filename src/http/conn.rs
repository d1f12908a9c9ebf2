//! One HTTP/1.1 connection: read a request head (bounded in bytes and time), answer it, and go on
//! with the next one, in order (RFC 9112 §9.3.2: pipelined requests are answered in the order
//! they came). No request body is read: a head that announces one, or any malformed head, gets
//! its status line and the connection closes. A panic in a route costs that request a 500 and
//! closes the connection; the process goes on.

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use async_io::Timer;
use futures_lite::future::{self, FutureExt};
use http_types::{Method, StatusCode};

use super::egress::{self, Reply};
use super::guard::{self, Guarded};
use super::request::{self, HEAD_MAX, Head, Refusal, Request, Scan};
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
        let keep_alive_10 = head.keep_alive_10;
        let (mut reply, panicked) = answer(&c, head, draining).await;
        if keep_alive_10 && !close {
            reply.head.insert_header("connection", "keep-alive");
        }
        if let Err(e) = egress::write(&mut c.io, reply, head_only, close || panicked).await {
            log::debug!("connection from {} ended: {e}", c.peer);
            let stalled = guard::WriteStalled::is(&e);
            crate::event::emit(crate::event::Event::ConnectionEnded { kind: e.kind(), stalled });
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
    let proxies = &c.app.core.config.http.trust_proxy;
    if !proxies.trusts(c.peer.ip()) {
        return true;
    }
    let forwarded = head.request.header("x-forwarded-for");
    c.slot.rekey(ClientKey::of(proxies.client_ip(c.peer.ip(), forwarded)))
}

/// The route's reply; a 500 if it panicked (and then the connection closes).
async fn answer(c: &Connection, head: Box<Head>, draining: bool) -> (Reply, bool) {
    let req = head.request;
    if draining && starts_download(&req) {
        c.app.serving.responses.count(503);
        return (shutting_down(), false);
    }
    let route = route_name(req.path());
    let client = Client { peer: c.peer, end: c.end.clone(), load: c.http.load.clone() };
    // Boxed: the route's state (several KiB) lives only while it runs, instead of sizing every
    // connection's task for its whole life (a task is as big as its largest state).
    let handled = Box::pin(routes::handle(c.app.clone(), c.http.clone(), client, req));
    match c.app.ops.panics.catch(Domain::Http, route, handled).await {
        Some(reply) => (reply, false),
        None => {
            c.app.serving.responses.count(500);
            (text(StatusCode::InternalServerError, "internal error"), true)
        }
    }
}

/// Reads until `pending` holds a whole head. A client silent for the idle time between requests
/// is closed without a word; a head must be whole within the head timeout of its first byte (as
/// nginx's `client_header_timeout`), or it gets 408: a head trickled in a byte at a time holds its
/// slot that long at most.
async fn read_head(c: &mut Connection, pending: &mut Vec<u8>) -> Next {
    let http = &c.app.core.config.http;
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
    c.app.serving.responses.count(refusal.status);
    log::debug!("refused a request from {}: {} {}", c.peer, refusal.status, refusal.why);
    let status = StatusCode::try_from(refusal.status).unwrap_or(StatusCode::BadRequest);
    let mut reply = text(status, refusal.why);
    match refusal.status {
        405 => reply.head.insert_header("allow", "GET, HEAD"),
        429 => reply.head.insert_header("retry-after", "5"),
        _ => {}
    }
    if egress::write(&mut c.io, reply, false, true).await.is_err() {
        return;
    }
    guard::drain(&mut c.io, LINGER_BYTES)
        .or(async {
            Timer::after(LINGER).await;
        })
        .await;
}

/// Whether `req` would start a file body (what the shutdown grace period does not take on).
fn starts_download(req: &Request) -> bool {
    let path = req.path();
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
