//! Pure scanners of a request head as it streams through the socket guard: [`HeadCheck`] refuses
//! bytes async-h1 would panic on (non-ASCII or control bytes in a header), [`RequestLine`] turns
//! an HTTP/1.0 request line into HTTP/1.1 (async-h1 drops 1.0) even when it is split across reads.

/// Follows one request head as it is handed on, up to the blank line that ends it (async-h1 stops
/// at the first `\r\n\r\n` too). Bytes after it are a body or the next request: they are not
/// looked at until [`Guarded::next_request`].
#[derive(Debug)]
pub(crate) struct HeadCheck {
    /// Still inside the head.
    armed: bool,
    /// How many bytes of `\r\n\r\n` the bytes so far end with.
    matched: u8,
}

impl HeadCheck {
    pub(crate) fn new() -> HeadCheck {
        HeadCheck { armed: true, matched: 0 }
    }

    /// Whether `bytes`, the next ones handed on, may be in a head: printable ASCII, `\t`, `\r`
    /// and `\n` only (async-h1 panics on bytes from 0x80; control bytes are no header either).
    pub(crate) fn pass(&mut self, bytes: &[u8]) -> bool {
        for &b in bytes {
            if !self.armed {
                return true;
            }
            if b >= 0x7f || (b < 0x20 && !matches!(b, b'\r' | b'\n' | b'\t')) {
                return false;
            }
            self.matched = match (self.matched, b) {
                (0 | 2, b'\r') | (1 | 3, b'\n') => self.matched + 1,
                (_, b'\r') => 1,
                _ => 0,
            };
            self.armed = self.matched < 4;
        }
        true
    }
}

/// Bytes held back at the end of an unfinished request line: ` HTTP/1.0\r` is 10.
const CARRY: usize = 10;

/// Watches each request line as it streams past and turns `HTTP/1.0` into `HTTP/1.1`, so that
/// async-h1 (which closes 1.0 connections without a word) parses it; `http10` remembers it so the
/// response can close the connection as HTTP/1.0 expects. The last bytes of a line that has not
/// ended yet are held back, in case the version arrives in the next read.
#[derive(Debug)]
pub(crate) struct RequestLine {
    scanning: bool,
    carry: [u8; CARRY],
    carry_len: usize,
    /// The current request came as HTTP/1.0.
    pub(crate) http10: bool,
}

impl RequestLine {
    pub(crate) fn new() -> RequestLine {
        RequestLine { scanning: true, carry: [0; CARRY], carry_len: 0, http10: false }
    }

    /// The next bytes read start a request.
    pub(crate) fn restart(&mut self) {
        if self.carry_len == 0 {
            self.scanning = true;
        }
    }

    /// Moves held-back bytes to the front of `buf`; returns how many.
    pub(crate) fn take_carry(&mut self, buf: &mut [u8]) -> usize {
        let n = self.carry_len.min(buf.len());
        buf[..n].copy_from_slice(&self.carry[..n]);
        self.carry.copy_within(n..self.carry_len, 0);
        self.carry_len -= n;
        if buf.len() <= CARRY {
            // Too little room to hold anything back (only at the very end of HEAD_CAP): stop.
            self.scanning = false;
        }
        n
    }

    /// Holds `bytes` again (they came from the carry and the read that followed had nothing).
    pub(crate) fn put_back(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(CARRY - self.carry_len);
        self.carry.copy_within(0..self.carry_len, n);
        self.carry[..n].copy_from_slice(&bytes[..n]);
        self.carry_len += n;
    }

