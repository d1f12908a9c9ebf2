//! frankenstein's `AsyncTelegramApi` over our own HTTP/1.1 client: async-h1 on async-net, TLS by
//! futures-rustls (ring, webpki roots) for `https://`, plain TCP for `http://`. Keeps a few idle
//! connections for reuse, bounds the calls on the wire, puts a deadline on every call, honours 429
//! `retry_after` per chat, and never lets the token (part of every URL) reach a log or an error.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_net::TcpStream;
use frankenstein::AsyncTelegramApi;
use frankenstein::response::ErrorResponse;
use futures_lite::future::FutureExt;
use futures_lite::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use futures_rustls::TlsConnector;
use futures_rustls::client::TlsStream;
use futures_rustls::rustls;
use futures_rustls::rustls::pki_types::pem::PemObject;
use futures_rustls::rustls::pki_types::{CertificateDer, ServerName};
use http_types::{Body, Method, Request, Response, Url};
use smol::lock::Semaphore;

use super::calls::{self, CallPolicy, Deadline, Patience};
use super::flood::FloodTable;
use super::multipart;

/// Idle connections kept for reuse by calls and file downloads alike (the long poll holds one,
/// replies use another).
const MAX_IDLE: usize = 4;
/// An idle connection older than this is closed instead of reused. A server that closed it says
/// so at once (the call is then retried on a fresh one), but a connection a NAT or firewall
/// forgot on the way hangs until the deadline; this keeps that case rare. nginx, in front of
/// most HTTP APIs, keeps an idle connection 75 s by default (`keepalive_timeout`).
const IDLE_REUSE: Duration = Duration::from_secs(30);
/// Calls on the wire at once, other than the long poll and `getFile`: updates run side by side,
/// but each TLS connection costs tens of KiB, so replies beyond this wait for a turn (never while
/// sleeping out a 429). `getFile` has its own bounds (one per download, four pre-warms) and must
/// not make replies wait: a local server answers it only once it has the whole file.
pub const MAX_CALLS_ON_WIRE: usize = 16;
/// Deadline of an ordinary Bot API call, connect to last body byte.
const CALL_DEADLINE: Duration = Duration::from_secs(30);
/// Longest `retry_after` we sleep through inside one call; longer waits surface as errors (and
/// calls to that chat fail at once until the wait is over).
const MAX_RETRY_AFTER: u16 = 60;
/// How many times one call is retried after a 429.
const MAX_RATE_RETRIES: u32 = 3;
/// Largest Bot API JSON answer we read (a getUpdates batch of 100 fits many times).
const MAX_ANSWER_BYTES: u64 = 8 * 1024 * 1024;

pub use super::error::{DecodeError, NetworkError, TelegramError};

fn network(e: impl Into<NetworkError>) -> TelegramError {
    TelegramError::Network(e.into())
}

/// A failed handshake: a refused certificate (rustls reports it as the io error's inner
/// `rustls::Error::InvalidCertificate`) is told apart from a network failure.
fn handshake_error(host: &str, e: io::Error) -> TelegramError {
    match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::InvalidCertificate(why)) => TelegramError::Certificate(format!("{host}: {why:?}")),
        _ => network(e),
    }
}

/// Why `TELEGRAM_CA_FILE` holds no usable root.
#[derive(Debug)]
pub enum CaFileError {
    Read(io::Error),
    Pem(rustls::pki_types::pem::Error),
    Empty,
    /// `refused` of `total` certificates are not usable as roots.
    Unusable {
        refused: usize,
        total: usize,
    },
}

impl std::fmt::Display for CaFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CaFileError::Read(e) => write!(f, "{e}"),
            CaFileError::Pem(e) => write!(f, "{e:?}"),
            CaFileError::Empty => write!(f, "no PEM CERTIFICATE block found"),
            CaFileError::Unusable { refused, total } => {
                write!(f, "{refused} of {total} certificates are not usable as a root")
            }
        }
    }
}

impl std::error::Error for CaFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CaFileError::Read(e) => Some(e),
            CaFileError::Pem(e) => Some(e),
            CaFileError::Empty | CaFileError::Unusable { .. } => None,
        }
    }
}

