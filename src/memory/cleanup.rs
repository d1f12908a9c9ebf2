//! The cleanup tasks the scheduler runs. Each job returns a one-line account of what it did, or
//! why it failed.

use std::rc::Rc;
use std::time::Instant;

use smol::{LocalExecutor, Task};

use super::monitor;
use super::scheduler::{self, Job, JobError};
use crate::app::{App, Core};
use crate::shutdown::Shutdown;
use crate::units::{human_size, month_key_before, now_unix};

/// Bandwidth rows are kept for the current month and this many before it (three months in all).
const BANDWIDTH_MONTHS_KEPT: u32 = 2;

/// Starts every task on `ex`; they end when `shutdown` fires.
pub fn spawn_all(ex: &LocalExecutor<'static>, app: &Rc<App>, shutdown: &Shutdown) -> Vec<Task<()>> {
    Job::ALL
        .iter()
        .map(|&job| {
            let (app, shutdown) = (app.clone(), shutdown.clone());
            ex.spawn(async move {
                scheduler::run(&app.ops.schedule, job, &shutdown, now_unix, async || work(job, &app)).await;
            })
        })
        .collect()
}

/// One run of `job`: a one-line account of what it did.
fn work(job: Job, app: &App) -> Result<String, JobError> {
    match job {
        Job::Streams => end_stalled_streams(app),
        Job::LogCache => sweep_log_cache(),
        Job::Memory => trim_memory(app),
        Job::Store => purge_store(&app.core),
        Job::BandwidthFlush => {
            Ok(format!("{} counted", human_size(app.serving.flush_bandwidth(&app.core.store, now_unix())?)))
        }
    }
}

fn end_stalled_streams(app: &App) -> Result<String, JobError> {
    let idle = app.core.config.timers.stream_idle;
    let ended = app.serving.streams.end_idle(Instant::now(), idle);
    for s in &ended {
        log::warn!(
            "ended stalled stream #{} (link {:x}) to {} after {}s without progress, {} sent",
            s.id,
            s.link_id,
            s.peer,
            s.last_progress.elapsed().as_secs(),
            human_size(s.bytes)
        );
        crate::event::emit(crate::event::Event::StreamEndedStalled { stream: s.id });
    }
    Ok(format!("ended {} stalled of {} active streams", ended.len(), app.serving.streams.active()))
}

fn sweep_log_cache() -> Result<String, JobError> {
    let freed = crate::logger::sweep_cache();
    let stats = crate::logger::cache_stats();
    Ok(format!("freed {freed} slots, {}/{} in use, {} suppressed so far", stats.used, stats.capacity, stats.suppressed))
}

fn trim_memory(app: &App) -> Result<String, JobError> {
    let mut monitor = app.ops.monitor.borrow_mut();
    let monitor = monitor.as_mut().ok_or(JobError::NoMemoryFigures)?;
    let before = monitor.sample().ok_or(JobError::NoSample)?;
    app.core.api.clear_idle();
    let paths = app.core.files.sweep();
    let mtproto = crate::sessions::sweep(&app.core.files);
    app.core.store.shrink_memory()?;
    let trimmed = monitor::trim_heap();
    let after = monitor.sample().ok_or(JobError::NoSample)?;
    Ok(format!(
        "rss {} -> {}, vms {}, {:.1}% of ram; {paths} file paths cached{}{}",
        human_size(before.rss),
        human_size(after.rss),
        human_size(after.vms),
        after.ram_percent(),
        if trimmed { ", heap trimmed" } else { "" },
        if app.core.files.direct().is_some() { format!(", {mtproto} MTProto connections open") } else { String::new() }
    ))
}

