//! A connection's plain side: frames read into a bounded buffer, unencrypted calls, and the auth
//! key handshake made over them (a new key is made again after a `dh_gen_retry`).

use std::panic::{AssertUnwindSafe, catch_unwind};

use async_net::TcpStream;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use grammers_crypto::DequeBuffer;
use grammers_mtproto::mtp::{self, Deserialization, Mtp};
use grammers_mtproto::transport::{self, Full, Transport, UnpackedOffset};
use grammers_tl_types::Serializable;

use super::error::{InvokeError, TransportError};
use super::handshake::{self, Finished as Session};
use super::keys::ServerKey;

/// The largest transport frame accepted: 1 MiB of file data and room for headers, as
/// grammers-mtsender's `MAXIMUM_DATA`. A larger declared length drops the connection.
pub(crate) const MAX_FRAME: usize = 1024 * 1024 + 8 * 1024;
/// The read buffer starts here and doubles up to `MAX_FRAME` when a frame needs it.
const FIRST_READ_BUFFER: usize = 16 * 1024;
/// Room in front of the write buffer for the headers `finalize` and `pack` prepend.
pub(super) const HEADROOM: usize = mtp::MAX_TRANSPORT_HEADER_LEN
    + mtp::ENCRYPTED_PACKET_HEADER_LEN
    + mtp::PLAIN_PACKET_HEADER_LEN
    + mtp::MESSAGE_CONTAINER_HEADER_LEN;

/// The socket side a connection owns: stream, transport, both buffers.
pub(super) struct Io {
    pub(super) stream: TcpStream,
    pub(super) transport: Full,
    pub(super) reader: Reader,
    pub(super) write: DequeBuffer<u8>,
}

/// A read buffer of at most `MAX_FRAME` bytes holding the transport frames not yet consumed.
pub(super) struct Reader {
    pub(super) buf: Vec<u8>,
    pub(super) filled: usize,
}

/// Connects to `host:port` and, unless `session` is given, makes a new auth key over it.
pub(super) async fn open(
    host: &str,
    port: u16,
    session: Option<Session>,
    keys: &[ServerKey],
) -> Result<(Io, Session), InvokeError> {
    let stream = TcpStream::connect((host, port))
        .await
        .map_err(|e| InvokeError::Transport(TransportError::during("connect", e)))?;
    let mut io =
        Io { stream, transport: Full::new(), reader: Reader::new(), write: DequeBuffer::with_capacity(1024, HEADROOM) };
    let session = match session {
        Some(session) => session,
        None => new_auth_key(&mut io, keys).await?,
    };
    Ok((io, session))
}

fn system_random(buf: &mut [u8]) -> Result<(), InvokeError> {
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), buf)
        .map_err(|_| InvokeError::Transport("the system random source failed".into()))
}

/// Handshakes a server answers `dh_gen_retry` to (or `dh_gen_fail`) before the connection gives up.
const HANDSHAKE_ATTEMPTS: usize = 3;

