//! HTTP/1.1 plumbing: the accept loop, one thread per connection, request parsing (heads,
//! Content-Length and chunked bodies), response writing and routing to the other modules.

use super::api::handle_method;
use super::control::handle_control;
use super::files::handle_file;
use super::params::percent_decode;
use super::state::Shared;
use serde_json::{Value, json};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

const MAX_HEAD_BYTES: usize = 64 * 1024;
const MAX_BODY_BYTES: usize = 1 << 30;
const IDLE_READ_TIMEOUT: Duration = Duration::from_secs(300);

pub(super) struct Request {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) query: String,
    pub(super) version: String,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
}

impl Request {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn keep_alive(&self) -> bool {
        if self.version != "HTTP/1.1" {
            return false;
        }
        !self.header("connection").is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
    }
}

enum ReadError {
    Io,
    Http(u16, &'static str),
}

pub(super) fn serve_connection(shared: &Shared, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(IDLE_READ_TIMEOUT));
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while !shared.stopping() {
        let req = match read_request(&mut reader, &mut out) {
            Ok(Some(req)) => req,
            Ok(None) | Err(ReadError::Io) => break,
            Err(ReadError::Http(code, msg)) => {
                let _ = write_json(&mut out, code, &api_error_json(code, msg, None), false, false);
                let _ = out.shutdown(Shutdown::Write);
                drain(&mut reader);
                return;
            }
        };
        let keep = req.keep_alive();
        match handle_request(shared, &req, &mut out, keep) {
            Ok(true) if keep => {}
            _ => break,
        }
    }
    let _ = out.flush();
    let _ = out.shutdown(Shutdown::Write);
}

/// Discards what the client still sends (briefly), so closing does not reset the connection
/// before it has read the error response.
pub(super) fn drain(reader: &mut BufReader<TcpStream>) {
    let _ = reader.get_ref().set_read_timeout(Some(Duration::from_millis(200)));
    let _ = io::copy(&mut reader.by_ref().take(1 << 20), &mut io::sink());
}

