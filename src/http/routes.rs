//! Routing and responses: `/dl/<token>/<name>`, `/stream/…`, `/watch/…` and `/m3u/…` (each
//! also without the name), `/health`, `/`. Every request gets a [`Reply`]: one `match` turns
//! each [`RouteError`] into a status with a short text body.

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

use http_types::{Method, StatusCode};

use super::access;
use super::egress::file::FileBody;
use super::egress::relay::{ByteSource, Load, Relay, Tracked, Upstream, buffer_plan};
use super::egress::{Body, Reply};
use super::pages;
use super::plan::{self, Disposition, PlannedBody};
use super::request::Request;
use super::state::HttpState;
use crate::app::{App, BotState, Core, Login};
use crate::limits::Decision;
use crate::links::{TokenError, token_prefix};
use crate::net::ClientKey;
use crate::players;
use crate::shutdown::Trigger;
use crate::store::{LinkRow, StoreError};
use crate::telegram::files::{FileError, Located, Opened};
use crate::telegram::local::LocalFile;
use crate::telegram::transport::TelegramError;
use crate::units::now_unix;
use crate::urls::{Face, LinkPath, name_matches};

/// Why a request could not be served.
#[derive(Debug)]
pub enum RouteError {
    NotFound(&'static str),
    /// A link token that does not verify (counted against the client).
    BadToken,
    Gone,
    /// The owner or an admin took the link back.
    Revoked,
    /// Every stream slot is taken.
    Busy,
    /// The client already streams `MAX_DOWNLOADS_PER_IP` downloads.
    TooManyDownloads,
    /// The client is over a request limit for this many seconds.
    TooMany(u64),
    /// `BANDWIDTH_LIMIT_GB` is used up until the month ends, this many seconds from now.
    BandwidthExhausted(u64),
    /// The link's owner used their `BANDWIDTH_USER_SHARE` until the month ends, this many
    /// seconds from now.
    ShareExhausted(u64),
    MethodNotAllowed,
    /// `METRICS_ALLOW` does not list the client.
    Forbidden,
    Store(StoreError),
    Upstream(TelegramError),
    /// Local mode: the file cannot be read from disk.
    File(FileError),
}

impl RouteError {
    /// The status and the short text the client gets.
    fn answer(&self) -> (StatusCode, &'static str) {
        match self {
            RouteError::NotFound(what) => (StatusCode::NotFound, what),
            RouteError::BadToken => (StatusCode::NotFound, "link not found"),
            RouteError::TooMany(_) => (StatusCode::TooManyRequests, "too many requests, slow down"),
            RouteError::TooManyDownloads => {
                (StatusCode::TooManyRequests, "too many downloads from your address at once, let one finish first")
            }
            RouteError::Gone => (StatusCode::Gone, "link expired"),
            RouteError::Revoked => (StatusCode::Gone, "this link was revoked by its owner"),
            RouteError::BandwidthExhausted(_) => (
                StatusCode::ServiceUnavailable,
                "this bot has used its bandwidth for the month, links work again next month",
            ),
            RouteError::ShareExhausted(_) => (
                StatusCode::ServiceUnavailable,
                "this link's owner has used their share of this month's bandwidth; it resets on the 1st at 00:00 UTC",
            ),
            RouteError::Busy => (StatusCode::ServiceUnavailable, "too many downloads right now, try again shortly"),
            RouteError::MethodNotAllowed => (StatusCode::MethodNotAllowed, "method not allowed"),
            RouteError::Forbidden => (StatusCode::Forbidden, "not available from your address"),
            RouteError::Store(_) => (StatusCode::InternalServerError, "internal error"),
            // A local Bot API server answers getFile only once it holds the whole file.
            RouteError::Upstream(TelegramError::Timeout) => {
                (StatusCode::ServiceUnavailable, "the file is being prepared, try again in a minute")
            }
            RouteError::Upstream(_) | RouteError::File(FileError::Telegram(_)) => {
                (StatusCode::BadGateway, "telegram could not provide the file, try again later")
            }
            RouteError::File(_) => (StatusCode::InternalServerError, "internal error"),
        }
    }

