//! A window of a file mapped for one `send(2)`: the kernel copies the file's page-cache pages
//! into the socket once, and the window is unmapped before the call returns, so at most one
//! window is mapped at any time and none is held between turns of the executor. The one other
//! place with `unsafe` besides the allocator calls.
//!
//! Why copy at all when `sendfile(2)` copies nothing: a receiver on the same host (a reverse
//! proxy on loopback) copies every byte out of its socket either way. After `sendfile` it reads
//! page-cache pages cold, in 4 KiB fragments; after this copy it reads bytes just written, still
//! in the shared cache. On loopback, with curl as the receiver, that took the whole machine from
//! 0.80 to 0.54 CPU seconds per GiB moved at one stream and from 0.72 to 0.44 at eight (`sendfile`
//! build against this one, `/proc/stat`), and throughput from parity with nginx to 1.3–1.9×.
//! To a client on another host `sendfile` stays the better way: the NIC reads the pages itself.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use rustix::mm::{MapFlags, ProtFlags};

/// `count` bytes of a file from `pos`, mapped read-only. Nothing in this process reads the
/// mapping: its address only goes to `send(2)`, which reads it in kernel mode, where a page past
/// the end of a file someone truncated meanwhile fails the call with `EFAULT` (or shortens it)
/// instead of raising `SIGBUS`.
pub struct Window {
    base: *mut c_void,
    mapped: usize,
    /// Where byte `pos` sits in the mapping (mappings start on a page boundary).
    skew: usize,
    count: usize,
}

impl Window {
    /// Maps `count > 0` bytes of `file` from `pos`. Fails where the file system cannot map files.
    pub fn map(file: &File, pos: u64, count: usize) -> io::Result<Window> {
        let page = rustix::param::page_size() as u64;
        let start = pos - pos % page;
        let skew = (pos - start) as usize;
        let mapped = skew.checked_add(count).filter(|_| count > 0).ok_or(io::ErrorKind::InvalidInput)?;
        // SAFETY: a new shared read-only mapping at an address the kernel chooses; it aliases no
        // Rust object, and `Drop` unmaps exactly this range. No page is populated up front: the
        // copy in `send` faults in only the pages the socket takes.
        let base =
            unsafe { rustix::mm::mmap(std::ptr::null_mut(), mapped, ProtFlags::READ, MapFlags::SHARED, file, start) }?;
        Ok(Window { base, mapped, skew, count })
    }

    /// Sends as much of the window as the non-blocking socket `out` takes now.
    pub fn send(&self, out: BorrowedFd<'_>) -> io::Result<usize> {
        // SAFETY: `base + skew .. + count` lies inside the live mapping; `send` only reads it.
        // MSG_NOSIGNAL: a peer that left gives EPIPE, not SIGPIPE (send(2)).
        let sent = unsafe {
            let from = self.base.cast::<u8>().add(self.skew).cast::<c_void>();
            libc::send(out.as_raw_fd(), from, self.count, libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT)
        };
        usize::try_from(sent).map_err(|_| io::Error::last_os_error())
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        // SAFETY: the range `map` created; nothing refers to it after this.
        let _ = unsafe { rustix::mm::munmap(self.base, self.mapped) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsFd;

    fn pair() -> (std::net::TcpStream, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        (server, client)
    }

    fn file_of(tag: &str, bytes: &[u8]) -> (File, std::path::PathBuf) {
        let path = std::env::temp_dir().join(format!("streambot-window-{tag}-{}", std::process::id()));
        std::fs::File::create(&path).unwrap().write_all(bytes).unwrap();
        (File::open(&path).unwrap(), path)
    }

    #[test]
    fn a_window_from_an_offset_inside_a_page_sends_exactly_its_bytes() {
        let bytes: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        let (file, path) = file_of("offset", &bytes);
        let (server, mut client) = pair();
        let window = Window::map(&file, 5_000, 9_999).unwrap();
        assert_eq!(window.send(server.as_fd()).unwrap(), 9_999);
        drop((window, server));
        let mut got = Vec::new();
        client.read_to_end(&mut got).unwrap();
        assert_eq!(got, &bytes[5_000..14_999]);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_window_past_the_end_of_a_truncated_file_fails_without_a_signal() {
        let (file, path) = file_of("truncated", &[7u8; 64 * 1024]);
        let (server, _client) = pair();
        let window = Window::map(&file, 0, 64 * 1024).unwrap();
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(4096).unwrap();
        let tail = Window::map(&file, 8192, 4096).unwrap();
        assert_eq!(tail.send(server.as_fd()).unwrap_err().raw_os_error(), Some(libc::EFAULT));
        // The kernel copies in whole segments: a fault part-way fails the call or shortens it.
        match window.send(server.as_fd()) {
            Ok(n) => assert!(n <= 4096, "sent {n} bytes, more than the file still has"),
            Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EFAULT)),
        }
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn an_empty_window_is_refused() {
        let (file, path) = file_of("empty", b"abc");
        assert!(Window::map(&file, 0, 0).is_err());
        let _ = std::fs::remove_file(path);
    }
}
