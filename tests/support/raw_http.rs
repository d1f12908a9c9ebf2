//! Tiny blocking HTTP/1.1 client for tests: sends raw request bytes over std::net and
//! reads responses by Content-Length, chunked encoding or EOF (HEAD-aware).
#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Read timeout of every connection.
pub const READ_TIMEOUT: Duration = Duration::from_secs(20);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_HEAD_BYTES: u64 = 1 << 20;

/// One HTTP response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers in received order, names as sent.
    pub headers: Vec<(String, String)>,
    /// Body after de-chunking (may be shorter than Content-Length for [`send`] on early EOF).
    pub body: Vec<u8>,
}

impl Response {
    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Body parsed as JSON.
    pub fn json(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
    }
}

fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.set_write_timeout(Some(READ_TIMEOUT))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

fn is_head_request(raw: &[u8]) -> bool {
    raw.starts_with(b"HEAD ")
}

/// Sends `raw` on a fresh connection and reads one response; an early EOF ends the body
/// without an error (compare `body.len()` with Content-Length to detect a cut).
pub fn send(addr: SocketAddr, raw: &[u8]) -> io::Result<Response> {
    let mut stream = connect(addr)?;
    stream.write_all(raw)?;
    stream.flush()?;
    let mut reader = BufReader::new(stream);
    read_response(&mut reader, is_head_request(raw), false)
}

/// Sends `raw` on a fresh connection and returns the response head (with an empty body) and a
/// reader of its Content-Length body bytes (it ends early on an early EOF): for bodies too large
/// to hold in memory. A response without Content-Length is an error.
pub fn send_streaming(addr: SocketAddr, raw: &[u8]) -> io::Result<(Response, io::Take<BufReader<TcpStream>>)> {
    let mut stream = connect(addr)?;
    stream.write_all(raw)?;
    stream.flush()?;
    let mut reader = BufReader::new(stream);
    let (status, headers) = read_head(&mut reader)?;
    let resp = Response { status, headers, body: Vec::new() };
    let len = resp.header("content-length").and_then(|v| v.trim().parse::<u64>().ok());
    let len = len.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no Content-Length"))?;
    Ok((resp, reader.take(len)))
}

/// A keep-alive connection that carries several requests in turn.
pub struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    /// Connects to `addr` (20 s read timeout).
    pub fn open(addr: SocketAddr) -> io::Result<Conn> {
        Ok(Conn { reader: BufReader::new(connect(addr)?) })
    }

    /// Sends `raw` and reads exactly one response; a body cut short is an error.
    pub fn send(&mut self, raw: &[u8]) -> io::Result<Response> {
        self.write(raw)?;
        self.read_response(is_head_request(raw))
    }

    /// Writes raw bytes without reading (for pipelining or partial requests).
    pub fn write(&mut self, raw: &[u8]) -> io::Result<()> {
        let stream = self.reader.get_mut();
        stream.write_all(raw)?;
        stream.flush()
    }

    /// Reads one response; `head` says it answers a HEAD request (no body).
    pub fn read_response(&mut self, head: bool) -> io::Result<Response> {
        read_response(&mut self.reader, head, true)
    }

    /// True when the server closes the connection within `timeout` without sending data
    /// (EOF or reset); false when data arrives or the socket stays open and silent.
    pub fn is_closed(&mut self, timeout: Duration) -> bool {
        if self.reader.get_ref().set_read_timeout(Some(timeout)).is_err() {
            return true;
        }
        let closed = match self.reader.fill_buf() {
            Ok(data) => data.is_empty(),
            Err(e) => {
                !matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted)
            }
        };
        let _ = self.reader.get_ref().set_read_timeout(Some(READ_TIMEOUT));
        closed
    }

    /// The underlying socket.
    pub fn stream(&self) -> &TcpStream {
        self.reader.get_ref()
    }
}

/// Sends `GET path` with `Connection: close` to an `http://host:port/path` URL.
pub fn get(url: &str) -> io::Result<Response> {
    let (addr, host, path) = parse_url(url)?;
    let raw = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    send(addr, raw.as_bytes())
}

/// Sends `POST path` with the given content type and body to an `http://host:port/path` URL.
pub fn post(url: &str, content_type: &str, body: &[u8]) -> io::Result<Response> {
    let (addr, host, path) = parse_url(url)?;
    let mut raw = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    send(addr, &raw)
}

