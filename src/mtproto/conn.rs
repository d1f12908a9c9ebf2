//! One MTProto connection to one DC: TCP (async-net), grammers' `Full` transport, the plain
//! handshake or a stored auth key, then `mtp::Encrypted` with calls matched by msg_id, driven by
//! one task on the caller's `LocalExecutor` (the loop grammers-mtsender runs on tokio).

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::time::{Duration, Instant};

use async_io::Timer;
use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt};
use grammers_mtproto::MsgId;
use grammers_mtproto::mtp::{self, Deserialization, Mtp};
use grammers_mtproto::transport::Transport;
use grammers_tl_types::{self as tl, Deserializable, RemoteCall, Serializable};
use smol::LocalExecutor;
use smol::channel;

use super::error::{InvokeError, TransportError};
use super::handshake::Finished;
use super::keys::ServerKey;
use super::plain::{self, Io};

/// Calls waiting for an answer on one connection; one more is refused with `Busy`. Downloads
/// take turns for these (`pool`): a hundred of them at 64 KiB a call keep ~2 MiB in flight.
pub(crate) const MAX_IN_FLIGHT: usize = 32;
/// A request larger than this is refused before `Encrypted::push` (which asserts ~1 MiB); ours
/// are a few hundred bytes.
const MAX_REQUEST: usize = 64 * 1024;
/// `ping_delay_disconnect` every minute, asking the server to close after 75 s of silence
/// (grammers-mtsender's `PING_DELAY` and delay).
const PING_DELAY: Duration = Duration::from_secs(60);
const DISCONNECT_DELAY: i32 = 75;
/// How long one socket write may take before the connection counts as dead.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// What an encrypted session starts from: a new handshake's result or a stored key.
pub(crate) type Session = Finished;

/// One live connection; dropping it stops its driver task and fails its calls with `Dropped`.
pub(crate) struct Conn {
    shared: Rc<RefCell<Shared>>,
    wake: channel::Sender<()>,
    _driver: smol::Task<()>,
}

struct Shared {
    calls: Vec<Call>,
    next_id: u64,
    dead: Option<InvokeError>,
}

struct Call {
    id: u64,
    body: Vec<u8>,
    /// `None` until pushed; then the message id and, once finalized, the container's.
    sent: Option<(MsgId, Option<MsgId>)>,
    reply: channel::Sender<Result<Vec<u8>, InvokeError>>,
}

/// Connects to `host:port`, runs the handshake unless `session` is given, and starts the
/// connection's driver on `ex`. `keys` are the accepted server keys; `timeout` bounds it all.
pub(crate) async fn connect(
    ex: &Rc<LocalExecutor<'static>>,
    host: &str,
    port: u16,
    session: Option<Session>,
    keys: &[ServerKey],
    timeout: Duration,
) -> Result<(Conn, Session), InvokeError> {
    let (io, session) = plain::open(host, port, session, keys).or(expire(timeout)).await?;
    Ok((start(ex, io, &session), session))
}

async fn expire<T>(after: Duration) -> Result<T, InvokeError> {
    Timer::after(after).await;
    Err(InvokeError::Timeout)
}

fn start(ex: &Rc<LocalExecutor<'static>>, io: Io, session: &Session) -> Conn {
    let mtp = mtp::Encrypted::build()
        .time_offset(session.time_offset)
        .first_salt(session.first_salt)
        .compression_threshold(None)
        .finish(session.auth_key);
    let shared = Rc::new(RefCell::new(Shared { calls: Vec::with_capacity(MAX_IN_FLIGHT), next_id: 0, dead: None }));
    // One pending wake is enough: the driver looks at every waiting call when it wakes.
    let (wake, woken) = channel::bounded(1);
    let driver = ex.spawn(drive(shared.clone(), io, mtp, woken));
    Conn { shared, wake, _driver: driver }
}

impl Conn {
    /// Why the connection is dead, if it is.
    pub(crate) fn dead(&self) -> Option<InvokeError> {
        self.shared.borrow().dead.clone()
    }

