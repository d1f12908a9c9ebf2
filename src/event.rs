//! Machine-readable moments in the bot's life, each logged as one line
//! `event=<name> key=value …` under the log target `event` at debug level, next to the human line
//! an operator reads. Tools and tests key on these names and fields, so the human wording can
//! change freely. Values are rendered with `Display`, whitespace replaced by `_`, so a line splits
//! on spaces. A leaf: it knows the `log` crate and nothing of the bot.

use std::fmt::{Display, Write};

/// The log target every event is logged under (`RUST_LOG=info,event=debug` shows them).
pub(crate) const TARGET: &str = "event";

/// One moment worth naming.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Event<'a> {
    /// The bot chose where files come from at startup: `local` (API id and hash set too).
    FilesMode { mode: &'a str },
    /// A download was refused because its file could not be read: `outside` the local root,
    /// `missing` from this disk, `not_regular` (a directory, FIFO, ...), another `io` error, or
    /// `telegram` failing to provide it.
    FileUnreadable { reason: &'a str },
    /// Direct mode could not decode a `file_id` and asked the Bot API instead.
    DirectFallback,
    /// Telegram did not take a reply to an update even after retrying.
    ReplyFailed { update: i64 },
    /// A post in a channel not listed in CHANNELS was ignored.
    ChannelPostIgnored { channel: i64 },
    /// A channel post got no buttons: `refused` (Telegram refuses the URL) or `present` already.
    ButtonsSkipped { channel: i64, post: i64, reason: &'a str },
    /// A link was made for a channel post; `token` is the token's loggable prefix.
    LinkMade { channel: i64, post: i64, token: &'a str },
    /// A user was refused without a message (told already, or not a private chat).
    RefusedSilently { user: u64 },
    /// Telegram asked the bot to slow down on `method` for `secs`.
    RateLimited { method: &'a str, secs: u64 },
    /// A getUpdates poll failed and will be retried.
    PollFailed,
    /// A panic was caught in `place` (a route or update kind) and that work dropped.
    Panic { place: &'a str },
    /// The stalled-download sweep ended stream `stream`.
    StreamEndedStalled { stream: u64 },
    /// A connection ended on an I/O error of this kind; `stalled` when it was the write timeout
    /// (the client stopped reading), not any other error.
    ConnectionEnded { kind: std::io::ErrorKind, stalled: bool },
    /// A cleanup task ran: `outcome` is `ok` or `failed`.
    Cleanup { task: &'a str, outcome: &'a str },
    /// The process's memory was logged at the moment `when`.
    MemoryReport { when: &'a str },
    /// Shutdown is waiting up to `grace_secs` for `downloads` running downloads.
    ShutdownDraining { downloads: usize, grace_secs: u64 },
    /// A force-subscribe check could not be made, so the request went through unchecked:
    /// `reason` is `not_admin`, `no_channel`, `removed`, `refused`, `unreachable`,
    /// `certificate` or `undecodable`.
    MembershipUnchecked { reason: &'a str },
    /// A file was not copied to `LOG_CHANNEL`: the forward `failed` (429 and held chat too) or
    /// the copy had `no_file`; the link serves the user's message.
    BackupSkipped { channel: i64, reason: &'a str },
    /// Telegram asked for a pause (`FLOOD_WAIT_X`) on MTProto DC `dc`; its downloads wait.
    DcFloodWait { dc: i32, secs: u64 },
    /// MTProto DC `dc` no longer knows the login: the next connection imports it again.
    DcLoginAgain { dc: i32 },
    /// `getMe` failed at start-up and is tried again in `secs`.
    LoginRetry { secs: u64 },
}

impl Event<'_> {
    /// The event's name, the value of `event=`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Event::FilesMode { .. } => "files_mode",
            Event::FileUnreadable { .. } => "file_unreadable",
            Event::DirectFallback => "direct_fallback",
            Event::ReplyFailed { .. } => "reply_failed",
            Event::ChannelPostIgnored { .. } => "channel_post_ignored",
            Event::ButtonsSkipped { .. } => "buttons_skipped",
            Event::LinkMade { .. } => "link_made",
            Event::RefusedSilently { .. } => "refused_silently",
            Event::RateLimited { .. } => "rate_limited",
            Event::PollFailed => "poll_failed",
            Event::Panic { .. } => "panic",
            Event::StreamEndedStalled { .. } => "stream_ended_stalled",
            Event::ConnectionEnded { .. } => "connection_ended",
            Event::Cleanup { .. } => "cleanup",
            Event::MemoryReport { .. } => "memory_report",
            Event::ShutdownDraining { .. } => "shutdown_draining",
            Event::MembershipUnchecked { .. } => "membership_unchecked",
            Event::BackupSkipped { .. } => "backup_skipped",
            Event::DcFloodWait { .. } => "dc_flood_wait",
            Event::DcLoginAgain { .. } => "dc_login_again",
            Event::LoginRetry { .. } => "login_retry",
        }
    }

    /// Appends ` key=value` for each field.
    fn write_fields(&self, out: &mut String) {
        match *self {
            Event::FilesMode { mode } => field(out, "mode", mode),
            Event::FileUnreadable { reason } => field(out, "reason", reason),
            Event::DirectFallback | Event::PollFailed => {}
            Event::ReplyFailed { update } => field(out, "update", update),
            Event::ChannelPostIgnored { channel } => field(out, "channel", channel),
            Event::ButtonsSkipped { channel, post, reason } => {
                field(out, "channel", channel);
                field(out, "post", post);
                field(out, "reason", reason);
            }
            Event::LinkMade { channel, post, token } => {
                field(out, "channel", channel);
                field(out, "post", post);
                field(out, "token", token);
            }
            Event::RefusedSilently { user } => field(out, "user", user),
            Event::RateLimited { method, secs } => {
                field(out, "method", method);
                field(out, "secs", secs);
            }
            Event::Panic { place } => field(out, "place", place),
            Event::StreamEndedStalled { stream } => field(out, "stream", stream),
            Event::ConnectionEnded { kind, stalled } => {
                field(out, "kind", format_args!("{kind:?}"));
                field(out, "stalled", stalled);
            }
            Event::Cleanup { task, outcome } => {
                field(out, "task", task);
                field(out, "outcome", outcome);
            }
            Event::MemoryReport { when } => field(out, "when", when),
            Event::ShutdownDraining { downloads, grace_secs } => {
                field(out, "downloads", downloads);
                field(out, "grace_secs", grace_secs);
            }
            Event::MembershipUnchecked { reason } => field(out, "reason", reason),
            Event::BackupSkipped { channel, reason } => {
                field(out, "channel", channel);
                field(out, "reason", reason);
            }
            Event::DcFloodWait { dc, secs } => {
                field(out, "dc", dc);
                field(out, "secs", secs);
            }
            Event::DcLoginAgain { dc } => field(out, "dc", dc),
            Event::LoginRetry { secs } => field(out, "secs", secs),
        }
    }

    /// The whole line: `event=<name> key=value …`.
    pub(crate) fn line(&self) -> String {
        let mut out = format!("event={}", self.name());
        self.write_fields(&mut out);
        out
    }
}

fn field(out: &mut String, key: &str, value: impl Display) {
    let start = out.len() + key.len() + 2;
    let _ = write!(out, " {key}={value}");
    if out[start..].contains(char::is_whitespace) {
        let tail: String = out[start..].chars().map(|c| if c.is_whitespace() { '_' } else { c }).collect();
        out.truncate(start);
        out.push_str(&tail);
    }
}

/// Logs `event` at debug level under [`TARGET`]; the logger never rate-limits these lines.
pub(crate) fn emit(event: Event<'_>) {
    if log::log_enabled!(target: TARGET, log::Level::Debug) {
        log::debug!(target: TARGET, "{}", event.line());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_names_the_event_and_its_fields_with_spaces_replaced() {
        assert_eq!(
            Event::Cleanup { task: "log cache", outcome: "ok" }.line(),
            "event=cleanup task=log_cache outcome=ok"
        );
        assert_eq!(Event::PollFailed.line(), "event=poll_failed");
        let ended = Event::ConnectionEnded { kind: std::io::ErrorKind::TimedOut, stalled: true };
        assert_eq!(ended.line(), "event=connection_ended kind=TimedOut stalled=true");
    }
}
