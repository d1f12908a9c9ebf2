//! `/metrics` (Prometheus text: memory, streams, bytes, responses, updates, log cache) and
//! `/api/info` (StreamBot's JSON keys, deliberately without memory figures).

use std::fmt::Write;

use http_types::StatusCode;

use super::egress::{Body, Reply};
use crate::app::App;
use crate::panics::Domain;
use crate::units::{iso_utc, month_key, now_unix};

/// Prometheus text exposition format 0.0.4.
pub fn metrics(app: &App) -> Reply {
    let mut out = String::with_capacity(2048);
    let mut metric = |name: &str, kind: &str, help: &str, value: &dyn std::fmt::Display| {
        let _ =
            writeln!(out, "# HELP streambot_{name} {help}\n# TYPE streambot_{name} {kind}\nstreambot_{name} {value}");
    };
    if let Some(r) = app.ops.monitor.borrow_mut().as_mut().and_then(|m| m.sample()) {
        metric("resident_memory_bytes", "gauge", "Resident set size.", &r.rss);
        metric("virtual_memory_bytes", "gauge", "Virtual memory size.", &r.vms);
    }
    metric("active_streams", "gauge", "Response bodies streaming now.", &app.serving.streams.active());
    metric("stream_capacity", "gauge", "Slots in the stream table.", &app.serving.streams.capacity());
    metric("sent_bytes_total", "counter", "File bytes handed to clients.", &app.serving.streams.bytes_sent());
    metric("updates_handled_total", "counter", "Telegram updates handled.", &app.bot.updates_handled.get());
    metric(
        "replies_lost_total",
        "counter",
        "Replies Telegram did not take after retrying for REPLY_RETRY_SECS.",
        &app.bot.replies_lost.get(),
    );
    let cache = crate::logger::cache_stats();
    metric("log_cache_used", "gauge", "Rate-limiter slots in use.", &cache.used);
    metric("log_cache_capacity", "gauge", "Rate-limiter slots.", &cache.capacity);
    metric("log_suppressed_total", "counter", "Log lines dropped as repeats.", &cache.suppressed);
    metric("uptime_seconds", "gauge", "Seconds since start.", &app.core.started.elapsed().as_secs());
    out.push_str("# HELP streambot_http_responses_total HTTP responses by status.\n# TYPE streambot_http_responses_total counter\n");
    for (status, count) in app.serving.responses.all() {
        let status = status.map_or_else(|| "other".to_owned(), |s| s.to_string());
        let _ = writeln!(out, "streambot_http_responses_total{{status=\"{status}\"}} {count}");
    }
    out.push_str("# HELP streambot_panics_total Panics caught; each cost one connection or one update.\n# TYPE streambot_panics_total counter\n");
    for (domain, name) in [(Domain::Http, "http"), (Domain::Update, "update")] {
        let _ = writeln!(out, "streambot_panics_total{{domain=\"{name}\"}} {}", app.ops.panics.count(domain));
    }
    let mut reply = Reply::new(StatusCode::Ok, Body::from(out));
    reply.head.insert_header("content-type", "text/plain; version=0.0.4; charset=utf-8");
    reply.head.insert_header("cache-control", "no-store");
    reply
}

/// GB as `BANDWIDTH_LIMIT_GB` counts them (10^9 bytes), rounded to 3 places like StreamBot.
fn gb(bytes: u64) -> f64 {
    (bytes as f64 / 1e6).round() / 1e3
}

/// StreamBot's `/api/info`: status, bot, features, uptime, users and this month's bandwidth;
/// 503 with `bot_status: "disconnected"` while Telegram is failing.
pub fn api_info(app: &App) -> Reply {
    let now = now_unix();
    let used = app.serving.bandwidth_used(now);
    let uptime = app.core.started.elapsed().as_secs();
    let down = app.telegram_down();
    let (id, first_name) = app.bot.me.get().cloned().unwrap_or_default();
    let expiry = app.core.config.link_expiry.map_or(0, |d| d.as_secs());
    let limit = app.core.config.bandwidth_limit;
    let body = serde_json::json!({
        "status": if down { "error" } else { "ok" },
        "bot_status": if down { "disconnected" } else { "connected" },
        "bot_info": {
            "id": id,
            "username": app.bot.username(),
            "first_name": first_name,
            "mention": format!("@{}", app.bot.username()),
            "link": format!("https://t.me/{}", app.bot.username()),
        },
        "features": {
            "force_subscribe": app.core.config.force_sub_channel.is_some(),
            "force_subscribe_channel_id": app.core.config.force_sub_channel,
            "link_expiry_enabled": expiry > 0,
            "link_expiry_duration_seconds": expiry,
            "link_expiry_duration_human": app.core.config.link_expiry_text(),
            "link_expiry_seconds": expiry,
            "max_file_size": app.core.config.file_size_limit(),
            "range_requests": true,
        },
        "uptime": crate::units::human_duration(uptime),
        "uptime_seconds": uptime,
        "github_repo": app.core.config.repo_url,
        "server_time_utc": iso_utc(now),
        "totaluser": app.core.store.user_count().unwrap_or(0),
        "bandwidth_info": {
            "month": month_key(now),
            "used_bytes": used,
            "used_gb": gb(used),
            "limit_bytes": limit,
            "limit_gb": limit.map_or(0.0, gb),
            "limit_enabled": limit.is_some(),
            "remaining_gb": limit.map(|l| gb(l.saturating_sub(used))),
        },
        "version": crate::version(),
    });
    let status = if down { StatusCode::ServiceUnavailable } else { StatusCode::Ok };
    let mut reply = Reply::new(status, Body::from(body.to_string()));
    reply.head.insert_header("content-type", "application/json");
    reply.head.insert_header("cache-control", "no-store");
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    fn max_file_size(vars: &[(&str, &str)]) -> u64 {
        let app = crate::testing::app("http://127.0.0.1:9", vars, std::rc::Rc::new(smol::LocalExecutor::new()));
        let Body::Bytes(body) = api_info(&app).body else { panic!("an in-memory body") };
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        json["features"]["max_file_size"].as_u64().unwrap()
    }

    #[test]
    fn the_max_file_size_follows_the_mode() {
        assert_eq!(max_file_size(&[]), 20 << 20);
        assert_eq!(max_file_size(&[("TELEGRAM_LOCAL_FILES", "/srv")]), 4000 << 20);
        let direct = [("TELEGRAM_API_ID", "1"), ("TELEGRAM_API_HASH", "0123456789abcdef0123456789abcdef")];
        assert_eq!(max_file_size(&direct), 2000 << 20);
    }
}
