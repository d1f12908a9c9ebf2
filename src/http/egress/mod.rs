//! Egress: how a response's bytes reach the socket. A route returns a [`Reply`]: the status and
//! headers, and a [`Body`] of our own, which [`write`] matches on after writing the head: bytes in
//! memory, a local file (`file`: `sendfile(2)`, or `mapped` windows to a client on this host), or
//! a relay from Telegram through a buffer (`relay`). Every body knows its length, which the head
//! declares; a body that ends before it fails the write, so the connection is cut, never padded.

pub mod file;
#[cfg(target_os = "linux")]
mod mapped;
pub mod relay;

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io;

use futures_lite::io::AsyncWriteExt;
use http_types::StatusCode;

use self::file::FileBody;
use self::relay::Relay;
use crate::http::guard::Guarded;

/// A response: the status line and headers, and the body, which the connection loop writes
/// itself: file and relay sources are not `Send`, which an http-types body must be.
pub struct Reply {
    pub head: ResponseHead,
    pub body: Body,
}

impl Reply {
    pub fn new(status: StatusCode, body: Body) -> Reply {
        Reply { head: ResponseHead { status, headers: Vec::new() }, body }
    }

    /// A reply with no body (`Content-Length: 0`, or none at all for 204 and 304).
    pub fn empty(status: StatusCode) -> Reply {
        Reply::new(status, Body::Bytes(Vec::new()))
    }
}

/// A header's value: a constant, or text built for this response.
pub type HeaderValue = Cow<'static, str>;

/// The status and the header lines of a response, in the order they were set (lower-case names,
/// as HTTP/2 and most servers send them; HTTP/1.1 names compare without case, RFC 9110 §5.1).
pub struct ResponseHead {
    status: StatusCode,
    headers: Vec<(&'static str, HeaderValue)>,
}

impl ResponseHead {
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Sets a header, replacing any value it had.
    pub fn insert_header(&mut self, name: &'static str, value: impl Into<HeaderValue>) {
        self.remove_header(name);
        self.headers.push((name, value.into()));
    }

    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_ref())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.headers.iter().map(|(n, v)| (*n, v.as_ref()))
    }
}

/// What follows a response's head.
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
            Body::Relay(relay) => relay.len(),
            Body::Length(len) => *len,
        }
    }
}

impl From<String> for Body {
    fn from(text: String) -> Body {
        Body::Bytes(text.into_bytes())
    }
}

/// Writes `reply` as HTTP/1.1: status line, headers, `Date`, `Content-Length` (the body's; none
/// for 204 and 304, RFC 9110 §8.6), and the body unless the request was HEAD; then, with `close`
/// or a `Connection: close` header, the end of the sending side. A `Connection: keep-alive`
/// header (for an HTTP/1.0 client) is kept unless the connection closes.
pub async fn write(io: &mut Guarded, reply: Reply, head_only: bool, close: bool) -> io::Result<()> {
    let Reply { head: mut res, body } = reply;
    let status = u16::from(res.status());
    let bodiless = status == 204 || status == 304;
    let connection = res.header("connection");
    let close = close || connection.is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let keep_alive = !close && connection.is_some_and(|v| v.eq_ignore_ascii_case("keep-alive"));
    for framing in ["connection", "content-length", "transfer-encoding", "date"] {
        res.remove_header(framing);
    }
    let mut head = String::with_capacity(512);
    let _ = write!(head, "HTTP/1.1 {status} {}\r\n", crate::status::reason(status));
    for (name, value) in res.iter() {
        for part in [name, ": ", value, "\r\n"] {
            head.push_str(part);
        }
    }
    head.push_str("date: ");
    crate::units::with_http_date_now(|date| head.push_str(date));
    head.push_str("\r\n");
    if !bodiless {
        let _ = write!(head, "content-length: {}\r\n", body.len());
    }
    head.push_str(match (close, keep_alive) {
        (true, _) => "connection: close\r\n\r\n",
        // An HTTP/1.0 client that asked to keep the connection.
        (false, true) => "connection: keep-alive\r\n\r\n",
        (false, false) => "\r\n",
    });
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
        // The file decides how the head goes out with it.
        Body::File(file) => file.send(io, head).await,
        Body::Relay(relay) => {
            io.write_all(head.as_bytes()).await?;
            relay.send(io).await
        }
        Body::Bytes(bytes) => {
            io.write_all(head.as_bytes()).await?;
            relay::copy(&mut bytes.as_slice(), io, bytes.len() as u64).await
        }
        Body::Length(len) => {
            io.write_all(head.as_bytes()).await?;
            relay::copy(&mut futures_lite::io::empty(), io, len).await
        }
    }
}
