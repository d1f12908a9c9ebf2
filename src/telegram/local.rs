//! Local Bot API mode: `getFile`'s path must name a regular file beneath `TELEGRAM_LOCAL_FILES`
//! (opened from the directory's descriptor, no symlink followed). [`LocalFile`] reads it from a
//! position with positioned reads (no buffer of its own), or lends the descriptor and the
//! position to a call that sends from there (`sendfile(2)`, a mapped window: the HTTP side's
//! egress).

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures_lite::io::AsyncRead;
#[cfg(target_os = "linux")]
use rustix::fs::ResolveFlags;
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

/// Why a local path cannot be read.
#[derive(Debug)]
pub enum LocalError {
    /// The path resolves outside the configured directory (`..`, a symlink, another mount).
    Outside(PathBuf),
    /// Not there (any more): the server may have cleaned it up.
    Missing,
    /// There, but a directory, FIFO, socket or device: never read (a FIFO would block the thread).
    NotRegular,
    Io(io::Error),
}

impl std::fmt::Display for LocalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LocalError::Outside(p) => write!(f, "'{}' is outside TELEGRAM_LOCAL_FILES", loggable_path(p)),
            LocalError::Missing => write!(f, "the file is not on disk"),
            LocalError::NotRegular => write!(f, "not a regular file"),
            LocalError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for LocalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LocalError::Io(e) => Some(e),
            LocalError::Outside(_) | LocalError::Missing | LocalError::NotRegular => None,
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

/// Directories a path may go down through in the fallback walk; a Bot API server's paths are
/// `<dir>/<token>/<kind>/<file>`, so this is far beyond any real one.
const MAX_DEPTH: usize = 32;
/// `openat2` gives `EAGAIN` when a rename or mount raced the lookup under `RESOLVE_BENEATH`
/// (openat2(2)); it is tried this many times before the error stands.
#[cfg(target_os = "linux")]
const OPENAT2_TRIES: usize = 4;

/// The directory files must be in: opened once at start, and every file is opened beneath that
/// descriptor without following a symlink, so nothing swapped into the path later leads out.
#[derive(Debug)]
pub struct Root {
    /// `TELEGRAM_LOCAL_FILES` as given: the Bot API server's absolute paths start with it.
    given: PathBuf,
    /// The same directory with symlinks and `..` resolved at start.
    canonical: PathBuf,
    dir: OwnedFd,
}

impl Root {
    pub fn new(dir: &Path) -> io::Result<Root> {
        let canonical = std::fs::canonicalize(dir)?;
        let fd = rustix::fs::open(&canonical, dir_flags(), Mode::empty()).map_err(|e| match e {
            Errno::NOTDIR => io::Error::new(io::ErrorKind::InvalidInput, "not a directory"),
            e => e.into(),
        })?;
        Ok(Root { given: dir.to_path_buf(), canonical, dir: fd })
    }

    /// Opens `path` (absolute, or relative to the root) if it is a regular file beneath the root,
    /// reached without a symlink or a `..` out of it.
    pub fn open(&self, path: &str) -> Result<(File, u64), LocalError> {
        let relative = self.relative(path)?;
        finish(self.open_beneath(&relative), path)
    }