/// Reads `TELEGRAM_CA_FILE`: one or more PEM `CERTIFICATE` blocks that rustls accepts as roots.
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, CaFileError> {
    let pem = std::fs::read(path).map_err(CaFileError::Read)?;
    let certs = CertificateDer::pem_slice_iter(&pem).collect::<Result<Vec<_>, _>>().map_err(CaFileError::Pem)?;
    if certs.is_empty() {
        return Err(CaFileError::Empty);
    }
    let mut probe = rustls::RootCertStore::empty();
    let (_, refused) = probe.add_parsable_certificates(certs.iter().cloned());
    if refused > 0 {
        return Err(CaFileError::Unusable { refused, total: certs.len() });
    }
    Ok(certs)
}

/// The error in a non-2xx answer: Telegram's JSON error, or the bare status.
fn api_error(status: u16, body: &[u8]) -> TelegramError {
    match serde_json::from_slice::<ErrorResponse>(body) {
        Ok(e) => TelegramError::Api {
            code: e.error_code,
            description: e.description,
            retry_after: e.parameters.and_then(|p| p.retry_after),
        },
        Err(_) => TelegramError::Api {
            code: u64::from(status),
            description: format!("http status {status}"),
            retry_after: None,
        },
    }
}

/// The JSON body of a call and the chat it writes to.
fn json_body<P: serde::Serialize>(params: Option<&P>) -> Result<(Vec<u8>, Option<i64>), TelegramError> {
    let Some(params) = params else { return Ok((Vec::new(), None)) };
    let value = serde_json::to_value(params).map_err(|e| TelegramError::Decode(e.into()))?;
    let json = serde_json::to_vec(&value).map_err(|e| TelegramError::Decode(e.into()))?;
    Ok((json, chat_of(&value)))
}

/// The chat a call writes to, from its parameters (`@username` chats are not told apart).
fn chat_of(params: &serde_json::Value) -> Option<i64> {
    params.get("chat_id").and_then(serde_json::Value::as_i64)
}

/// Where the Bot API lives, parsed once from `TELEGRAM_API_URL`.
struct Endpoint {
    host: String,
    port: u16,
    base: Url,
}

/// The Bot API client. Cheap to clone; `Send + Sync` because frankenstein's trait requires it.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Endpoint,
    token: String,
    tls: Option<TlsConnector>,
    /// Connections that carried a whole answer, and when they were put back.
    idle: Mutex<Vec<(Conn, Instant)>>,
    long_poll_deadline: Duration,
    /// Turns on the wire (see [`MAX_CALLS_ON_WIRE`]).
    wire: Semaphore,
    /// Chats a 429 holds back.
    flood: Mutex<FloodTable>,
    /// The last `getUpdates` failed and the poller is backing off (`/api/info` says so).
    polls_failing: std::sync::atomic::AtomicBool,
}

impl Transport {
    /// `api_url` is `http(s)://host[:port][/prefix]`; `poll_timeout_secs` sizes the getUpdates
    /// deadline (it must outlast the long poll); `extra_roots` (from `TELEGRAM_CA_FILE`) are
    /// trusted besides the bundled webpki roots.
    pub fn new(
        api_url: &str,
        token: &str,
        poll_timeout_secs: u32,
        extra_roots: Vec<CertificateDer<'static>>,
    ) -> Result<Transport, TelegramError> {
        let base = Url::parse(&format!("{}/", api_url.trim_end_matches('/')))
            .map_err(|e| network(format!("bad api url: {e}")))?;
        let tls = base.scheme() == "https";
        let host = base.host_str().ok_or_else(|| network("api url has no host"))?.to_owned();
        let port = base.port_or_known_default().ok_or_else(|| network("api url has no port"))?;
        let connector = tls.then(|| {
            let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            // Checked by `read_ca_file` already; a certificate rustls cannot use is skipped.
            roots.add_parsable_certificates(extra_roots);
            let config =
                rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                    .with_safe_default_protocol_versions()
                    .expect("ring supports the default protocol versions")
                    .with_root_certificates(roots)
                    .with_no_client_auth();
            TlsConnector::from(Arc::new(config))
        });
        Ok(Transport {
            inner: Arc::new(Inner {
                endpoint: Endpoint { host, port, base },
                token: token.to_owned(),
                tls: connector,
                idle: Mutex::new(Vec::with_capacity(MAX_IDLE)),
                long_poll_deadline: Duration::from_secs(u64::from(poll_timeout_secs) + 15),
                wire: Semaphore::new(MAX_CALLS_ON_WIRE),
                flood: Mutex::new(FloodTable::default()),
                polls_failing: std::sync::atomic::AtomicBool::new(false),
            }),
        })
    }

