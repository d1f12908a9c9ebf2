//! `upload.getFile` part plans (pure): which (offset, limit) calls cover a byte range, and the
//! part size and calls in flight per download under the current load.
//!
//! core.telegram.org/api/files: offset a multiple of 4 KiB, limit a multiple of 4 KiB dividing
//! 1 MiB, and no part may cross a 1 MiB boundary. Offsets here are multiples of the part size,
//! which divides 1 MiB, so every part stays inside its 1 MiB block.

/// The smallest part: 4 KiB.
pub(crate) const MIN_PART: u32 = 4 * 1024;
/// The largest part and the block parts may not cross: 1 MiB.
pub(crate) const MAX_PART: u32 = 1024 * 1024;

/// One `upload.getFile` call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Part {
    /// Byte offset in the file.
    pub(crate) offset: u64,
    /// Bytes asked for (Telegram returns fewer at the end of the file).
    pub(crate) limit: u32,
}

/// The calls for one byte range: parts of `size` from `first` to `last` (offsets), and what to cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Parts {
    /// Offset of the first part.
    pub(crate) first: u64,
    /// Offset of the last part.
    pub(crate) last: u64,
    /// The part size (the limit of every call).
    pub(crate) size: u32,
    /// Bytes to drop at the start of the first part.
    pub(crate) skip_first: u32,
    /// Bytes to keep of the last part (after `skip_first` when there is one part).
    pub(crate) keep_last: u32,
}

/// Why a range cannot be planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PartError {
    /// The part size is not a power of two in 4 KiB..=1 MiB.
    BadSize(u32),
    /// `end < start`.
    EmptyRange,
}

impl Parts {
    /// How many calls.
    pub(crate) fn count(&self) -> u64 {
        (self.last - self.first) / u64::from(self.size) + 1
    }

    /// The calls in order; no allocation, one `Part` at a time.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Part> + use<> {
        let (first, size) = (self.first, self.size);
        (0..self.count()).map(move |i| Part { offset: first + i * u64::from(size), limit: size })
    }
}

/// The parts covering bytes `start..=end` of a file.
pub(crate) fn plan(start: u64, end: u64, size: u32) -> Result<Parts, PartError> {
    if !size.is_power_of_two() || !(MIN_PART..=MAX_PART).contains(&size) {
        return Err(PartError::BadSize(size));
    }
    if end < start {
        return Err(PartError::EmptyRange);
    }
    let step = u64::from(size);
    let first = start / step * step;
    let last = end / step * step;
    // Both differences are below `size`, which fits in u32.
    Ok(Parts { first, last, size, skip_first: (start - first) as u32, keep_last: (end - last + 1) as u32 })
}

/// Part size and calls in flight for one download.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pace {
    /// Bytes per `upload.getFile` call.
    pub(crate) part: u32,
    /// Calls one download keeps in flight.
    pub(crate) in_flight: u8,
}

/// The pace for each download when `downloads` run at once. `in_flight` counts the parts a
/// download holds, the one being sent included, so at 50 ms from the DC one download keeps three
/// 512 KiB calls in flight (~30 MiB/s) and a hundred hold one 16 KiB part each (~1.6 MiB in all,
/// the next asked only when the last is sent; 320 KB/s each at 50 ms, a video's rate). Parts ahead of that share one budget
/// (`download::PREFETCH_BUDGET`).
pub(crate) fn pace(downloads: usize) -> Pace {
    let (part, in_flight) = match downloads {
        0..=1 => (512 * 1024, 4),
        2..=3 => (256 * 1024, 4),
        4..=7 => (128 * 1024, 4),
        8..=15 => (128 * 1024, 2),
        16..=31 => (64 * 1024, 1),
        32..=63 => (32 * 1024, 1),
        _ => (16 * 1024, 1),
    };
    Pace { part, in_flight }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;

    #[test]
    fn ranges_map_to_aligned_parts_and_cuts() {
        // (start, end, size) → (first, last, count, skip_first, keep_last)
        type Expected = (u64, u64, u64, u32, u32);
        let table: &[(u64, u64, u32, Expected)] = &[
            (0, 0, 4096, (0, 0, 1, 0, 1)),
            (0, 4095, 4096, (0, 0, 1, 0, 4096)),
            (0, 4096, 4096, (0, 4096, 2, 0, 1)),
            (100, 200, 65536, (0, 0, 1, 100, 201)),
            (MIB - 1, MIB, 512 * 1024, (512 * KIB, MIB, 2, 512 * 1024 - 1, 1)),
            (3 * MIB + 5, 7 * MIB - 1, 1 << 20, (3 * MIB, 6 * MIB, 4, 5, 1 << 20)),
            (
                10 * 1024 * MIB,
                10 * 1024 * MIB + 64 * KIB,
                65536,
                (10 * 1024 * MIB, 10 * 1024 * MIB + 64 * KIB, 2, 0, 1),
            ),
        ];
        for &(start, end, size, (first, last, count, skip, keep)) in table {
            let parts = plan(start, end, size).unwrap();
            assert_eq!(
                (parts.first, parts.last, parts.count(), parts.skip_first, parts.keep_last),
                (first, last, count, skip, keep),
                "{start}..={end} by {size}"
            );
        }
    }

    #[test]
    fn every_part_obeys_telegrams_offset_and_limit_rules() {
        for size in [4096u32, 8192, 65536, 131072, 524288, 1 << 20] {
            for (start, end) in [(0, 5 * MIB), (12345, 3 * MIB + 7), (MIB - 1, MIB + 1)] {
                let parts = plan(start, end, size).unwrap();
                let mut covered = parts.first;
                for part in parts.iter() {
                    assert_eq!(part.offset % 4096, 0);
                    assert_eq!(u64::from(MAX_PART) % u64::from(part.limit), 0);
                    assert_eq!(part.offset / MIB, (part.offset + u64::from(part.limit) - 1) / MIB, "crosses 1 MiB");
                    assert_eq!(part.offset, covered);
                    covered += u64::from(part.limit);
                }
                assert!(covered > end && parts.first <= start);
            }
        }
    }

    #[test]
    fn a_bad_part_size_or_an_empty_range_is_refused() {
        for size in [0, 1024, 3 * 4096, 2 << 20, u32::MAX] {
            assert_eq!(plan(0, 10, size), Err(PartError::BadSize(size)));
        }
        assert_eq!(plan(10, 9, 4096), Err(PartError::EmptyRange));
    }

    #[test]
    fn the_pace_shrinks_as_downloads_grow() {
        let table = [
            (1, 512 * 1024, 4),
            (2, 256 * 1024, 4),
            (5, 128 * 1024, 4),
            (10, 128 * 1024, 2),
            (20, 64 * 1024, 1),
            (40, 32 * 1024, 1),
            (100, 16 * 1024, 1),
        ];
        for (downloads, part, in_flight) in table {
            assert_eq!(pace(downloads), Pace { part, in_flight }, "{downloads} downloads");
            assert!(plan(0, 0, part).is_ok());
        }
    }
}
