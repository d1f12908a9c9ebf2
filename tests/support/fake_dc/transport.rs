//! MTProto TCP transports, told apart by the first bytes a client sends: Abridged (0xef),
//! Intermediate (0xeeeeeeee), otherwise Full (length, sequence number, CRC32). Negative status
//! codes (-404 unknown auth key) are framed as grammers and Telethon expect them.

use std::io::{self, Read, Write};
use std::net::TcpStream;

/// Largest packet accepted from a client (a 1 MiB getFile answer is the biggest thing around).
pub(super) const MAX_PACKET: usize = 2 * 1024 * 1024;

/// Which transport this connection speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TransportKind {
    /// len ‖ seq ‖ payload ‖ crc32 (Telethon's and grammers' default).
    Full,
    /// 0xeeeeeeee once, then len ‖ payload.
    Intermediate,
    /// 0xef once, then len/4 in 1 or 4 bytes ‖ payload.
    Abridged,
}

pub(super) struct Transport {
    pub(super) kind: TransportKind,
    recv_seq: u32,
    send_seq: u32,
    /// Bytes read while telling the transports apart that belong to the first packet.
    pending: Vec<u8>,
}

impl Transport {
    /// Reads the transport tag (or, for Full, the first length) from a fresh connection.
    pub(super) fn detect(stream: &mut TcpStream) -> io::Result<Transport> {
        let mut first = [0u8; 1];
        stream.read_exact(&mut first)?;
        if first[0] == 0xef {
            return Ok(Transport::new(TransportKind::Abridged, Vec::new()));
        }
        let mut rest = [0u8; 3];
        stream.read_exact(&mut rest)?;
        let head = [first[0], rest[0], rest[1], rest[2]];
        match head {
            [0xee, 0xee, 0xee, 0xee] => Ok(Transport::new(TransportKind::Intermediate, Vec::new())),
            [0xdd, 0xdd, 0xdd, 0xdd] => Err(io::Error::other("padded intermediate is not supported")),
            _ => Ok(Transport::new(TransportKind::Full, head.to_vec())),
        }
    }

    fn new(kind: TransportKind, pending: Vec<u8>) -> Transport {
        Transport { kind, recv_seq: 0, send_seq: 0, pending }
    }

    fn read_exact(&mut self, stream: &mut TcpStream, buf: &mut [u8]) -> io::Result<()> {
        let from_pending = self.pending.len().min(buf.len());
        buf[..from_pending].copy_from_slice(&self.pending[..from_pending]);
        self.pending.drain(..from_pending);
        stream.read_exact(&mut buf[from_pending..])
    }

    /// Reads one packet's payload.
    pub(super) fn read_packet(&mut self, stream: &mut TcpStream) -> io::Result<Vec<u8>> {
        let len = match self.kind {
            TransportKind::Full => {
                let mut head = [0u8; 8];
                self.read_exact(stream, &mut head)?;
                let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
                let seq = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
                if !(12..=MAX_PACKET).contains(&len) || seq != self.recv_seq {
                    return Err(io::Error::other(format!("bad full packet len {len} seq {seq}")));
                }
                let mut rest = vec![0u8; len - 8];
                self.read_exact(stream, &mut rest)?;
                let (body, crc) = rest.split_at(len - 12);
                let mut whole = head.to_vec();
                whole.extend(body);
                if crc32(&whole).to_le_bytes() != crc {
                    return Err(io::Error::other("bad crc32"));
                }
                self.recv_seq += 1;
                return Ok(body.to_vec());
            }
            TransportKind::Intermediate => {
                let mut head = [0u8; 4];
                self.read_exact(stream, &mut head)?;
                u32::from_le_bytes(head) as usize
            }
            TransportKind::Abridged => {
                let mut head = [0u8; 1];
                self.read_exact(stream, &mut head)?;
                let words = if head[0] & 0x7f == 0x7f {
                    let mut more = [0u8; 3];
                    self.read_exact(stream, &mut more)?;
                    u32::from_le_bytes([more[0], more[1], more[2], 0]) as usize
                } else {
                    (head[0] & 0x7f) as usize
                };
                words * 4
            }
        };
        if len > MAX_PACKET {
            return Err(io::Error::other(format!("packet of {len} bytes")));
        }
        let mut body = vec![0u8; len];
        self.read_exact(stream, &mut body)?;
        Ok(body)
    }

    /// Frames and writes one payload.
    pub(super) fn write_packet(&mut self, stream: &mut TcpStream, payload: &[u8]) -> io::Result<()> {
        let mut out = Vec::with_capacity(payload.len() + 12);
        match self.kind {
            TransportKind::Full => {
                out.extend(((payload.len() + 12) as u32).to_le_bytes());
                out.extend(self.send_seq.to_le_bytes());
                out.extend(payload);
                out.extend(crc32(&out).to_le_bytes());
                self.send_seq += 1;
            }
            TransportKind::Intermediate => {
                out.extend((payload.len() as u32).to_le_bytes());
                out.extend(payload);
            }
            TransportKind::Abridged => {
                let words = payload.len() / 4;
                if words < 0x7f {
                    out.push(words as u8);
                } else {
                    out.push(0x7f);
                    out.extend(&(words as u32).to_le_bytes()[..3]);
                }
                out.extend(payload);
            }
        }
        stream.write_all(&out)
    }

    /// Writes a transport error such as -404. Full gets the code three times: grammers reads
    /// the first four bytes as a negative length, Telethon reads length, sequence number and a
    /// four-byte body, all carrying the code (as Telegram has been seen to send it).
    pub(super) fn write_error(&mut self, stream: &mut TcpStream, code: i32) -> io::Result<()> {
        let c = (-code).to_le_bytes();
        match self.kind {
            TransportKind::Full => stream.write_all(&[c, c, c].concat()),
            TransportKind::Intermediate => stream.write_all(&[4i32.to_le_bytes(), c].concat()),
            TransportKind::Abridged => stream.write_all(&[&[1u8][..], &c].concat()),
        }
    }
}

/// CRC-32 (IEEE), as the Full transport uses.
pub(super) fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}