    /// Sends a typed request and parses its answer.
    pub(crate) async fn invoke<R: RemoteCall>(&self, request: &R, timeout: Duration) -> Result<R::Return, InvokeError> {
        let body = self.invoke_raw(request.to_bytes(), timeout).await?;
        match catch_unwind(AssertUnwindSafe(|| R::Return::from_bytes(&body))) {
            Ok(Ok(answer)) => Ok(answer),
            _ => Err(InvokeError::Decode),
        }
    }

    /// Sends serialized request bytes; the answer's bytes, or why not within `timeout`.
    pub(crate) async fn invoke_raw(&self, body: Vec<u8>, timeout: Duration) -> Result<Vec<u8>, InvokeError> {
        if body.is_empty() || !body.len().is_multiple_of(4) || body.len() > MAX_REQUEST {
            return Err(InvokeError::BadRequest);
        }
        let (reply, answer) = channel::bounded(1);
        let slot = {
            let mut shared = self.shared.borrow_mut();
            if let Some(dead) = &shared.dead {
                return Err(dead.clone());
            }
            if shared.calls.len() >= MAX_IN_FLIGHT {
                return Err(InvokeError::Busy);
            }
            let id = shared.next_id;
            shared.next_id += 1;
            shared.calls.push(Call { id, body, sent: None, reply });
            Slot { shared: &self.shared, id }
        };
        // Full means a wake is already pending.
        let _ = self.wake.try_send(());
        let result = async { answer.recv().await.unwrap_or(Err(InvokeError::Dropped)) }.or(expire(timeout)).await;
        drop(slot);
        result
    }
}

/// Takes a call out of the table when its caller stops waiting (answer, timeout or drop).
struct Slot<'a> {
    shared: &'a RefCell<Shared>,
    id: u64,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut shared = self.shared.borrow_mut();
        shared.calls.retain(|c| c.id != self.id);
    }
}

/// The connection's task: runs until an error, then marks the connection dead and fails every
/// waiting call with that error.
async fn drive(shared: Rc<RefCell<Shared>>, mut io: Io, mut mtp: mtp::Encrypted, woken: channel::Receiver<()>) {
    let error = match io.run(&shared, &mut mtp, &woken).await {
        Ok(()) => InvokeError::Dropped,
        Err(error) => error,
    };
    log::debug!("mtproto connection closed: {error}");
    let mut shared = shared.borrow_mut();
    for call in shared.calls.drain(..) {
        let _ = call.reply.try_send(Err(error.clone()));
    }
    shared.dead = Some(error);
}

enum Event {
    Read(usize),
    Wake,
    Ping,
}

impl Io {
    /// The loop: write what is pending, then wait for bytes, a new call or the ping time.
    /// `Ok(())` when the `Conn` is gone.
    async fn run(
        &mut self,
        shared: &RefCell<Shared>,
        mtp: &mut mtp::Encrypted,
        woken: &channel::Receiver<()>,
    ) -> Result<(), InvokeError> {
        let mut next_ping = Instant::now() + PING_DELAY;
        let mut ping = None;
        let mut ping_id = 0i64;
        loop {
            self.fill_write(shared, mtp, ping.take());
            if !self.write.is_empty() {
                let write = self.stream.write_all(&self.write[..]);
                async { write.await.map_err(|e| InvokeError::Transport(TransportError::during("write", e))) }
                    .or(expire(WRITE_TIMEOUT))
                    .await?;
                self.write.clear();
            }
            let (stream, spare) = (&mut self.stream, self.reader.spare());
            let read = async {
                stream
                    .read(spare)
                    .await
                    .map(Event::Read)
                    .map_err(|e| InvokeError::Transport(TransportError::during("read", e)))
            };
            let wake = async { woken.recv().await.map(|()| Event::Wake).map_err(|_| InvokeError::Dropped) };
            let timer = async {
                Timer::at(next_ping).await;
                Ok(Event::Ping)
            };
            match read.or(wake).or(timer).await {
                Ok(Event::Read(0)) => return Err(InvokeError::Transport("closed by the server".into())),
                Ok(Event::Read(n)) => self.on_read(n, shared, mtp)?,
                Ok(Event::Wake) => {}
                Ok(Event::Ping) => {
                    next_ping = Instant::now() + PING_DELAY;
                    ping_id += 1;
                    ping = Some(
                        tl::functions::PingDelayDisconnect { ping_id, disconnect_delay: DISCONNECT_DELAY }.to_bytes(),
                    );
                }
                Err(InvokeError::Dropped) => return Ok(()),
                Err(error) => return Err(error),
            }
        }
    }

