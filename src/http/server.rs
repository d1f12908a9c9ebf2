//! Accepting HTTP connections: each one takes a slot in a fixed table (`MAX_CONNECTIONS`, at most
//! `MAX_CONNECTIONS_PER_IP` per client; a waiting connection or the slowest download makes room,
//! see `slots.rs`) and becomes a task on the same `LocalExecutor`, served by `conn.rs` under
//! `catch_unwind`. A newcomer for whom nothing can be closed gets a canned 503, counted in
//! `/metrics` like any other. The accept loop stops when shutdown fires; open connections finish
//! their request and close.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use std::time::Instant;

use async_net::{Shutdown as Half, TcpListener, TcpStream};
use futures_lite::future::FutureExt;
use futures_lite::io::AsyncWriteExt;
use smol::LocalExecutor;

use super::conn::{self, Connection};
use super::guard::{self, Guarded};
use super::slots;
use super::state::HttpState;
use crate::app::{App, Serving};
use crate::net::ClientKey;
use crate::panics::Domain;
use crate::shutdown::{self, Shutdown};

/// Refused connections being answered 503 at once; past this they are just closed.
pub const MAX_REJECTING: usize = 64;
/// How long a refused connection may take to receive its 503 and close.
const REJECT_DEADLINE: Duration = Duration::from_secs(2);
/// Bytes of a refused client's request read and dropped (so the close is not a reset that
/// destroys the 503 before the client reads it).
const REJECT_DRAIN: usize = 16 * 1024;
const REJECT_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Length: 37\r\nConnection: close\r\n\r\n\
too many connections, try again soon\n";

/// Counts one refused connection for as long as its 503 takes. Made in the accept loop, before
/// the task is spawned, so a burst of refusals is bounded by [`MAX_REJECTING`].
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
    let state = Rc::new(HttpState::new(&app.core.config));
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
        // Counted in the accept loop, before the task runs: `accept` returns at once while
        // connections are queued, so counting later would let a whole burst past the cap.
        let (end, ended) = shutdown::channel();
        let capped = !app.core.config.http.trust_proxy.trusts(peer.ip());
        let now = Instant::now();
        let slowest = || app.serving.streams.slowest(now, slots::SLOW_READER_AGE);
        let Some(slot) = slots::admit(&state.slots, ClientKey::of(peer.ip()), capped, end.clone(), now, slowest) else {
            refuse(&ex, &app.serving, &state, stream);
            log::debug!("connection from {peer} refused: no slot is free, waiting or slow enough to close");
            continue;
        };
        stream.set_nodelay(true).ok();
        let io = Guarded::new(stream, app.core.config.http.write_timeout);
        let conn =
            Connection { app: app.clone(), http: state.clone(), io, peer, slot, end, shutdown: shutdown.clone() };
        let app = app.clone();
        ex.spawn(async move {
            // The end signal first: an evicted connection must not answer one more request.
            let served = async {
                ended.wait().await;
                log::debug!("connection from {peer} ended by the server");
            }
            .or(conn::serve(conn));
            // The whole task is 2.7 KiB (measured with size_of_val on the release build): route and
            // refusal states are boxed in conn.rs so they do not size every idle connection.
            app.ops.panics.catch(Domain::Http, "a connection", served).await;
        })
        .detach();
    }
}

/// Spawns the canned 503 for a connection that found no slot (at most [`MAX_REJECTING`] at once;
/// past that it is just closed).
fn refuse(ex: &LocalExecutor<'static>, serving: &Serving, state: &HttpState, stream: TcpStream) {
    if state.rejecting.get() < MAX_REJECTING {
        serving.responses.count(503);
        let counted = Counted::new(&state.rejecting);
        ex.spawn(async move {
            let _counted = counted;
            reject(stream).await;
        })
        .detach();
    }
}

/// Answers a connection past the cap with a fixed 503, without parsing anything.
async fn reject(mut stream: TcpStream) {
    let answer = async {
        stream.write_all(REJECT_RESPONSE).await?;
        stream.shutdown(Half::Write)?;
        guard::drain(&mut stream, REJECT_DRAIN).await;
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
