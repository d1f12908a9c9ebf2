//! A server abuse cannot sink: an endless header line, non-ASCII header bytes, idle and slow
//! clients, more connections than allowed (also in a burst), per-client limits, HTTP/1.0, CORS,
//! `X-Forwarded-For`, requests arriving during the shutdown grace period.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::harness::{WAIT, World, bytes, get, raw, request};
use crate::support::raw_http::{self, Conn};

/// Waits until `/health` answers `status`, retrying with a deadline.
fn wait_health(addr: SocketAddr, status: u16) {
    let deadline = Instant::now() + WAIT;
    loop {
        if raw_http::send(addr, &raw("GET", "/health", &[], true)).is_ok_and(|r| r.status == status) {
            return;
        }
        assert!(Instant::now() < deadline, "/health never answered {status}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_one_mib_header_line_is_cut_off_and_memory_stays_flat() {
    let world = World::new("longheader");
    let bot = world.start_bot(&[]);
    for _ in 0..20 {
        assert_eq!(get(bot.addr(), "/health").status, 200);
    }
    let before = bot.rss_kib();
    let mut s = TcpStream::connect(bot.addr()).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Long: ").unwrap();
    let line = vec![b'a'; 64 * 1024];
    let mut sent = 0;
    while sent < 1024 * 1024 {
        // The server stops reading and closes: a write then fails (reset or broken pipe).
        match s.write(&line) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    let mut rest = Vec::new();
    let read = s.read_to_end(&mut rest);
    assert!(read.is_err() || !String::from_utf8_lossy(&rest).starts_with("HTTP/1.1 200"), "no answer to that");
    let after = bot.rss_kib();
    assert!(after < before + 1024, "rss grew from {before} KiB to {after} KiB");
    assert_eq!(get(bot.addr(), "/health").status, 200, "the server still serves");
}

#[test]
fn non_ascii_or_control_bytes_in_a_head_get_400_and_the_server_lives_on() {
    let world = World::new("nonascii");
    let bot = world.start_bot(&[]);
    // async-h1 panics on a header value it cannot make a string of (an abort in release).
    let heads: [&[u8]; 4] = [
        "GET /health HTTP/1.1\r\nHost: x\r\nX: é\r\n\r\n".as_bytes(),
        b"GET /health HTTP/1.1\r\nHost: x\r\nX: \xff\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n",
        b"GET /health\xc3\xa9 HTTP/1.0\r\n\r\n",
    ];
    for head in heads {
        let res = raw_http::send(bot.addr(), head);
        let status = res.as_ref().map(|r| r.status).ok();
        assert_eq!(status, Some(400), "{:?}: {res:?}", String::from_utf8_lossy(head));
        assert_eq!(get(bot.addr(), "/health").status, 200, "the server still serves");
    }
    // A body is never read: any bytes there, the 405 comes and the connection closes.
    let mut conn = Conn::open(bot.addr()).unwrap();
    let mut post = b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n".to_vec();
    post.extend_from_slice(b"\xc3\xa9\xff\x00\x01");
    let res = conn.send(&post).unwrap();
    assert_eq!((res.status, res.header("connection")), (405, Some("close")));
    assert!(conn.is_closed(WAIT), "a request with a body closes its connection");
    // A bad head on a kept-alive connection is refused too.
    let mut conn = Conn::open(bot.addr()).unwrap();
    assert_eq!(conn.send(&raw("GET", "/health", &[], false)).unwrap().status, 200);
    assert_eq!(conn.send("GET /health HTTP/1.1\r\nX: é\r\n\r\n".as_bytes()).unwrap().status, 400);
    assert!(conn.is_closed(WAIT), "a refused connection closes");
    assert_eq!(bot.wait_exit(Duration::from_millis(1)), None, "the process is alive");
    assert_eq!(get(bot.addr(), "/health").status, 200);
}

#[test]
fn a_burst_of_connections_cannot_overshoot_the_cap() {
    // Each newcomer closes the longest-idle connection, so only the last MAX_CONNECTIONS live.
    let world = World::new("burst");
    let bot = world.start_bot(&[("MAX_CONNECTIONS", "5")]);
    // All connected (queued in the backlog) before any request: the accept loop takes them in one
    // go, before any connection task ran.
    let mut conns: Vec<Conn> = (0..40).map(|_| Conn::open(bot.addr()).unwrap()).collect();
    let mut served = 0;
    for conn in &mut conns {
        // A refused connection has its 503 already, or is closed (then writing may fail too).
        match conn.send(&raw("GET", "/health", &[], false)) {
            Ok(res) if res.status == 200 => served += 1,
            Ok(res) => assert_eq!(res.status, 503),
            Err(_) => {}
        }
    }
    assert_eq!(served, 5, "exactly MAX_CONNECTIONS connections are served");
    drop(conns);
    wait_health(bot.addr(), 200);
}

#[test]
fn requests_during_the_shutdown_grace_close_and_start_no_download() {
    let world = World::new("gracereq");
    let bot = world.start_bot(&[("SHUTDOWN_GRACE_SECS", "60")]);
    let file = world.tg.add_file(bytes(19 * 1024 * 1024, 35), "big.bin", "application/octet-stream");
    let token = world.link_for(&file);
    let mut kept = Conn::open(bot.addr()).unwrap();
    assert_eq!(kept.send(&raw("GET", "/health", &[], false)).unwrap().status, 200);
    // A download that stalls keeps the process in its grace period.
    let mut stalled = TcpStream::connect(bot.addr()).unwrap();
    stalled.set_read_timeout(Some(WAIT)).unwrap();
    stalled.write_all(&raw("GET", &format!("/dl/{token}"), &[], true)).unwrap();
    let mut buf = [0u8; 64 * 1024];
    let mut got = 0;
    while got < 256 * 1024 {
        got += stalled.read(&mut buf).unwrap();
    }
    bot.signal("TERM");
    assert!(bot.wait_for_event(WAIT, "shutdown_draining", &[("grace_secs", "60")]).is_some(), "{}", bot.output());
    let res = kept.send(&raw("GET", &format!("/dl/{token}"), &[], false)).unwrap();
    assert_eq!((res.status, res.header("connection")), (503, Some("close")), "{res:?}");
    assert!(kept.is_closed(WAIT), "no further request on this connection");
    drop(stalled);
    let status = bot.wait_exit(WAIT).expect("exits once the running download ended");
    assert!(status.success(), "{status:?}\n{}", bot.output());
}

#[test]
fn three_hundred_idle_connections_are_closed_after_the_timeout() {
    let world = World::new("idle");
    let bot = world.start_bot(&[
        ("HTTP_IDLE_SECS", "2"),
        ("HTTP_HEADER_TIMEOUT_SECS", "2"),
        ("MAX_CONNECTIONS", "400"),
        ("MAX_CONNECTIONS_PER_IP", "400"),
    ]);
    let opened = Instant::now();
    let mut conns: Vec<Conn> = (0..300).map(|_| Conn::open(bot.addr()).unwrap()).collect();
    // A connection that half-sent a request is timed out too, and told so (408).
    conns[0].write(b"GET /health HTTP/1.1\r\nHost: x\r\n").unwrap();
    assert_eq!(conns[0].read_response(false).unwrap().status, 408);
    let deadline = opened + Duration::from_secs(12);
    for (i, conn) in conns.iter_mut().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        assert!(conn.is_closed(left), "connection {i} still open {:?} after opening", opened.elapsed());
    }
    assert!(opened.elapsed() >= Duration::from_millis(1500), "closed before the timeout: {:?}", opened.elapsed());
    assert_eq!(get(bot.addr(), "/health").status, 200);
}

#[test]
fn a_client_that_stops_reading_is_cut_off() {
    let world = World::new("slowreader");
    let bot = world.start_bot(&[("HTTP_WRITE_TIMEOUT_SECS", "1")]);
    let data = bytes(19 * 1024 * 1024, 31);
    let file = world.tg.add_file(data, "big.bin", "application/octet-stream");
    let token = world.link_for(&file);
    let mut s = TcpStream::connect(bot.addr()).unwrap();
    s.write_all(&raw("GET", &format!("/dl/{token}"), &[], true)).unwrap();
    assert!(
        bot.wait_for_event(WAIT, "connection_ended", &[("kind", "TimedOut"), ("stalled", "true")]).is_some(),
        "the stalled download was not cut"
    );
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    assert!(got.len() < 19 * 1024 * 1024, "the whole file arrived anyway");
}

#[test]
fn http10_clients_get_an_answer_and_a_close_unless_they_ask_to_keep_alive() {
    let world = World::new("http10");
    let bot = world.start_bot(&[]);
    let data = bytes(3000, 32);
    let file = world.tg.add_file(data.clone(), "o.bin", "application/octet-stream");
    let token = world.link_for(&file);
    let mut conn = Conn::open(bot.addr()).unwrap();
    let res = conn.send(b"GET /health HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    assert_eq!((res.status, res.text().as_str()), (200, "ok\n"));
    assert!(conn.is_closed(WAIT), "HTTP/1.0 without keep-alive ends with the response");
    let res = raw_http::send(bot.addr(), b"HEAD /health HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(res.status, 200, "an HTTP/1.0 request without Host is answered too");
    let res = raw_http::send(
        bot.addr(),
        format!("GET /dl/{token} HTTP/1.0\r\nHost: x\r\nRange: bytes=10-19\r\n\r\n").as_bytes(),
    )
    .unwrap();
    assert_eq!(res.status, 206);
    assert!(res.body == data[10..20]);
    // The old keep-alive extension (ApacheBench, some proxies): answered as kept, and kept.
    let mut conn = Conn::open(bot.addr()).unwrap();
    for _ in 0..2 {
        let res = conn.send(format!("HEAD /dl/{token} HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").as_bytes());
        let res = res.unwrap();
        assert_eq!((res.status, res.header("connection")), (200, Some("keep-alive")));
    }
    let res = conn.send(b"GET /health HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").unwrap();
    assert_eq!(res.header("connection"), Some("close"));
    assert!(conn.is_closed(WAIT), "close wins over keep-alive");
    // A new connection carries HTTP/1.1 requests, kept alive.
    let mut conn = Conn::open(bot.addr()).unwrap();
    assert_eq!(conn.send(&raw("GET", "/health", &[], false)).unwrap().status, 200);
    assert_eq!(conn.send(&raw("GET", "/health", &[], false)).unwrap().status, 200);
}

#[test]
fn per_client_request_limit_answers_429_and_honours_forwarded_for_only_when_trusted() {
    let world = World::new("ratelimit");
    let bot = world.start_bot(&[("REQUESTS_PER_MINUTE", "5")]);
    for _ in 0..5 {
        assert_eq!(request(bot.addr(), "GET", "/", &["X-Forwarded-For: 203.0.113.1"]).status, 302);
    }
    let res = request(bot.addr(), "GET", "/", &["X-Forwarded-For: 203.0.113.2"]);
    assert_eq!(res.status, 429, "a forged X-Forwarded-For does not make a new client");
    let retry: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(get(bot.addr(), "/health").status, 200, "health checks are never limited");
    // One instance per DATA_DIR: the first one goes before the second starts.
    drop(bot);

    let trusted = world.start_bot(&[("REQUESTS_PER_MINUTE", "5"), ("TRUST_PROXY", "1")]);
    for i in 0..12 {
        let res = request(trusted.addr(), "GET", "/", &[&format!("X-Forwarded-For: 10.0.0.9, 203.0.113.{i}")]);
        assert_eq!(res.status, 302, "client {i} behind the proxy");
    }
}

#[test]
fn guessing_tokens_gets_the_client_blocked() {
    let world = World::new("badtokens");
    let bot = world.start_bot(&[("BAD_TOKENS_PER_MINUTE", "3")]);
    let file = world.tg.add_file(bytes(100, 33), "t.bin", "application/octet-stream");
    let token = world.link_for(&file);
    assert_eq!(get(bot.addr(), &format!("/dl/{token}")).status, 200);
    for guess in ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "nope", "x"] {
        assert_eq!(get(bot.addr(), &format!("/dl/{guess}")).status, 404);
    }
    assert_eq!(get(bot.addr(), &format!("/dl/{token}")).status, 429, "blocked even for a real link");
}

#[test]
fn cors_headers_only_for_allowed_origins() {
    let world = World::new("cors");
    let bot = world.start_bot(&[("CORS_ALLOWED_ORIGINS", "https://player.example")]);
    let file = world.tg.add_file(bytes(100, 34), "c.bin", "application/octet-stream");
    let token = world.link_for(&file);
    let path = format!("/stream/{token}");
    let res = request(bot.addr(), "GET", &path, &["Origin: https://player.example"]);
    assert_eq!(res.header("access-control-allow-origin"), Some("https://player.example"));
    assert!(res.header("access-control-expose-headers").unwrap().contains("Content-Range"));
    let res = request(bot.addr(), "GET", &path, &["Origin: https://evil.example"]);
    assert_eq!((res.status, res.header("access-control-allow-origin")), (200, None));
    let res = request(bot.addr(), "OPTIONS", &path, &["Origin: https://player.example"]);
    assert_eq!(res.status, 204);
    assert_eq!(res.header("content-length"), None, "a 204 has no Content-Length (RFC 9110 §8.6)");
    assert!(res.header("access-control-allow-headers").unwrap().contains("Range"));
    let res = request(bot.addr(), "OPTIONS", &path, &["Origin: https://evil.example"]);
    assert_eq!((res.status, res.header("allow")), (405, Some("GET, HEAD")));
    let res = request(bot.addr(), "DELETE", &path, &[]);
    assert_eq!((res.status, res.header("allow")), (405, Some("GET, HEAD")));
}
