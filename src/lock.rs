//! One instance per `DATA_DIR`: an exclusive lock on `DATA_DIR/streambot.lock`, held for the life
//! of the process, with the holder's PID written in it so a second instance can name it. The
//! kernel drops the lock when the process ends, crash included (`flock(2)` through
//! `File::try_lock`), so a stale file never blocks a restart.

use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DataLock {
    _file: File,
}

/// Why the lock could not be taken.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds it; its PID, if it wrote one.
    Held {
        path: PathBuf,
        pid: Option<u32>,
    },
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::Held { path, pid: Some(pid) } => write!(
                f,
                "another streambot (pid {pid}) is running on this DATA_DIR ({} is locked): stop it, or give this one its own DATA_DIR",
                path.display()
            ),
            LockError::Held { path, pid: None } => {
                write!(f, "another process holds {}: is another streambot running on this DATA_DIR?", path.display())
            }
            LockError::Io { path, error } => {
                let dir = path.parent().unwrap_or(path);
                write!(
                    f,
                    "cannot use DATA_DIR {}: cannot lock {}: {error} ({})",
                    dir.display(),
                    path.display(),
                    ownership_fix(dir)
                )
            }
        }
    }
}

impl std::error::Error for LockError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LockError::Io { error, .. } => Some(error),
            LockError::Held { .. } => None,
        }
    }
}

/// The user and group this process runs as: `/proc/self` belongs to the process's effective
/// uid and gid (proc(5)). `None` without a mounted `/proc`.
pub fn running_as() -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| (m.uid(), m.gid()))
}

/// How to make `dir` usable, naming the uid and gid to give it: in the image that is 10001 (or
/// the local Bot API server's 101), and a bind mount keeps the host's owner, usually root.
pub fn ownership_fix(dir: &Path) -> String {
    fix_for(dir, running_as())
}

fn fix_for(dir: &Path, ids: Option<(u32, u32)>) -> String {
    let tail = "chmod it, or set DATA_DIR to a directory it can write";
    match ids {
        Some((uid, gid)) => format!(
            "streambot runs as uid {uid}, gid {gid}, which must own DATA_DIR or be allowed to write in it: `chown {uid}:{gid} {}` (for a Docker bind mount: on the host, to the directory mounted there), {tail}",
            dir.display()
        ),
        None => format!("the user the bot runs as must own DATA_DIR or be allowed to write in it: chown or {tail}"),
    }
}

impl DataLock {
    /// Takes the lock in `dir` (created if missing) and writes our PID in it.
    pub fn take(dir: &Path) -> Result<DataLock, LockError> {
        let path = dir.join("streambot.lock");
        let io = |error| LockError::Io { path: path.clone(), error };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let pid = file.read_to_string(&mut text).ok().and_then(|_| text.trim().parse().ok());
                return Err(LockError::Held { path, pid });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(DataLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_dir_names_the_holder_and_a_released_one_is_free() {
        let dir = std::env::temp_dir().join(format!("streambot-lock-{}", std::process::id()));
        let first = DataLock::take(&dir).unwrap();
        let err = DataLock::take(&dir).unwrap_err();
        assert!(matches!(err, LockError::Held { pid: Some(p), .. } if p == std::process::id()), "{err:?}");
        assert!(err.to_string().contains(&format!("pid {}", std::process::id())));
        drop(first);
        assert!(DataLock::take(&dir).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_data_dir_that_cannot_be_made_is_named_with_the_fix() {
        let file = std::env::temp_dir().join(format!("streambot-lock-file-{}", std::process::id()));
        std::fs::write(&file, b"not a directory").unwrap();
        let err = DataLock::take(&file.join("data")).unwrap_err().to_string();
        let _ = std::fs::remove_file(&file);
        assert!(err.starts_with(&format!("cannot use DATA_DIR {}", file.join("data").display())), "{err}");
        assert!(err.contains("chown "), "{err}");
    }

    #[test]
    fn a_permission_error_names_the_uid_and_gid_to_chown_the_data_dir_to() {
        let path = Path::new("/data/streambot.lock");
        let error = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let text = LockError::Io { path: path.to_path_buf(), error }.to_string();
        let (uid, gid) = running_as().unwrap();
        assert!(
            text.starts_with("cannot use DATA_DIR /data: cannot lock /data/streambot.lock: permission denied"),
            "{text}"
        );
        assert!(text.contains(&format!("streambot runs as uid {uid}, gid {gid}")), "{text}");
        assert!(
            text.contains(&format!(
                "`chown {uid}:{gid} /data` (for a Docker bind mount: on the host, to the directory mounted there)"
            )),
            "{text}"
        );
        assert_eq!(
            fix_for(path.parent().unwrap(), Some((10001, 10001))),
            "streambot runs as uid 10001, gid 10001, which must own DATA_DIR or be allowed to write in it: `chown 10001:10001 /data` (for a Docker bind mount: on the host, to the directory mounted there), chmod it, or set DATA_DIR to a directory it can write"
        );
        assert!(fix_for(path, None).contains("chown or chmod"));
    }

    #[test]
    fn an_io_failure_keeps_the_io_error_as_its_source() {
        use std::error::Error;
        let e = LockError::Io { path: "/d/x".into(), error: std::io::ErrorKind::PermissionDenied.into() };
        assert!(e.source().is_some_and(|s| s.is::<std::io::Error>()));
        assert!(LockError::Held { path: "/d/x".into(), pid: None }.source().is_none());
    }
}
