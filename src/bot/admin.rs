//! Admin commands: `/memory` (the memory-management view), `/stats` (with the users whose links
//! served most this month) and `/logs`. Non-admins get a polite refusal.

use std::time::Instant;

use crate::app::App;
use crate::logger::CacheStats;
use crate::memory::monitor::MemoryReport;
use crate::memory::scheduler::TaskState;
use crate::units::{human_duration, human_size, utc_minute};

/// The refusal non-admins get.
pub const NOT_ADMIN: &str = "Sorry, this command is only for the bot's admins.";

/// Everything `/memory` shows, gathered at one moment.
pub struct MemoryView {
    pub report: Option<MemoryReport>,
    pub active_streams: usize,
    pub stream_capacity: usize,
    pub idle_connections: usize,
    /// Direct mode: open MTProto connections and downloads running over them.
    pub mtproto: Option<(usize, usize)>,
    pub cache: CacheStats,
    pub uptime_secs: u64,
    pub tasks: Vec<TaskState>,
}

/// The `/memory` message (HTML), short enough to read on a phone.
pub fn memory_text(v: &MemoryView) -> String {
    let memory = match v.report {
        Some(r) => format!("RSS: {}\nVMS: {}\nRAM: {:.1}%", human_size(r.rss), human_size(r.vms), r.ram_percent()),
        None => "RSS, VMS, RAM: not available on this system".to_owned(),
    };
    let mut text = format!(
        "<b>Memory</b>\n{memory}\n\nActive streams: {}/{}\nTelegram clients: {}\nLogger cache: {}/{} ({} suppressed)\nUptime: {}\n\n<b>Cleanup tasks</b>",
        v.active_streams,
        v.stream_capacity,
        match v.mtproto {
            None => format!("1 (Bot API, {} idle connections)", v.idle_connections),
            Some((connections, downloads)) => format!(
                "2 (Bot API, {} idle connections; MTProto, {connections} DC connections, {downloads} downloads)",
                v.idle_connections
            ),
        },
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
            t.job.name(),
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
        report: app.ops.monitor.borrow_mut().as_mut().and_then(|m| m.sample()),
        active_streams: app.serving.streams.active(),
        stream_capacity: app.serving.streams.capacity(),
        idle_connections: app.core.api.idle_count(),
        mtproto: app.core.files.direct().map(|pool| (pool.connections(), pool.downloads())),
        cache: crate::logger::cache_stats(),
        uptime_secs: Instant::now().duration_since(app.core.started).as_secs(),
        tasks: app.ops.schedule.tasks(),
    }
}

/// `/logs` options: `limit=N` (default 20, at most 100), `level=L` (that level and worse),
/// `filter=T` (lines containing T).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogQuery {
    pub limit: usize,
    pub level: Option<log::Level>,
    pub filter: Option<String>,
}

/// Why `/logs` options cannot be read; shown to the admin as the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogQueryError {
    Limit,
    Level,
    /// An option other than `limit`, `level` and `filter`, as written.
    Unknown(String),
}

impl std::fmt::Display for LogQueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogQueryError::Limit => write!(f, "limit must be 1-100"),
            LogQueryError::Level => write!(f, "level must be error, warn, info, debug or trace"),
            LogQueryError::Unknown(word) => write!(f, "unknown option '{word}': use limit=N, level=L, filter=TEXT"),
        }
    }
}

impl std::error::Error for LogQueryError {}

/// Parses the words after `/logs`; an unknown option is an error that says what is allowed.
pub fn parse_log_query(args: &str) -> Result<LogQuery, LogQueryError> {
    let mut q = LogQuery { limit: 20, level: None, filter: None };
    for word in args.split_whitespace() {
        match word.split_once('=') {
            Some(("limit", n)) => {
                q.limit = n.parse::<usize>().ok().filter(|n| (1..=100).contains(n)).ok_or(LogQueryError::Limit)?;
            }
            Some(("level", l)) => q.level = Some(l.parse().map_err(|_| LogQueryError::Level)?),
            Some(("filter", t)) if !t.is_empty() => q.filter = Some(t.to_owned()),
            _ => return Err(LogQueryError::Unknown(word.to_owned())),
        }
    }
    Ok(q)
}

