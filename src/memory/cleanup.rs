//! The cleanup tasks the scheduler runs. Each job returns a one-line account of what it did, or
//! why it failed.

use std::rc::Rc;
use std::time::Instant;

use smol::{LocalExecutor, Task};

use super::monitor;
use super::scheduler::{self, BANDWIDTH, LOG_CACHE, MEMORY, STORE, STREAMS};
use crate::app::App;
use crate::shutdown::Shutdown;
use crate::units::{human_size, month_key_before, now_unix};

/// Bandwidth rows are kept for the current month and this many before it (three months in all).
const BANDWIDTH_MONTHS_KEPT: u32 = 2;

/// Starts every task on `ex`; they end when `shutdown` fires.
pub fn spawn_all(ex: &LocalExecutor<'static>, app: &Rc<App>, shutdown: &Shutdown) -> Vec<Task<()>> {
    let task = |name: &'static str, quiet: bool, job: fn(&App) -> Result<String, String>| {
        let (app, shutdown) = (app.clone(), shutdown.clone());
        ex.spawn(async move {
            scheduler::run(&app.schedule, name, quiet, &shutdown, now_unix, async || job(&app)).await;
        })
    };
    vec![
        task(STREAMS, false, end_stalled_streams),
        task(LOG_CACHE, false, sweep_log_cache),
        task(MEMORY, false, trim_memory),
        task(STORE, false, purge_store),
        task(BANDWIDTH, true, |app| {
            app.flush_bandwidth(now_unix()).map(|n| format!("{} counted", human_size(n))).map_err(|e| e.to_string())
        }),
    ]
}

fn end_stalled_streams(app: &App) -> Result<String, String> {
    let idle = app.config.timers.stream_idle;
    let ended = app.streams.end_idle(Instant::now(), idle);
    for s in &ended {
        log::warn!(
            "ended stalled stream #{} (link {:x}) to {} after {}s without progress, {} sent",
            s.id,
            s.link_id,
            s.peer,
            s.last_progress.elapsed().as_secs(),
            human_size(s.bytes)
        );
    }
    Ok(format!("ended {} stalled of {} active streams", ended.len(), app.streams.active()))
}

fn sweep_log_cache(_app: &App) -> Result<String, String> {
    let freed = crate::logger::sweep_cache();
    let stats = crate::logger::cache_stats();
    Ok(format!("freed {freed} slots, {}/{} in use, {} suppressed so far", stats.used, stats.capacity, stats.suppressed))
}

fn trim_memory(app: &App) -> Result<String, String> {
    let mut monitor = app.monitor.borrow_mut();
    let monitor = monitor.as_mut().ok_or("memory figures are not available on this system")?;
    let before = monitor.sample().ok_or("cannot read this process's memory")?;
    app.api.clear_idle();
    let paths = app.files.sweep();
    app.store.shrink_memory().map_err(|e| e.to_string())?;
    let trimmed = monitor::trim_heap();
    let after = monitor.sample().ok_or("cannot read this process's memory")?;
    Ok(format!(
        "rss {} -> {}, vms {}, {:.1}% of ram; {paths} file paths cached{}",
        human_size(before.rss),
        human_size(after.rss),
        human_size(after.vms),
        after.ram_percent(),
        if trimmed { ", heap trimmed" } else { "" }
    ))
}

fn purge_store(app: &App) -> Result<String, String> {
    let now = now_unix();
    let links = app.store.purge_expired_links(now).map_err(|e| e.to_string())?;
    let oldest_kept = month_key_before(now, BANDWIDTH_MONTHS_KEPT);
    let months = app.store.purge_bandwidth_before(&oldest_kept).map_err(|e| e.to_string())?;
    Ok(format!("removed {links} expired links and {months} bandwidth months before {oldest_kept}"))
}
