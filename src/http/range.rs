//! The `Range` header (RFC 9110 §14): one byte range of `a-b`, `a-` or `-n` against a known
//! length. Pure. A malformed header or another unit is ignored (full 200), several ranges are
//! answered in full, and a well-formed range that misses the file is unsatisfiable (416).

/// What to send for a request's `Range` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranged {
    /// 200 with the whole representation.
    Full,
    /// 206 with bytes `start..=end` (both within the file).
    Partial { start: u64, end: u64 },
    /// 416 with `Content-Range: bytes */len`.
    Unsatisfiable,
}

/// Digits to a number; too many digits saturate (a huge end is clamped to the file anyway).
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0u64, |n, b| n.saturating_mul(10).saturating_add(u64::from(b - b'0'))))
}

/// Decides the response to `header` for a file of `len` bytes.
pub fn resolve(header: Option<&str>, len: u64) -> Ranged {
    let Some(header) = header else { return Ranged::Full };
    let Some((unit, set)) = header.trim().split_once('=') else { return Ranged::Full };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return Ranged::Full;
    }
    let mut specs = set.split(',').map(str::trim).filter(|s| !s.is_empty());
    let (Some(spec), None) = (specs.next(), specs.next()) else { return Ranged::Full };
    let Some((first, last)) = spec.split_once('-') else { return Ranged::Full };
    let (first, last) = (first.trim(), last.trim());
    match (first.is_empty(), number(first), number(last)) {
        // `-n`: the last n bytes.
        (true, _, Some(n)) => {
            if n == 0 || len == 0 {
                Ranged::Unsatisfiable
            } else {
                Ranged::Partial { start: len.saturating_sub(n), end: len - 1 }
            }
        }
        // `a-`: from a to the end.
        (false, Some(start), None) if last.is_empty() => {
            if start >= len {
                Ranged::Unsatisfiable
            } else {
                Ranged::Partial { start, end: len - 1 }
            }
        }
        // `a-b`, the end clamped to the last byte.
        (false, Some(start), Some(end)) if start <= end => {
            if start >= len {
                Ranged::Unsatisfiable
            } else {
                Ranged::Partial { start, end: end.min(len - 1) }
            }
        }
        _ => Ranged::Full,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ranged::{Full, Partial, Unsatisfiable};

    #[test]
    fn table() {
        let cases: &[(Option<&str>, u64, Ranged)] = &[
            (None, 100, Full),
            (Some("bytes=0-99"), 100, Partial { start: 0, end: 99 }),
            (Some("bytes=0-0"), 100, Partial { start: 0, end: 0 }),
            (Some("bytes=10-19"), 100, Partial { start: 10, end: 19 }),
            (Some("bytes=50-"), 100, Partial { start: 50, end: 99 }),
            (Some("bytes=99-"), 100, Partial { start: 99, end: 99 }),
            (Some("bytes=90-1000"), 100, Partial { start: 90, end: 99 }),
            (Some("bytes=-10"), 100, Partial { start: 90, end: 99 }),
            (Some("bytes=-1000"), 100, Partial { start: 0, end: 99 }),
            (Some("bytes=-0"), 100, Unsatisfiable),
            (Some("bytes=100-"), 100, Unsatisfiable),
            (Some("bytes=100-200"), 100, Unsatisfiable),
            (Some("bytes=500-600"), 100, Unsatisfiable),
            (Some("bytes=0-"), 0, Unsatisfiable),
            (Some("bytes=-5"), 0, Unsatisfiable),
            (None, 0, Full),
            (Some("  bytes = 5 - 9 "), 100, Partial { start: 5, end: 9 }),
            (Some("BYTES=5-9"), 100, Partial { start: 5, end: 9 }),
            (Some("Bytes=5-"), 100, Partial { start: 5, end: 99 }),
            (Some("bytes=0-1,5-6"), 100, Full),
            (Some("bytes=0-1, "), 100, Partial { start: 0, end: 1 }),
            (Some("items=0-5"), 100, Full),
            (Some("bytes=9-5"), 100, Full),
            (Some("bytes=abc"), 100, Full),
            (Some("bytes=a-b"), 100, Full),
            (Some("bytes="), 100, Full),
            (Some("bytes=-"), 100, Full),
            (Some("bytes 0-5"), 100, Full),
            (Some("bytes=+1-5"), 100, Full),
            (Some("bytes=0-99999999999999999999999999"), 100, Partial { start: 0, end: 99 }),
            (Some("bytes=99999999999999999999999-"), 100, Unsatisfiable),
            (Some("bytes=-99999999999999999999999"), 100, Partial { start: 0, end: 99 }),
            (Some("bytes=18446744073709551615-"), u64::MAX, Unsatisfiable),
            (Some("bytes=0-0"), 1, Partial { start: 0, end: 0 }),
            (Some("bytes=1-"), 1, Unsatisfiable),
        ];
        for (header, len, want) in cases {
            assert_eq!(resolve(*header, *len), *want, "{header:?} on {len} bytes");
        }
        assert!(cases.len() >= 25);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Any header and any length: no panic, and a partial range lies inside the file.
        #[test]
        fn any_header_and_length_never_panics_and_stays_inside_the_file(
            header in proptest::option::of("(bytes|BYTES|items)?=?[ 0-9,=-]{0,24}|\\PC{0,16}"),
            len in proptest::prop_oneof![0u64..4, 0u64..100_000, proptest::prelude::any::<u64>()],
        ) {
            match resolve(header.as_deref(), len) {
                Ranged::Partial { start, end } => {
                    proptest::prop_assert!(start <= end && end < len, "{start}-{end} of {len}");
                }
                Ranged::Full | Ranged::Unsatisfiable => {}
            }
        }
    }
}