/// The last `limit` lines matching the query, oldest first.
pub fn select_lines(lines: &[String], q: &LogQuery) -> Vec<String> {
    let level_ok = |line: &str| match q.level {
        None => true,
        Some(max) => {
            line.split_whitespace().nth(1).and_then(|l| l.parse::<log::Level>().ok()).is_some_and(|l| l <= max)
        }
    };
    let mut picked: Vec<String> = lines
        .iter()
        .rev()
        .filter(|l| level_ok(l) && q.filter.as_deref().is_none_or(|f| l.contains(f)))
        .take(q.limit)
        .cloned()
        .collect();
    picked.reverse();
    picked
}

/// The `/logs` message: matching lines in a `<pre>` block, cut to Telegram's 4096 characters.
pub fn logs_text(args: &str) -> String {
    let q = match parse_log_query(args) {
        Ok(q) => q,
        Err(e) => return crate::html::escape(&e.to_string()),
    };
    let lines = select_lines(&crate::logger::recent_lines(), &q);
    if lines.is_empty() {
        return "No matching log lines.".to_owned();
    }
    let mut body = crate::html::escape(&lines.join("\n"));
    // Keep the newest lines when the message would be too long for Telegram.
    const ROOM: usize = 4000;
    if body.len() > ROOM {
        let mut cut = body.len() - ROOM;
        while !body.is_char_boundary(cut) {
            cut += 1;
        }
        body = body[cut..].split_once('\n').map_or(String::new(), |(_, rest)| rest.to_owned());
    }
    format!("<pre>{body}</pre>")
}

/// Users `/stats` lists by this month's bytes.
const TOP_USERS: u32 = 5;

/// The `/stats` message: users, links, this month's bandwidth and its shares, free disk,
/// streams now. The counted bytes are flushed first, so the per-user figures are current.
pub fn stats_text(app: &App) -> String {
    let now = crate::units::now_unix();
    if let Err(e) = app.serving.flush_bandwidth(&app.core.store, now) {
        log::warn!("cannot save the bandwidth counted so far; /stats shows the stored figures: {e}");
    }
    let month = crate::units::month_key(now);
    let counted = app.serving.bandwidth_used(now);
    let limit = app.core.config.bandwidth_limit_text();
    let disk =
        crate::memory::monitor::free_disk(&app.core.config.data_dir).map_or_else(|| "unknown".into(), human_size);
    format!(
        "<b>Stats</b>\nUsers: {} ({} blocked the bot)\nLinks stored: {}\nLinks made in the last 24 h: {}\nLinks still valid: {}\nBandwidth {month}: {} of {limit}\n{}\nFree disk in DATA_DIR: {disk}\nActive streams: {}\nUpdates handled: {}\nUptime: {}",
        app.core.store.user_count().unwrap_or(0),
        app.core.store.blocked_user_count().unwrap_or(0),
        app.core.store.link_count().unwrap_or(0),
        app.core.store.links_made_since(now.saturating_sub(crate::limits::LINK_DAY)).unwrap_or(0),
        app.core.store.valid_link_count(now).unwrap_or(0),
        crate::units::human_size(counted),
        share_stats(app, &month),
        app.serving.streams.active(),
        app.bot.updates_handled.get(),
        human_duration(app.core.started.elapsed().as_secs())
    )
}

