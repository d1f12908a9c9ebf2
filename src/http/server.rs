//! Accepting HTTP connections: each one is a task on the same `LocalExecutor`, served by async-h1
//! with our router. The accept loop stops when shutdown fires.

use std::rc::Rc;
use std::time::Duration;

use async_net::TcpListener;
use futures_lite::future::FutureExt;
use smol::LocalExecutor;

use super::routes;
use crate::app::App;
use crate::shutdown::{self, Shutdown};

/// Accepts connections until `shutdown` fires.
pub async fn run(ex: Rc<LocalExecutor<'static>>, app: Rc<App>, listener: TcpListener, shutdown: Shutdown) {
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
        match accepted {
            Ok((stream, peer)) => {
                stream.set_nodelay(true).ok();
                let app = app.clone();
                // The stream tracker ends this connection through `end` (stalled or shutdown).
                let (end, ended) = shutdown::channel();
                ex.spawn(async move {
                    let serve = async_h1::accept(stream, |req| routes::handle(app.clone(), peer, end.clone(), req));
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
            Err(e) => {
                // Out of file descriptors and similar: wait a little instead of spinning.
                log::warn!("accept failed: {e}");
                async_io::Timer::after(Duration::from_millis(100)).await;
            }
        }
    }
}