    /// Logs what the operator needs to know about a failure the client only gets a short text for.
    fn report(&self) {
        match self {
            RouteError::Store(e) => log::error!("store error while serving a request: {e}"),
            RouteError::Upstream(TelegramError::Timeout) => {
                log::warn!("getFile timed out: the Bot API server is still fetching the file or is down")
            }
            RouteError::Upstream(e) => log::warn!("telegram could not provide a file: {e}"),
            RouteError::File(e) => {
                match e {
                    FileError::Telegram(_) => log::warn!("{e}"),
                    _ => log::error!("{e}"),
                }
                crate::event::emit(crate::event::Event::FileUnreadable { reason: e.reason() });
            }
            _ => {}
        }
    }

    fn into_reply(self) -> Reply {
        self.report();
        let (status, body) = self.answer();
        let mut reply = text(status, body);
        let res = &mut reply.head;
        match self {
            RouteError::MethodNotAllowed => {
                res.insert_header("allow", "GET, HEAD");
            }
            RouteError::Busy | RouteError::Upstream(TelegramError::Timeout) => {
                res.insert_header("retry-after", "5");
            }
            RouteError::TooManyDownloads => {
                res.insert_header("retry-after", "10");
            }
            RouteError::TooMany(secs) | RouteError::BandwidthExhausted(secs) | RouteError::ShareExhausted(secs) => {
                res.insert_header("retry-after", secs.to_string());
            }
            _ => {}
        }
        reply
    }
}

/// The client's text, or for a failure that wraps another error the operator's text with it.
impl std::fmt::Display for RouteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RouteError::Store(e) => write!(f, "store error while serving a request: {e}"),
            RouteError::Upstream(e) => write!(f, "telegram could not provide a file: {e}"),
            RouteError::File(e) => write!(f, "{e}"),
            other => f.write_str(other.answer().1),
        }
    }
}

impl std::error::Error for RouteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RouteError::Store(e) => Some(e),
            RouteError::Upstream(e) => Some(e),
            RouteError::File(e) => Some(e),
            _ => None,
        }
    }
}

/// A short plain-text answer.
pub(crate) fn text(status: StatusCode, body: &str) -> Reply {
    let mut reply = Reply::new(status, Body::from(format!("{body}\n")));
    reply.head.insert_header("content-type", "text/plain; charset=utf-8");
    reply
}

/// The router: always answers. Per-client limits first (not for `/health`), then the route,
/// then CORS for allowed origins.
pub async fn handle(app: Rc<App>, http: Rc<HttpState>, client: Client, req: Request) -> Reply {
    let started = Instant::now();
    let method = req.method();
    let path = req.path().to_owned();
    let ip = app.core.config.http.trust_proxy.client_ip(client.peer.ip(), req.header("x-forwarded-for"));
    // Behind a trusted proxy the stream table shows the real client, not the proxy.
    let client = Client { peer: SocketAddr::new(ip, client.peer.port()), ..client };
    let decision =
        if path == "/health" { Decision::Allow } else { http.limiter.borrow_mut().request(ip, Instant::now()) };
    let outcome = match decision {
        Decision::Limited { retry_after_secs } => Err(RouteError::TooMany(retry_after_secs)),
        Decision::Allow => route(&app, &client, &req).await,
    };
    let mut reply = match outcome {
        Ok(reply) => reply,
        Err(e) => {
            if matches!(e, RouteError::BadToken) {
                http.limiter.borrow_mut().bad_token(ip, Instant::now());
            }
            e.into_reply()
        }
    };
    let res = &mut reply.head;
    let cors = &app.core.config.http.cors_origins;
    if let Some(origin) = access::allowed_origin(cors, req.header("origin")) {
        for (name, value) in access::cors_headers(origin, method == Method::Options) {
            res.insert_header(name, value);
        }
    } else if !cors.is_empty() {
        // The answer differs by origin: caches must not hand this one to an allowed origin.
        res.insert_header("vary", "Origin");
    }
    app.serving.responses.count(u16::from(res.status()));
    log::debug!("{method} {} {} {}ms", loggable(&path), u16::from(res.status()), started.elapsed().as_millis());
    reply
}

