//! The long-poll loop: `getUpdates` with `allowed_updates`, asking for as many updates as the
//! journal has room for, `retry_after` honoured, capped backoff on errors. The dispatcher
//! journals and runs the updates and keeps the stored offset; this loop only fetches.

use std::rc::Rc;
use std::time::Duration;

use frankenstein::AsyncTelegramApi;
use frankenstein::methods::GetUpdatesParams;
use frankenstein::response::MethodResponse;
use frankenstein::types::AllowedUpdate;
use futures_lite::future::FutureExt;
use smol::LocalExecutor;

use super::dispatch::{Dispatcher, Handler, Overflow};
use super::transport::{TelegramError, Transport};
use crate::shutdown::Shutdown;
use crate::store::Store;

/// Backoff after a failed poll: doubles from 1 s up to this cap.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Updates asked for per poll, at most (Telegram's own cap is 100).
const BATCH: usize = 100;

/// What the next backoff is after `current` (pure).
pub fn next_backoff(current: Duration) -> Duration {
    (current * 2).clamp(Duration::from_secs(1), MAX_BACKOFF)
}

/// How the poll loop runs.
pub struct Settings {
    pub poll_timeout_secs: u32,
    /// How long updates still running at shutdown may go on.
    pub grace: Duration,
    /// Whether channel posts and their edits are asked for (`CHANNELS` is set).
    pub channel_posts: bool,
}

/// The kinds of update `getUpdates` asks for: messages and button presses, and channel posts
/// with their edits when some channel's posts get buttons (pure).
pub fn allowed_updates(channel_posts: bool) -> Vec<AllowedUpdate> {
    let mut kinds = vec![AllowedUpdate::Message, AllowedUpdate::CallbackQuery];
    if channel_posts {
        kinds.extend([AllowedUpdate::ChannelPost, AllowedUpdate::EditedChannelPost]);
    }
    kinds
}

/// Polls until `shutdown` fires and every running update ended, handing each update to
/// `handle` and each chat whose queue is full to `overflow` (see [`Dispatcher`]).
pub async fn run(
    api: &Transport,
    store: &Store,
    ex: Rc<LocalExecutor<'static>>,
    settings: Settings,
    shutdown: &Shutdown,
    handle: Handler,
    overflow: Overflow,
) {
    let dispatcher = Dispatcher::start(store, ex, handle, overflow, shutdown.clone(), settings.grace);
    let allowed = allowed_updates(settings.channel_posts);
    let fetching = fetch(api, &dispatcher, settings.poll_timeout_secs, &allowed, shutdown);
    futures_lite::future::zip(fetching, dispatcher.collect()).await;
}

/// Fetches batches for the dispatcher until shutdown.
async fn fetch(
    api: &Transport,
    dispatcher: &Dispatcher<'_>,
    poll_timeout_secs: u32,
    allowed: &[AllowedUpdate],
    shutdown: &Shutdown,
) {
    let mut backoff = Duration::ZERO;
    loop {
        let room = dispatcher.room().await;
        if room == 0 {
            return;
        }
        let params = GetUpdatesParams::builder()
            .maybe_offset(dispatcher.next_offset())
            .limit(u32::try_from(room.min(BATCH)).unwrap_or(1))
            .timeout(poll_timeout_secs)
            .allowed_updates(allowed.to_vec())
            .build();
        // Decode to JSON values first: one update of a shape frankenstein cannot decode must not
        // fail the whole batch and pin the offset.
        let poll = api.request::<_, MethodResponse<Vec<serde_json::Value>>>("getUpdates", Some(&params));
        let answer = poll
            .or(async {
                shutdown.wait().await;
                Err(TelegramError::Timeout)
            })
            .await;
        match answer {
            _ if shutdown.is_fired() => return,
            Ok(answer) => {
                api.set_polls_failing(false);
                if dispatcher.take(answer.result) {
                    backoff = Duration::ZERO;
                } else {
                    // The store refused the batch (disk full, say): Telegram keeps it meanwhile.
                    backoff = next_backoff(backoff);
                    pause(backoff, shutdown).await;
                }
            }
            Err(e) => {
                backoff = next_backoff(backoff);
                api.set_polls_failing(true);
                pause(pause_after(&e, backoff), shutdown).await;
            }
        }
    }
}

/// Sleeps `how_long`, or less if shutdown fires.
async fn pause(how_long: Duration, shutdown: &Shutdown) {
    async_io::Timer::after(how_long)
        .or(async {
            shutdown.wait().await;
            std::time::Instant::now()
        })
        .await;
}

/// How long to wait after the failed poll `e`, logging why.
fn pause_after(e: &TelegramError, backoff: Duration) -> Duration {
    match e {
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
            crate::event::emit(crate::event::Event::PollFailed);
            backoff
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

    #[test]
    fn channel_posts_and_their_edits_are_asked_for_only_when_channels_are_listed() {
        let without = allowed_updates(false);
        assert_eq!(without, [AllowedUpdate::Message, AllowedUpdate::CallbackQuery]);
        let with = allowed_updates(true);
        assert!(with.contains(&AllowedUpdate::ChannelPost) && with.contains(&AllowedUpdate::EditedChannelPost));
        assert!(with.contains(&AllowedUpdate::Message) && with.contains(&AllowedUpdate::CallbackQuery));
    }
}
