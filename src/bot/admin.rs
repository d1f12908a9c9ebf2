//! Admin commands: `/memory` (the memory-management view). Non-admins get a polite refusal.

use std::time::Instant;

use crate::app::App;
use crate::logger::CacheStats;
use crate::memory::monitor::MemoryReport;
use crate::memory::scheduler::TaskState;
use crate::units::{human_duration, utc_minute};

/// The refusal non-admins get.
pub const NOT_ADMIN: &str = "Sorry, this command is only for the bot's admins.";

/// Everything `/memory` shows, gathered at one moment.
pub struct MemoryView {
    pub report: Option<MemoryReport>,
    pub active_streams: usize,
    pub stream_capacity: usize,
    pub idle_connections: usize,
    pub cache: CacheStats,
    pub uptime_secs: u64,
    pub tasks: Vec<TaskState>,
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

/// The `/memory` message (HTML), short enough to read on a phone.
pub fn memory_text(v: &MemoryView) -> String {
    let memory = match v.report {
        Some(r) => format!("RSS: {}\nVMS: {}\nRAM: {:.1}%", mb(r.rss), mb(r.vms), r.ram_percent()),
        None => "RSS, VMS, RAM: not available on this system".to_owned(),
    };
    let mut text = format!(
        "<b>Memory</b>\n{memory}\n\nActive streams: {}/{}\nTelegram clients: 1 (Bot API, {} idle connections)\nLogger cache: {}/{} ({} suppressed)\nUptime: {}\n\n<b>Cleanup tasks</b>",
        v.active_streams,
        v.stream_capacity,
        v.idle_connections,
        v.cache.used,
        v.cache.capacity,
        v.cache.suppressed,
        human_duration(v.uptime_secs)
    );
    for t in &v.tasks {
        let last = match (&t.last_run, &t.last_outcome) {
            (Some(at), Some(Err(_))) => format!("{} (failed)", utc_minute(*at)),
            (Some(at), _) => utc_minute(*at),
            (None, _) => "not yet".to_owned(),
        };
        text.push_str(&format!(
            "\n• {}: every {}\n  last {}, next {}",
            t.name,
            human_duration(t.interval.as_secs()),
            last,
            utc_minute(t.next_run)
        ));
    }
    text
}

/// Gathers the `/memory` view from the running app.
pub fn memory_view(app: &App) -> MemoryView {
    MemoryView {
        report: app.monitor.borrow_mut().as_mut().and_then(|m| m.sample()),
        active_streams: app.streams.active(),
        stream_capacity: app.streams.capacity(),
        idle_connections: app.api.idle_count(),
        cache: crate::logger::cache_stats(),
        uptime_secs: Instant::now().duration_since(app.started).as_secs(),
        tasks: app.schedule.tasks(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn memory_text_has_every_field() {
        let view = MemoryView {
            report: Some(MemoryReport { rss: 3_670_016, vms: 21_076_377, total_ram: 1 << 30 }),
            active_streams: 2,
            stream_capacity: 256,
            idle_connections: 1,
            cache: CacheStats { used: 12, capacity: 1000, suppressed: 3 },
            uptime_secs: 90_000,
            tasks: vec![TaskState {
                name: "streams",
                interval: Duration::from_secs(600),
                last_run: Some(0),
                next_run: 600,
                runs: 1,
                failures: 1,
                last_outcome: Some(Err("x".into())),
            }],
        };
        let text = memory_text(&view);
        for part in [
            "RSS: 3.5 MB",
            "VMS: 20.1 MB",
            "RAM: 0.3%",
            "Active streams: 2/256",
            "Telegram clients: 1",
            "Logger cache: 12/1000 (3 suppressed)",
            "Uptime: 1 day 1 hour",
            "streams: every 10 minutes",
            "last 1970-01-01 00:00 UTC (failed), next 1970-01-01 00:10 UTC",
        ] {
            assert!(text.contains(part), "{part:?} missing from:\n{text}");
        }
    }
}
