//! Local Bot API mode: the path `getFile` gave must resolve inside `TELEGRAM_LOCAL_FILES`, and the
//! file goes to the socket on the executor thread, with `sendfile(2)` or from a mapped window (a
//! receiver on the same host), or is read with positioned reads where both are refused (page-cache
//! reads take microseconds; `smol::fs::File` would add an 8 MiB buffer per open file).

use std::fs::File;
use std::io;
use std::os::fd::BorrowedFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::io::AsyncRead;

/// Why a local path cannot be read.
#[derive(Debug)]
pub enum LocalError {
    /// The path resolves outside the configured directory (`..`, a symlink, another mount).
    Outside(PathBuf),
    /// Not there (any more): the server may have cleaned it up.
    Missing,
    Io(io::Error),
}

impl std::fmt::Display for LocalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LocalError::Outside(p) => write!(f, "'{}' is outside TELEGRAM_LOCAL_FILES", loggable_path(p)),
            LocalError::Missing => write!(f, "the file is not on disk"),
            LocalError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// `path` for a log line: a local Bot API server keeps files under `<dir>/<bot token>/…`, so
/// every component shaped like a token is masked (`123456:***`).
pub fn loggable_path(path: &Path) -> String {
    path.to_string_lossy()
        .split('/')
        .map(|part| match part.split_once(':') {
            Some((id, secret)) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && !secret.is_empty() => {
                crate::config::mask_token(part)
            }
            _ => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The directory files must be in, resolved once (symlinks and `..` gone).
#[derive(Debug, Clone)]
pub struct Root(PathBuf);

impl Root {
    pub fn new(dir: &Path) -> io::Result<Root> {
        let canonical = std::fs::canonicalize(dir)?;
        if !canonical.is_dir() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a directory"));
        }
        Ok(Root(canonical))
    }

    /// Resolves `path` (absolute, or relative to the root) and opens it if it is a regular file
    /// inside the root. Resolving first and opening the resolved path means a symlink or `..`
    /// cannot lead out.
    pub fn open(&self, path: &str) -> Result<(File, u64), LocalError> {
        let joined = self.0.join(path);
        let canonical = std::fs::canonicalize(&joined).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => LocalError::Missing,
            _ => LocalError::Io(e),
        })?;
        if !canonical.starts_with(&self.0) {
            return Err(LocalError::Outside(canonical));
        }
        let file = File::open(&canonical).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => LocalError::Missing,
            _ => LocalError::Io(e),
        })?;
        let meta = file.metadata().map_err(LocalError::Io)?;
        if !meta.is_file() {
            return Err(LocalError::Io(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file")));
        }
        Ok((file, meta.len()))
    }
}

/// A file read from `pos` on with `pread`: always ready, no buffer of its own.
pub struct LocalFile {
    file: File,
    pos: u64,
}

impl LocalFile {
    pub fn new(file: File, start: u64) -> LocalFile {
        LocalFile { file, pos: start }
    }

    /// Sends up to `count` bytes from the current position to `out` with `sendfile(2)`: the kernel
    /// hands page-cache pages to the socket, so the bytes are never copied through this process.
    /// A non-blocking `out` that is full gives `WouldBlock`; a file system without `sendfile`
    /// support gives `EINVAL` or `Unsupported`, and then [`AsyncRead`] is the way.
    pub fn send_to(&mut self, out: BorrowedFd<'_>, count: usize) -> io::Result<usize> {
        #[cfg(target_os = "linux")]
        {
            let n = rustix::fs::sendfile(out, &self.file, Some(&mut self.pos), count)?;
            Ok(n)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (out, count);
            Err(io::ErrorKind::Unsupported.into())
        }
    }

    /// Sends up to `count` bytes from the current position to `out` with one copy made by this
    /// thread, from a window of the file mapped for the call ([`crate::telegram::mapped`]): the
    /// cheaper way when the receiver is on this host. Where the file cannot be mapped, this is
    /// [`LocalFile::send_to`]. The window stops at the file's current length (the rest of its last
    /// page reads as zeros), so a file cut short gives 0 at its new end, as `sendfile` does.
    pub fn copy_to(&mut self, out: BorrowedFd<'_>, count: usize) -> io::Result<usize> {
        #[cfg(target_os = "linux")]
        {
            let len = self.file.metadata()?.len();
            let left = usize::try_from(len.saturating_sub(self.pos)).unwrap_or(usize::MAX);
            // Nothing to map (the end, or a file that reports no length, as procfs files do):
            // `sendfile` gives 0 at the end, or refuses a file it cannot read that way.
            let window = match left.min(count) {
                0 => None,
                count => crate::telegram::mapped::Window::map(&self.file, self.pos, count).ok(),
            };
            let Some(window) = window else {
                return self.send_to(out, count);
            };
            let n = window.send(out).map_err(|e| match e.raw_os_error() {
                // Truncated between the length check and the copy (see `mapped`).
                Some(libc::EFAULT) => io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank while being sent"),
                _ => e,
            })?;
            self.pos += n as u64;
            Ok(n)
        }
        #[cfg(not(target_os = "linux"))]
        self.send_to(out, count)
    }
}

impl AsyncRead for LocalFile {
    fn poll_read(mut self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let n = loop {
            match self.file.read_at(buf, self.pos) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        self.pos += n as u64;
        Poll::Ready(Ok(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::io::AsyncReadExt;

    fn temp(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("streambot-local-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn files_inside_the_root_open_and_read_from_an_offset() {
        let dir = temp("inside");
        std::fs::create_dir_all(dir.join("root/documents")).unwrap();
        std::fs::write(dir.join("root/documents/a.bin"), b"0123456789").unwrap();
        let root = Root::new(&dir.join("root")).unwrap();
        let (file, len) = root.open(dir.join("root/documents/a.bin").to_str().unwrap()).unwrap();
        assert_eq!(len, 10);
        let mut out = String::new();
        smol::block_on(LocalFile::new(file, 4).read_to_string(&mut out)).unwrap();
        assert_eq!(out, "456789");
        assert!(root.open("documents/a.bin").is_ok(), "relative paths are taken from the root");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bot_tokens_in_paths_are_masked_for_logs() {
        let p = Path::new("/var/lib/telegram-bot-api/123456:AAH-secret_x/documents/file_1.pdf");
        assert_eq!(loggable_path(p), "/var/lib/telegram-bot-api/123456:***/documents/file_1.pdf");
        assert_eq!(loggable_path(Path::new("/srv/a:b/c")), "/srv/a:b/c");
    }

    #[test]
    fn dot_dot_and_symlinks_out_of_the_root_are_refused() {
        let dir = temp("outside");
        std::fs::create_dir_all(dir.join("root")).unwrap();
        std::fs::write(dir.join("secret"), b"x").unwrap();
        std::os::unix::fs::symlink(dir.join("secret"), dir.join("root/link")).unwrap();
        let root = Root::new(&dir.join("root")).unwrap();
        let dotdot = format!("{}/root/../secret", dir.display());
        assert!(matches!(root.open(&dotdot), Err(LocalError::Outside(_))));
        assert!(matches!(root.open("link"), Err(LocalError::Outside(_))));
        assert!(matches!(root.open("/etc/hostname"), Err(LocalError::Outside(_)) | Err(LocalError::Missing)));
        assert!(matches!(root.open("gone.bin"), Err(LocalError::Missing)));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