/// The path with any token cut to its prefix.
fn loggable(path: &str) -> String {
    match Face::of_path(path) {
        Some(link) => format!("{}{}…", link.face.prefix(), token_prefix(link.token)),
        None => path.chars().take(64).collect(),
    }
}

/// Who is asking: their address, how to end their connection (for the stream tracker), and the
/// process's streaming load (a new body sizes its buffer by it).
#[derive(Clone)]
pub struct Client {
    pub peer: SocketAddr,
    pub end: Trigger,
    pub load: Load,
}

async fn route(app: &App, client: &Client, req: &Request) -> Result<Reply, RouteError> {
    let method = req.method();
    if method == Method::Options
        && access::allowed_origin(&app.core.config.http.cors_origins, req.header("origin")).is_some()
    {
        // A CORS preflight from an allowed origin; `handle` adds the headers.
        return Ok(Reply::empty(StatusCode::NoContent));
    }
    if method != Method::Get && method != Method::Head {
        return Err(RouteError::MethodNotAllowed);
    }
    let path = req.path();
    if let Some(link) = Face::of_path(path) {
        return match link.face {
            Face::Download => serve_file(app, client, req, &link, Disposition::Attachment).await,
            Face::Stream => serve_file(app, client, req, &link, Disposition::Inline).await,
            Face::Watch => watch(&app.core, req, &link),
            Face::Playlist => playlist(&app.core, req, &link),
        };
    }
    let private = matches!(path, "/metrics" | "/api/info");
    if private && !app.core.config.http.metrics_allowed(client.peer.ip()) {
        return Err(RouteError::Forbidden);
    }
    match path {
        "/health" => Ok(health(&app.bot)),
        "/metrics" => Ok(super::info::metrics(app)),
        // Built only for the integration tests: shows that a panicking route costs one request.
        #[cfg(feature = "test-hooks")]
        "/_test/panic" => panic!("test hook: this route panics (token 123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw)"),
        // Built only for the integration tests: moves the clock on (`?advance=SECS`).
        #[cfg(feature = "test-hooks")]
        "/_test/clock" => {
            let secs = req.query().and_then(|q| q.strip_prefix("advance=")).and_then(|v| v.parse().ok());
            crate::units::advance_clock(secs.unwrap_or(0));
            Ok(text(StatusCode::Ok, &now_unix().to_string()))
        }
        "/api/info" => Ok(super::info::api_info(app)),
        "/" => {
            let mut reply = Reply::empty(StatusCode::Found);
            reply.head.insert_header("location", format!("https://t.me/{}", app.bot.username()));
            Ok(reply)
        }
        _ => Err(RouteError::NotFound("not found")),
    }
}

/// `/health`: 200 once logged in to Telegram; before that 503, saying why (links already made
/// are served meanwhile, so a restart loop would only make things worse).
fn health(bot: &BotState) -> Reply {
    match bot.login.get() {
        Login::LoggedIn => text(StatusCode::Ok, "ok"),
        Login::Connecting => text(StatusCode::ServiceUnavailable, "telegram: connecting"),
        Login::Retrying { at } => {
            let secs = at.saturating_sub(now_unix());
            text(StatusCode::ServiceUnavailable, &format!("telegram: unreachable (retrying in {secs} s)"))
        }
    }
}

