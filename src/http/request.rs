//! Request heads (pure): finds where one head ends in the bytes read so far, parses it with
//! httparse, and either turns it into a [`Request`] or says which status refuses it. No request
//! body is ever parsed: GET and HEAD carry none, so any body framing is refused (RFC 9112 §6.3
//! makes a server that cannot read a body close the connection after answering).

use std::ops::Range;

use http_types::Method;

/// Most bytes of one request head, and of what may be read between two responses. nginx and
/// async-h1 use the same 8 KiB; a longer head gets 431 (or 414 if its first line is that long).
pub(crate) const HEAD_MAX: usize = 8 * 1024;
/// Most header lines in one head; more get 431.
pub(crate) const MAX_HEADERS: usize = 64;

/// Why a head is refused: the status and a short text for the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub status: u16,
    pub why: &'static str,
}

const fn refuse(status: u16, why: &'static str) -> Refusal {
    Refusal { status, why }
}

const MALFORMED: Refusal = refuse(400, "malformed request");

/// A request as routes see it: the method, the target's path and query, and the header lines.
/// One copy of the head's text and a list of offsets into it: no URL parse, no hashed map (a
/// 4 KiB download spent more on building an http-types request than on its bytes).
#[derive(Debug)]
pub(crate) struct Request {
    method: Method,
    /// The head's text from the target on (checked printable ASCII).
    text: Box<str>,
    path: Range<u16>,
    query: Option<Range<u16>>,
    /// Name and (trimmed) value of each header line, in order.
    headers: Vec<(Range<u16>, Range<u16>)>,
}

impl Request {
    pub(crate) fn method(&self) -> Method {
        self.method
    }

    /// The path, as sent: `/dl/<token>/<name>` (still percent-encoded).
    pub(crate) fn path(&self) -> &str {
        &self.text[usize::from(self.path.start)..usize::from(self.path.end)]
    }

    /// What follows `?` in the target, if anything does.
    pub(crate) fn query(&self) -> Option<&str> {
        self.query.as_ref().map(|q| &self.text[usize::from(q.start)..usize::from(q.end)])
    }

    /// The last value of a header (names compare without case), as http-types' `last()` gave.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        let at = |r: &Range<u16>| &self.text[usize::from(r.start)..usize::from(r.end)];
        self.headers.iter().rev().find(|(n, _)| at(n).eq_ignore_ascii_case(name)).map(|(_, v)| at(v))
    }
}

/// A head that passed every check.
#[derive(Debug)]
pub(crate) struct Head {
    pub request: Request,
    /// The connection closes after the answer (`Connection: close`, or HTTP/1.0 without
    /// `Connection: keep-alive`).
    pub close: bool,
    /// An HTTP/1.0 client asked to keep the connection (the old keep-alive extension, which
    /// ApacheBench and some proxies use): the answer must say `Connection: keep-alive`.
    pub keep_alive_10: bool,
}

/// What the bytes read so far hold.
#[derive(Debug)]
pub(crate) enum Scan {
    /// No complete head yet; read more.
    Partial,
    /// A head of this many bytes (what follows is the next request).
    Complete(Box<Head>, usize),
    /// A head no request may have; answer and close.
    Refused(Refusal),
}

/// Looks at `buf`, the bytes read since the last head. `full` says no more may be read.
pub(crate) fn scan(buf: &[u8], full: bool) -> Scan {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    match parsed.parse(buf) {
        Ok(httparse::Status::Partial) if full => Scan::Refused(too_large(buf)),
        Ok(httparse::Status::Partial) => Scan::Partial,
        Ok(httparse::Status::Complete(len)) => match check(&parsed) {
            Ok(head) => Scan::Complete(Box::new(head), len),
            Err(refusal) => Scan::Refused(refusal),
        },
        Err(httparse::Error::Version) => Scan::Refused(refuse(505, "HTTP version not supported")),
        Err(httparse::Error::TooManyHeaders) => Scan::Refused(refuse(431, "too many header lines")),
        Err(_) => Scan::Refused(MALFORMED),
    }
}

/// [`scan`] reduced to what a benchmark can see: the head's length, or the refusal status
/// (0 while incomplete).
pub(crate) fn scan_len(buf: &[u8]) -> Result<usize, u16> {
    match scan(buf, buf.len() >= HEAD_MAX) {
        Scan::Complete(_, len) => Ok(len),
        Scan::Refused(r) => Err(r.status),
        Scan::Partial => Err(0),
    }
}

/// A head that does not fit: 414 while the request line has not ended, else 431.
fn too_large(buf: &[u8]) -> Refusal {
    let line_ended = buf.iter().skip_while(|&&b| b == b'\r' || b == b'\n').any(|&b| b == b'\n');
    if line_ended { refuse(431, "request head too large") } else { refuse(414, "request target too long") }
}