    /// Pushes the ping and every unsent call (until the container is full or a salt request is
    /// outstanding), then finalizes: pending acks and salt requests ride along.
    fn fill_write(&mut self, shared: &RefCell<Shared>, mtp: &mut mtp::Encrypted, ping: Option<Vec<u8>>) {
        if !self.write.is_empty() {
            return;
        }
        if let Some(ping) = ping {
            mtp.push(&mut self.write, &ping);
        }
        let mut shared = shared.borrow_mut();
        for call in shared.calls.iter_mut().filter(|c| c.sent.is_none()) {
            match mtp.push(&mut self.write, &call.body) {
                Some(msg_id) => call.sent = Some((msg_id, None)),
                None => break,
            }
        }
        if let Some(container) = mtp.finalize(&mut self.write) {
            for call in shared.calls.iter_mut() {
                if let Some((_, in_container @ None)) = &mut call.sent {
                    *in_container = Some(container);
                }
            }
            self.transport.pack(&mut self.write);
        }
    }

    /// Takes `n` new bytes, then every whole frame in the buffer.
    fn on_read(&mut self, n: usize, shared: &RefCell<Shared>, mtp: &mut mtp::Encrypted) -> Result<(), InvokeError> {
        self.reader.filled += n;
        while let Some(frame) = self.reader.frame(&mut self.transport)? {
            let payload = &mut self.reader.buf[frame.data_range.clone()];
            let events = match catch_unwind(AssertUnwindSafe(|| mtp.deserialize(payload))) {
                Ok(Ok(events)) => events,
                Ok(Err(error)) => return Err(InvokeError::Transport(TransportError::during("server message", error))),
                Err(_) => return Err(InvokeError::Transport("a server message panicked the parser".into())),
            };
            dispatch(events, &mut shared.borrow_mut());
            self.reader.consume(frame.next_offset);
        }
        Ok(())
    }
}

/// Answers, errors and bad-message notices to the calls they name; retryable notices (16, 17,
/// 48) put the call back to be sent again. Updates are ignored: the bot reads them elsewhere.
fn dispatch(events: Vec<Deserialization>, shared: &mut Shared) {
    for event in events {
        match event {
            Deserialization::RpcResult(result) => reply(shared, result.msg_id, Ok(result.body)),
            Deserialization::RpcError(error) => {
                reply(shared, error.msg_id, Err(InvokeError::rpc(error.error.error_code, &error.error.error_message)))
            }
            Deserialization::Failure(failure) => reply(shared, failure.msg_id, Err(InvokeError::Decode)),
            Deserialization::BadMessage(bad) => {
                let named = |c: &Call| matches!(c.sent, Some((id, container)) if id == bad.msg_id || container == Some(bad.msg_id));
                for call in shared.calls.iter_mut().filter(|c| named(c)) {
                    if bad.retryable() {
                        call.sent = None;
                    } else {
                        let _ = call.reply.try_send(Err(InvokeError::BadMessage(bad.code)));
                    }
                }
                shared.calls.retain(|c| !named(c) || bad.retryable());
            }
            Deserialization::Update(_) | Deserialization::OwnUpdate { .. } => {}
        }
    }
}

