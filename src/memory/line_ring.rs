//! The most recent log lines, for `/logs`: a byte ring of fixed size. New lines overwrite the
//! oldest; a line longer than the ring keeps its tail. Pure.

/// Default ring size.
pub const DEFAULT_BYTES: usize = 64 * 1024;

/// A ring of `N` bytes holding newline-terminated lines.
pub struct LineRing<const N: usize = DEFAULT_BYTES> {
    buf: [u8; N],
    /// Next write position.
    head: usize,
    /// Whether the ring has wrapped at least once.
    full: bool,
}

impl<const N: usize> LineRing<N> {
    pub fn new() -> Box<Self> {
        Box::new(LineRing { buf: [0; N], head: 0, full: false })
    }

    /// Appends one line (a trailing newline is added if missing).
    pub fn push(&mut self, line: &str) {
        let bytes = line.trim_end_matches('\n').as_bytes();
        let start = bytes.len().saturating_sub(N - 1);
        for &b in bytes[start..].iter().chain(std::iter::once(&b'\n')) {
            self.buf[self.head] = b;
            self.head += 1;
            if self.head == N {
                self.head = 0;
                self.full = true;
            }
        }
    }

    /// Whole lines held now, oldest first.
    pub fn lines(&self) -> Vec<String> {
        let (older, newer) = if self.full {
            (&self.buf[self.head..], &self.buf[..self.head])
        } else {
            (&[][..], &self.buf[..self.head])
        };
        let mut bytes = Vec::with_capacity(older.len() + newer.len());
        bytes.extend_from_slice(older);
        bytes.extend_from_slice(newer);
        // After a wrap, the first line may be the cut-off tail of an overwritten one.
        let from = if self.full { bytes.iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| i + 1) } else { 0 };
        String::from_utf8_lossy(&bytes[from..]).lines().map(str::to_owned).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_lines_in_order_until_full() {
        let mut r = LineRing::<64>::new();
        r.push("one");
        r.push("two\n");
        assert_eq!(r.lines(), ["one", "two"]);
    }

    #[test]
    fn overwrites_the_oldest_and_drops_partial_lines() {
        let mut r = LineRing::<16>::new();
        for i in 0..10 {
            r.push(&format!("line{i}"));
        }
        assert_eq!(r.lines(), ["line8", "line9"]);
    }

    #[test]
    fn a_line_longer_than_the_ring_keeps_its_tail() {
        let mut r = LineRing::<8>::new();
        r.push("abcdefghijkl");
        assert_eq!(r.lines(), Vec::<String>::new(), "no whole line fits after the wrap");
        r.push("xy");
        assert_eq!(r.lines(), ["xy"]);
    }

    #[test]
    fn size_is_fixed() {
        assert_eq!(std::mem::size_of::<LineRing>(), DEFAULT_BYTES + 16);
    }
}