/// Framing first (a smuggling attempt is refused whatever its method), then the method, then the
/// rest of what a GET or HEAD may carry.
fn check(parsed: &httparse::Request<'_, '_>) -> Result<Head, Refusal> {
    let (Some(method), Some(target), Some(version)) = (parsed.method, parsed.path, parsed.version) else {
        return Err(MALFORMED);
    };
    if !parsed.headers.iter().all(|h| printable(h.value)) || !target.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(refuse(400, "request head must be printable ASCII"));
    }
    let framing = framing(parsed.headers)?;
    let method = method_of(method)?;
    if framing != Framing::None {
        return Err(refuse(400, "GET and HEAD requests carry no body"));
    }
    let http10 = version == 0;
    let hosts = parsed.headers.iter().filter(|h| h.name.eq_ignore_ascii_case("host")).count();
    // RFC 9112 §3.2: a 1.1 request without exactly one Host is answered 400.
    if !http10 && hosts != 1 {
        return Err(refuse(400, "a Host header is required"));
    }
    let request = request_of(method, target, parsed.headers)?;
    // HTTP/1.0 persists only with the old keep-alive extension (RFC 9112 §9.3, Appendix C.2.2).
    let keep_alive_10 = http10 && connection_has(parsed.headers, "keep-alive");
    let close = connection_has(parsed.headers, "close") || (http10 && !keep_alive_10);
    Ok(Head { request, close, keep_alive_10 })
}

/// Visible ASCII, space and tab: what a field value may hold here (RFC 9110 §5.5 allows obs-text
/// too, but http-types panics on it, and no header we read needs it).
fn printable(value: &[u8]) -> bool {
    value.iter().all(|&b| b == b'\t' || (b' '..0x7f).contains(&b))
}

#[derive(Debug, PartialEq, Eq)]
enum Framing {
    None,
    Body,
}

/// Whether the head announces a body. `Transfer-Encoding`, a repeated, listed or unparsable
/// `Content-Length` are refused outright (RFC 9112 §6.3: the shapes request smuggling uses).
fn framing(headers: &[httparse::Header<'_>]) -> Result<Framing, Refusal> {
    if headers.iter().any(|h| h.name.eq_ignore_ascii_case("transfer-encoding")) {
        return Err(refuse(400, "Transfer-Encoding is not accepted"));
    }
    let mut lengths = headers.iter().filter(|h| h.name.eq_ignore_ascii_case("content-length"));
    let Some(first) = lengths.next() else { return Ok(Framing::None) };
    if lengths.next().is_some() {
        return Err(refuse(400, "repeated Content-Length"));
    }
    let value = first.value.trim_ascii();
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Err(refuse(400, "invalid Content-Length"));
    }
    Ok(if value.iter().all(|&b| b == b'0') { Framing::None } else { Framing::Body })
}

/// GET, HEAD and OPTIONS (CORS preflights) are served; other standard methods get 405 (RFC 9110
/// §15.5.6), methods nobody defined get 501 (§15.6.2).
fn method_of(name: &str) -> Result<Method, Refusal> {
    match name {
        "GET" => Ok(Method::Get),
        "HEAD" => Ok(Method::Head),
        "OPTIONS" => Ok(Method::Options),
        "POST" | "PUT" | "DELETE" | "PATCH" | "CONNECT" | "TRACE" => Err(refuse(405, "method not allowed")),
        _ => Err(refuse(501, "method not implemented")),
    }
}

/// The origin-form target (`/path?query`), or the path of the absolute form a proxy may send
/// (RFC 9112 §3.2); `*` (for OPTIONS) reads as `/`. A fragment, which no client should send
/// (RFC 9112 §3.2), is dropped.
fn path_of(target: &str) -> Result<&str, Refusal> {
    let path = if target.starts_with('/') {
        target
    } else if target == "*" {
        "/"
    } else if let Some(rest) = target.strip_prefix("http://").or_else(|| target.strip_prefix("https://")) {
        rest.find('/').map_or("/", |i| &rest[i..])
    } else {
        return Err(MALFORMED);
    };
    Ok(path.split('#').next().unwrap_or(path))
}

/// The [`Request`]: the target's path and query and every header line copied into one string,
/// with offsets into it. The head fits in `HEAD_MAX` bytes, so every offset fits in a `u16`.
fn request_of(method: Method, target: &str, headers: &[httparse::Header<'_>]) -> Result<Request, Refusal> {
    let target = path_of(target)?;
    let size = target.len() + headers.iter().map(|h| h.name.len() + h.value.len()).sum::<usize>();
    let mut text = String::with_capacity(size);
    let mut span = |s: &str| {
        let start = text.len();
        text.push_str(s);
        start as u16..text.len() as u16
    };
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (span(path), Some(span(query))),
        None => (span(target), None),
    };
    let mut lines = Vec::with_capacity(headers.len());
    for h in headers {
        // Checked printable above, so every value is ASCII.
        let value = std::str::from_utf8(h.value).map_err(|_| MALFORMED)?;
        lines.push((span(h.name), span(value.trim())));
    }
    Ok(Request { method, text: text.into_boxed_str(), path, query, headers: lines })
}

