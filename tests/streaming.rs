//! Serving bytes: ranges, HEAD, conditional requests, upstream quirks, on fresh and on kept-alive
//! connections.

use crate::harness::{World, bytes, get, raw, request};
use crate::support::fake_telegram::Fault;
use crate::support::raw_http::{self, Conn, Response};

/// Expected outcome of one request against a file of known length.
pub struct Case {
    pub method: &'static str,
    headers: Vec<String>,
    pub status: u16,
    content_range: Option<String>,
    body: Option<std::ops::Range<usize>>,
}

/// Length of the file the cloud and local runs use.
pub const LEN: usize = 1000;

/// An `If-Modified-Since` long after any link was made.
const FUTURE: &str = "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT";

/// Every range, HEAD and precondition case, against a `len`-byte file (`len` at least 100).
pub fn cases(len: usize) -> Vec<Case> {
    let c = |method, headers: &[&str], status, content_range: Option<String>, body| Case {
        method,
        headers: headers.iter().map(|h| h.to_string()).collect(),
        status,
        content_range,
        body,
    };
    let (last, past, mid) = (len - 1, len + 4000, len / 2);
    // A middle range wide enough to span a part boundary in direct mode (parts divide 1 MiB).
    let (from, to) = (mid - len / 5, mid + len / 5);
    let range = |a: usize, b: usize| Some(format!("bytes {a}-{b}/{len}"));
    let unsatisfiable = Some(format!("bytes */{len}"));
    vec![
        c("GET", &[], 200, None, Some(0..len)),
        c("GET", &["Range: bytes=0-99"], 206, range(0, 99), Some(0..100)),
        c("GET", &[&format!("Range: bytes={}-", len - 10)], 206, range(len - 10, last), Some(len - 10..len)),
        c("GET", &["Range: bytes=-10"], 206, range(len - 10, last), Some(len - 10..len)),
        c("GET", &[&format!("Range: bytes=-{past}")], 206, range(0, last), Some(0..len)),
        c("GET", &[&format!("Range: bytes={mid}-{past}")], 206, range(mid, last), Some(mid..len)),
        c("GET", &[&format!("Range: bytes={from}-{to}")], 206, range(from, to), Some(from..to + 1)),
        c("GET", &["Range: bytes=0-0"], 206, range(0, 0), Some(0..1)),
        c("GET", &[&format!("Range: bytes={len}-")], 416, unsatisfiable.clone(), None),
        c("GET", &["Range: bytes=-0"], 416, unsatisfiable, None),
        c("GET", &["Range: lines=1-2"], 200, None, Some(0..len)),
        c("GET", &["Range: bytes=5-1"], 200, None, Some(0..len)),
        c("GET", &["Range: bytes=0-1,5-6"], 200, None, Some(0..len)),
        c("GET", &["If-None-Match: \"U-placeholder\""], 304, None, Some(0..0)),
        c("GET", &["Range: bytes=0-9", "If-Range: \"other\""], 200, None, Some(0..len)),
        c("GET", &["Range: bytes=0-9", "If-Range: \"U-placeholder\""], 206, range(0, 9), Some(0..10)),
        // If-Modified-Since (the link's Last-Modified is its creation, moments ago): a date after
        // it is not modified, one long before is; If-None-Match, when present, decides alone.
        c("GET", &[FUTURE], 304, None, Some(0..0)),
        c("HEAD", &[FUTURE], 304, None, Some(0..0)),
        c("GET", &["If-Modified-Since: Fri Jan  1 00:00:00 2100"], 304, None, Some(0..0)),
        c("GET", &["If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT"], 200, None, Some(0..len)),
        c("GET", &["If-Modified-Since: not a date"], 200, None, Some(0..len)),
        c("GET", &[FUTURE, "If-None-Match: \"other\""], 200, None, Some(0..len)),
        c("HEAD", &[], 200, None, Some(0..0)),
        c("HEAD", &["Range: bytes=10-19"], 206, range(10, 19), Some(0..0)),
    ]
}

/// Asserts that `res` is what `case` expects of `data`.
pub fn check(case: &Case, res: &Response, data: &[u8], etag: &str) {
    let what = format!("{} {:?}", case.method, case.headers);
    assert_eq!(res.status, case.status, "{what}");
    assert_eq!(res.header("content-range"), case.content_range.as_deref(), "{what}");
    if case.status != 416 {
        assert_eq!(res.header("etag"), Some(etag), "{what}");
    }
    if let Some(range) = &case.body {
        assert!(res.body == data[range.clone()], "{what}: body differs ({} bytes)", res.body.len());
        if case.method == "HEAD" && case.status != 304 {
            let expected = if case.status == 206 { 10 } else { data.len() };
            assert_eq!(res.header("content-length"), Some(expected.to_string().as_str()), "{what}");
        }
    }
}

fn with_etag(headers: &[String], etag: &str) -> Vec<String> {
    headers.iter().map(|h| h.replace("\"U-placeholder\"", etag)).collect()
}

/// Runs every case for `data` (the file behind `path`, whose ETag is `etag`) on fresh
/// connections, then all again on one kept-alive connection.
pub fn run_cases(addr: std::net::SocketAddr, path: &str, data: &[u8], etag: &str) {
    for case in cases(data.len()) {
        let headers = with_etag(&case.headers, etag);
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        check(&case, &request(addr, case.method, path, &headers), data, etag);
    }
    let mut conn = Conn::open(addr).unwrap();
    for case in cases(data.len()) {
        let headers = with_etag(&case.headers, etag);
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let res = conn.send(&raw(case.method, path, &headers, false)).unwrap();
        check(&case, &res, data, etag);
    }
}