/// The link a token names, if it may be served now: the token's expiry and the row's are both
/// checked (the row is the record; a token minted before its row changed still carries the old
/// expiry), and a revoked link is refused.
fn find_link(core: &Core, token: &str) -> Result<Rc<LinkRow>, RouteError> {
    let now = now_unix();
    let claims = core.signer.verify(token, now).map_err(|e| match e {
        TokenError::Invalid => RouteError::BadToken,
        TokenError::Expired => RouteError::Gone,
    })?;
    let link =
        core.store.link(claims.link_id).map_err(RouteError::Store)?.ok_or(RouteError::NotFound("link not found"))?;
    if link.revoked {
        return Err(RouteError::Revoked);
    }
    if crate::links::expired(link.expires_at, now) {
        return Err(RouteError::Gone);
    }
    Ok(link)
}

/// `/dl` and `/stream`: the plan (validators, preconditions, one byte range), then the bytes.
async fn serve_file(
    app: &App,
    client: &Client,
    req: &Request,
    path: &LinkPath<'_>,
    disposition: Disposition,
) -> Result<Reply, RouteError> {
    let link = find_link(&app.core, path.token)?;
    if let Some(moved) = misnamed(&app.core, req, path, &link) {
        return Ok(moved);
    }
    let head = req.method() == Method::Head;
    let (len, opened) = file_len(&app.core, &link).await?;
    let now = now_unix();
    let plan = plan::plan(&link, |name| req.header(name), len, disposition, now);
    let status = StatusCode::try_from(plan.status).expect("plans use statuses http-types knows");
    let body = match plan.body {
        PlannedBody::None | PlannedBody::File { len: 0, .. } => Body::Bytes(Vec::new()),
        PlannedBody::Text(text) => Body::Bytes(text.as_bytes().to_vec()),
        // HEAD announces GET's length and starts no download.
        PlannedBody::File { len, .. } if head => Body::Length(len),
        PlannedBody::File { start, len, whole } => {
            if let Some(until) = app.serving.bandwidth_blocked_until(now) {
                return Err(RouteError::BandwidthExhausted(until - now));
            }
            // Counted to the link's owner, whoever downloads: links are made to be shared.
            if let Some(until) = app.serving.owner_blocked_until(&app.core, link.owner, now) {
                return Err(RouteError::ShareExhausted(until - now));
            }
            let opened = match opened {
                Some(opened) => opened,
                None => open(&app.core, &link).await?,
            };
            stream(app, client, &link, opened, start, len, whole).await?
        }
    };
    let mut reply = Reply::new(status, body);
    for (name, value) in plan.headers {
        reply.head.insert_header(name, value);
    }
    Ok(reply)
}

/// The length GET and HEAD both announce, from one place: the size stored at intake, or, when
/// the update had none, the size getFile gives (then the opened file comes along).
async fn file_len(core: &Core, link: &LinkRow) -> Result<(u64, Option<Opened>), RouteError> {
    if link.file_size > 0 {
        return Ok((link.file_size, None));
    }
    let opened = open(core, link).await?;
    match opened.known_len() {
        Some(len) => Ok((len, Some(opened))),
        // Neither the update nor getFile gave a size: serving it could cut the body short.
        _ => Err(RouteError::Upstream(TelegramError::Decode("telegram gave no size for this file".into()))),
    }
}

async fn open(core: &Core, link: &LinkRow) -> Result<Opened, RouteError> {
    core.files.open(&link.file_id, link.source).await.map_err(|e| match e {
        FileError::Telegram(e) => RouteError::Upstream(e),
        e => RouteError::File(e),
    })
}