/// Splits `http://host[:port]/path` into a resolved address, the Host value and the path.
pub fn parse_url(url: &str) -> io::Result<(SocketAddr, String, String)> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{what}: {url}"));
    let rest = url.strip_prefix("http://").ok_or_else(|| invalid("only http:// URLs are supported"))?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_string()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_string()),
    };
    let has_port = authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok());
    let mut addrs = if has_port {
        authority.to_socket_addrs()?
    } else {
        (authority.trim_matches(['[', ']']), 80).to_socket_addrs()?
    };
    let addr = addrs.next().ok_or_else(|| invalid("host did not resolve"))?;
    Ok((addr, authority.to_string(), path))
}

fn unexpected_eof(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, what.to_string())
}

fn read_line(reader: &mut BufReader<TcpStream>, buf: &mut Vec<u8>, limit: u64) -> io::Result<usize> {
    buf.clear();
    reader.by_ref().take(limit).read_until(b'\n', buf)
}

fn trim_line(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}

fn read_head(reader: &mut BufReader<TcpStream>) -> io::Result<(u16, Vec<(String, String)>)> {
    let mut line = Vec::new();
    let mut used = 0u64;
    if read_line(reader, &mut line, MAX_HEAD_BYTES)? == 0 {
        return Err(unexpected_eof("connection closed before a response"));
    }
    used += line.len() as u64;
    let status_line = trim_line(&line);
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let status = parts.next().and_then(|s| s.parse::<u16>().ok());
    let status = match status {
        Some(s) if version.starts_with("HTTP/") => s,
        _ => {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("bad status line: {status_line:?}")));
        }
    };
    let mut headers = Vec::new();
    loop {
        let n = read_line(reader, &mut line, MAX_HEAD_BYTES.saturating_sub(used))?;
        if n == 0 {
            return Err(unexpected_eof("connection closed inside response headers"));
        }
        used += n as u64;
        let text = trim_line(&line);
        if text.is_empty() {
            return Ok((status, headers));
        }
        if let Some((name, value)) = text.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
}

fn read_response(reader: &mut BufReader<TcpStream>, head: bool, strict: bool) -> io::Result<Response> {
    loop {
        let (status, headers) = read_head(reader)?;
        if (100..200).contains(&status) && status != 101 {
            continue;
        }
        let mut resp = Response { status, headers, body: Vec::new() };
        let no_body = head || status == 204 || status == 304 || (100..200).contains(&status);
        if no_body {
            return Ok(resp);
        }
        let chunked = resp.header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        let length = resp
            .header("content-length")
            .map(|v| {
                v.trim().parse::<u64>().map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad Content-Length"))
            })
            .transpose()?;
        resp.body = if chunked {
            read_chunked(reader, strict)?
        } else if let Some(len) = length {
            let mut body = Vec::with_capacity(len.min(64 << 20) as usize);
            reader.by_ref().take(len).read_to_end(&mut body)?;
            if strict && (body.len() as u64) < len {
                return Err(unexpected_eof("connection closed inside the body"));
            }
            body
        } else {
            let mut body = Vec::new();
            reader.read_to_end(&mut body)?;
            body
        };
        return Ok(resp);
    }
}

fn read_chunked(reader: &mut BufReader<TcpStream>, strict: bool) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = Vec::new();
    loop {
        if read_line(reader, &mut line, 4096)? == 0 {
            if strict {
                return Err(unexpected_eof("connection closed inside a chunked body"));
            }
            return Ok(body);
        }
        let text = trim_line(&line);
        let size_text = text.split(';').next().unwrap_or("").trim();
        let size = u64::from_str_radix(size_text, 16)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("bad chunk size {text:?}")))?;
        if size == 0 {
            loop {
                if read_line(reader, &mut line, 4096)? == 0 || trim_line(&line).is_empty() {
                    return Ok(body);
                }
            }
        }
        let before = body.len() as u64;
        reader.by_ref().take(size).read_to_end(&mut body)?;
        if (body.len() as u64) - before < size {
            if strict {
                return Err(unexpected_eof("connection closed inside a chunk"));
            }
            return Ok(body);
        }
        read_line(reader, &mut line, 4096)?;
    }
}
