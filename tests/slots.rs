//! Connection slots that cannot be hoarded: half-sent heads from many addresses, slow downloads
//! from one client behind a trusted proxy, a head that trickles in, the canned 503 in `/metrics`,
//! and bad-token lockouts per forwarded client.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::time::{Duration, Instant};

use crate::harness::{WAIT, World, bytes, get, raw, request};
use crate::support::raw_http::{self, Conn, Response};

/// Nearly the cloud limit, so a download outlasts the socket buffers.
const BIG: usize = 19 * 1024 * 1024;
/// What a newcomer may wait for an answer while others hoard connections.
const PROMPT: Duration = Duration::from_secs(2);

/// A connection to `addr` from `127.0.0.<last>` (Linux routes all of 127/8 to the loopback device).
fn connect_from(last: u8, addr: SocketAddr) -> TcpStream {
    use rustix::net::{AddressFamily, SocketType, bind, connect, socket};
    let fd = socket(AddressFamily::INET, SocketType::STREAM, None).unwrap();
    bind(&fd, &SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, last), 0)).unwrap();
    connect(&fd, &addr).unwrap();
    let stream = TcpStream::from(fd);
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream
}

/// One request on a fresh connection and how long its answer took.
fn timed(addr: SocketAddr, path: &str, headers: &[&str]) -> (Response, Duration) {
    let started = Instant::now();
    let res = raw_http::send(addr, &raw("GET", path, headers, true)).unwrap_or_else(|e| panic!("GET {path}: {e}"));
    (res, started.elapsed())
}

/// Reads up to the end of a response head; returns its status.
fn read_head(s: &mut TcpStream) -> u16 {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head[9..12]).parse().unwrap()
}

/// A `streambot_http_responses_total{status="<status>"}` value from `/metrics`.
fn responses(addr: SocketAddr, status: u16) -> u64 {
    responses_in(&get(addr, "/metrics").text(), status)
}

/// A `streambot_http_responses_total{status="<status>"}` value in a `/metrics` answer.
fn responses_in(text: &str, status: u16) -> u64 {
    let prefix = format!("streambot_http_responses_total{{status=\"{status}\"}} ");
    let line = text.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("no {prefix} in {text}"));
    line.trim().parse().unwrap()
}

#[test]
fn half_sent_heads_from_eight_addresses_do_not_lock_out_a_newcomer() {
    let world = World::new("halfheads");
    let bot = world.start_bot(&[]);
    let data = bytes(1024 * 1024, 51);
    let file = world.tg.add_file(data.clone(), "one.bin", "application/octet-stream");
    let token = world.link_for(&file);
    assert_eq!(get(bot.addr(), "/health").status, 200);
    let before = bot.rss_kib();
    // MAX_CONNECTIONS (256) from 8 addresses, MAX_CONNECTIONS_PER_IP (32) each: every slot.
    let mut held: Vec<TcpStream> = Vec::with_capacity(256);
    for i in 0..256 {
        let mut s = connect_from(2 + (i % 8) as u8, bot.addr());
        // One whole request first: its answer shows the server has taken the connection on.
        s.write_all(&raw("GET", "/health", &[], false)).unwrap();
        assert_eq!(read_head(&mut s), 200);
        s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ").unwrap();
        held.push(s);
    }
    // A byte now and then: none of them is silent. Three rounds, so every head has been read
    // by the server before the last newcomer comes.
    let mut slowest = Duration::ZERO;
    for _ in 0..3 {
        for s in &mut held {
            let _ = s.write_all(b"a");
        }
        let (health, took) = timed(bot.addr(), "/health", &[]);
        assert_eq!(health.status, 200, "{health:?}");
        slowest = slowest.max(took);
    }
    let (health, health_took) = timed(bot.addr(), "/health", &[]);
    let (download, download_took) = timed(bot.addr(), &format!("/dl/{token}"), &[]);
    let after = bot.rss_kib();
    eprintln!(
        "under 256 half-sent heads: /health {health_took:?} (slowest {slowest:?}), 1 MiB download {download_took:?}, rss {before} -> {after} KiB"
    );
    assert_eq!(health.status, 200, "{health:?}");
    assert!(health_took.max(slowest) < PROMPT, "/health took {health_took:?}, {slowest:?}");
    assert_eq!(download.status, 200);
    assert!(download.body == data, "the whole file");
    assert!(download_took < PROMPT, "the download took {download_took:?}");
    assert!(after < before + 8 * 1024, "rss grew from {before} KiB to {after} KiB");
}