    /// `path` relative to the root. The server's absolute paths start with the directory as
    /// configured (or as resolved); any other absolute path is resolved and must land inside.
    /// The result is only a name to look up beneath the root: it can still hold a `..` or a
    /// symlink, which the open refuses.
    fn relative(&self, path: &str) -> Result<PathBuf, LocalError> {
        let path = Path::new(path);
        if path.is_relative() {
            return Ok(path.to_path_buf());
        }
        if let Some(rest) = [&self.canonical, &self.given].into_iter().find_map(|p| path.strip_prefix(p).ok()) {
            return Ok(rest.to_path_buf());
        }
        let canonical = std::fs::canonicalize(path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => LocalError::Missing,
            _ => LocalError::Io(e),
        })?;
        match canonical.strip_prefix(&self.canonical) {
            Ok(rest) => Ok(rest.to_path_buf()),
            Err(_) => Err(LocalError::Outside(canonical)),
        }
    }

    /// `openat2` confined to the root; the walk where the kernel has no `openat2` (before 5.6:
    /// `ENOSYS`) or a seccomp filter refuses it (`EPERM`).
    fn open_beneath(&self, relative: &Path) -> rustix::io::Result<OwnedFd> {
        #[cfg(target_os = "linux")]
        {
            let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
            for _ in 0..OPENAT2_TRIES {
                match rustix::fs::openat2(&self.dir, relative, leaf_flags(), Mode::empty(), resolve) {
                    Err(Errno::AGAIN) => continue,
                    Err(Errno::NOSYS | Errno::PERM) => return self.open_walk(relative),
                    other => return other,
                }
            }
            Err(Errno::AGAIN)
        }
        #[cfg(not(target_os = "linux"))]
        self.open_walk(relative)
    }

    /// Goes down `relative` one component at a time from the root's descriptor, each directory
    /// opened with `O_NOFOLLOW` beneath the last: a `..` returns to a directory already held (one
    /// above the root is refused), and a symlink anywhere fails with `ELOOP`.
    fn open_walk(&self, relative: &Path) -> rustix::io::Result<OwnedFd> {
        let mut held: Vec<OwnedFd> = Vec::new();
        let mut parts = relative.components().peekable();
        while let Some(part) = parts.next() {
            let here = held.last().map_or(self.dir.as_fd(), |fd| fd.as_fd());
            let name = match part {
                Component::CurDir => continue,
                Component::ParentDir => {
                    held.pop().ok_or(Errno::XDEV)?;
                    continue;
                }
                Component::RootDir | Component::Prefix(_) => return Err(Errno::XDEV),
                Component::Normal(name) => name,
            };
            if parts.peek().is_none() {
                return rustix::fs::openat(here, name, leaf_flags() | OFlags::NOFOLLOW, Mode::empty());
            }
            if held.len() == MAX_DEPTH {
                return Err(Errno::NAMETOOLONG);
            }
            let next =
                rustix::fs::openat(here, name, dir_flags() | OFlags::NOFOLLOW, Mode::empty()).map_err(|e| match e {
                    // `O_DIRECTORY` is checked before `O_NOFOLLOW`, so a symlink gives `ENOTDIR`;
                    // only a name that is neither (a file) keeps it. A directory seen now was a
                    // symlink a moment ago.
                    Errno::NOTDIR if !is_file_like(here, name) => Errno::LOOP,
                    e => e,
                })?;
            held.push(next);
        }
        Err(Errno::ISDIR)
    }
}

/// A directory is held only to look names up beneath it: on Linux `O_PATH`, which needs search
/// permission alone (a server's directory may grant its group `x` but not `r`).
fn dir_flags() -> OFlags {
    #[cfg(target_os = "linux")]
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    #[cfg(not(target_os = "linux"))]
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    flags
}

/// A file is opened without blocking (a FIFO would wait for a writer in `open(2)`, holding the
/// one thread), without becoming a controlling terminal, and closed on `exec`.
fn leaf_flags() -> OFlags {
    OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC
}

/// Whether `name` in `dir` is there and neither a directory nor a symlink (for the error only).
fn is_file_like(dir: BorrowedFd<'_>, name: &std::ffi::OsStr) -> bool {
    rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
        .is_ok_and(|st| !matches!(FileType::from_raw_mode(st.st_mode), FileType::Symlink | FileType::Directory))
}

