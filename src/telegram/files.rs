//! Reaching a file's bytes through the Bot API: `getFile` for its path, then the file URL.

use frankenstein::AsyncTelegramApi;
use frankenstein::methods::GetFileParams;

use super::transport::{TelegramError, Transport};

/// Asks Telegram where `file_id` lives now (`file_path`, valid for at least an hour).
pub async fn file_path(api: &Transport, file_id: &str) -> Result<String, TelegramError> {
    let file = api.get_file(&GetFileParams::builder().file_id(file_id).build()).await?.result;
    file.file_path.ok_or_else(|| TelegramError::Decode("getFile answered without file_path".into()))
}
