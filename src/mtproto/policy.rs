//! What a download does after a failed `upload.getFile` call (pure): reconnect, wait out a flood
//! limit, follow the file to its DC, log in again, refresh the file reference, or give up; and
//! how long to back off before reconnecting to a DC that keeps failing.

use std::time::Duration;

use super::error::InvokeError;

/// Longest `FLOOD_WAIT_X` a download waits out; past it the viewer gets an error at once
/// instead of a stall of many minutes.
pub(crate) const MAX_FLOOD_WAIT: Duration = Duration::from_secs(120);
/// The longest pause between two attempts to reach a DC.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(16);

/// The next step after a failed call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// The connection is gone or the call timed out: reconnect (after the DC's backoff), call again.
    Reconnect,
    /// `FLOOD_WAIT_X`: this DC takes no calls for that long; calls to other DCs go on.
    Wait(Duration),
    /// `FILE_MIGRATE_X`: the file lives on DC X.
    Migrate(i32),
    /// The DC no longer knows this auth key as the bot: import the authorization again.
    Authorize,
    /// The file reference is stale: fetch the message again for a fresh one.
    Refresh,
    /// Nothing a retry can fix.
    Fail,
}

/// Sorts a `upload.getFile` failure.
pub(crate) fn next(error: &InvokeError) -> Next {
    match error {
        InvokeError::Dropped | InvokeError::Transport(_) | InvokeError::Timeout | InvokeError::Busy => Next::Reconnect,
        // 404: the DC forgot the auth key (the connection already made a new one or will); 429:
        // too many connections from this address for now.
        InvokeError::Status(_) => Next::Reconnect,
        InvokeError::Rpc { code, name, value } => rpc(*code, name, *value),
        InvokeError::BadRequest | InvokeError::Decode | InvokeError::BadMessage(_) | InvokeError::Handshake(_) => {
            Next::Fail
        }
    }
}

fn rpc(code: i32, name: &str, value: Option<u32>) -> Next {
    match (code, name, value) {
        (_, "FLOOD_WAIT" | "FLOOD_PREMIUM_WAIT", Some(secs)) => {
            let wait = Duration::from_secs(u64::from(secs.max(1)));
            if wait <= MAX_FLOOD_WAIT { Next::Wait(wait) } else { Next::Fail }
        }
        (303, "FILE_MIGRATE" | "NETWORK_MIGRATE", Some(dc)) => i32::try_from(dc).map_or(Next::Fail, Next::Migrate),
        (401, "AUTH_KEY_UNREGISTERED" | "SESSION_REVOKED" | "SESSION_EXPIRED" | "USER_DEACTIVATED", _) => {
            Next::Authorize
        }
        (_, "FILE_REFERENCE_EXPIRED" | "FILE_REFERENCE_INVALID", _) => Next::Refresh,
        // Telegram's own trouble (-500 and 500 "internal"), retried like a dropped connection.
        (500 | -500 | -503, _, _) => Next::Reconnect,
        _ => Next::Fail,
    }
}

/// The pause before attempt `failures + 1` to reach a DC: none for the first, then 0.5, 1, 2, 4,
/// 8 and at most [`MAX_BACKOFF`] seconds.
pub(crate) fn backoff(failures: u32) -> Duration {
    match failures {
        0 => Duration::ZERO,
        n => Duration::from_millis(250u64 << n.min(7)).min(MAX_BACKOFF),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rpc_error(code: i32, message: &str) -> InvokeError {
        InvokeError::rpc(code, message)
    }

    #[test]
    fn each_telegram_error_gets_its_remedy() {
        let table = [
            (rpc_error(420, "FLOOD_WAIT_17"), Next::Wait(Duration::from_secs(17))),
            (rpc_error(420, "FLOOD_WAIT_0"), Next::Wait(Duration::from_secs(1))),
            (rpc_error(420, "FLOOD_WAIT_3600"), Next::Fail),
            (rpc_error(303, "FILE_MIGRATE_4"), Next::Migrate(4)),
            (rpc_error(401, "AUTH_KEY_UNREGISTERED"), Next::Authorize),
            (rpc_error(400, "FILE_REFERENCE_EXPIRED"), Next::Refresh),
            (rpc_error(400, "LIMIT_INVALID"), Next::Fail),
            (rpc_error(500, "INTERNAL"), Next::Reconnect),
            (InvokeError::Dropped, Next::Reconnect),
            (InvokeError::Timeout, Next::Reconnect),
            (InvokeError::Status(404), Next::Reconnect),
            (InvokeError::Decode, Next::Fail),
        ];
        for (error, expected) in table {
            assert_eq!(next(&error), expected, "{error}");
        }
    }

    #[test]
    fn the_backoff_doubles_up_to_its_cap() {
        let pauses: Vec<u64> = (0..10).map(|n| backoff(n).as_millis() as u64).collect();
        assert_eq!(pauses, [0, 500, 1000, 2000, 4000, 8000, 16000, 16000, 16000, 16000]);
    }
}