/// The body: `len` bytes from `start`, a local file for the kernel to send, or bytes from
/// Telegram (a Bot API download or MTProto parts) through one tracked, counted byte source.
async fn stream(
    app: &App,
    client: &Client,
    link: &LinkRow,
    opened: Opened,
    start: u64,
    len: u64,
    whole: bool,
) -> Result<Body, RouteError> {
    // `client.peer` is the forwarded client behind a trusted proxy.
    if app.serving.streams.running_for(ClientKey::of(client.peer.ip())) >= app.core.config.http.downloads_per_ip {
        return Err(RouteError::TooManyDownloads);
    }
    let guard = app
        .serving
        .register_stream(&app.core.store, link.id, link.owner, client.peer, &client.end)
        .ok_or(RouteError::Busy)?;
    // A revoke (or a ban with revoke) while getFile was awaited found no stream of this link to
    // end; from here on it would, so look once more now that one is registered.
    match app.core.store.link(link.id).map_err(RouteError::Store)? {
        Some(now) if now.revoked => return Err(RouteError::Revoked),
        // Purged as expired meanwhile.
        None => return Err(RouteError::Gone),
        Some(_) => {}
    }
    app.serving.count_download(&app.core.store, link.id);
    let load = &client.load;
    let (upstream, skip) = match opened {
        Opened::Local { file, .. } => {
            return Ok(Body::File(FileBody::new(LocalFile::new(file, start), len, guard, load)));
        }
        Opened::Cloud(located) => cloud(&app.core, link, &located, start, len, whole).await?,
        Opened::Direct(file) => {
            let pool = app.core.files.direct().ok_or(RouteError::NotFound("file not available"))?;
            let mut body = file.read(pool, start, start + len - 1);
            body.first_bytes().await.map_err(|e| RouteError::Upstream(TelegramError::Network(e.into())))?;
            return Ok(Body::Relay(Relay::direct(Tracked::new(body, guard, load), len)));
        }
    };
    // Planned after the download started, so concurrent starts see each other.
    let buffer = buffer_plan(load.streams() + 1);
    let source = ByteSource::with_buffer(upstream, len, buffer).skipping(skip).loaded(load).tracked(guard);
    Ok(Body::Relay(Relay::buffered(source)))
}

/// A Bot API download of `len` bytes from `start`, and how many bytes to skip when Telegram
/// ignored the range.
async fn cloud(
    core: &Core,
    link: &LinkRow,
    located: &Located,
    start: u64,
    len: u64,
    whole: bool,
) -> Result<(Upstream, u64), RouteError> {
    let upstream_range = (!whole).then(|| format!("bytes={start}-{}", start + len - 1));
    let upstream = match core.files.api().download(&located.path, upstream_range.as_deref()).await {
        Ok(upstream) => upstream,
        Err(e) => {
            // The path may have gone stale before its cache entry did: ask Telegram next time.
            core.files.forget(&link.file_id);
            return Err(RouteError::Upstream(e));
        }
    };
    // Telegram may ignore Range and answer 200 with the whole file: then skip to the start.
    let skip = match upstream.status {
        206 => {
            let served = upstream.content_range.unwrap_or_default();
            if !served.starts_with(&format!("bytes {start}-")) {
                return Err(RouteError::Upstream(TelegramError::Decode(
                    format!("upstream sent range '{served}'").into(),
                )));
            }
            0
        }
        _ => start,
    };
    Ok((Upstream::Http(upstream.body), skip))
}

/// A named link whose name is not the file's (renamed, mistyped, cut differently): `301` to the
/// same face under the file's name, query kept, so a client saves under the real name. The token
/// alone decides the file; the short form (no name) is served as it is.
fn misnamed(core: &Core, req: &Request, path: &LinkPath<'_>, link: &LinkRow) -> Option<Reply> {
    if name_matches(path.name?, &link.file_name) {
        return None;
    }
    let mut location = path.face.url(&core.base_url, path.token, &link.file_name);
    if let Some(query) = req.query() {
        location.push('?');
        location.push_str(query);
    }
    let mut reply = text(StatusCode::MovedPermanently, "this link is under the file's name");
    reply.head.insert_header("location", location);
    Some(reply)
}