/// Makes a new auth key, starting the handshake again (with new nonces) after a `dh_gen_retry`:
/// a server may refuse one `g_b` (for example a key that would start with a zero byte).
async fn new_auth_key(io: &mut Io, keys: &[ServerKey]) -> Result<Session, InvokeError> {
    let mut attempt = 1;
    loop {
        match create_auth_key(io, keys, &mut system_random).await {
            Err(InvokeError::Handshake(handshake::HandshakeError::DhGenNotOk)) if attempt < HANDSHAKE_ATTEMPTS => {
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// Steps 1-4 of the handshake as plain messages; a panic in a step (grammers-crypto asserts)
/// fails the connection.
pub(super) async fn create_auth_key(
    io: &mut Io,
    keys: &[ServerKey],
    random: &mut dyn FnMut(&mut [u8]) -> Result<(), InvokeError>,
) -> Result<Session, InvokeError> {
    let mut r1 = [0u8; 16];
    let mut r2 = [0u8; handshake::STEP2_RANDOM];
    let mut r3 = [0u8; handshake::STEP3_RANDOM];
    random(&mut r1)?;
    random(&mut r2)?;
    random(&mut r3)?;
    let (request, s1) = handshake::step1(&r1);
    let answer = io.plain_call(&request.to_bytes()).await?;
    let (request, s2) = guarded(|| handshake::step2(s1, &answer, keys, &r2))?;
    let answer = io.plain_call(&request.to_bytes()).await?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i32);
    let (request, s3) = guarded(|| handshake::step3(s2, &answer, &r3, now))?;
    let answer = io.plain_call(&request.to_bytes()).await?;
    guarded(|| handshake::finish(s3, &answer))
}

fn guarded<T>(step: impl FnOnce() -> Result<T, handshake::HandshakeError>) -> Result<T, InvokeError> {
    match catch_unwind(AssertUnwindSafe(step)) {
        Ok(result) => result.map_err(InvokeError::Handshake),
        Err(_) => Err(InvokeError::Transport("the handshake panicked on a server answer".into())),
    }
}

impl Io {
    /// One plain (unencrypted) request and its answer, for the handshake.
    pub(super) async fn plain_call(&mut self, request: &[u8]) -> Result<Vec<u8>, InvokeError> {
        let mut plain = mtp::Plain::new();
        let mut buf = DequeBuffer::with_capacity(request.len() + 32, HEADROOM);
        plain.push(&mut buf, request);
        plain.finalize(&mut buf);
        self.transport.pack(&mut buf);
        self.stream
            .write_all(&buf[..])
            .await
            .map_err(|e| InvokeError::Transport(TransportError::during("write", e)))?;
        loop {
            if let Some(frame) = self.reader.frame(&mut self.transport)? {
                let payload = &mut self.reader.buf[frame.data_range.clone()];
                let answer = match catch_unwind(AssertUnwindSafe(|| plain.deserialize(payload))) {
                    Ok(Ok(mut events)) => match events.pop() {
                        Some(Deserialization::RpcResult(result)) => Ok(result.body),
                        _ => Err(InvokeError::Transport("no answer in a plain message".into())),
                    },
                    Ok(Err(error)) => Err(InvokeError::Transport(TransportError::during("plain message", error))),
                    Err(_) => Err(InvokeError::Transport("a plain message panicked the parser".into())),
                };
                self.reader.consume(frame.next_offset);
                return answer;
            }
            let n = self
                .stream
                .read(self.reader.spare())
                .await
                .map_err(|e| InvokeError::Transport(TransportError::during("read", e)))?;
            if n == 0 {
                return Err(InvokeError::Transport("closed by the server".into()));
            }
            self.reader.filled += n;
        }
    }
}

impl Reader {
    pub(super) fn new() -> Reader {
        Reader { buf: vec![0; FIRST_READ_BUFFER], filled: 0 }
    }

    /// Room to read into; never empty, since `frame` grows a full buffer or fails.
    pub(super) fn spare(&mut self) -> &mut [u8] {
        &mut self.buf[self.filled..]
    }

    /// The next whole frame, `None` to read more. A declared length over `MAX_FRAME` is an error
    /// (grammers' `unpack` would wait for it forever), as is a transport error or status.
    pub(super) fn frame(&mut self, transport: &mut Full) -> Result<Option<UnpackedOffset>, InvokeError> {
        if self.filled >= 4 {
            let declared = i32::from_le_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
            if declared > MAX_FRAME as i32 {
                return Err(InvokeError::Transport(format!("a frame of {declared} bytes").into()));
            }
        }
        match transport.unpack(&mut self.buf[..self.filled]) {
            Ok(frame) => Ok(Some(frame)),
            Err(transport::Error::MissingBytes) => {
                if self.filled == self.buf.len() {
                    if self.buf.len() >= MAX_FRAME {
                        return Err(InvokeError::Transport("read buffer full".into()));
                    }
                    self.buf.resize((self.buf.len() * 2).min(MAX_FRAME), 0);
                }
                Ok(None)
            }
            Err(transport::Error::BadStatus { status }) => Err(InvokeError::Status(status)),
            Err(error) => Err(InvokeError::Transport(TransportError::from_error(error))),
        }
    }

    /// Drops the bytes before `end` (a consumed frame).
    pub(super) fn consume(&mut self, end: usize) {
        self.buf.copy_within(end..self.filled, 0);
        self.filled -= end;
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::rc::Rc;
    use std::time::Duration;

    use async_io::Timer;
    use async_net::TcpListener;
    use futures_lite::FutureExt;
    use grammers_crypto::hex::from_hex;
    use smol::LocalExecutor;

    use super::*;
    use crate::mtproto::handshake::tests as recorded;
    use crate::mtproto::keys;

    /// Runs `test` on a fresh executor under a 20 s deadline.
    pub(in crate::mtproto) fn run<F: Future<Output = ()>>(test: impl FnOnce(Rc<LocalExecutor<'static>>) -> F) {
        let ex = Rc::new(LocalExecutor::new());
        let body = test(ex.clone());
        let deadline = async {
            Timer::after(Duration::from_secs(20)).await;
            panic!("test deadline");
        };
        futures_lite::future::block_on(ex.run(body.or(deadline)));
    }

    /// A listener and a client socket connected to it, with the server's side.
    pub(in crate::mtproto) async fn pair() -> (Io, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (
            Io {
                stream: client,
                transport: Full::new(),
                reader: Reader::new(),
                write: DequeBuffer::with_capacity(1024, HEADROOM),
            },
            server,
        )
    }

    /// The server side of one frame: reads it and returns its payload.
    pub(in crate::mtproto) async fn read_frame(stream: &mut TcpStream, transport: &mut Full) -> Vec<u8> {
        let mut buf = vec![0u8; 8192];
        let mut filled = 0;
        loop {
            filled += stream.read(&mut buf[filled..]).await.unwrap();
            match transport.unpack(&mut buf[..filled]) {
                Ok(frame) => return buf[frame.data_range].to_vec(),
                Err(transport::Error::MissingBytes) => continue,
                Err(error) => panic!("{error}"),
            }
        }
    }

    pub(in crate::mtproto) async fn send_frame(stream: &mut TcpStream, transport: &mut Full, payload: &[u8]) {
        let mut out = DequeBuffer::with_capacity(payload.len(), 16);
        out.extend(payload);
        transport.pack(&mut out);
        stream.write_all(&out[..]).await.unwrap();
    }

    /// Answers the three plain handshake requests with the recorded answers, checking each request.
    async fn recorded_server(mut stream: TcpStream) -> (TcpStream, Full) {
        let mut transport = Full::new();
        for (request, answer) in [
            (recorded::STEP1_REQUEST, recorded::STEP1_ANSWER),
            (recorded::STEP2_REQUEST, recorded::STEP2_ANSWER),
            (recorded::STEP3_REQUEST, recorded::STEP3_ANSWER),
        ] {
            let got = read_frame(&mut stream, &mut transport).await;
            assert_eq!(&got[..16], &[0; 16], "auth_key_id and msg_id of a plain message");
            assert_eq!(got[20..], from_hex(request)[..]);
            let answer = from_hex(answer);
            let mut plain = Vec::new();
            plain.extend_from_slice(&0i64.to_le_bytes());
            // A server msg_id answering a client message is 1 mod 4.
            plain.extend_from_slice(&((1_693_436_740i64 << 32) | 1).to_le_bytes());
            plain.extend_from_slice(&(answer.len() as i32).to_le_bytes());
            plain.extend_from_slice(&answer);
            send_frame(&mut stream, &mut transport, &plain).await;
        }
        (stream, transport)
    }

    fn recorded_random(buf: &mut [u8]) -> Result<(), InvokeError> {
        let hex = match buf.len() {
            16 => recorded::STEP1_RANDOM,
            handshake::STEP2_RANDOM => recorded::STEP2_RANDOM_HEX,
            _ => recorded::STEP3_RANDOM_HEX,
        };
        buf.copy_from_slice(&from_hex(hex));
        Ok(())
    }

    #[test]
    fn the_handshake_over_tcp_sends_the_recorded_requests_and_makes_the_recorded_key() {
        run(|ex| async move {
            let (mut io, server) = pair().await;
            let server = ex.spawn(recorded_server(server));
            let session = create_auth_key(&mut io, &keys::builtin(), &mut recorded_random).await.unwrap();
            assert_eq!(session.auth_key, recorded::fixed::<256>(recorded::AUTH_KEY));
            assert_eq!(session.first_salt, 4459407212920268508);
            server.await;
        });
    }

    #[test]
    fn a_handshake_with_only_unaccepted_keys_fails_the_connection() {
        run(|ex| async move {
            let (mut io, server) = pair().await;
            let _server = ex.spawn(recorded_server(server));
            let production = keys::builtin()[0].clone();
            let error = create_auth_key(&mut io, &[production], &mut recorded_random).await.err().unwrap();
            assert!(
                matches!(error, InvokeError::Handshake(handshake::HandshakeError::UnknownFingerprints(_))),
                "{error}"
            );
        });
    }

    #[test]
    fn the_read_buffer_grows_to_the_bound_and_no_further() {
        let mut reader = Reader::new();
        let mut transport = Full::new();
        reader.buf[..4].copy_from_slice(&(MAX_FRAME as i32).to_le_bytes());
        reader.filled = reader.buf.len();
        while reader.buf.len() < MAX_FRAME {
            assert_eq!(reader.frame(&mut transport), Ok(None));
            reader.filled = reader.buf.len();
        }
        assert_eq!(reader.buf.len(), MAX_FRAME);
        reader.buf[..4].copy_from_slice(&(MAX_FRAME as i32 + 1).to_le_bytes());
        assert!(reader.frame(&mut transport).is_err());
    }
}