    fn url(&self, path: &str) -> Result<Url, TelegramError> {
        // `./` keeps a path like `bot123:abc/getMe` from parsing as a URL with scheme `bot123`.
        self.inner.endpoint.base.join(&format!("./{path}")).map_err(|_| TelegramError::Decode("bad url path".into()))
    }

    async fn connect(&self) -> Result<Conn, TelegramError> {
        let ep = &self.inner.endpoint;
        let tcp = TcpStream::connect((ep.host.as_str(), ep.port)).await.map_err(network)?;
        tcp.set_nodelay(true).ok();
        let stream = match &self.inner.tls {
            None => Stream::Plain(tcp),
            Some(connector) => {
                let name = ServerName::try_from(ep.host.clone()).map_err(|e| network(NetworkError::from_error(e)))?;
                Stream::Tls(Box::new(connector.connect(name, tcp).await.map_err(|e| handshake_error(&ep.host, e))?))
            }
        };
        Ok(Conn(Arc::new(Mutex::new(stream))))
    }

    /// The most recently used idle connection young enough to reuse; older ones are closed.
    fn take_idle(&self) -> Option<Conn> {
        let mut idle = self.inner.idle.lock().expect("idle pool lock is never poisoned");
        let now = Instant::now();
        idle.retain(|(_, since)| now.duration_since(*since) < IDLE_REUSE);
        idle.pop().map(|(conn, _)| conn)
    }

    fn put_idle(&self, conn: Conn) {
        let mut idle = self.inner.idle.lock().expect("idle pool lock is never poisoned");
        if idle.len() < MAX_IDLE {
            idle.push((conn, Instant::now()));
        }
    }

    /// Connections kept open for reuse now.
    pub fn idle_count(&self) -> usize {
        self.inner.idle.lock().expect("idle pool lock is never poisoned").len()
    }

    /// Drops idle connections (after the network changed, or to free memory).
    pub fn clear_idle(&self) {
        self.inner.idle.lock().expect("idle pool lock is never poisoned").clear();
    }

    /// Sends one request and reads the whole (bounded) answer. Reuses an idle connection and, if
    /// that stale connection fails before any answer, retries once on a fresh one.
    async fn exchange(
        &self,
        make: impl Fn() -> Result<Request, TelegramError>,
    ) -> Result<(u16, Vec<u8>), TelegramError> {
        if let Some(conn) = self.take_idle()
            && let Ok(answer) = self.exchange_on(conn, make()?).await
        {
            return Ok(answer);
        }
        let conn = self.connect().await?;
        self.exchange_on(conn, make()?).await
    }

    async fn exchange_on(&self, conn: Conn, req: Request) -> Result<(u16, Vec<u8>), TelegramError> {
        let mut res = async_h1::client::connect(conn.clone(), req).await.map_err(network)?;
        let status = u16::from(res.status());
        let close = res.header("connection").is_some_and(|v| v.as_str().eq_ignore_ascii_case("close"));
        let declared = res.len();
        let mut body = Vec::new();
        res.take_body().take(MAX_ANSWER_BYTES + 1).read_to_end(&mut body).await.map_err(network)?;
        if body.len() as u64 > MAX_ANSWER_BYTES {
            return Err(TelegramError::Decode("answer too large".into()));
        }
        // async-h1 ends a body at EOF without checking Content-Length: an answer cut short is a
        // broken connection (the call may have taken effect), not an answer we cannot read.
        if declared.is_some_and(|n| body.len() < n) {
            return Err(network("connection closed in the middle of the answer"));
        }
        // The answer was read to its end, so the connection can carry the next request.
        if !close {
            self.put_idle(conn);
        }
        Ok((status, body))
    }