fn reply(shared: &mut Shared, msg_id: MsgId, result: Result<Vec<u8>, InvokeError>) {
    if let Some(at) = shared.calls.iter().position(|c| matches!(c.sent, Some((id, _)) if id == msg_id)) {
        let call = shared.calls.swap_remove(at);
        let _ = call.reply.try_send(result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mtproto::plain::tests::{pair, read_frame, run, send_frame};
    use futures_lite::AsyncWriteExt;
    use grammers_mtproto::transport::Full;

    fn any_session() -> Session {
        Session { auth_key: [7; 256], time_offset: 0, first_salt: 1 }
    }

    #[test]
    fn a_transport_status_fails_the_waiting_call_and_the_connection() {
        run(|ex| async move {
            let (io, mut server) = pair().await;
            let conn = start(&ex, io, &any_session());
            let _server = ex.spawn(async move {
                let _request = read_frame(&mut server, &mut Full::new()).await;
                server.write_all(&(-404i32).to_le_bytes()).await.unwrap();
                server
            });
            let result = conn.invoke(&tl::functions::help::GetConfig {}, Duration::from_secs(5)).await;
            assert_eq!(result.err(), Some(InvokeError::Status(404)));
            assert_eq!(conn.dead(), Some(InvokeError::Status(404)));
            let again = conn.invoke_raw(tl::functions::help::GetConfig {}.to_bytes(), Duration::from_secs(5)).await;
            assert_eq!(again, Err(InvokeError::Status(404)));
        });
    }

    #[test]
    fn a_frame_declared_over_the_bound_drops_the_connection_instead_of_waiting() {
        run(|ex| async move {
            let (io, mut server) = pair().await;
            let conn = start(&ex, io, &any_session());
            let _server = ex.spawn(async move {
                let _request = read_frame(&mut server, &mut Full::new()).await;
                server.write_all(&(2 * 1024 * 1024i32).to_le_bytes()).await.unwrap();
                server
            });
            let result = conn.invoke_raw(tl::functions::help::GetConfig {}.to_bytes(), Duration::from_secs(10)).await;
            assert_eq!(result, Err(InvokeError::Transport(format!("a frame of {} bytes", 2 * 1024 * 1024).into())));
        });
    }

    #[test]
    fn a_message_under_another_auth_key_drops_the_connection() {
        run(|ex| async move {
            let (io, mut server) = pair().await;
            let conn = start(&ex, io, &any_session());
            let _server = ex.spawn(async move {
                let mut transport = Full::new();
                let _request = read_frame(&mut server, &mut transport).await;
                send_frame(&mut server, &mut Full::new(), &[0x5a; 96]).await;
                server
            });
            let result = conn.invoke_raw(tl::functions::help::GetConfig {}.to_bytes(), Duration::from_secs(10)).await;
            assert!(
                matches!(&result, Err(InvokeError::Transport(why)) if why.to_string().starts_with("server message")),
                "{result:?}"
            );
        });
    }

    #[test]
    fn calls_beyond_the_bound_are_busy_and_timed_out_calls_free_their_slots() {
        run(|ex| async move {
            let (io, server) = pair().await;
            let conn = Rc::new(start(&ex, io, &any_session()));
            let body = tl::functions::help::GetConfig {}.to_bytes();
            let waiting: Vec<_> = (0..MAX_IN_FLIGHT)
                .map(|_| {
                    ex.spawn({
                        let (conn, body) = (conn.clone(), body.clone());
                        async move { conn.invoke_raw(body, Duration::from_millis(300)).await }
                    })
                })
                .collect();
            while conn.shared.borrow().calls.len() < MAX_IN_FLIGHT {
                futures_lite::future::yield_now().await;
            }
            assert_eq!(conn.invoke_raw(body.clone(), Duration::from_secs(1)).await, Err(InvokeError::Busy));
            for call in waiting {
                assert_eq!(call.await, Err(InvokeError::Timeout));
            }
            assert_eq!(conn.shared.borrow().calls.len(), 0);
            assert_eq!(conn.invoke_raw(vec![1, 2, 3], Duration::from_secs(1)).await, Err(InvokeError::BadRequest));
            drop(server);
        });
    }
}
