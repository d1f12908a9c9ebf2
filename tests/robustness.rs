//! Requests that try to end or stall the process: body framing async-h1 would have parsed (a
//! non-ASCII trailer, a chunk extension), a panicking route, the malformed-request battery nginx
//! answers in full, pipelining, idle sockets hogging every slot, forged `X-Forwarded-For`, and a
//! seeded socket-level fuzz run with memory and descriptor checks.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::harness::{WAIT, World, bytes, get, raw, request};
use crate::support::bot_process::BotProcess;
use crate::support::raw_http::Conn;

/// Sends `bytes`, half-closes, and returns whatever came back before the server closed.
fn exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    // The server may close before it read everything (a refused head): a failed write is fine.
    let _ = s.write_all(bytes);
    let _ = s.shutdown(Shutdown::Write);
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    got
}

/// The status of the first response in `got`, if it starts with a status line.
fn status_of(got: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(got.get(..12)?).ok()?;
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

fn alive(bot: &BotProcess) {
    assert_eq!(bot.wait_exit(Duration::from_millis(1)), None, "the process died:\n{}", bot.output());
    assert_eq!(get(bot.addr(), "/health").status, 200);
}

fn fds(bot: &BotProcess) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", bot.pid())).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn request_bodies_are_never_parsed_and_the_process_stays_up() {
    let world = World::new("bodies");
    let bot = world.start_bot(&[]);
    let cases: [&[u8]; 4] = [
        // async-h1 answered 200, then drained this body and aborted on the trailer's 0xff.
        b"GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: \xff\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=\xc3\xa9\xff\r\nhello\r\n0\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n\xff\xfe\xc3\x28\x80",
        b"POST /dl/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n\xff\xfe\xc3\x28\x80",
    ];
    for (i, case) in cases.iter().enumerate() {
        let got = exchange(bot.addr(), case);
        let want = if i == 3 { 405 } else { 400 };
        assert_eq!(status_of(&got), Some(want), "case {i}: {:?}", String::from_utf8_lossy(&got));
        alive(&bot);
    }
}

#[test]
fn a_panicking_route_costs_one_request_is_logged_once_and_counted() {
    let world = World::new("panic");
    let bot = world.start_bot(&[]);
    let res = get(bot.addr(), "/_test/panic");
    assert_eq!((res.status, res.header("connection")), (500, Some("close")));
    alive(&bot);
    let metrics = get(bot.addr(), "/metrics").text();
    assert!(metrics.contains("streambot_panics_total{domain=\"http\"} 1"), "{metrics}");
    assert!(bot.wait_for_event(WAIT, "panic", &[("place", "a_request")]).is_some(), "{}", bot.output());
    assert_eq!(bot.count_lines("panicked"), 0, "the default hook's stderr line is not printed");
    assert_eq!(bot.count_events("panic", &[]), 1, "logged once");
    assert!(!bot.output().contains("AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"), "a token-like run is cut");
}

