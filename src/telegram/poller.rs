//! The long-poll loop: `getUpdates` with `allowed_updates`, the offset committed to the store after
//! each update so a restart neither loses nor repeats one, `retry_after` honoured, capped backoff
//! on errors, and one undecodable or failing update logged and skipped.

use std::time::Duration;

use frankenstein::AsyncTelegramApi;
use frankenstein::methods::GetUpdatesParams;
use frankenstein::response::MethodResponse;
use frankenstein::types::AllowedUpdate;
use frankenstein::updates::Update;
use futures_lite::future::FutureExt;

use super::transport::{TelegramError, Transport};
use crate::shutdown::Shutdown;
use crate::store::Store;

/// Backoff after a failed poll: doubles from 1 s up to this cap.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Updates asked for per poll.
const BATCH: u32 = 100;

/// What the next backoff is after `current` (pure).
pub fn next_backoff(current: Duration) -> Duration {
    (current * 2).clamp(Duration::from_secs(1), MAX_BACKOFF)
}

/// Polls until `shutdown` fires, handing each decoded update to `handle` in order.
pub async fn run(
    api: &Transport,
    store: &Store,
    poll_timeout_secs: u32,
    shutdown: &Shutdown,
    handle: impl AsyncFn(Update),
) {
    let mut offset = match store.poll_offset() {
        Ok(o) => o,
        Err(e) => {
            log::error!("cannot read the stored update offset, starting from Telegram's: {e}");
            None
        }
    };
    let params_for = |offset| {
        GetUpdatesParams::builder()
            .maybe_offset(offset)
            .limit(BATCH)
            .timeout(poll_timeout_secs)
            .allowed_updates(vec![AllowedUpdate::Message, AllowedUpdate::CallbackQuery])
            .build()
    };
    let mut backoff = Duration::ZERO;
    while !shutdown.is_fired() {
        let params = params_for(offset);
        // Decode to JSON values first: one update of a shape frankenstein cannot decode must not
        // fail the whole batch and pin the offset.
        let poll = api.request::<_, MethodResponse<Vec<serde_json::Value>>>("getUpdates", Some(&params));
        let answer = match poll
            .or(async {
                shutdown.wait().await;
                Err(TelegramError::Timeout)
            })
            .await
        {
            _ if shutdown.is_fired() => break,
            Ok(answer) => answer,
            Err(e) => {
                backoff = next_backoff(backoff);
                let wait = match &e {
                    TelegramError::Api { retry_after: Some(s), .. } => Duration::from_secs(u64::from(*s)),
                    TelegramError::Api { code: 409, .. } => {
                        log::error!(
                            "getUpdates conflict (409): another process polls with this bot token, or a webhook is set; retrying in {}s",
                            backoff.as_secs()
                        );
                        backoff
                    }
                    _ => {
                        log::warn!("getUpdates failed: {e}; retrying in {}s", backoff.as_secs());
                        backoff
                    }
                };
                async_io::Timer::after(wait)
                    .or(async {
                        shutdown.wait().await;
                        std::time::Instant::now()
                    })
                    .await;
                continue;
            }
        };
        backoff = Duration::ZERO;
        for value in answer.result {
            let Some(id) = value.get("update_id").and_then(|v| v.as_i64()) else {
                log::warn!("skipping an update without update_id");
                continue;
            };
            match serde_json::from_value::<Update>(value) {
                Ok(update) => {
                    log::debug!("update {id}");
                    handle(update).await;
                }
                Err(e) => log::warn!("skipping update {id}: cannot decode it: {e}"),
            }
            offset = Some(id + 1);
            if let Err(e) = store.set_poll_offset(id + 1) {
                log::error!("cannot store the update offset {}: {e}", id + 1);
            }
            if shutdown.is_fired() {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_to_the_cap() {
        let mut b = Duration::ZERO;
        let mut seen = Vec::new();
        for _ in 0..8 {
            b = next_backoff(b);
            seen.push(b.as_secs());
        }
        assert_eq!(seen, [1, 2, 4, 8, 16, 30, 30, 30]);
    }
}