    /// One Bot API call with JSON or multipart body: deadline, 429 retries, error decoding.
    /// `chat` is the chat the call writes to: a 429 then holds back that chat only (every call to
    /// it waits, from whichever task), never other chats.
    async fn call<Output: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        chat: Option<i64>,
        policy: CallPolicy,
        make: impl Fn() -> Result<Request, TelegramError>,
    ) -> Result<Output, TelegramError> {
        let patience = policy.patience;
        let mut attempt = 0;
        loop {
            if let Some(chat) = chat {
                self.wait_for_chat(chat, patience).await?;
            }
            let (status, body) = self.exchange_in_turn(policy, &make).await?;
            if (200..300).contains(&status) {
                return serde_json::from_slice(&body)
                    .map_err(|e| TelegramError::Decode(DecodeError::during(method, e)));
            }
            match api_error(status, &body) {
                TelegramError::Api { code: 429, retry_after: Some(secs), .. }
                    if secs <= MAX_RETRY_AFTER && attempt < MAX_RATE_RETRIES && patience == Patience::Wait =>
                {
                    attempt += 1;
                    let wait = Duration::from_secs(u64::from(secs.max(1)));
                    crate::event::emit(crate::event::Event::RateLimited { method, secs: secs.into() });
                    match chat {
                        Some(chat) => {
                            log::warn!(
                                "telegram rate limit on {method} to chat {chat}: holding that chat {secs}s as asked"
                            );
                            self.hold(chat, wait);
                        }
                        None => {
                            log::warn!("telegram rate limit on {method}: waiting {secs}s as asked");
                            async_io::Timer::after(wait).await;
                        }
                    }
                }
                err @ TelegramError::Api { code: 429, retry_after: Some(secs), .. } => {
                    if let Some(chat) = chat {
                        self.hold(chat, Duration::from_secs(u64::from(secs)));
                    }
                    return Err(err);
                }
                err => return Err(err),
            }
        }
    }

    /// One exchange under its deadline, after a turn on the wire (see [`MAX_CALLS_ON_WIRE`]; the
    /// long poll runs one at a time and never waits behind replies).
    async fn exchange_in_turn(
        &self,
        policy: CallPolicy,
        make: impl Fn() -> Result<Request, TelegramError>,
    ) -> Result<(u16, Vec<u8>), TelegramError> {
        let deadline = match policy.deadline {
            Deadline::LongPoll => self.inner.long_poll_deadline,
            Deadline::Call => CALL_DEADLINE,
        };
        let _turn = if policy.wire_turn { Some(self.inner.wire.acquire().await) } else { None };
        self.exchange(make)
            .or(async {
                async_io::Timer::after(deadline).await;
                Err(TelegramError::Timeout)
            })
            .await
    }

    /// Waits out a hold on `chat`. A hold longer than one call ever sleeps fails the call at once,
    /// unsent (sending into a flood wait only makes Telegram extend it); so does any hold for a
    /// call that would rather be skipped.
    async fn wait_for_chat(&self, chat: i64, patience: Patience) -> Result<(), TelegramError> {
        loop {
            let left = self.inner.flood.lock().expect("flood table lock is never poisoned").left(chat, Instant::now());
            let Some(left) = left else { return Ok(()) };
            if left > Duration::from_secs(u64::from(MAX_RETRY_AFTER)) || patience == Patience::Skip {
                return Err(TelegramError::Api {
                    code: 429,
                    description: format!("chat {chat} is held back by an earlier rate limit"),
                    retry_after: Some(u16::try_from(left.as_secs()).unwrap_or(u16::MAX)),
                });
            }
            async_io::Timer::after(left).await;
        }
    }

    /// A JSON call to `method` with the body already serialized (so no `Params` lives across an
    /// await: frankenstein's futures must be `Send`, its `Params` need not be `Sync`).
    async fn post_json<Output: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        json: Vec<u8>,
        chat: Option<i64>,
        policy: CallPolicy,
    ) -> Result<Output, TelegramError> {
        let url = self.url(&format!("bot{}/{}", self.inner.token, method))?;
        self.call(method, chat, policy, || {
            let mut req = Request::new(Method::Post, url.clone());
            if !json.is_empty() {
                req.insert_header("content-type", "application/json");
            }
            req.set_body(Body::from_bytes(json.clone()));
            Ok(req)
        })
        .await
    }

    /// Like [`AsyncTelegramApi::request`], but a 429, or a hold on the chat from an earlier one,
    /// fails the call at once instead of waiting: for work that can be skipped (the `LOG_CHANNEL`
    /// backup), so one busy chat written to by every update never holds them all up.
    pub async fn request_or_skip<Params, Output>(&self, method: &str, params: &Params) -> Result<Output, TelegramError>
    where
        Params: serde::ser::Serialize,
        Output: serde::de::DeserializeOwned,
    {
        let (json, chat) = json_body(Some(params))?;
        self.post_json(method, json, chat, calls::policy(method).or_skip()).await
    }

    /// Records whether the last `getUpdates` failed (the poller sets it after every poll).
    pub fn set_polls_failing(&self, failing: bool) {
        self.inner.polls_failing.store(failing, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the last `getUpdates` failed.
    pub fn polls_failing(&self) -> bool {
        self.inner.polls_failing.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn hold(&self, chat: i64, wait: Duration) {
        let now = Instant::now();
        self.inner.flood.lock().expect("flood table lock is never poisoned").hold(chat, now + wait, now);
    }

    /// Starts downloading `file_path` (from `getFile`), asking for `range` (`bytes=…` value) if
    /// given, on an idle connection if one is young enough (a stale one is retried once on a
    /// fresh connection: a GET may be sent twice). Returns the answer with its body still
    /// streaming; the deadline covers the response head only. Reuse saves a TCP and a TLS
    /// handshake per download, two round trips to Telegram on every seek of a player.
    pub async fn download(&self, file_path: &str, range: Option<&str>) -> Result<Download, TelegramError> {
        let url = self.url(&format!("file/bot{}/{}", self.inner.token, file_path))?;
        let make = || {
            let mut req = Request::new(Method::Get, url.clone());
            if let Some(range) = range {
                req.insert_header("range", range);
            }
            req
        };
        let fetch = async {
            if let Some(conn) = self.take_idle()
                && let Ok(res) = async_h1::client::connect(conn.clone(), make()).await
            {
                return Ok((conn, res));
            }
            let conn = self.connect().await?;
            let res = async_h1::client::connect(conn.clone(), make()).await.map_err(network)?;
            Ok((conn, res))
        };
        let (conn, res) = fetch
            .or(async {
                async_io::Timer::after(CALL_DEADLINE).await;
                Err(TelegramError::Timeout)
            })
            .await?;
        let status = u16::from(res.status());
        if status != 200 && status != 206 {
            return Err(TelegramError::Api {
                code: u64::from(status),
                description: format!("file download answered {status}"),
                retry_after: None,
            });
        }
        Ok(Download::new(res, conn, self.clone()))
    }
}

/// A Bot API file download under way: the answer's status and `Content-Range`, and its body.
pub struct Download {
    pub status: u16,
    pub content_range: Option<String>,
    pub body: DownloadBody,
}

impl Download {
    fn new(mut res: Response, conn: Conn, pool: Transport) -> Download {
        let close = res.header("connection").is_some_and(|v| v.as_str().eq_ignore_ascii_case("close"));
        let chunked = res.header("transfer-encoding").is_some();
        // Only a body whose end is its declared length leaves the connection ready for the next
        // request; chunked bodies end at a terminator read after their last byte.
        let left = res.len().filter(|_| !close && !chunked).map(|n| n as u64);
        Download {
            status: u16::from(res.status()),
            content_range: res.header("content-range").map(|v| v.last().as_str().to_owned()),
            body: DownloadBody { body: res.take_body(), keep: left.map(|_| (conn, pool)), left: left.unwrap_or(0) },
        }
    }
}

/// A download's body. Once it has handed on its declared length, its connection goes back to
/// the idle pool; a body dropped before that (a viewer who left, a seek) closes it.
pub struct DownloadBody {
    body: Body,
    /// The connection and the pool it returns to; `None` when it cannot carry another request.
    keep: Option<(Conn, Transport)>,
    /// Declared bytes not yet read.
    left: u64,
}

impl AsyncRead for DownloadBody {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let n = std::task::ready!(Pin::new(&mut this.body).poll_read(cx, buf))?;
        this.left = this.left.saturating_sub(n as u64);
        if this.left == 0
            && n > 0
            && let Some((conn, pool)) = this.keep.take()
        {
            pool.put_idle(conn);
        }
        Poll::Ready(Ok(n))
    }
}

#[async_trait::async_trait]
impl AsyncTelegramApi for Transport {
    type Error = TelegramError;

    async fn request<Params, Output>(&self, method: &str, params: Option<Params>) -> Result<Output, Self::Error>
    where
        Params: serde::ser::Serialize + std::fmt::Debug + std::marker::Send,
        Output: serde::de::DeserializeOwned,
    {
        let (json, chat) = json_body(params.as_ref())?;
        self.post_json(method, json, chat, calls::policy(method)).await
    }

    async fn request_with_form_data<Params, Output>(
        &self,
        method: &str,
        params: Params,
        files: Vec<(&str, PathBuf)>,
    ) -> Result<Output, Self::Error>
    where
        Params: serde::ser::Serialize + std::fmt::Debug + std::marker::Send,
        Output: serde::de::DeserializeOwned,
    {
        let chat = serde_json::to_value(&params).ok().as_ref().and_then(chat_of);
        let form =
            multipart::Form::new(&params, &files).map_err(|e| TelegramError::Decode(DecodeError::from_error(e)))?;
        let url = self.url(&format!("bot{}/{}", self.inner.token, method))?;
        self.call(method, chat, calls::policy(method), || {
            let mut req = Request::new(Method::Post, url.clone());
            req.insert_header("content-type", form.content_type());
            req.set_body(form.body().map_err(network)?);
            Ok(req)
        })
        .await
    }
}

/// A TCP or TLS stream.
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// A shareable handle on one connection. async-h1's client takes its stream by value and keeps it
/// inside the response body; a handle lets the pool keep the connection after the body is read.
/// The lock is only held inside one `poll_*` call, so it never contends on one thread.
#[derive(Clone)]
struct Conn(Arc<Mutex<Stream>>);

impl Conn {
    fn with<R>(&self, f: impl FnOnce(Pin<&mut dyn AsyncReadWrite>) -> R) -> R {
        let mut guard = self.0.lock().expect("connection lock is never poisoned");
        match &mut *guard {
            Stream::Plain(s) => f(Pin::new(s as &mut dyn AsyncReadWrite)),
            Stream::Tls(s) => f(Pin::new(s.as_mut() as &mut dyn AsyncReadWrite)),
        }
    }
}

trait AsyncReadWrite: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> AsyncReadWrite for T {}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.with(|s| s.poll_read(cx, buf))
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.with(|s| s.poll_write(cx, buf))
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with(|s| s.poll_flush(cx))
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with(|s| s.poll_close(cx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_never_show_the_url() {
        let t = Transport::new("http://127.0.0.1:1", "123:SECRET", 5, Vec::new()).unwrap();
        let err = smol::block_on(async { t.get_me().await.unwrap_err() });
        assert!(matches!(err, TelegramError::Network(_)), "{err:?}");
        assert!(!err.to_string().contains("SECRET"));
    }

    #[test]
    fn https_endpoint_builds_a_tls_connector() {
        let t = Transport::new("https://api.telegram.org", "1:x", 5, Vec::new()).unwrap();
        assert!(t.inner.tls.is_some());
        assert_eq!(t.inner.endpoint.port, 443);
    }

    #[test]
    fn an_unreadable_ca_file_keeps_the_io_error_as_its_source() {
        let e = read_ca_file(Path::new("/nonexistent/ca.pem")).unwrap_err();
        assert!(std::error::Error::source(&e).is_some_and(|s| s.is::<io::Error>()), "{e}");
    }
}
