//! `/broadcast`: an admin's replied-to message copied (`copyMessage`) to every user who has not
//! blocked the bot, as a task of its own on the one executor, so updates keep being answered.
//! Paced under Telegram's overall limit, progress stored before every user (a restart resumes
//! where it stopped, never resending), one progress message edited every few seconds.

use std::rc::Rc;
use std::time::{Duration, Instant};

use frankenstein::AsyncTelegramApi;
use frankenstein::methods::CopyMessageParams;
use frankenstein::types::Message;

use super::commands;
use super::reply::{edit, send};
use crate::app::{App, Core};
use crate::store::BroadcastRow;
use crate::telegram::transport::TelegramError;
use crate::units::{human_duration, now_unix};

/// One message every 40 ms: 25 a second, under the ~30/s Telegram allows a bot overall (Bot
/// API FAQ, "broadcasting to users").
pub const PACE: Duration = Duration::from_millis(40);
/// How often the progress message is edited.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(3);
/// Users read from the store at a time.
const BATCH: u32 = 100;

/// `/broadcast` (a reply to the message to send) and `/broadcast cancel`; admins only (checked
/// by the caller).
pub async fn command(app: &Rc<App>, message: &Message, text: &str) -> Result<(), TelegramError> {
    let chat = message.chat.id;
    let running = app.bot.broadcast.running.get();
    if commands::args(text).eq_ignore_ascii_case("cancel") {
        let reply = if running {
            app.bot.broadcast.cancel.set(true);
            "Stopping the broadcast…"
        } else {
            "No broadcast is running."
        };
        return send(&app.core, chat, reply.into(), None).await.map(drop);
    }
    if running {
        let busy = "A broadcast is already running. Send /broadcast cancel to stop it.";
        return send(&app.core, chat, busy.into(), None).await.map(drop);
    }
    let Some(source) = message.reply_to_message.as_deref() else {
        let how = "Reply to the message you want to send to every user with /broadcast.";
        return send(&app.core, chat, how.into(), None).await.map(drop);
    };
    let progress = send(&app.core, chat, "Broadcast starting…".into(), None).await?;
    let row = BroadcastRow {
        admin_chat: chat,
        from_chat: source.chat.id,
        message_id: source.message_id,
        progress_message: progress.message_id,
        cursor: 0,
        sent: 0,
        failed: 0,
        blocked: 0,
        started_at: now_unix(),
    };
    if let Err(e) = app.core.store.save_broadcast(&row) {
        log::error!("cannot store the broadcast: {e}");
        return edit(&app.core, chat, progress.message_id, "Sorry, I could not start the broadcast.".into(), None)
            .await;
    }
    spawn(app, row);
    Ok(())
}

/// A broadcast a restart cut off goes on with the users it had not reached, and says so.
pub async fn resume(app: &Rc<App>) {
    let row = match app.core.store.broadcast() {
        Ok(Some(row)) => row,
        Ok(None) => return,
        Err(e) => return log::error!("cannot read the stored broadcast: {e}"),
    };
    log::info!("resuming the broadcast a restart interrupted ({} sent so far)", row.sent);
    let note = "The broadcast was interrupted by a restart; it goes on with the users it had not reached.";
    if let Err(e) = send(&app.core, row.admin_chat, note.into(), None).await {
        log::warn!("cannot tell the admin the broadcast resumes: {e}");
    }
    spawn(app, row);
}

fn spawn(app: &Rc<App>, row: BroadcastRow) {
    app.bot.broadcast.running.set(true);
    app.bot.broadcast.cancel.set(false);
    let task_app = app.clone();
    app.core
        .files
        .executor()
        .spawn(async move {
            run(&task_app, row).await;
            task_app.bot.broadcast.running.set(false);
        })
        .detach();
}

/// How one copy went.
enum Outcome {
    Sent,
    Blocked,
    Failed,
}

