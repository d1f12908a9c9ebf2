//! The link secret: `LINK_SECRET`, or the secret file in `DATA_DIR`, made (mode 0600) on first
//! run; and the warning when a private file is readable by other users.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::Config;

/// Why there is no link secret to sign with.
#[derive(Debug)]
pub enum SecretError {
    /// The secret file holds fewer than 32 characters.
    TooShort(PathBuf),
    /// The secret file cannot be read or written.
    Io(PathBuf, std::io::Error),
    /// The system random generator failed (no secret can be made).
    NoRandom,
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretError::TooShort(path) => {
                write!(f, "{} is too short; delete it to make a new one (old links stop working)", path.display())
            }
            SecretError::Io(path, e) => write!(f, "{}: {e}", path.display()),
            SecretError::NoRandom => write!(f, "the system random generator failed"),
        }
    }
}

impl std::error::Error for SecretError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SecretError::Io(_, e) => Some(e),
            SecretError::TooShort(_) | SecretError::NoRandom => None,
        }
    }
}

/// Loads `LINK_SECRET`, or the secret file in `DATA_DIR`, creating it (mode 0600) on first run.
pub fn link_secret(config: &Config) -> Result<Vec<u8>, SecretError> {
    if let Some(secret) = &config.link_secret {
        return Ok(secret.as_bytes().to_vec());
    }
    let path = config.data_dir.join("link_secret");
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= 32 => {
            warn_if_shared(&path);
            return Ok(s.trim().as_bytes().to_vec());
        }
        Ok(_) => return Err(SecretError::TooShort(path)),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(SecretError::Io(path, e)),
        Err(_) => {}
    }
    let bytes = crate::links::random_bytes::<32>().ok_or(SecretError::NoRandom)?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_private(&path, hex.as_bytes()).map_err(|e| SecretError::Io(path.clone(), e))?;
    log::info!("created a new link secret in {}", path.display());
    Ok(hex.into_bytes())
}

/// The secret signs every link and the database holds every user's files: say so if other users
/// can read them.
pub fn warn_if_shared(path: &Path) {
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777;
        if mode & 0o077 != 0 {
            log::warn!("{} is readable by other users (mode {mode:o}): run chmod 600 on it", path.display());
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_file_that_cannot_be_read_keeps_the_io_error_as_its_source() {
        use std::error::Error;
        let e = SecretError::Io("/d/link_secret".into(), std::io::ErrorKind::PermissionDenied.into());
        assert!(e.source().is_some_and(|s| s.is::<std::io::Error>()));
        assert_eq!(e.to_string(), "/d/link_secret: permission denied");
        let short = SecretError::TooShort("/d/link_secret".into()).to_string();
        assert_eq!(short, "/d/link_secret is too short; delete it to make a new one (old links stop working)");
    }
}
