//! Retrying a Bot API call made for an update: network errors, timeouts, 5xx and 429 are tried
//! again with capped backoff for a bounded total time; any other answer is final. A reply that
//! may have landed (the connection broke after it was sent) is sent again: a duplicate message
//! beats a lost link. The policy is pure; [`persist`] is the one loop around it.

use std::future::Future;
use std::time::{Duration, Instant};

use super::transport::TelegramError;

/// Longest pause between two tries.
const MAX_PAUSE: Duration = Duration::from_secs(30);

/// Whether trying `e`'s call again may succeed: the network or Telegram's side failed, or it
/// asked us to wait. A 4xx other than 429 (blocked by the user, bad request), a refused
/// certificate or an answer we cannot read is final.
pub fn is_transient(e: &TelegramError) -> bool {
    match e {
        TelegramError::Network(_) | TelegramError::Timeout => true,
        TelegramError::Api { code, .. } => *code == 429 || *code >= 500,
        TelegramError::Certificate(_) | TelegramError::Decode(_) => false,
    }
}

/// The pause before the next try after `e`, the `retries`-th retry so far, `elapsed` since the
/// first try; `None` to give up (final error, or the pause would end past `budget`). Pauses
/// double from 1 s up to [`MAX_PAUSE`]; a 429 waits what Telegram asked.
pub fn next_pause(e: &TelegramError, retries: u32, elapsed: Duration, budget: Duration) -> Option<Duration> {
    if !is_transient(e) {
        return None;
    }
    let pause = match e {
        TelegramError::Api { retry_after: Some(s), .. } => Duration::from_secs(u64::from(*s).max(1)),
        _ => Duration::from_secs(1u64 << retries.min(5)).min(MAX_PAUSE),
    };
    (elapsed + pause <= budget).then_some(pause)
}

/// Runs `call` until it succeeds, fails for good, or `budget` is spent (see [`next_pause`]).
/// `what` names the call in the log line of each retry.
pub async fn persist<T, F, Fut>(what: &str, budget: Duration, mut call: F) -> Result<T, TelegramError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, TelegramError>>,
{
    let started = Instant::now();
    let mut retries = 0;
    loop {
        let e = match call().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let Some(pause) = next_pause(&e, retries, started.elapsed(), budget) else { return Err(e) };
        log::warn!("{what} failed: {e}; trying again in {}s", pause.as_secs());
        async_io::Timer::after(pause).await;
        retries += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);
    const BUDGET: Duration = Duration::from_secs(120);

    fn api(code: u64, retry_after: Option<u16>) -> TelegramError {
        TelegramError::Api { code, description: "x".into(), retry_after }
    }

    #[test]
    fn resets_timeouts_5xx_and_429_are_tried_again_and_other_answers_are_final() {
        let reset = TelegramError::Network("connection reset".into());
        assert_eq!(next_pause(&reset, 0, Duration::ZERO, BUDGET), Some(S));
        assert_eq!(next_pause(&TelegramError::Timeout, 1, Duration::ZERO, BUDGET), Some(2 * S));
        assert_eq!(next_pause(&api(502, None), 2, Duration::ZERO, BUDGET), Some(4 * S));
        assert_eq!(next_pause(&api(429, Some(7)), 0, Duration::ZERO, BUDGET), Some(7 * S));
        for final_error in [api(400, None), api(403, None), TelegramError::Decode("?".into())] {
            assert_eq!(next_pause(&final_error, 0, Duration::ZERO, BUDGET), None, "{final_error}");
        }
    }

    #[test]
    fn pauses_double_to_a_cap_and_stop_inside_the_budget() {
        let reset = TelegramError::Network("reset".into());
        let (mut elapsed, mut retries, mut pauses) = (Duration::ZERO, 0, Vec::new());
        while let Some(pause) = next_pause(&reset, retries, elapsed, BUDGET) {
            pauses.push(pause.as_secs());
            elapsed += pause;
            retries += 1;
        }
        assert_eq!(pauses, [1, 2, 4, 8, 16, 30, 30]);
        assert!(elapsed <= BUDGET);
        assert_eq!(next_pause(&api(429, Some(30)), 0, 100 * S, BUDGET), None, "the wait would end past the budget");
    }

    #[test]
    fn persist_retries_until_the_call_lands() {
        let mut tries = 0;
        let result = smol::block_on(persist("test call", 3 * S, || {
            tries += 1;
            let outcome = if tries < 2 { Err(TelegramError::Timeout) } else { Ok(tries) };
            async move { outcome }
        }));
        assert_eq!(result, Ok(2));
        let mut tries = 0;
        let refused: Result<(), _> = smol::block_on(persist("test call", 3 * S, || {
            tries += 1;
            async { Err(api(403, None)) }
        }));
        assert_eq!((refused, tries), (Err(api(403, None)), 1), "a final answer is not tried again");
    }
}