#[test]
fn the_malformed_battery_gets_a_status_line_for_every_request() {
    let world = World::new("battery");
    let bot = world.start_bot(&[]);
    let many: String = (0..2000).map(|i| format!("X-H{i}: v\r\n")).collect();
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(10_000));
    let battery: Vec<(&str, Vec<u8>, u16)> = vec![
        ("unknown method", b"FOO /health HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 501),
        ("known method", b"PUT /health HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 405),
        ("HTTP/9.9", b"GET /health HTTP/9.9\r\nHost: x\r\n\r\n".to_vec(), 505),
        (
            "20-digit length",
            b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n".to_vec(),
            400,
        ),
        (
            "two lengths",
            b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab".to_vec(),
            400,
        ),
        (
            "TE and CL",
            b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                .to_vec(),
            400,
        ),
        ("2000 headers", format!("GET /health HTTP/1.1\r\nHost: x\r\n{many}\r\n").into_bytes(), 431),
        ("long target", long_target.into_bytes(), 414),
        ("no Host", b"GET /health HTTP/1.1\r\n\r\n".to_vec(), 400),
        ("bad request line", b"GET\r\n\r\n".to_vec(), 400),
        (
            "TLS on the plain port",
            [&[0x16u8, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03][..], &[7u8; 160]].concat(),
            400,
        ),
        ("control byte", b"GET /health HTTP/1.1\r\nHost: x\r\nX: a\x07\r\n\r\n".to_vec(), 400),
        ("HTTP/1.0 without Host", b"GET /health HTTP/1.0\r\n\r\n".to_vec(), 200),
    ];
    for (name, bytes, want) in battery {
        let got = exchange(bot.addr(), &bytes);
        assert_eq!(status_of(&got), Some(want), "{name}: {:?}", String::from_utf8_lossy(&got[..got.len().min(200)]));
        let text = String::from_utf8_lossy(&got).to_ascii_lowercase();
        assert!(want == 200 || text.contains("connection: close"), "{name}: a refusal closes: {text}");
    }
    alive(&bot);
}

#[test]
fn pipelined_requests_are_all_answered_in_order() {
    let world = World::new("pipeline");
    let bot = world.start_bot(&[]);
    let mut conn = Conn::open(bot.addr()).unwrap();
    let mut both = raw("GET", "/health", &[], false);
    both.extend_from_slice(&raw("GET", "/nope", &[], false));
    both.extend_from_slice(&raw("HEAD", "/health", &[], true));
    conn.write(&both).unwrap();
    let first = conn.read_response(false).unwrap();
    let second = conn.read_response(false).unwrap();
    let third = conn.read_response(true).unwrap();
    assert_eq!((first.status, second.status, third.status), (200, 404, 200));
    assert_eq!(third.header("content-length"), Some("3"), "HEAD announces GET's length");
    assert!(conn.is_closed(WAIT), "the last asked to close");
}

#[test]
fn three_hundred_idle_sockets_from_one_address_do_not_lock_anyone_out() {
    let world = World::new("hog");
    let bot = world.start_bot(&[("MAX_CONNECTIONS", "64")]);
    let hogs: Vec<TcpStream> = (0..300).map(|_| TcpStream::connect(bot.addr()).unwrap()).collect();
    let started = Instant::now();
    let res = get(bot.addr(), "/health");
    assert_eq!(res.status, 200, "a newcomer is served: {res:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "served at once, not after the idle timeout");
    // A connection in the middle of a head is closed for a newcomer only after every one of its
    // address that has waited longer: the 20 newcomers take idle hogs' slots (the address holds
    // MAX_CONNECTIONS_PER_IP, 32). Each newcomer is served in turn, so the server has read the
    // half head before the next one arrives.
    let mut busy = Conn::open(bot.addr()).unwrap();
    busy.write(b"GET /health HTTP/1.1\r\n").unwrap();
    let mut newcomers: Vec<Conn> = Vec::new();
    for _ in 0..20 {
        let mut conn = Conn::open(bot.addr()).unwrap();
        assert_eq!(conn.send(&raw("GET", "/health", &[], false)).unwrap().status, 200);
        newcomers.push(conn);
    }
    busy.write(b"Host: x\r\n\r\n").unwrap();
    assert_eq!(busy.read_response(false).unwrap().status, 200);
    drop(hogs);
    alive(&bot);
}

#[test]
fn forwarded_for_counts_only_from_the_proxies_trust_proxy_names() {
    let world = World::new("proxy");
    let limited = |trust: &str, want_limited: bool| {
        let bot = world.start_bot(&[("REQUESTS_PER_MINUTE", "3"), ("TRUST_PROXY", trust)]);
        let statuses: Vec<u16> = (0..5)
            .map(|i| request(bot.addr(), "GET", "/nope", &[&format!("X-Forwarded-For: 198.51.100.{i}")]).status)
            .collect();
        assert_eq!(statuses.contains(&429), want_limited, "TRUST_PROXY={trust}: {statuses:?}");
    };
    // Loopback is trusted: each request names another client, none is over the limit.
    limited("1", false);
    // Only 10.0.0.0/8 is trusted: the loopback peer is the client, whatever it claims.
    limited("10.0.0.0/8", true);
    limited("0", true);
}

/// A seeded xorshift generator: the same cases on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One request head (and maybe body), built from valid pieces and then mutated.
fn fuzz_case(rng: &mut Rng) -> Vec<u8> {
    const METHODS: [&str; 7] = ["GET", "HEAD", "OPTIONS", "POST", "FOO", "get", ""];
    const PATHS: [&str; 6] = ["/health", "/dl/AAAA", "/stream/x?y=1", "*", "http://h/watch/x", "/%ff%00"];
    const VERSIONS: [&str; 5] = ["HTTP/1.1", "HTTP/1.0", "HTTP/9.9", "HTTP/1.1 x", ""];
    const HEADERS: [&str; 9] = [
        "Host: x",
        "Range: bytes=0-",
        "Range: bytes=-5,7-",
        "Content-Length: 5",
        "Content-Length: 0",
        "Transfer-Encoding: chunked",
        "If-None-Match: \"a\"",
        "Connection: close",
        "X: \u{e9}",
    ];
    let mut out = format!(
        "{} {} {}\r\n",
        METHODS[rng.below(METHODS.len())],
        PATHS[rng.below(PATHS.len())],
        VERSIONS[rng.below(VERSIONS.len())]
    )
    .into_bytes();
    for _ in 0..rng.below(6) {
        out.extend_from_slice(HEADERS[rng.below(HEADERS.len())].as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if rng.below(3) == 0 {
        out.extend_from_slice(&bytes(rng.below(64), rng.next()));
    }
    for _ in 0..rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(3) {
            0 if at < out.len() => out[at] = rng.next() as u8,
            1 => out.insert(at, rng.next() as u8),
            _ => out.truncate(at.max(1)),
        }
    }
    out
}

#[test]
fn ten_thousand_fuzzed_requests_leave_the_process_up_with_flat_memory_and_fds() {
    let world = World::new("fuzz");
    let bot = world.start_bot(&[("RUST_LOG", "info"), ("REQUESTS_PER_MINUTE", "0"), ("BAD_TOKENS_PER_MINUTE", "0")]);
    let addr = bot.addr();
    let run = |seed: u64, cases: usize| {
        let threads: Vec<_> = (0..4)
            .map(|t| {
                std::thread::spawn(move || {
                    let mut rng = Rng(seed * 7919 + t + 1);
                    for _ in 0..cases / 4 {
                        exchange(addr, &fuzz_case(&mut rng));
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
    };
    run(1, 400);
    let (rss_before, fds_before) = (bot.rss_kib(), fds(&bot));
    let started = Instant::now();
    run(2, 10_000);
    let elapsed = started.elapsed();
    alive(&bot);
    let deadline = Instant::now() + WAIT;
    while fds(&bot) > fds_before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (rss_after, fds_after) = (bot.rss_kib(), fds(&bot));
    eprintln!("fuzz: 10000 cases in {elapsed:?}; rss {rss_before} -> {rss_after} KiB; fds {fds_before} -> {fds_after}");
    assert!(rss_after <= rss_before + 1024, "rss grew from {rss_before} KiB to {rss_after} KiB");
    assert!(fds_after <= fds_before, "fds went from {fds_before} to {fds_after}");
}

#[test]
fn head_and_get_agree_when_the_update_gave_no_size() {
    let world = World::new("nosize");
    let bot = world.start_bot(&[]);
    let file = world.tg.add_file(bytes(3000, 5), "n.bin", "application/octet-stream");
    let user = world.user.user_json();
    let chat = world.user.chat_json();
    world.tg.push_update(serde_json::json!({"message": {
        "message_id": 77, "date": 0, "from": user, "chat": chat,
        "document": {"file_id": file.file_id, "file_unique_id": file.file_unique_id, "file_name": "n.bin"}
    }}));
    let reply = world.tg.wait_for_nth_sent(WAIT, 1, crate::harness::is_link_reply).expect("a link");
    let token = crate::harness::token_in(reply.text().unwrap()).unwrap();
    let path = format!("/dl/{token}");
    let head = request(bot.addr(), "HEAD", &path, &[]);
    let full = request(bot.addr(), "GET", &path, &[]);
    assert_eq!((head.status, full.status), (200, 200));
    assert_eq!(head.header("content-length"), full.header("content-length"));
    assert_eq!(full.body.len(), 3000);
}

#[test]
fn a_304_says_not_modified_and_carries_no_content_length() {
    let world = World::new("notmodified");
    let bot = world.start_bot(&[]);
    let file = world.tg.add_file(bytes(1000, 9), "n.bin", "application/octet-stream");
    let token = world.link_for(&file);
    let etag = get(bot.addr(), &format!("/dl/{token}")).header("etag").unwrap().to_owned();
    let head = raw("GET", &format!("/dl/{token}"), &[&format!("If-None-Match: {etag}")], true);
    let got = String::from_utf8_lossy(&exchange(bot.addr(), &head)).to_ascii_lowercase();
    assert!(got.starts_with("http/1.1 304 not modified\r\n"), "{got}");
    assert!(!got.contains("content-length"), "RFC 9110 §8.6: {got}");
}
