//! Accepting HTTP connections: at most `MAX_CONNECTIONS` open (a canned 503 beyond), each one a
//! task on the same `LocalExecutor`, its socket wrapped in a [`Guarded`], served by async-h1 with
//! our router. The accept loop stops when shutdown fires; requests that still arrive on open
//! connections during the shutdown grace period close their connection, and new downloads get a
//! 503 (the grace period is for the downloads already running).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use async_h1::server::{ConnectionStatus, Server};
use async_net::{Shutdown as Half, TcpListener, TcpStream};
use futures_lite::future::FutureExt;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use http_types::{Method, Request, Response, StatusCode};
use smol::LocalExecutor;

use super::body::Load;
use super::guard::{Guarded, Timeouts};
use super::routes::{self, Client};
use crate::app::App;
use crate::limits::ClientLimiter;
use crate::shutdown::{self, Shutdown};

/// Connections past the cap that are being answered 503 at once; past this they are just closed.
pub const MAX_REJECTING: usize = 64;
/// How long a refused connection may take to receive its 503 and close.
const REJECT_DEADLINE: Duration = Duration::from_secs(2);
/// Bytes of a refused client's request read and dropped (so the close is not a reset that
/// destroys the 503 before the client reads it).
const REJECT_DRAIN: usize = 16 * 1024;
const REJECT_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Length: 37\r\nConnection: close\r\n\r\n\
too many connections, try again soon\n";

/// State the HTTP side shares between connections (one thread: `Cell`/`RefCell`).
pub struct HttpState {
    /// Requests and invalid tokens per client address.
    pub limiter: RefCell<ClientLimiter>,
    open: Rc<Cell<usize>>,
    rejecting: Rc<Cell<usize>>,
    /// File bodies streaming now (buffer sizes follow it).
    pub load: Load,
}

impl HttpState {
    pub fn new(app: &App) -> HttpState {
        let http = &app.config.http;
        HttpState {
            limiter: RefCell::new(ClientLimiter::new(http.requests_per_minute, http.bad_tokens_per_minute)),
            open: Rc::default(),
            rejecting: Rc::default(),
            load: Load::default(),
        }
    }

    /// Connections open now.
    pub fn open_connections(&self) -> usize {
        self.open.get()
    }
}

/// Counts one connection for as long as it lives. Made in the accept loop, before the task is
/// spawned, and moved into it: `accept` returns at once while connections are queued, so counting
/// only once a task first ran would let a whole burst past the cap. Dropping the task (run or
/// not) uncounts it.
struct Counted(Rc<Cell<usize>>);

impl Counted {
    fn new(cell: &Rc<Cell<usize>>) -> Counted {
        cell.set(cell.get() + 1);
        Counted(cell.clone())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

/// Accepts connections until `shutdown` fires.
pub async fn run(ex: Rc<LocalExecutor<'static>>, app: Rc<App>, listener: TcpListener, shutdown: Shutdown) {
    let state = Rc::new(HttpState::new(&app));
    let timeouts = Timeouts { idle: app.config.http.idle, write: app.config.http.write_timeout };
    loop {
        let accepted = listener
            .accept()
            .or(async {
                shutdown.wait().await;
                Err(std::io::Error::other("shutdown"))
            })
            .await;
        if shutdown.is_fired() {
            break;
        }
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and similar: wait a little instead of spinning.
                log::warn!("accept failed: {e}");
                async_io::Timer::after(Duration::from_millis(100)).await;
                continue;
            }
        };
        if state.open.get() >= app.config.max_connections {
            if state.rejecting.get() < MAX_REJECTING {
                let counted = Counted::new(&state.rejecting);
                ex.spawn(async move {
                    let _counted = counted;
                    reject(stream).await;
                })
                .detach();
            }
            log::debug!("connection from {peer} refused: {} open", state.open.get());
            continue;
        }
        stream.set_nodelay(true).ok();
        let counted = Counted::new(&state.open);
        let app = app.clone();
        let state = state.clone();
        let shutdown = shutdown.clone();
        ex.spawn(async move {
            let _counted = counted;
            let conn = Guarded::new(stream, timeouts, state.load.clone());
            // The stream tracker ends this connection through `end` (stalled or shutdown).
            let (end, ended) = shutdown::channel();
            let client = Client { peer, end, conn: conn.clone() };
            let closing = shutdown.clone();
            let endpoint = move |req: Request| {
                let draining = closing.is_fired();
                let handled = (!(draining && starts_download(&req)))
                    .then(|| routes::handle(app.clone(), state.clone(), client.clone(), req));
                let (app, closing) = (app.clone(), closing.clone());
                // Boxed: the handler's state (about 4 KiB) lives only while it runs, not for the
                // whole connection (the task is sized by its largest state; measured 9.8 KiB
                // unboxed, 6.1 boxed).
                Box::pin(async move {
                    let Some(handled) = handled else {
                        app.responses.count(503);
                        return Ok(shutting_down());
                    };
                    let mut res = handled.await?;
                    if draining || closing.is_fired() {
                        // Shutting down: this connection carries no further request.
                        res.insert_header("connection", "close");
                    }
                    Ok(res)
                })
            };
            // async-h1's own loop, one request at a time: the guard has to learn when the next
            // request head starts (after the previous body was read), and shutdown stops the loop.
            let mut server = Server::new(conn.clone(), endpoint);
            let serve = async {
                while server.accept_one().await? == ConnectionStatus::KeepAlive && !shutdown.is_fired() {
                    conn.next_request();
                }
                Ok(())
            };
            let ended = async {
                ended.wait().await;
                Err(http_types::Error::from_str(500, "ended by the server"))
            };
            if let Err(e) = serve.or(ended).await {
                log::debug!("connection from {peer} ended: {e}");
            }
        })
        .detach();
    }
}

/// Whether `req` would start a file body (what the shutdown grace period does not take on).
fn starts_download(req: &Request) -> bool {
    let path = req.url().path();
    req.method() == Method::Get && (path.starts_with("/dl/") || path.starts_with("/stream/"))
}

/// The answer to a new download once shutdown began.
fn shutting_down() -> Response {
    let mut res = Response::new(StatusCode::ServiceUnavailable);
    res.insert_header("content-type", "text/plain; charset=utf-8");
    res.insert_header("retry-after", "5");
    res.insert_header("connection", "close");
    res.set_body("shutting down, try again soon\n");
    res
}

/// Answers a connection past the cap with a fixed 503, without parsing anything.
async fn reject(mut stream: TcpStream) {
    let answer = async {
        stream.write_all(REJECT_RESPONSE).await?;
        stream.shutdown(Half::Write)?;
        let mut sink = [0u8; 1024];
        let mut drained = 0;
        while drained < REJECT_DRAIN {
            match stream.read(&mut sink).await? {
                0 => break,
                n => drained += n,
            }
        }
        Ok::<(), std::io::Error>(())
    };
    let _ = answer
        .or(async {
            async_io::Timer::after(REJECT_DEADLINE).await;
            Ok(())
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canned_503_declares_its_exact_length() {
        let text = std::str::from_utf8(REJECT_RESPONSE).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let declared = head.lines().find_map(|l| l.strip_prefix("Content-Length: ")).unwrap();
        assert_eq!(declared.parse::<usize>().unwrap(), body.len());
        assert!(head.starts_with("HTTP/1.1 503 ") && head.contains("\r\nRetry-After: 5\r\n"));
    }
}