/// `/watch/<token>/<name>`: the player page (HEAD gets the same headers).
fn watch(core: &Core, req: &Request, path: &LinkPath<'_>) -> Result<Reply, RouteError> {
    let token = path.token;
    let link = find_link(core, token)?;
    if let Some(moved) = misnamed(core, req, path, &link) {
        return Ok(moved);
    }
    let stream_url = Face::Stream.url(&core.base_url, token, &link.file_name);
    let html = pages::watch_page(&pages::Watch {
        token,
        named: path.name.is_some(),
        name: &link.file_name,
        size: link.file_size,
        mime: &link.mime,
        stream_url: &stream_url,
    });
    let mut reply = Reply::new(StatusCode::Ok, Body::from(html));
    let res = &mut reply.head;
    res.insert_header("content-type", "text/html; charset=utf-8");
    res.insert_header("content-security-policy", pages::csp());
    res.insert_header("x-content-type-options", "nosniff");
    res.insert_header("referrer-policy", "no-referrer");
    res.insert_header("cache-control", "private, no-store");
    Ok(reply)
}

/// `/m3u/<token>/<name>`: a one-entry playlist of the stream URL, for mpv, VLC and other desktop players
/// (HEAD gets the same headers). The same link checks as every face.
fn playlist(core: &Core, req: &Request, path: &LinkPath<'_>) -> Result<Reply, RouteError> {
    let link = find_link(core, path.token)?;
    if let Some(moved) = misnamed(core, req, path, &link) {
        return Ok(moved);
    }
    let stream_url = Face::Stream.url(&core.base_url, path.token, &link.file_name);
    let mut reply = Reply::new(StatusCode::Ok, Body::from(players::m3u(&link.file_name, &stream_url)));
    let res = &mut reply.head;
    res.insert_header("content-type", "audio/x-mpegurl");
    let name = players::m3u_file_name(&link.file_name);
    res.insert_header("content-disposition", plan::content_disposition("attachment", &name));
    res.insert_header("x-content-type-options", "nosniff");
    res.insert_header("cache-control", "private, no-store");
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: u64, expires_at: u64) -> LinkRow {
        LinkRow {
            id,
            owner: 5,
            file_id: "FID".into(),
            file_unique_id: "UID".into(),
            file_name: "a.bin".into(),
            file_size: 10,
            mime: "application/octet-stream".into(),
            created_at: 100,
            expires_at,
            update_id: None,
            revoked: false,
            source: None,
        }
    }

    #[test]
    fn a_link_whose_stored_expiry_passed_is_gone_whatever_its_token_says() {
        let app = crate::testing::app("http://127.0.0.1:9", &[], std::rc::Rc::new(smol::LocalExecutor::new()));
        let now = now_unix();
        app.core.store.insert_link(&row(7, now - 10)).unwrap();
        app.core.store.insert_link(&row(8, now + 3600)).unwrap();
        let never = |id| app.core.signer.mint(crate::links::Claims { link_id: id, expires_at: 0 });
        assert!(matches!(find_link(&app.core, &never(7)), Err(RouteError::Gone)));
        assert_eq!(find_link(&app.core, &never(8)).unwrap().id, 8, "a stored expiry still ahead is served");
        let late = app.core.signer.mint(crate::links::Claims { link_id: 7, expires_at: now + 3600 });
        assert!(matches!(find_link(&app.core, &late), Err(RouteError::Gone)));
    }

    #[test]
    fn tokens_are_cut_in_logs() {
        assert_eq!(loggable("/dl/abcdefghijklmnop"), "/dl/abcdefgh…");
        assert_eq!(loggable("/health"), "/health");
    }

    #[test]
    fn a_route_error_reads_as_its_answer_and_keeps_a_wrapped_error_as_the_source() {
        use std::error::Error;
        assert_eq!(RouteError::Gone.to_string(), "link expired");
        assert!(RouteError::Gone.source().is_none());
        let upstream = RouteError::Upstream(TelegramError::Timeout);
        assert!(upstream.source().is_some_and(|s| s.is::<TelegramError>()));
        assert_eq!(upstream.to_string(), "telegram could not provide a file: telegram call timed out");
    }
}