    /// Looks at the `total` bytes freshly read into `room` (held-back bytes first); returns how
    /// many bytes of `room` to hand on. The rest is held back.
    pub(crate) fn scan(&mut self, room: &mut [u8], total: usize) -> usize {
        if !self.scanning {
            return total;
        }
        let buf = &mut room[..total];
        match buf.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let line = buf[..i].strip_suffix(b"\r").unwrap_or(&buf[..i]);
                let end = line.len();
                self.http10 = line.ends_with(b" HTTP/1.0");
                self.scanning = false;
                if !self.http10 {
                    return total;
                }
                buf[end - 1] = b'1';
                self.insert_host(room, total, i + 1)
            }
            None => {
                let hold = CARRY.min(total);
                let keep = total - hold;
                self.carry[..hold].copy_from_slice(&buf[keep..]);
                self.carry_len = hold;
                keep
            }
        }
    }

    /// HTTP/1.0 requests may come without `Host`, which async-h1 requires: one goes in right after
    /// the request line (async-h1 uses the first; our routes never read it). What no longer fits
    /// in `room` is held back.
    pub(crate) fn insert_host(&mut self, room: &mut [u8], total: usize, at: usize) -> usize {
        const HOST: &[u8] = b"Host: _\r\n";
        let grown = total + HOST.len();
        let fits = grown.min(room.len());
        // The final bytes at index `j`, read before anything moves (`j` only goes down, and
        // the source `j - HOST.len()` is below `j`).
        let byte = |room: &[u8], j: usize| match j {
            j if j < at => room[j],
            j if j < at + HOST.len() => HOST[j - at],
            j => room[j - HOST.len()],
        };
        self.carry_len = grown - fits;
        for (k, j) in (fits..grown).enumerate() {
            self.carry[k] = byte(room, j);
        }
        for j in (at..fits).rev() {
            room[j] = byte(room, j);
        }
        fits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_check_refuses_non_ascii_and_control_bytes_but_never_looks_at_a_body() {
        let ok = b"GET / HTTP/1.1\r\nHost: a\r\nX-T:\tb\r\n\r\n";
        for chunk in [1, 2, 3, 64] {
            let mut check = HeadCheck::new();
            assert!(ok.chunks(chunk).all(|c| check.pass(c)), "chunk {chunk}");
            assert!(check.pass("é\0\x01\x7f".as_bytes()), "a body after the blank line is not looked at");
        }
        for bad in ["X: é".as_bytes(), b"X: \xff", b"X: a\0", b"X: \x1b", b"X: \x7f", b"GET /\x80 HTTP/1.1"] {
            let mut head = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
            head.extend_from_slice(bad);
            assert!(!HeadCheck::new().pass(&head), "{bad:?}");
        }
        // A lone `\n\n` or `\r\n\r` does not end the head (async-h1 waits for `\r\n\r\n`).
        let mut check = HeadCheck::new();
        assert!(check.pass(b"GET / HTTP/1.1\n\nX: \r\n\r"));
        assert!(!check.pass(b"\xff"));
    }

    /// Feeds `input` in `chunk`-sized reads into a `room`-byte buffer through a `RequestLine`,
    /// as `poll_read` does.
    fn feed_into(input: &[u8], chunk: usize, room: usize) -> (Vec<u8>, bool) {
        let mut line = RequestLine::new();
        let mut out = Vec::new();
        let mut rest = input;
        let mut buf = vec![0u8; room];
        loop {
            let carried = line.take_carry(&mut buf);
            let n = rest.len().min(chunk).min(buf.len() - carried);
            buf[carried..carried + n].copy_from_slice(&rest[..n]);
            rest = &rest[n..];
            let handed = if n == 0 { carried } else { line.scan(&mut buf, carried + n) };
            out.extend_from_slice(&buf[..handed]);
            if n == 0 && handed == 0 {
                return (out, line.http10);
            }
        }
    }

    fn feed(input: &[u8], chunk: usize) -> (Vec<u8>, bool) {
        feed_into(input, chunk, 64)
    }

    #[test]
    fn http10_request_line_is_read_as_http11_with_a_host() {
        let (out, http10) = feed(b"GET /x HTTP/1.0\r\nHost: a\r\n\r\n", 64);
        assert_eq!(out, b"GET /x HTTP/1.1\r\nHost: _\r\nHost: a\r\n\r\n");
        assert!(http10);
        let (out, _) = feed(b"GET /x HTTP/1.0\r\n\r\n", 64);
        assert_eq!(out, b"GET /x HTTP/1.1\r\nHost: _\r\n\r\n", "a request without Host gets one");
    }

    #[test]
    fn http10_split_across_many_reads_is_still_found() {
        for chunk in 1..20 {
            let (out, http10) = feed(b"GET /some/path HTTP/1.0\nHost: a\n\n", chunk);
            assert_eq!(out, b"GET /some/path HTTP/1.1\nHost: _\r\nHost: a\n\n", "chunk {chunk}");
            assert!(http10, "chunk {chunk}");
        }
    }

    #[test]
    fn http10_with_crlf_split_anywhere_is_found() {
        for chunk in 1..24 {
            let (out, http10) = feed(b"HEAD /a HTTP/1.0\r\nHost: a\r\n\r\n", chunk);
            assert_eq!(out, b"HEAD /a HTTP/1.1\r\nHost: _\r\nHost: a\r\n\r\n", "chunk {chunk}");
            assert!(http10, "chunk {chunk}");
        }
    }

    #[test]
    fn the_added_host_spills_into_the_next_read_when_the_buffer_is_full() {
        let input = b"GET /abcdefghij HTTP/1.0\r\nAccept: */*\r\n\r\n";
        let want = b"GET /abcdefghij HTTP/1.1\r\nHost: _\r\nAccept: */*\r\n\r\n";
        for room in [CARRY + 1, 20, 27, 30, 33, 40, 64] {
            for chunk in [1, 7, 64] {
                let (out, http10) = feed_into(input, chunk, room);
                assert_eq!(out, want.as_slice(), "room {room} chunk {chunk}");
                assert!(http10);
            }
        }
    }

    #[test]
    fn http11_and_header_values_are_left_alone() {
        let input = b"GET /x HTTP/1.1\r\nX-Note: HTTP/1.0\r\n\r\n";
        for chunk in [1, 3, 64] {
            let (out, http10) = feed(input, chunk);
            assert_eq!(out, input.as_slice());
            assert!(!http10);
        }
    }

    #[test]
    fn a_line_that_never_ends_is_handed_on_whole_at_eof() {
        let (out, http10) = feed(b"GET /x HTTP/1.0", 4);
        assert_eq!(out, b"GET /x HTTP/1.0");
        assert!(!http10);
    }

    #[test]
    fn put_back_keeps_the_order_of_held_bytes() {
        let mut line = RequestLine::new();
        let mut buf = *b"GET / HTTP/1.0";
        assert_eq!(line.scan(&mut buf, 14), 4);
        let mut out = [0u8; 32];
        let n = line.take_carry(&mut out);
        line.put_back(&out[..n]);
        let n = line.take_carry(&mut out);
        assert_eq!(&out[..n], b"/ HTTP/1.0");
    }
}