#[test]
fn one_proxied_client_with_slow_downloads_does_not_lock_out_another() {
    let world = World::new("proxyhoard");
    let bot = world.start_bot(&[("TRUST_PROXY", "1")]);
    let file = world.tg.add_file(bytes(BIG, 52), "big.bin", "application/octet-stream");
    let token = world.link_for(&file);
    let small = world.tg.add_file(bytes(64 * 1024, 53), "small.bin", "application/octet-stream");
    let small_token = world.link_for(&small);
    let hoarder = "X-Forwarded-For: 203.0.113.7";
    let before = bot.rss_kib();
    // MAX_CONNECTIONS downloads through the proxy, all for one client, none of them read.
    let mut held: Vec<TcpStream> = (0..256)
        .map(|_| {
            let mut s = TcpStream::connect(bot.addr()).unwrap();
            s.write_all(&raw("GET", &format!("/dl/{token}"), &[hoarder], false)).unwrap();
            s
        })
        .collect();
    // Each one's answer has begun (a download's head, or a refusal): the server has them all.
    let mut statuses = std::collections::BTreeMap::new();
    for s in &mut held {
        *statuses.entry(read_head(s)).or_insert(0) += 1;
    }
    eprintln!("the hoarder's answers: {statuses:?}");
    let other = "X-Forwarded-For: 203.0.113.8";
    let (health, health_took) = timed(bot.addr(), "/health", &[other]);
    let (download, download_took) = timed(bot.addr(), &format!("/dl/{small_token}"), &[other]);
    let after = bot.rss_kib();
    eprintln!(
        "under 256 slow proxied downloads: /health {health_took:?}, 64 KiB download {download_took:?}, rss {before} -> {after} KiB"
    );
    assert!(after < before + 8 * 1024, "rss grew from {before} KiB to {after} KiB");
    assert_eq!(health.status, 200, "{health:?}");
    assert!(health_took < PROMPT, "/health took {health_took:?}");
    assert_eq!((download.status, download.body.len()), (200, 64 * 1024), "{:?}", download.text());
    assert!(download_took < PROMPT, "the download took {download_took:?}");
    // The hoarder's own surplus downloads were told why.
    let refused = request(bot.addr(), "GET", &format!("/dl/{token}"), &[hoarder]);
    assert_eq!(refused.status, 429, "{refused:?}");
    assert!(refused.text().contains("downloads"), "{}", refused.text());
    assert!(refused.header("retry-after").is_some());
    drop(held);
}

#[test]
fn a_head_that_trickles_in_is_cut_off_at_the_head_deadline() {
    let world = World::new("trickle");
    let bot = world.start_bot(&[("HTTP_HEADER_TIMEOUT_SECS", "2"), ("HTTP_IDLE_SECS", "60")]);
    // An idle keep-alive wait is not a head: it keeps HTTP_IDLE_SECS.
    let mut kept = Conn::open(bot.addr()).unwrap();
    assert_eq!(kept.send(&raw("GET", "/health", &[], false)).unwrap().status, 200);
    let mut conn = Conn::open(bot.addr()).unwrap();
    let started = Instant::now();
    let mut trickler = conn.stream().try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        for byte in head {
            if trickler.write_all(&[*byte]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    });
    conn.stream().set_read_timeout(Some(Duration::from_secs(6))).unwrap();
    let res = conn.read_response(false).expect("an answer within 6 s");
    let took = started.elapsed();
    eprintln!("a trickled head got {} after {took:?}", res.status);
    assert_eq!(res.status, 408);
    assert!(took >= Duration::from_millis(1500) && took < Duration::from_secs(5), "{took:?}");
    assert!(conn.is_closed(WAIT));
    writer.join().unwrap();
    assert_eq!(kept.send(&raw("GET", "/health", &[], false)).unwrap().status, 200, "idle past the head deadline");
}