/// The share setting, how many users are past it, and the top users by this month's bytes.
fn share_stats(app: &App, month: &str) -> String {
    let share = app.core.config.bandwidth_user_share;
    let mut text = match app.serving.bandwidth.user_limit() {
        None => "Share per user: no limit".to_owned(),
        Some(limit) => {
            let over = app.core.store.bandwidth_users_at_least(month, limit).unwrap_or(0);
            // Admins have no share: those past it are not over anything.
            let admins = app
                .core
                .config
                .admins
                .iter()
                .filter(|&&a| app.core.store.user_bandwidth(month, a).unwrap_or(0) >= limit);
            let over = over.saturating_sub(admins.count() as u64);
            format!(
                "Share per user: {share}% ({}), {over} user{} past it",
                human_size(limit),
                if over == 1 { "" } else { "s" }
            )
        }
    };
    let top = app.core.store.top_bandwidth_users(month, TOP_USERS).unwrap_or_default();
    if !top.is_empty() {
        text.push_str("\nTop users this month:");
    }
    for (i, (id, bytes, name)) in top.iter().enumerate() {
        let name = crate::html::escape(name.as_deref().unwrap_or("?"));
        text.push_str(&format!("\n{}. {name} ({id}): {}", i + 1, human_size(*bytes)));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn log_query_parses_options_and_refuses_others() {
        assert_eq!(parse_log_query("").unwrap(), LogQuery { limit: 20, level: None, filter: None });
        let q = parse_log_query("limit=5 level=warn filter=getUpdates").unwrap();
        assert_eq!(q, LogQuery { limit: 5, level: Some(log::Level::Warn), filter: Some("getUpdates".into()) });
        assert_eq!(parse_log_query("limit=0"), Err(LogQueryError::Limit));
        assert_eq!(parse_log_query("level=loud"), Err(LogQueryError::Level));
        assert!(parse_log_query("colour=red").unwrap_err().to_string().contains("colour=red"));
    }

    #[test]
    fn selected_lines_are_the_newest_matching_ones_in_order() {
        let lines: Vec<String> = [
            "2026-11-25T15:00:00Z INFO  a: one",
            "2026-11-25T15:00:01Z WARN  a: two",
            "2026-11-25T15:00:02Z ERROR a: three",
            "2026-11-25T15:00:03Z DEBUG a: four",
        ]
        .map(String::from)
        .to_vec();
        let q = |limit, level, filter: Option<&str>| LogQuery { limit, level, filter: filter.map(String::from) };
        assert_eq!(select_lines(&lines, &q(2, None, None)), lines[2..]);
        assert_eq!(select_lines(&lines, &q(9, Some(log::Level::Warn), None)), lines[1..3]);
        assert_eq!(select_lines(&lines, &q(9, None, Some("one"))), lines[..1]);
    }

    #[test]
    fn stats_count_users_past_their_share_but_not_admins_and_list_the_top_users() {
        let vars = [("BANDWIDTH_LIMIT_GB", "0.000001"), ("BANDWIDTH_USER_SHARE", "10"), ("ADMINS", "3")];
        let app = crate::testing::app("http://127.0.0.1:9", &vars, std::rc::Rc::new(smol::LocalExecutor::new()));
        let month = crate::units::month_key(crate::units::now_unix());
        app.core.store.upsert_user(1, "<Ann>", None, 0).unwrap();
        app.core.store.add_bandwidth(&month, 700, &[(1, 150), (2, 50), (3, 500)]).unwrap();
        let text = share_stats(&app, &month);
        assert!(text.starts_with("Share per user: 10% (100 B), 1 user past it\nTop users this month:"), "{text}");
        assert!(text.contains("\n1. ? (3): 500 B\n2. &lt;Ann&gt; (1): 150 B\n3. ? (2): 50 B"), "{text}");
        let off = crate::testing::app(
            "http://127.0.0.1:9",
            &[("BANDWIDTH_USER_SHARE", "100")],
            std::rc::Rc::new(smol::LocalExecutor::new()),
        );
        assert_eq!(share_stats(&off, &month), "Share per user: no limit");
    }

    #[test]
    fn memory_text_has_every_field() {
        let view = MemoryView {
            report: Some(MemoryReport { rss: 3_670_016, vms: 21_076_377, total_ram: 1 << 30 }),
            active_streams: 2,
            stream_capacity: 256,
            idle_connections: 1,
            mtproto: None,
            cache: CacheStats { used: 12, capacity: 1000, suppressed: 3 },
            uptime_secs: 90_000,
            tasks: vec![TaskState {
                job: crate::memory::scheduler::Job::Streams,
                interval: Duration::from_secs(600),
                last_run: Some(0),
                next_run: 600,
                runs: 1,
                failures: 1,
                last_outcome: Some(Err(std::rc::Rc::new(crate::memory::scheduler::JobError::NoSample))),
            }],
        };
        let text = memory_text(&view);
        for part in [
            "RSS: 3.50 MiB",
            "VMS: 20.1 MiB",
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