/// The opened descriptor as a regular file and its length, in blocking mode again; anything else
/// (a FIFO, a device, a directory) is refused before a byte is read.
fn finish(opened: rustix::io::Result<OwnedFd>, path: &str) -> Result<(File, u64), LocalError> {
    let fd = opened.map_err(|e| match e {
        Errno::NOENT => LocalError::Missing,
        // `RESOLVE_BENEATH` refuses a `..` out with `EXDEV`; a symlink gives `ELOOP`.
        Errno::XDEV | Errno::LOOP => LocalError::Outside(PathBuf::from(path)),
        e => LocalError::Io(e.into()),
    })?;
    let stat = rustix::fs::fstat(&fd).map_err(|e| LocalError::Io(e.into()))?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(LocalError::NotRegular);
    }
    let flags = rustix::fs::fcntl_getfl(&fd).map_err(|e| LocalError::Io(e.into()))?;
    rustix::fs::fcntl_setfl(&fd, flags - OFlags::NONBLOCK).map_err(|e| LocalError::Io(e.into()))?;
    Ok((File::from(fd), u64::try_from(stat.st_size).unwrap_or(0)))
}

/// A file read from `pos` on with `pread` on the executor thread: always ready, no buffer of its
/// own (page-cache reads take microseconds; `smol::fs::File` would add an 8 MiB buffer per file).
pub struct LocalFile {
    /// Shared with other bodies of the same file and the open-file table: every read names its
    /// offset, so none moves another's position.
    file: Rc<File>,
    pos: u64,
}

impl LocalFile {
    pub fn new(file: impl Into<Rc<File>>, start: u64) -> LocalFile {
        LocalFile { file: file.into(), pos: start }
    }