/// Three downloads of `token` from 127.0.0.2-4 that stop reading after their first KiB.
fn stalled_downloads(addr: SocketAddr, token: &str) -> Vec<TcpStream> {
    (2..5)
        .map(|last| {
            let mut s = connect_from(last, addr);
            s.write_all(&raw("GET", &format!("/dl/{token}"), &[], true)).unwrap();
            let mut first = [0u8; 1024];
            s.read_exact(&mut first).unwrap();
            s
        })
        .collect()
}

#[test]
fn the_canned_503_is_counted_in_metrics() {
    let world = World::new("canned503");
    let bot = world.start_bot(&[("MAX_CONNECTIONS", "3")]);
    let file = world.tg.add_file(bytes(BIG, 54), "big.bin", "application/octet-stream");
    let token = world.link_for(&file);
    let before = responses(bot.addr(), 503);
    // Three downloads that have only just started: no slot may be taken from them.
    let mut held: Vec<TcpStream> = stalled_downloads(bot.addr(), &token);
    let res = get(bot.addr(), "/health");
    assert_eq!((res.status, res.header("retry-after")), (503, Some("5")), "{res:?}");
    drop(held.pop());
    let deadline = Instant::now() + WAIT;
    let counted = loop {
        if let Ok(res) = raw_http::send(bot.addr(), &raw("GET", "/metrics", &[], true))
            && res.status == 200
        {
            break responses_in(&res.text(), 503);
        }
        assert!(Instant::now() < deadline, "/metrics never answered");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(counted > before, "503s counted: {before} before, {counted} after");
}

#[test]
fn bad_tokens_lock_out_one_forwarded_client_not_its_neighbours() {
    let world = World::new("badproxied");
    let bot = world.start_bot(&[("TRUST_PROXY", "1"), ("BAD_TOKENS_PER_MINUTE", "3")]);
    let file = world.tg.add_file(bytes(100, 55), "t.bin", "application/octet-stream");
    let token = world.link_for(&file);
    let guesser = "X-Forwarded-For: 203.0.113.7";
    for guess in ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "nope", "x"] {
        assert_eq!(request(bot.addr(), "GET", &format!("/dl/{guess}"), &[guesser]).status, 404);
    }
    assert_eq!(request(bot.addr(), "GET", &format!("/dl/{token}"), &[guesser]).status, 429);
    let neighbour = request(bot.addr(), "GET", &format!("/dl/{token}"), &["X-Forwarded-For: 203.0.113.8"]);
    assert_eq!(neighbour.status, 200, "another client behind the same proxy");
}

#[test]
fn when_every_slot_streams_the_slowest_download_makes_room_once_it_has_run_ten_seconds() {
    let world = World::new("slowest");
    let bot = world.start_bot(&[("MAX_CONNECTIONS", "3")]);
    let file = world.tg.add_file(bytes(BIG, 56), "big.bin", "application/octet-stream");
    let token = world.link_for(&file);
    let started = Instant::now();
    // Three downloads from three addresses that stop reading after their first KiB.
    let mut held: Vec<TcpStream> = stalled_downloads(bot.addr(), &token);
    // Refused (canned 503) while the downloads are too young to judge, served once they are not.
    let deadline = started + WAIT;
    let served_after = loop {
        let res = raw_http::send(bot.addr(), &raw("GET", "/health", &[], true));
        if res.as_ref().is_ok_and(|r| r.status == 200) {
            break started.elapsed();
        }
        assert!(Instant::now() < deadline, "never served: {res:?}");
        std::thread::sleep(Duration::from_millis(250));
    };
    eprintln!("a newcomer was served {served_after:?} after three stalled downloads began");
    assert!(served_after >= Duration::from_secs(9), "a download was closed before it could be judged");
    let mut cut = 0;
    for s in &mut held {
        s.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        let mut sink = vec![0u8; 1 << 20];
        let mut got = 0;
        // Read on: a closed download ends (EOF or reset) short of the file, a live one delivers it.
        let ended = loop {
            match s.read(&mut sink) {
                Ok(0) => break true,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break false,
                Err(_) => break true,
            }
        };
        cut += usize::from(ended && 1024 + got < BIG);
    }
    assert_eq!(cut, 1, "exactly one download was closed for the newcomer");
}
