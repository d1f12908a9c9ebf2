//! Routing and responses: `/dl/<token>`, `/stream/<token>`, `/health`, `/`. Every request gets an `Ok(Response)`:
//! async-h1 drops the connection without a word if a handler returns `Err`, so one `match` turns
//! each [`RouteError`] into a status with a short text body.

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

use http_types::{Body, Method, Request, Response, StatusCode};

use super::body::ByteSource;
use super::conditional;
use super::range::{self, Ranged};
use crate::app::App;
use crate::links::{TokenError, token_prefix};
use crate::shutdown::Trigger;
use crate::store::{LinkRow, StoreError};
use crate::telegram::files;
use crate::telegram::transport::TelegramError;
use crate::units::{http_date, now_unix};

/// Why a request could not be served.
#[derive(Debug)]
pub enum RouteError {
    NotFound(&'static str),
    Gone,
    /// Every stream slot is taken.
    Busy,
    MethodNotAllowed,
    Store(StoreError),
    Upstream(TelegramError),
}

impl RouteError {
    fn into_response(self) -> Response {
        let (status, body) = match &self {
            RouteError::NotFound(what) => (StatusCode::NotFound, *what),
            RouteError::Gone => (StatusCode::Gone, "link expired"),
            RouteError::Busy => (StatusCode::ServiceUnavailable, "too many downloads right now, try again shortly"),
            RouteError::MethodNotAllowed => (StatusCode::MethodNotAllowed, "method not allowed"),
            RouteError::Store(e) => {
                log::error!("store error while serving a request: {e}");
                (StatusCode::InternalServerError, "internal error")
            }
            RouteError::Upstream(e) => {
                log::warn!("telegram could not provide a file: {e}");
                (StatusCode::BadGateway, "telegram could not provide the file, try again later")
            }
        };
        let mut res = text(status, body);
        match self {
            RouteError::MethodNotAllowed => {
                res.insert_header("allow", "GET, HEAD");
            }
            RouteError::Busy => {
                res.insert_header("retry-after", "5");
            }
            _ => {}
        }
        res
    }
}

fn text(status: StatusCode, body: &'static str) -> Response {
    let mut res = Response::new(status);
    res.insert_header("content-type", "text/plain; charset=utf-8");
    res.set_body(format!("{body}\n"));
    res
}

/// The router: always answers.
pub async fn handle(app: Rc<App>, peer: SocketAddr, end: Trigger, req: Request) -> http_types::Result<Response> {
    let started = Instant::now();
    let method = req.method();
    let path = req.url().path().to_owned();
    let client = Client { peer, end };
    let res = match route(&app, &client, &req).await {
        Ok(res) => res,
        Err(e) => e.into_response(),
    };
    log::debug!("{method} {} {} {}ms", loggable(&path), u16::from(res.status()), started.elapsed().as_millis());
    Ok(res)
}

/// The path with any token cut to its prefix.
fn loggable(path: &str) -> String {
    for prefix in ["/dl/", "/stream/"] {
        if let Some(token) = path.strip_prefix(prefix) {
            return format!("{prefix}{}…", token_prefix(token));
        }
    }
    path.chars().take(64).collect()
}

/// Who is asking, and how to end their connection (for the stream tracker).
struct Client {
    peer: SocketAddr,
    end: Trigger,
}

async fn route(app: &App, client: &Client, req: &Request) -> Result<Response, RouteError> {
    let method = req.method();
    if method != Method::Get && method != Method::Head {
        return Err(RouteError::MethodNotAllowed);
    }
    let path = req.url().path();
    if let Some(token) = path.strip_prefix("/dl/") {
        return serve_file(app, client, req, token, "attachment").await;
    }
    if let Some(token) = path.strip_prefix("/stream/") {
        return serve_file(app, client, req, token, "inline").await;
    }
    match path {
        "/health" => Ok(text(StatusCode::Ok, "ok")),
        "/" => {
            let mut res = Response::new(StatusCode::Found);
            res.insert_header("location", format!("https://t.me/{}", app.username));
            Ok(res)
        }
        _ => Err(RouteError::NotFound("not found")),
    }
}

fn find_link(app: &App, token: &str) -> Result<LinkRow, RouteError> {
    let claims = app.signer.verify(token, now_unix()).map_err(|e| match e {
        TokenError::Invalid => RouteError::NotFound("link not found"),
        TokenError::Expired => RouteError::Gone,
    })?;
    app.store.link(claims.link_id).map_err(RouteError::Store)?.ok_or(RouteError::NotFound("link not found"))
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.header(name).map(|v| v.last().as_str())
}

/// `/dl` and `/stream`: validators, preconditions, one byte range, HEAD, then the bytes.
async fn serve_file(
    app: &App,
    client: &Client,
    req: &Request,
    token: &str,
    disposition: &str,
) -> Result<Response, RouteError> {
    let link = find_link(app, token)?;
    let head = req.method() == Method::Head;
    let etag = conditional::etag(&link.file_unique_id);
    let last_modified = http_date(link.created_at);
    let validators = |res: &mut Response| {
        res.insert_header("etag", etag.as_str());
        res.insert_header("last-modified", last_modified.as_str());
        res.insert_header("cache-control", "private, max-age=3600");
    };
    if header(req, "if-none-match").is_some_and(|v| conditional::none_match_hits(v, &etag)) {
        let mut res = Response::new(StatusCode::NotModified);
        validators(&mut res);
        return Ok(res);
    }

    // HEAD answers from the stored row: no getFile, no upstream download, no bandwidth.
    let located =
        if head { None } else { Some(files::locate(&app.api, &link.file_id).await.map_err(RouteError::Upstream)?) };
    let len = located.as_ref().and_then(|l| l.size).unwrap_or(link.file_size);
    let range_header = match header(req, "if-range") {
        Some(v) if !conditional::if_range_holds(v, &etag, &last_modified) => None,
        _ => header(req, "range"),
    };
    let ranged = range::resolve(range_header, len);

    let mut res = Response::new(match ranged {
        Ranged::Full => StatusCode::Ok,
        Ranged::Partial { .. } => StatusCode::PartialContent,
        Ranged::Unsatisfiable => StatusCode::RequestedRangeNotSatisfiable,
    });
    validators(&mut res);
    res.insert_header("accept-ranges", "bytes");
    match ranged {
        Ranged::Unsatisfiable => {
            res.insert_header("content-range", format!("bytes */{len}"));
            res.insert_header("content-type", "text/plain; charset=utf-8");
            res.set_body("range not satisfiable\n");
            return Ok(res);
        }
        Ranged::Partial { start, end } => {
            res.insert_header("content-range", format!("bytes {start}-{end}/{len}"));
        }
        Ranged::Full => {}
    }
    res.insert_header("content-type", link.mime.as_str());
    res.insert_header("content-disposition", content_disposition(disposition, &link.file_name));
    res.insert_header("x-content-type-options", "nosniff");
    let body_len = ranged.body_len(len);
    let Some(located) = located else {
        res.set_body(Body::from_reader(futures_lite::io::empty(), Some(usize_len(body_len)?)));
        return Ok(res);
    };
    if body_len == 0 {
        res.set_body(Body::empty());
        return Ok(res);
    }
    let (start, upstream_range) = match ranged {
        Ranged::Partial { start, end } => (start, Some(format!("bytes={start}-{end}"))),
        _ => (0, None),
    };
    let guard =
        app.streams.register(link.id, client.peer, client.end.clone(), Instant::now()).ok_or(RouteError::Busy)?;
    let mut upstream =
        app.api.download(&located.path, upstream_range.as_deref()).await.map_err(RouteError::Upstream)?;
    // Telegram may ignore Range and answer 200 with the whole file: then skip to the start.
    let skip = match u16::from(upstream.status()) {
        206 => {
            let served = header_of(&upstream, "content-range").unwrap_or_default();
            if !served.starts_with(&format!("bytes {start}-")) {
                return Err(RouteError::Upstream(TelegramError::Decode(format!("upstream sent range '{served}'"))));
            }
            0
        }
        _ => start,
    };
    let source = ByteSource::new(upstream.take_body(), body_len).skipping(skip).tracked(guard);
    res.set_body(Body::from_reader(source, Some(usize_len(body_len)?)));
    Ok(res)
}

fn header_of(res: &Response, name: &str) -> Option<String> {
    res.header(name).map(|v| v.last().as_str().to_owned())
}

fn usize_len(len: u64) -> Result<usize, RouteError> {
    usize::try_from(len).map_err(|_| RouteError::NotFound("file too large for this platform"))
}

/// RFC 6266 `Content-Disposition`: an ASCII `filename` for old clients and an RFC 8187
/// `filename*` with the exact UTF-8 name.
pub fn content_disposition(kind: &str, name: &str) -> String {
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_name_is_quoted_and_encoded() {
        assert_eq!(
            content_disposition("attachment", "my file.txt"),
            "attachment; filename=\"my file.txt\"; filename*=UTF-8''my%20file.txt"
        );
    }

    #[test]
    fn unicode_name_gets_a_fallback_and_utf8_form() {
        assert_eq!(
            content_disposition("inline", "видео \"1\".mp4"),
            "inline; filename=\"_____ _1_.mp4\"; filename*=UTF-8''%D0%B2%D0%B8%D0%B4%D0%B5%D0%BE%20%221%22.mp4"
        );
    }

    #[test]
    fn tokens_are_cut_in_logs() {
        assert_eq!(loggable("/dl/abcdefghijklmnop"), "/dl/abcdefgh…");
        assert_eq!(loggable("/health"), "/health");
    }
}