/// Reads one line (through `\n`) of at most `limit` bytes; returns 0 at EOF.
fn read_line_capped(
    reader: &mut BufReader<TcpStream>,
    buf: &mut Vec<u8>,
    limit: usize,
    too_long: (u16, &'static str),
) -> Result<usize, ReadError> {
    if limit == 0 {
        return Err(ReadError::Http(too_long.0, too_long.1));
    }
    let n = reader.by_ref().take(limit as u64).read_until(b'\n', buf).map_err(|_| ReadError::Io)?;
    if n > 0 && !buf.ends_with(b"\n") {
        if n >= limit {
            return Err(ReadError::Http(too_long.0, too_long.1));
        }
        return Err(ReadError::Io);
    }
    Ok(n)
}

fn trim_line(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn read_request(reader: &mut BufReader<TcpStream>, out: &mut TcpStream) -> Result<Option<Request>, ReadError> {
    const TOO_LARGE: (u16, &str) = (431, "Request Header Fields Too Large");
    let mut head_len = 0usize;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = read_line_capped(reader, &mut line, MAX_HEAD_BYTES - head_len, TOO_LARGE)?;
        if n == 0 {
            return if head_len == 0 { Ok(None) } else { Err(ReadError::Io) };
        }
        head_len += n;
        if !trim_line(&line).is_empty() {
            break;
        }
    }
    let request_line = String::from_utf8_lossy(trim_line(&line)).into_owned();
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Http(400, "Bad Request: malformed request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(ReadError::Http(400, "Bad Request: unsupported HTTP version"));
    }
    let mut headers = Vec::new();
    loop {
        line.clear();
        let n = read_line_capped(reader, &mut line, MAX_HEAD_BYTES - head_len, TOO_LARGE)?;
        if n == 0 {
            return Err(ReadError::Io);
        }
        head_len += n;
        let text = String::from_utf8_lossy(trim_line(&line)).into_owned();
        if text.is_empty() {
            break;
        }
        let Some((name, value)) = text.split_once(':') else {
            return Err(ReadError::Http(400, "Bad Request: malformed header"));
        };
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let target = match target.strip_prefix("http://") {
        Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => target,
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut req = Request {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        version: version.to_string(),
        headers,
        body: Vec::new(),
    };
    if version == "HTTP/1.1" && req.header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").map_err(|_| ReadError::Io)?;
    }
    let chunked = req.header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        req.body = read_chunked_body(reader)?;
    } else if let Some(len) = req.header("content-length") {
        let len: usize = len.parse().map_err(|_| ReadError::Http(400, "Bad Request: invalid Content-Length"))?;
        if len > MAX_BODY_BYTES {
            return Err(ReadError::Http(413, "Request Entity Too Large"));
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).map_err(|_| ReadError::Io)?;
        req.body = body;
    }
    Ok(Some(req))
}

fn read_chunked_body(reader: &mut BufReader<TcpStream>) -> Result<Vec<u8>, ReadError> {
    const BAD_CHUNK: (u16, &str) = (400, "Bad Request: malformed chunk");
    let mut body = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if read_line_capped(reader, &mut line, 4096, BAD_CHUNK)? == 0 {
            return Err(ReadError::Io);
        }
        let text = String::from_utf8_lossy(trim_line(&line)).into_owned();
        let size_text = text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| ReadError::Http(BAD_CHUNK.0, BAD_CHUNK.1))?;
        if size == 0 {
            loop {
                line.clear();
                let n = read_line_capped(reader, &mut line, 4096, BAD_CHUNK)?;
                if n == 0 || trim_line(&line).is_empty() {
                    return Ok(body);
                }
            }
        }
        if body.len() + size > MAX_BODY_BYTES {
            return Err(ReadError::Http(413, "Request Entity Too Large"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..]).map_err(|_| ReadError::Io)?;
        line.clear();
        read_line_capped(reader, &mut line, 4096, BAD_CHUNK)?;
        if !trim_line(&line).is_empty() {
            return Err(ReadError::Http(BAD_CHUNK.0, BAD_CHUNK.1));
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        413 => "Payload Too Large",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

pub(super) fn write_head(
    out: &mut TcpStream,
    status: u16,
    headers: &[(&str, String)],
    content_length: u64,
    keep: bool,
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str(&format!(
        "Content-Length: {content_length}\r\nConnection: {}\r\nServer: fake-telegram\r\n\r\n",
        if keep { "keep-alive" } else { "close" }
    ));
    out.write_all(head.as_bytes())
}

/// Writes a JSON response; returns whether the connection may stay open.
pub(super) fn write_json(
    out: &mut TcpStream,
    status: u16,
    value: &Value,
    keep: bool,
    head_only: bool,
) -> io::Result<bool> {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let ctype = [("Content-Type", "application/json".to_string())];
    write_head(out, status, &ctype, body.len() as u64, keep)?;
    if !head_only {
        out.write_all(&body)?;
    }
    out.flush()?;
    Ok(keep)
}

fn handle_request(shared: &Shared, req: &Request, out: &mut TcpStream, keep: bool) -> io::Result<bool> {
    let path = percent_decode(&req.path, false);
    let head_only = req.method == "HEAD";
    if let Some(rest) = path.strip_prefix("/_fake/") {
        return handle_control(shared, req, rest, out, keep);
    }
    if let Some(rest) = path.strip_prefix("/file/bot") {
        if let Some((token, file_path)) = rest.split_once('/') {
            return handle_file(shared, req, token, file_path, out, keep);
        }
    } else if let Some(rest) = path.strip_prefix("/bot")
        && let Some((token, method)) = rest.split_once('/')
        && !method.is_empty()
        && !method.contains('/')
        && (req.method == "GET" || req.method == "POST")
    {
        return handle_method(shared, req, token, method, out, keep);
    }
    write_json(out, 404, &not_found_json(), keep, head_only)
}

pub(super) fn api_error_json(code: u16, description: &str, retry_after: Option<u16>) -> Value {
    let mut v = json!({"ok": false, "error_code": code, "description": description});
    if let Some(secs) = retry_after {
        v["parameters"] = json!({ "retry_after": secs });
    }
    v
}

pub(super) fn not_found_json() -> Value {
    api_error_json(404, "Not Found", None)
}

/// Where a queued fault leaves a request: answered already (with the keep-alive verdict), or to be
/// served normally, its body cut after `cut` bytes if asked.
pub(super) enum FaultStep {
    Answered(bool),
    Serve { cut: Option<u64> },
}

/// Applies the fault taken for this request, if any (Bot API methods and the file route alike).
pub(super) fn apply_fault(
    shared: &super::state::Shared,
    fault: Option<super::Fault>,
    out: &mut TcpStream,
    keep: bool,
    head_only: bool,
) -> io::Result<FaultStep> {
    use super::Fault;
    Ok(match fault {
        Some(Fault::Status { code, description, retry_after }) => {
            let body = api_error_json(code, &description, retry_after);
            FaultStep::Answered(write_json(out, code, &body, keep, head_only)?)
        }
        Some(Fault::Drop) => FaultStep::Answered(false),
        Some(Fault::DropAfterEffect) => FaultStep::Serve { cut: Some(0) },
        Some(Fault::Stall(d)) => {
            shared.sleep(d);
            FaultStep::Serve { cut: None }
        }
        Some(Fault::CutBody { after }) => FaultStep::Serve { cut: Some(after) },
        None => FaultStep::Serve { cut: None },
    })
}
