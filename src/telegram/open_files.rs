//! Local mode: descriptors of files just served, kept open for [`OPEN_FILE_TTL`] (pure: callers
//! pass `now`). A run of requests for one file (a player's probes, thumbnails on a busy page)
//! then skips `openat2`, `fstat`, two `fcntl` and `close` each: 13 % of the process's CPU on
//! 4 KiB responses (`perf`, `bench/small.sh`). nginx's `open_file_cache` does the same, off by
//! default there. Every body reads at its own offset (`pread`, `sendfile` with an offset, mapped
//! windows), so one descriptor serves any number of them at once.

use std::fs::File;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::memory::fixed_table::FixedTable;

/// Descriptors kept open at once, at most.
pub const OPEN_FILE_SLOTS: usize = 16;
/// How long a descriptor is used after its path was opened; then the path is opened again
/// (checked inside the root again, and a file replaced or deleted on disk is seen).
pub const OPEN_FILE_TTL: Duration = Duration::from_secs(10);

struct Open {
    file: Rc<File>,
    len: u64,
    opened: Instant,
}

/// Path → an open descriptor and the file's length, for at most [`OPEN_FILE_TTL`].
pub struct OpenFiles {
    table: FixedTable<Box<str>, Open>,
}

impl OpenFiles {
    pub fn new() -> OpenFiles {
        OpenFiles { table: FixedTable::new(OPEN_FILE_SLOTS) }
    }

    /// The descriptor of `path`, if it was opened less than the TTL ago.
    pub fn get(&self, path: &str, now: Instant) -> Option<(Rc<File>, u64)> {
        let open = self.table.get(path).filter(|o| fresh(o, now))?;
        Some((open.file.clone(), open.len))
    }

    /// Keeps `file` for `path`: in its old slot, a free or expired one, or the oldest.
    pub fn put(&mut self, path: &str, file: Rc<File>, len: u64, now: Instant) {
        let open = Open { file, len, opened: now };
        self.table.insert(path.into(), open, |o| !fresh(o, now), |o| o.opened);
    }

    /// Closes the descriptors past the TTL (bodies still reading one keep it open); returns how
    /// many stay.
    pub fn sweep(&mut self, now: Instant) -> usize {
        self.table.retain(|_, o| fresh(o, now))
    }
}

impl Default for OpenFiles {
    fn default() -> Self {
        OpenFiles::new()
    }
}

fn fresh(open: &Open, now: Instant) -> bool {
    now.saturating_duration_since(open.opened) < OPEN_FILE_TTL
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> Rc<File> {
        Rc::new(File::open("/dev/null").unwrap())
    }

    #[test]
    fn a_descriptor_is_used_for_the_ttl_then_swept() {
        let t0 = Instant::now();
        let mut open = OpenFiles::new();
        open.put("/a", file(), 7, t0);
        assert_eq!(open.get("/a", t0 + OPEN_FILE_TTL / 2).map(|(_, len)| len), Some(7));
        assert!(open.get("/b", t0).is_none());
        assert!(open.get("/a", t0 + OPEN_FILE_TTL).is_none(), "expired");
        assert_eq!(open.sweep(t0 + OPEN_FILE_TTL / 2), 1);
        assert_eq!(open.sweep(t0 + OPEN_FILE_TTL), 0);
    }

    #[test]
    fn the_table_holds_a_fixed_number_and_a_new_path_takes_the_oldest_slot() {
        let t0 = Instant::now();
        let mut open = OpenFiles::new();
        for i in 0..OPEN_FILE_SLOTS + 1 {
            open.put(&format!("/{i}"), file(), i as u64, t0 + Duration::from_millis(i as u64));
        }
        let now = t0 + Duration::from_secs(1);
        assert!(open.get("/0", now).is_none(), "the oldest made room");
        assert!((1..=OPEN_FILE_SLOTS).all(|i| open.get(&format!("/{i}"), now).is_some()));
        assert_eq!(open.sweep(now), OPEN_FILE_SLOTS);
    }

    #[test]
    fn a_body_keeps_its_descriptor_after_the_table_lets_go() {
        let t0 = Instant::now();
        let mut open = OpenFiles::new();
        open.put("/a", file(), 0, t0);
        let (held, _) = open.get("/a", t0).unwrap();
        open.sweep(t0 + OPEN_FILE_TTL);
        assert_eq!(Rc::strong_count(&held), 1, "the body's own reference");
    }
}