    /// Hands the file and the current position to `send`, which sends bytes from there on and
    /// answers how many; the position moves past them.
    pub fn send_with(&mut self, send: impl FnOnce(&File, u64) -> io::Result<usize>) -> io::Result<usize> {
        let n = send(&self.file, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }

    /// Reads exactly `buf.len()` bytes from the current position on (a small body read whole);
    /// a file that ends first is `UnexpectedEof`.
    pub fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.file.read_exact_at(buf, self.pos)?;
        self.pos += buf.len() as u64;
        Ok(())
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

    /// What each way of opening gives for `path`: `openat2` where the kernel has it, and the walk.
    fn both(root: &Root, path: &str) -> [Result<(File, u64), LocalError>; 2] {
        [root.open(path), finish(root.open_walk(&root.relative(path).unwrap()), path)]
    }

    /// `dir/root` holding `documents/a.bin`, and `dir/outside/secret` beside it.
    fn tree(tag: &str) -> (PathBuf, Root) {
        let dir = temp(tag);
        std::fs::create_dir_all(dir.join("root/documents")).unwrap();
        std::fs::create_dir_all(dir.join("outside")).unwrap();
        std::fs::write(dir.join("root/documents/a.bin"), b"inside").unwrap();
        std::fs::write(dir.join("outside/secret"), b"secret").unwrap();
        let root = Root::new(&dir.join("root")).unwrap();
        (dir, root)
    }

    #[test]
    fn dot_dot_and_symlinks_out_of_the_root_are_refused() {
        let (dir, root) = tree("outside");
        std::os::unix::fs::symlink(dir.join("outside/secret"), dir.join("root/link")).unwrap();
        let dotdot = format!("{}/root/../outside/secret", dir.display());
        for path in [dotdot.as_str(), "link", "../outside/secret", "documents/../../outside/secret", ".."] {
            for (way, got) in both(&root, path).into_iter().enumerate() {
                assert!(matches!(got, Err(LocalError::Outside(_))), "{path} (way {way}): {got:?}");
            }
        }
        assert!(matches!(root.open("/etc/hostname"), Err(LocalError::Outside(_)) | Err(LocalError::Missing)));
        assert!(matches!(root.open("gone.bin"), Err(LocalError::Missing)));
        for got in both(&root, "documents/../documents/./a.bin") {
            assert_eq!(got.unwrap().1, 6, "a `..` that stays inside is fine");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_symlink_anywhere_in_the_path_is_refused_even_one_that_stays_inside() {
        let (dir, root) = tree("symlinks");
        std::os::unix::fs::symlink(dir.join("outside"), dir.join("root/out")).unwrap();
        std::os::unix::fs::symlink(dir.join("root/documents"), dir.join("root/alias")).unwrap();
        std::os::unix::fs::symlink("a.bin", dir.join("root/documents/same")).unwrap();
        let through = format!("{}/root/out/secret", dir.display());
        for path in ["out/secret", through.as_str(), "alias/a.bin", "documents/same"] {
            for (way, got) in both(&root, path).into_iter().enumerate() {
                assert!(matches!(got, Err(LocalError::Outside(_))), "{path} (way {way}): {got:?}");
            }
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_regular_file_opens_both_ways_and_a_directory_does_not() {
        let (dir, root) = tree("regular");
        let absolute = format!("{}/root/documents/a.bin", dir.display());
        for path in ["documents/a.bin", absolute.as_str()] {
            for got in both(&root, path) {
                let (file, len) = got.unwrap();
                assert_eq!(len, 6);
                let flags = rustix::fs::fcntl_getfl(&file).unwrap();
                assert!(!flags.contains(OFlags::NONBLOCK), "blocking again once it is known to be a file");
            }
        }
        for got in both(&root, "documents") {
            assert!(matches!(got, Err(LocalError::NotRegular | LocalError::Io(_))), "{got:?}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_fifo_is_refused_at_once_instead_of_waiting_for_a_writer() {
        let (dir, root) = tree("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            dir.join("root/documents/f.bin"),
            FileType::Fifo,
            Mode::RUSR | Mode::WUSR,
            0,
        )
        .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let got = both(&root, "documents/f.bin").map(|r| r.map(|_| ()).map_err(|e| e.to_string()));
            let _ = tx.send(got);
        });
        let got = rx.recv_timeout(std::time::Duration::from_secs(5)).expect("open returned within 5 s");
        for r in got {
            assert_eq!(r, Err("not a regular file".to_owned()));
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_directory_swapped_for_a_symlink_mid_open_never_leads_out() {
        let (dir, root) = tree("swap");
        std::os::unix::fs::symlink(dir.join("outside"), dir.join("root/swap")).unwrap();
        std::fs::write(dir.join("root/documents/secret"), b"inside").unwrap();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (a, b, stop) = (dir.join("root/documents"), dir.join("root/swap"), done.clone());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let swapper = std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && std::time::Instant::now() < deadline {
                let cwd = rustix::fs::CWD;
                rustix::fs::renameat_with(cwd, &a, cwd, &b, rustix::fs::RenameFlags::EXCHANGE).unwrap();
            }
        });
        // At least 2000 rounds, and on until both outcomes were seen (the swapper may start late).
        let (mut rounds, mut opened, mut refused) = (0, 0, 0);
        while rounds < 2000 || opened == 0 || refused == 0 {
            assert!(std::time::Instant::now() < deadline, "no race in 10 s ({opened} opened, {refused} refused)");
            rounds += 1;
            for got in both(&root, "documents/secret") {
                match got {
                    Ok((file, _)) => {
                        let mut text = String::new();
                        std::io::Read::read_to_string(&mut &file, &mut text).unwrap();
                        assert_eq!(text, "inside", "a file outside the root was served");
                        opened += 1;
                    }
                    Err(LocalError::Outside(_) | LocalError::Missing) => refused += 1,
                    Err(e) => panic!("{e}"),
                }
            }
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        swapper.join().unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_io_failure_keeps_the_io_error_as_its_source() {
        use std::error::Error;
        assert!(LocalError::Io(io::ErrorKind::NotFound.into()).source().is_some_and(|s| s.is::<io::Error>()));
        assert!(LocalError::Missing.source().is_none());
    }
}