/// Whether a `Connection` header lists `token`.
fn connection_has(headers: &[httparse::Header<'_>], token: &str) -> bool {
    headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("connection"))
        .flat_map(|h| h.value.split(|&b| b == b','))
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_of(head: &[u8]) -> Option<u16> {
        match scan(head, false) {
            Scan::Refused(r) => Some(r.status),
            Scan::Complete(..) => None,
            Scan::Partial => Some(0),
        }
    }

    #[test]
    fn malformed_heads_get_the_status_nginx_gives() {
        let many: String = (0..MAX_HEADERS + 1).map(|i| format!("X-{i}: a\r\n")).collect();
        let many = format!("GET / HTTP/1.1\r\nHost: a\r\n{many}\r\n");
        let table: &[(&[u8], Option<u16>)] = &[
            (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", None),
            (b"HEAD /x?y=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", None),
            (b"GET / HTTP/1.0\r\n\r\n", None),
            (b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", None),
            (b"GET http://example.com/dl/x HTTP/1.1\r\nHost: a\r\n\r\n", None),
            (b"FOO / HTTP/1.1\r\nHost: a\r\n\r\n", Some(501)),
            (b"POST / HTTP/1.1\r\nHost: a\r\n\r\n", Some(405)),
            (b"DELETE / HTTP/1.1\r\nHost: a\r\n\r\n", Some(405)),
            (b"GET / HTTP/9.9\r\nHost: a\r\n\r\n", Some(505)),
            (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", Some(505)),
            (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", Some(400)),
            (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", Some(400)),
            (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n", Some(400)),
            (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", Some(400)),
            (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\n", Some(400)),
            (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", Some(400)),
            (b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", Some(400)),
            (b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", Some(400)),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", Some(400)),
            (b"GET / HTTP/1.1\r\n\r\n", Some(400)),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", Some(400)),
            (b"GET / HTTP/1.1\r\nHost: a\r\nX: \xff\r\n\r\n", Some(400)),
            (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n", Some(400)),
            (b"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", Some(400)),
            (b"GET nowhere HTTP/1.1\r\nHost: a\r\n\r\n", Some(400)),
            (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", Some(400)),
            (b"GET / HTTP/1.1\r\nHost: a\r\n", Some(0)),
            (many.as_bytes(), Some(431)),
        ];
        for (head, want) in table {
            assert_eq!(status_of(head), *want, "{:?}", String::from_utf8_lossy(head));
        }
    }

    #[test]
    fn a_head_that_does_not_fit_is_414_or_431() {
        let long_line = [b"GET /".as_slice(), &[b'a'; HEAD_MAX]].concat();
        assert!(matches!(scan(&long_line[..HEAD_MAX], true), Scan::Refused(Refusal { status: 414, .. })));
        let long_head = [b"GET / HTTP/1.1\r\nX: ".as_slice(), &[b'a'; HEAD_MAX]].concat();
        assert!(matches!(scan(&long_head[..HEAD_MAX], true), Scan::Refused(Refusal { status: 431, .. })));
    }

    #[test]
    fn a_complete_head_says_its_length_so_a_pipelined_request_stays_unread() {
        let two = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
        let Scan::Complete(head, len) = scan(two, false) else { panic!("complete") };
        assert_eq!((head.request.path(), len), ("/a", 28));
        let Scan::Complete(head, _) = scan(&two[len..], false) else { panic!("complete") };
        assert_eq!(head.request.path(), "/b");
    }

    #[test]
    fn connection_close_and_http10_close_the_connection_unless_it_asks_to_keep_it() {
        let close = |head: &[u8]| match scan(head, false) {
            Scan::Complete(h, _) => h.close,
            other => panic!("{other:?}"),
        };
        assert!(!close(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert!(close(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\n"));
        assert!(close(b"GET / HTTP/1.0\r\n\r\n"));
        assert!(!close(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
        assert!(close(b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"));
    }

    #[test]
    fn headers_reach_the_request_trimmed() {
        let Scan::Complete(head, _) = scan(b"GET /x HTTP/1.1\r\nHost: a\r\nRange:  bytes=0-1 \r\n\r\n", false) else {
            panic!("complete")
        };
        assert_eq!(head.request.header("RANGE"), Some("bytes=0-1"));
    }

    #[test]
    fn the_target_splits_into_path_and_query_whatever_its_form() {
        let request = |head: &[u8]| match scan(head, false) {
            Scan::Complete(h, _) => h.request,
            other => panic!("{other:?}"),
        };
        let r = request(b"GET /dl/t/a%20b?x=1&y HTTP/1.1\r\nHost: a\r\nX: 1\r\nX: 2\r\n\r\n");
        assert_eq!(
            (r.path(), r.query(), r.header("x"), r.header("host")),
            ("/dl/t/a%20b", Some("x=1&y"), Some("2"), Some("a"))
        );
        let r = request(b"GET http://example.com/health HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!((r.path(), r.query(), r.header("missing")), ("/health", None, None));
        assert_eq!(request(b"GET http://example.com HTTP/1.1\r\nHost: a\r\n\r\n").path(), "/");
        assert_eq!(request(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").path(), "/");
        assert_eq!(request(b"GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n").path(), "/a");
    }
}