/// GET cases that read file bytes (not 304 or 416): one upstream read each per run.
pub fn serving_gets() -> usize {
    cases(LEN).iter().filter(|c| c.method == "GET" && c.status != 304 && c.status != 416).count()
}

#[test]
fn ranges_heads_and_preconditions_on_fresh_and_kept_alive_connections() {
    let world = World::new("ranges");
    let bot = world.start_bot(&[]);
    let data = bytes(LEN, 11);
    let file = world.tg.add_file(data.clone(), "r.bin", "application/octet-stream");
    let token = world.link_for(&file);
    let etag = format!("\"{}\"", file.file_unique_id);
    run_cases(bot.addr(), &format!("/dl/{token}"), &data, &etag);
    run_cases(bot.addr(), &format!("/stream/{token}"), &data, &etag);
    // HEAD and 304 never touched the upstream: one GET per file-serving case, four times over.
    assert_eq!(world.tg.file_requests().len(), serving_gets() * 4);
    assert_eq!(world.tg.calls("getFile"), 1, "one getFile, then its cached answer");
}

#[test]
fn if_modified_since_the_exact_last_modified_is_not_modified() {
    let world = World::new("ims");
    let bot = world.start_bot(&[]);
    let file = world.tg.add_file(bytes(100, 13), "m.bin", "application/octet-stream");
    let token = world.link_for(&file);
    let head = request(bot.addr(), "HEAD", &format!("/dl/{token}"), &[]);
    let date = head.header("last-modified").expect("a Last-Modified").to_owned();
    let res = request(bot.addr(), "GET", &format!("/dl/{token}"), &[&format!("If-Modified-Since: {date}")]);
    assert_eq!((res.status, res.body.len(), res.header("last-modified")), (304, 0, Some(date.as_str())));
    assert_eq!(world.tg.file_requests().len(), 0, "nothing fetched for a 304");
}

#[test]
fn upstream_that_ignores_range_is_skipped_to_the_start() {
    let world = World::new("ignorerange");
    let bot = world.start_bot(&[]);
    world.tg.set_ignore_range(true);
    let data = bytes(200_000, 12);
    let file = world.tg.add_file(data.clone(), "s.bin", "application/octet-stream");
    let token = world.link_for(&file);
    let res = request(bot.addr(), "GET", &format!("/dl/{token}"), &["Range: bytes=150000-159999"]);
    assert_eq!(res.status, 206);
    assert!(res.body == data[150_000..160_000]);
}

#[test]
fn upstream_cut_mid_body_aborts_the_download() {
    let world = World::new("cut");
    let bot = world.start_bot(&[]);
    let data = bytes(500_000, 13);
    let file = world.tg.add_file(data, "c.bin", "application/octet-stream");
    let token = world.link_for(&file);
    world.tg.fail_next("file", Fault::CutBody { after: 100_000 });
    let res = raw_http::send(bot.addr(), &raw("GET", &format!("/dl/{token}"), &[], true));
    // Either the read fails or the body is short of its Content-Length: never a complete 200.
    if let Ok(res) = res {
        assert_eq!(res.status, 200);
        assert!(res.body.len() < 500_000, "a cut upstream must not look like a complete body");
    }
    // The server is still fine afterwards.
    assert_eq!(get(bot.addr(), "/health").status, 200);
}

#[test]
fn a_kept_connection_telegram_closed_meanwhile_is_retried_on_a_fresh_one() {
    let world = World::new("stalekept");
    let bot = world.start_bot(&[]);
    let data = bytes(200_000, 15);
    let file = world.tg.add_file(data.clone(), "k.bin", "application/octet-stream");
    let token = world.link_for(&file);
    // Read to its end, the first download leaves its connection to the next one.
    assert!(get(bot.addr(), &format!("/dl/{token}")).body == data);
    // Telegram closes that connection without an answer, as a server whose idle timeout ran out.
    world.tg.fail_next("file", Fault::Drop);
    let res = request(bot.addr(), "GET", &format!("/dl/{token}"), &["Range: bytes=1000-1999"]);
    assert_eq!(res.status, 206, "{}", bot.output());
    assert!(res.body == data[1000..2000]);
    assert_eq!(world.tg.file_requests().len(), 3, "the range was asked for twice: kept, then fresh");
}

#[test]
fn stream_route_serves_inline() {
    let world = World::new("inline");
    let bot = world.start_bot(&[]);
    let data = bytes(5000, 14);
    let file = world.tg.add_file(data.clone(), "clip.mp4", "video/mp4");
    let token = world.link_for(&file);
    let res = get(bot.addr(), &format!("/stream/{token}"));
    assert_eq!(res.status, 200);
    assert!(res.header("content-disposition").unwrap().starts_with("inline;"));
    assert!(res.body == data);
}

#[test]
fn a_declared_mime_type_cannot_inject_headers_or_run_as_a_page() {
    let world = World::new("mime");
    let bot = world.start_bot(&[]);
    let evil = world.tg.add_file(b"<script>alert(1)</script>".to_vec(), "x.html", "text/html\r\nX-Evil: 1");
    let token = world.link_for(&evil);
    let res = get(bot.addr(), &format!("/stream/{token}"));
    assert_eq!(res.status, 200);
    assert_eq!(res.header("x-evil"), None);
    assert_eq!(res.header("content-type"), Some("application/octet-stream"));

    let page = world.tg.add_file(b"<script>alert(1)</script>".to_vec(), "p.html", "text/html");
    let token = world.link_for(&page);
    let res = get(bot.addr(), &format!("/stream/{token}"));
    assert_eq!(res.header("content-type"), Some("text/html"));
    assert!(res.header("content-disposition").unwrap().starts_with("attachment;"), "a page is never shown inline");
    assert_eq!(res.header("content-security-policy"), Some("sandbox"));
}
