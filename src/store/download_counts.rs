//! Per-link download counters kept in memory between flushes (a GET that starts a body counts
//! one): a fixed table `Serving` holds, written to the store with the bandwidth. Pure; the store
//! call is the caller's.

use crate::memory::fixed_table::FixedTable;

/// Links counted between two flushes, at most; a download of another link when all are taken
/// flushes early (see [`DownloadCounts::bump`]).
pub const COUNTED_LINKS: usize = 512;

/// Downloads per link id since the last flush.
pub struct DownloadCounts {
    table: FixedTable<u64, u64>,
}

impl Default for DownloadCounts {
    fn default() -> Self {
        DownloadCounts::with_slots(COUNTED_LINKS)
    }
}

impl DownloadCounts {
    pub fn with_slots(slots: usize) -> DownloadCounts {
        DownloadCounts { table: FixedTable::new(slots) }
    }

    /// Counts one download of `link`; false (nothing counted) when the table is full of other
    /// links: flush with [`DownloadCounts::take`], then bump again.
    pub fn bump(&mut self, link: u64) -> bool {
        if self.table.get(&link).is_none() && self.table.len() == self.table.capacity() {
            return false;
        }
        *self.table.entry(link, |_| false, |n| *n, || 0) += 1;
        true
    }

    /// Downloads of `link` not flushed yet.
    pub fn pending(&self, link: u64) -> u64 {
        self.table.get(&link).copied().unwrap_or(0)
    }

    /// Every count, emptying the table (put them back with [`DownloadCounts::restore`] if the
    /// store refused them).
    pub fn take(&mut self) -> Vec<(u64, u64)> {
        self.table.drain().collect()
    }

    /// Puts counts back after a failed flush.
    pub fn restore(&mut self, counts: &[(u64, u64)]) {
        for &(link, n) in counts {
            *self.table.entry(link, |_| false, |n| *n, || 0) += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_per_link_and_a_full_table_asks_for_a_flush() {
        let mut c = DownloadCounts::with_slots(2);
        assert!(c.bump(1) && c.bump(1) && c.bump(2));
        assert!(!c.bump(3), "full of other links");
        assert!(c.bump(2), "a counted link still counts");
        let mut taken = c.take();
        taken.sort();
        assert_eq!(taken, [(1, 2), (2, 2)]);
        assert_eq!(c.pending(1), 0);
        c.restore(&taken);
        assert!(!c.bump(3));
        assert_eq!(c.pending(2), 2);
    }
}
