//! Memory management end to end: the stream table empties however a download ends, cleanup tasks
//! run on their schedule and survive a failing run, shutdown drains and saves, `/memory`,
//! `/metrics` and `/api/info`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::harness::{WAIT, World, bytes, get, raw};
use crate::support::bot_process::BotProcess;
use crate::support::fake_telegram::{FakeUser, Fault};
use crate::support::raw_http::Conn;

/// Nearly the cloud limit, so a download outlasts the socket buffers.
const BIG: usize = 19 * 1024 * 1024;

/// A `streambot_<name>` value from `/metrics`.
pub fn metric(addr: SocketAddr, name: &str) -> u64 {
    let res = get(addr, "/metrics");
    assert_eq!(res.status, 200);
    let text = res.text();
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("streambot_{name} ")))
        .unwrap_or_else(|| panic!("no {name} in {text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// Waits until `streambot_<name>` equals `want`; panics with the last value at the deadline.
pub fn wait_metric(addr: SocketAddr, name: &str, want: u64) {
    let deadline = Instant::now() + WAIT;
    loop {
        let got = metric(addr, name);
        if got == want {
            return;
        }
        assert!(Instant::now() < deadline, "{name} stayed at {got}, expected {want}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Opens a download and reads `n` body bytes (or fewer if it ends); returns the socket.
fn start_download(addr: SocketAddr, path: &str, headers: &[&str], n: usize) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(&raw("GET", path, headers, true)).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = 0;
    while got < n {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(k) => got += k,
        }
    }
    s
}

#[test]
fn the_stream_table_empties_however_a_download_ends() {
    let world = World::new("tracker");
    let bot = world.start_bot(&[("STREAM_IDLE_SECS", "1"), ("CLEANUP_STREAMS_SECS", "1")]);
    let addr = bot.addr();
    let file = world.tg.add_file(bytes(BIG, 21), "big.bin", "application/octet-stream");
    let path = format!("/dl/{}", world.link_for(&file));

    // The client goes away mid-body.
    let s = start_download(addr, &path, &[], 256 * 1024);
    assert_eq!(metric(addr, "active_streams"), 1, "a download in progress is tracked");
    drop(s);
    wait_metric(addr, "active_streams", 0);

    // A range request abandoned part way.
    let s = start_download(addr, &path, &["Range: bytes=1000000-"], 128 * 1024);
    drop(s);
    wait_metric(addr, "active_streams", 0);

    // The upstream fails mid-body.
    world.tg.fail_next("file", Fault::CutBody { after: 500_000 });
    let s = start_download(addr, &path, &[], usize::MAX);
    drop(s);
    wait_metric(addr, "active_streams", 0);

    // The client stops reading but keeps the connection: the sweep ends it.
    let stalled = start_download(addr, &path, &[], 64 * 1024);
    wait_metric(addr, "active_streams", 0);
    assert!(bot.wait_for_event(WAIT, "stream_ended_stalled", &[]).is_some(), "{}", bot.output());
    drop(stalled);
    assert!(metric(addr, "sent_bytes_total") > 0);
}

#[test]
fn cleanup_tasks_run_log_and_survive_a_failing_run() {
    let world = World::new("scheduler");
    let secs = [
        ("CLEANUP_STREAMS_SECS", "1"),
        ("CLEANUP_LOG_CACHE_SECS", "1"),
        ("CLEANUP_MEMORY_SECS", "1"),
        ("CLEANUP_STORE_SECS", "1"),
        ("BANDWIDTH_FLUSH_SECS", "1"),
    ];
    let bot = world.start_bot(&secs);
    for name in ["streams", "log_cache", "memory", "store"] {
        let ran = bot.wait_for_event(WAIT, "cleanup", &[("task", name), ("outcome", "ok")]);
        assert!(ran.is_some(), "{name} never ran:\n{}", bot.output());
    }
    assert!(bot.output().contains("cleanup memory: rss "), "memory task reports rss before and after");

    // Another writer holds the database: the store task fails, logs it, and runs again later.
    let db = rusqlite::Connection::open(world.data.path().join("streambot.db")).unwrap();
    db.execute_batch("BEGIN IMMEDIATE; INSERT INTO kv(key, value) VALUES('lock', 'held');").unwrap();
    assert!(
        bot.wait_for_event(WAIT, "cleanup", &[("task", "store"), ("outcome", "failed")]).is_some(),
        "{}",
        bot.output()
    );
    db.execute_batch("ROLLBACK").unwrap();
    let store_ok = [("task", "store"), ("outcome", "ok")];
    let successes = bot.count_events("cleanup", &store_ok);
    let deadline = Instant::now() + WAIT;
    while bot.count_events("cleanup", &store_ok) <= successes {
        assert!(Instant::now() < deadline, "store task stopped after failing:\n{}", bot.output());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_during_a_download_exits_cleanly_and_keeps_what_was_counted() {
    let world = World::new("shutdown");
    let bot = world.start_bot(&[("SHUTDOWN_GRACE_SECS", "2")]);
    let file = world.tg.add_file(bytes(BIG, 22), "big.bin", "application/octet-stream");
    let path = format!("/dl/{}", world.link_for(&file));
    world.tg.send_text(&world.user, "marker before shutdown");
    world.tg.wait_for_nth_sent(WAIT, 2, |s| s.method == "sendMessage").unwrap();

    let stalled = start_download(bot.addr(), &path, &[], 512 * 1024);
    let sent_before = metric(bot.addr(), "sent_bytes_total");
    assert!(sent_before >= 512 * 1024);
    let started = Instant::now();
    bot.signal("TERM");
    let status = bot.wait_exit(WAIT).expect("exits after SIGTERM");
    assert!(status.success(), "exit status {status:?}\n{}", bot.output());
    assert!(started.elapsed() < Duration::from_secs(8), "took {:?} with a 2 s grace", started.elapsed());
    let out = bot.output();
    assert!(out.contains("ended 1 downloads still running"), "{out}");
    assert!(out.contains("memory (shutdown): rss "), "{out}");
    drop(stalled);

    let db = rusqlite::Connection::open(world.data.path().join("streambot.db")).unwrap();
    let counted: i64 = db.query_row("SELECT COALESCE(SUM(bytes), 0) FROM bandwidth", [], |r| r.get(0)).unwrap();
    assert!(counted as u64 >= sent_before, "bandwidth {counted} < {sent_before} sent before the signal");
    let offset: String = db.query_row("SELECT value FROM kv WHERE key = 'poll_offset'", [], |r| r.get(0)).unwrap();
    drop(db);

    let calls_before = world.tg.get_updates_offsets().len();
    let bot = world.start_bot(&[]);
    world.tg.send_text(&world.user, "after restart");
    world.tg.wait_for_nth_sent(WAIT, 3, |s| s.method == "sendMessage").unwrap();
    let first_poll = world.tg.get_updates_offsets()[calls_before];
    assert_eq!(first_poll, Some(offset.parse().unwrap()), "the restart resumes from the stored offset");
    assert_eq!(world.tg.sent().iter().filter(|s| s.method == "sendMessage").count(), 3);
    drop(bot);
}

#[test]
fn admin_commands_answer_admins_and_refuse_others() {
    let world = World::new("memorycmd");
    let _bot = world.start_bot(&[("ADMINS", "1001")]);
    world.tg.send_text(&world.user, "/memory");
    let reply = world.tg.wait_for_sent(WAIT, |s| s.method == "sendMessage").unwrap();
    let text = reply.text().unwrap();
    for field in [
        "RSS: ",
        " MiB",
        "VMS: ",
        "RAM: ",
        "Active streams: 0/",
        "Telegram clients: 1",
        "Logger cache: ",
        "/1000",
        "suppressed",
        "Uptime: ",
        "streams: every 10 minutes",
        "log cache: every 30 minutes",
        "memory: every 1 hour",
        "store: every 1 day",
        "next ",
    ] {
        assert!(text.contains(field), "{field:?} missing from:\n{text}");
    }
    world.tg.send_text(&world.user, "/logs limit=3 filter=listening");
    let logs = world.tg.wait_for_nth_sent(WAIT, 2, |s| s.method == "sendMessage").unwrap();
    assert!(logs.text().unwrap().contains("listening on http://127.0.0.1:"), "{:?}", logs.text());
    world.tg.send_text(&world.user, "/logs colour=red");
    let bad = world.tg.wait_for_nth_sent(WAIT, 3, |s| s.method == "sendMessage").unwrap();
    // Sent as HTML: Telegram shows the entity as a quote.
    assert!(bad.text().unwrap().contains("unknown option &#39;colour=red&#39;"), "{:?}", bad.text());
    world.tg.send_text(&world.user, "/stats");
    let stats = world.tg.wait_for_nth_sent(WAIT, 4, |s| s.method == "sendMessage").unwrap();
    assert!(stats.text().unwrap().contains("Users: 1") && stats.text().unwrap().contains("Bandwidth "));

    let stranger = FakeUser::new(2002, "Bob");
    world.tg.send_text(&stranger, "/memory");
    let refusal = world.tg.wait_for_sent(WAIT, |s| s.chat_id() == Some(2002)).unwrap();
    assert!(refusal.text().unwrap().contains("only for the bot's admins"));
}

#[test]
fn metrics_and_api_info_and_memory_log_lines() {
    let world = World::new("metrics");
    let bot = world.start_bot(&[]);
    for when in ["startup", "bot_started", "web_server_started"] {
        let report = bot.wait_for_event(WAIT, "memory_report", &[("when", when)]);
        assert!(report.is_some(), "no {when} memory line:\n{}", bot.output());
    }
    assert!(metric(bot.addr(), "resident_memory_bytes") > 1024 * 1024);
    assert_eq!(metric(bot.addr(), "log_cache_capacity"), 1000);

    // The same debug line many times within the window: logged once, the rest counted.
    for _ in 0..20 {
        get(bot.addr(), "/health");
    }
    assert!(metric(bot.addr(), "log_suppressed_total") >= 10);
    let text = get(bot.addr(), "/metrics").text();
    assert!(text.contains("streambot_http_responses_total{status=\"200\"}"), "{text}");

    let info = get(bot.addr(), "/api/info");
    assert_eq!(info.status, 200);
    let json = info.json().unwrap();
    for key in [
        "status",
        "bot_status",
        "bot_info",
        "features",
        "uptime",
        "github_repo",
        "server_time_utc",
        "totaluser",
        "bandwidth_info",
    ] {
        assert!(json.get(key).is_some(), "/api/info lacks {key}: {json}");
    }
    let body = info.text().to_lowercase();
    assert!(!body.contains("rss") && !body.contains("memory"), "/api/info must stay free of memory figures: {body}");
}

#[test]
fn a_second_signal_exits_at_once() {
    let world = World::new("twosignals");
    let bot = world.start_bot(&[("SHUTDOWN_GRACE_SECS", "60")]);
    let file = world.tg.add_file(bytes(BIG, 23), "big.bin", "application/octet-stream");
    let path = format!("/dl/{}", world.link_for(&file));
    let stalled = start_download(bot.addr(), &path, &[], 64 * 1024);
    bot.signal("TERM");
    assert!(bot.wait_for_event(WAIT, "shutdown_draining", &[("grace_secs", "60")]).is_some(), "{}", bot.output());
    let started = Instant::now();
    bot.signal("INT");
    let status = bot.wait_exit(WAIT).expect("exits on the second signal");
    assert!(started.elapsed() < Duration::from_secs(10), "the second signal did not cut the 60 s grace");
    assert!(!status.success(), "an interrupted shutdown is not a clean exit: {status:?}");
    drop(stalled);
}

#[test]
fn log_file_receives_the_log_and_rotates() {
    let world = World::new("logfile");
    let path = world.data.path().join("bot.log");
    let rotated = world.data.path().join("bot.log.1");
    let bot = world.start_bot(&[
        ("LOG_FILE", path.to_str().unwrap()),
        ("LOG_FILE_MAX_MB", "1"),
        ("REQUESTS_PER_MINUTE", "0"),
    ]);
    assert!(std::fs::read_to_string(&path).unwrap().contains("listening on http://127.0.0.1:"));
    // About 120 bytes of distinct log line per request: 9 000 of them pass 1 MiB.
    let mut conn = Conn::open(bot.addr()).unwrap();
    for i in 0..9_000 {
        let res = conn.send(&raw("GET", &format!("/unknown-{i:05}-{}", "x".repeat(40)), &[], false)).unwrap();
        assert_eq!(res.status, 404);
    }
    assert!(rotated.exists(), "1 MiB of lines rotated the file");
    assert!(std::fs::metadata(&path).unwrap().len() <= 1024 * 1024);
    assert!(std::fs::metadata(&rotated).unwrap().len() <= 1024 * 1024);
    let text = std::fs::read_to_string(&rotated).unwrap() + &std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("/unknown-08999-"), "the newest line is in the file");
    assert!(!text.contains("TEST-secret_token"));
}

#[test]
fn a_used_up_bandwidth_limit_stops_downloads_and_new_links() {
    let world = World::new("bandwidth");
    let bot = world.start_bot(&[("BANDWIDTH_LIMIT_GB", "0.0001")]);
    let data = bytes(150_000, 24);
    let file = world.tg.add_file(data.clone(), "a.bin", "application/octet-stream");
    let path = format!("/dl/{}", world.link_for(&file));
    let first = get(bot.addr(), &path);
    assert!(first.status == 200 && first.body == data, "under the limit the download works");

    let refused = get(bot.addr(), &path);
    assert_eq!(refused.status, 503);
    assert!(refused.text().contains("bandwidth for the month"), "{}", refused.text());
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 31 * 86_400, "retry-after {retry} points at the next month");
    assert_eq!(crate::harness::request(bot.addr(), "HEAD", &path, &[]).status, 200, "HEAD costs no bandwidth");

    let other = world.tg.add_file(bytes(10, 25), "b.bin", "application/octet-stream");
    world.tg.send_document(&world.user, &other);
    let reply = world.tg.wait_for_sent(WAIT, |s| s.text().is_some_and(|t| t.contains("used its bandwidth"))).unwrap();
    assert!(reply.text().unwrap().contains("0.0001 GB per month") && !reply.text().unwrap().contains("/dl/"));
}

#[test]
fn metrics_allow_keeps_metrics_and_info_from_unlisted_addresses_and_health_stays_open() {
    let world = World::new("metrics-allow");
    let bot = world.start_bot(&[("METRICS_ALLOW", "10.0.0.0/8, fd00::/8")]);
    for path in ["/metrics", "/api/info"] {
        let res = get(bot.addr(), path);
        assert_eq!(res.status, 403, "{path}: {}", res.text());
        assert!(res.text().contains("not available from your address"), "{}", res.text());
    }
    assert_eq!(get(bot.addr(), "/health").status, 200);
    drop(bot);
    let bot = world.start_bot(&[("METRICS_ALLOW", "127.0.0.1")]);
    assert_eq!(get(bot.addr(), "/metrics").status, 200);
    assert_eq!(get(bot.addr(), "/api/info").status, 200);
}

/// The idle figure the README gives for the static build: "It idles at about X MiB RSS".
fn quoted_idle_mib() -> f64 {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let marker = "It idles at about ";
    let at = readme.find(marker).expect("the README quotes the idle memory") + marker.len();
    let figure = readme[at..].split(" MiB RSS").next().unwrap();
    figure.parse().unwrap_or_else(|_| panic!("not a figure: {figure:?}"))
}

/// The README's idle figure is a measurement, not a memory: a fresh start of the static release
/// binary (what `scripts/build-release.sh amd64` leaves in dist/, as CI does) must be within 15 %
/// of it. Sampled five times over a second once `/health` says ready; the median counts.
#[test]
#[cfg_attr(not(has_dist_amd64), ignore = "needs dist/streambot-linux-amd64 (scripts/build-release.sh amd64)")]
fn the_idle_memory_the_readme_quotes_is_what_a_fresh_static_build_uses() {
    let world = World::new("idle-figure");
    let binary = concat!(env!("CARGO_MANIFEST_DIR"), "/dist/streambot-linux-amd64");
    let bot = BotProcess::start_program_listening(&[binary], &world.env(&[("RUST_LOG", "info")]));
    assert!(bot.wait_ready(WAIT), "{}", bot.output());
    let mut samples: Vec<u64> = (0..5)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(200));
            bot.rss_kib()
        })
        .collect();
    samples.sort_unstable();
    let measured = samples[2] as f64 / 1024.0;
    let quoted = quoted_idle_mib();
    eprintln!("idle rss of the static build: {measured:.1} MiB (README: {quoted} MiB), samples {samples:?} KiB");
    assert!(
        (measured - quoted).abs() <= quoted * 0.15,
        "README says {quoted} MiB idle, a fresh run uses {measured:.1} MiB: update the README"
    );
}
