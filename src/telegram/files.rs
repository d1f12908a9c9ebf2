//! Reaching a file's bytes through the Bot API: `getFile` for its path and size, then the file URL.

use frankenstein::AsyncTelegramApi;
use frankenstein::methods::GetFileParams;

use super::transport::{TelegramError, Transport};

/// Where a file lives now: `path` is valid for at least an hour.
pub struct Located {
    pub path: String,
    pub size: Option<u64>,
}

/// Asks Telegram where `file_id` lives now.
pub async fn locate(api: &Transport, file_id: &str) -> Result<Located, TelegramError> {
    let file = api.get_file(&GetFileParams::builder().file_id(file_id).build()).await?.result;
    let path = file.file_path.ok_or_else(|| TelegramError::Decode("getFile answered without file_path".into()))?;
    Ok(Located { path, size: file.file_size })
}