async fn copy(core: &Core, row: &BroadcastRow, user: u64) -> Outcome {
    let Ok(chat) = i64::try_from(user) else { return Outcome::Failed };
    let params =
        CopyMessageParams::builder().chat_id(chat).from_chat_id(row.from_chat).message_id(row.message_id).build();
    // A 429 is waited out inside the call (the transport holds that chat for `retry_after`), and
    // this loop sends one message at a time, so the whole broadcast waits with it.
    match core.api.copy_message(&params).await {
        Ok(_) => Outcome::Sent,
        // "Forbidden: bot was blocked by the user" / "user is deactivated": never again.
        Err(TelegramError::Api { code: 403, .. }) => Outcome::Blocked,
        Err(e) => {
            log::warn!("broadcast: cannot copy to user {user}: {e}");
            Outcome::Failed
        }
    }
}

fn progress_text(row: &BroadcastRow, left: u64) -> String {
    format!("<b>Broadcast</b>\nSent: {}\nFailed: {}\nBlocked: {}\nLeft: {left}", row.sent, row.failed, row.blocked)
}

/// Walks the users above the stored cursor until done or cancelled, then reports.
async fn run(app: &App, mut row: BroadcastRow) {
    let total = app.core.store.reachable_user_count_after(row.cursor).unwrap_or(0);
    let (mut done, mut next, mut edited) = (0u64, Instant::now(), Instant::now());
    let mut cancelled = false;
    'users: loop {
        let users = match app.core.store.reachable_users_after(row.cursor, BATCH) {
            Ok(users) if !users.is_empty() => users,
            Ok(_) => break,
            Err(e) => return log::error!("broadcast stopped: cannot read users: {e}"),
        };
        for user in users {
            if app.bot.broadcast.cancel.get() {
                cancelled = true;
                break 'users;
            }
            async_io::Timer::at(next).await;
            next = next.max(Instant::now()) + PACE;
            // The cursor is stored before the copy (with the counts so far): a crash mid-copy
            // may miss this user, but a restart never sends to anyone twice.
            (row.cursor, done) = (user, done + 1);
            if let Err(e) = app.core.store.save_broadcast(&row) {
                log::warn!("cannot store the broadcast's progress: {e}");
            }
            match copy(&app.core, &row, user).await {
                Outcome::Sent => row.sent += 1,
                Outcome::Failed => row.failed += 1,
                Outcome::Blocked => {
                    row.blocked += 1;
                    if let Err(e) = app.core.store.mark_blocked(user) {
                        log::warn!("cannot mark user {user} blocked: {e}");
                    }
                }
            }
            if edited.elapsed() >= PROGRESS_EVERY {
                edited = Instant::now();
                let text = progress_text(&row, total.saturating_sub(done));
                if let Err(e) = edit(&app.core, row.admin_chat, row.progress_message, text, None).await {
                    log::warn!("cannot edit the broadcast's progress: {e}");
                }
            }
        }
    }
    finish(&app.core, &row, total.saturating_sub(done), cancelled).await;
}

async fn finish(core: &Core, row: &BroadcastRow, left: u64, cancelled: bool) {
    if let Err(e) = core.store.clear_broadcast() {
        log::error!("cannot clear the finished broadcast (a restart would resume it): {e}");
    }
    let took = human_duration(now_unix().saturating_sub(row.started_at));
    let head = if cancelled { "Broadcast cancelled" } else { "Broadcast finished" };
    log::info!("{head}: {} sent, {} failed, {} blocked, {left} left", row.sent, row.failed, row.blocked);
    let _ = edit(core, row.admin_chat, row.progress_message, progress_text(row, left), None).await;
    let report = format!(
        "<b>{head}</b> after {took}\nSent: {}\nFailed: {}\nBlocked (skipped from now on): {}\nNot reached: {left}",
        row.sent, row.failed, row.blocked
    );
    if let Err(e) = send(core, row.admin_chat, report, None).await {
        log::warn!("cannot send the broadcast report: {e}");
    }
}