fn purge_store(core: &Core) -> Result<String, JobError> {
    let now = now_unix();
    let links = core.store.purge_expired_links(now)?;
    let oldest_kept = month_key_before(now, BANDWIDTH_MONTHS_KEPT);
    let months = core.store.purge_bandwidth_before(&oldest_kept)?;
    Ok(format!("removed {links} expired links and {months} bandwidth months before {oldest_kept}"))
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;
    use std::time::Duration;

    use smol::LocalExecutor;

    use super::*;
    use crate::bandwidth::owner_bytes::SPARE_OWNERS;
    use crate::store::LinkRow;
    use crate::testing;
    use crate::units::month_key;

    fn app() -> App {
        // No Bot API call is made: the cleanup tasks work on local state only.
        testing::app("http://127.0.0.1:9", &[("STREAM_IDLE_SECS", "60")], Rc::new(LocalExecutor::new()))
    }

    fn link(id: u64, expires_at: u64) -> LinkRow {
        LinkRow { file_unique_id: format!("U{id}"), expires_at, ..LinkRow::sample(id) }
    }

    #[test]
    fn the_store_task_removes_expired_links_and_keeps_the_rest() {
        let app = app();
        app.core.store.insert_link(&link(1, 10)).unwrap();
        app.core.store.insert_link(&link(2, 0)).unwrap();
        app.core.store.insert_link(&link(3, now_unix() + 3600)).unwrap();
        let report = purge_store(&app.core).unwrap();
        assert!(report.starts_with("removed 1 expired links"), "{report}");
        assert_eq!(app.core.store.link_count().unwrap(), 2);
    }

    #[test]
    fn the_stream_task_ends_only_streams_idle_past_the_limit() {
        let app = app();
        let peer = "127.0.0.1:1".parse().unwrap();
        let (stale_end, stale_ended) = crate::shutdown::channel();
        let (live_end, live_ended) = crate::shutdown::channel();
        let long_ago = Instant::now() - Duration::from_secs(120);
        let _stale = app.serving.streams.register(1, 1, peer, stale_end, long_ago).unwrap();
        let _live = app.serving.streams.register(2, 1, peer, live_end, Instant::now()).unwrap();
        let report = end_stalled_streams(&app).unwrap();
        assert!(report.starts_with("ended 1 stalled of"), "{report}");
        assert!(stale_ended.is_fired() && !live_ended.is_fired());
    }

    #[test]
    fn a_full_owner_table_is_flushed_to_the_store_to_make_room_and_shares_count_both() {
        let vars = [("MAX_CONNECTIONS", "1"), ("BANDWIDTH_LIMIT_GB", "0.000001"), ("ADMINS", "7777")];
        let app = testing::app("http://127.0.0.1:9", &vars, Rc::new(LocalExecutor::new()));
        let (end, _) = crate::shutdown::channel();
        let peer = "127.0.0.1:1".parse().unwrap();
        // One slot per stream plus the spare ones: that many owners fill the table.
        for owner in 1..=(1 + SPARE_OWNERS as u64) {
            app.serving
                .register_stream(&app.core.store, owner, owner, peer, &end)
                .unwrap()
                .progress(100, std::time::Instant::now());
        }
        let month = month_key(now_unix());
        assert_eq!(app.core.store.user_bandwidth(&month, 1).unwrap(), 0, "nothing flushed yet");
        let next = app
            .serving
            .register_stream(&app.core.store, 9_999, 9_999, peer, &end)
            .expect("room made by an early flush");
        assert_eq!(
            (app.core.store.user_bandwidth(&month, 1).unwrap(), app.core.store.bandwidth(&month).unwrap()),
            (100, 25_700)
        );
        next.progress(200, std::time::Instant::now());
        assert_eq!(app.serving.owner_bandwidth_used(&app.core.store, 9_999, now_unix()), 200, "unflushed bytes count");
        assert_eq!(app.serving.owner_bandwidth_used(&app.core.store, 1, now_unix()), 100, "flushed bytes count");
        assert_eq!(app.serving.bandwidth.user_limit(), Some(250));
        assert!(app.serving.owner_blocked_until(&app.core, 1, now_unix()).is_none());
        assert!(app.serving.owner_blocked_until(&app.core, 9_999, now_unix()).is_none());
        next.progress(50, std::time::Instant::now());
        assert!(app.serving.owner_blocked_until(&app.core, 9_999, now_unix()).is_some(), "250 of 250");
        let admin = app.serving.register_stream(&app.core.store, 5, 7777, peer, &end);
        assert!(admin.is_none(), "the one stream slot is taken");
        drop(next);
        app.serving
            .register_stream(&app.core.store, 5, 7777, peer, &end)
            .unwrap()
            .progress(1000, std::time::Instant::now());
        assert!(app.serving.owner_blocked_until(&app.core, 7777, now_unix()).is_none(), "admins are exempt");
        app.serving.flush_bandwidth(&app.core.store, now_unix()).unwrap();
        assert_eq!(
            (
                app.core.store.user_bandwidth(&month, 9_999).unwrap(),
                app.core.store.user_bandwidth(&month, 7777).unwrap()
            ),
            (250, 1000)
        );
        assert_eq!(app.serving.streams.owner_unflushed(9_999), 0);
    }
}
