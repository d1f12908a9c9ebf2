//! Crash safety: the process killed with SIGKILL in the middle of a burst of link creations, and
//! in the middle of a download. After the restart every link the bot replied with works, the
//! database passes `PRAGMA integrity_check`, no update got two different links, and a client
//! resuming with `Range` gets the whole file byte-exact.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::harness::{WAIT, World, bytes, get, is_link_reply, raw, request, token_in};
use crate::support::fake_telegram::FakeUser;

/// Tokens replied per file name (each file is its own update).
fn tokens_by_file(world: &World) -> BTreeMap<String, Vec<String>> {
    let mut by_file: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for sent in world.tg.sent().iter().filter(|s| is_link_reply(s)) {
        let text = sent.text().unwrap_or_default();
        let name = text.split("<b>File:</b> ").nth(1).and_then(|r| r.split('\n').next()).unwrap_or("").to_owned();
        by_file.entry(name).or_default().extend(token_in(text));
    }
    by_file
}

#[test]
fn a_kill_during_a_burst_of_200_links_loses_none_and_never_answers_twice_differently() {
    const FILES: u64 = 200;
    let world = World::new("crashburst");
    let bot = world.start_bot(&[]);
    let users: Vec<FakeUser> = (0..20).map(|i| FakeUser::new(20_000 + i, &format!("C{i}"))).collect();
    for i in 0..FILES {
        let file = world.tg.add_file(bytes(100, i), &format!("crash-{i:03}.bin"), "application/octet-stream");
        world.tg.send_document(&users[(i % 20) as usize], &file);
    }
    // Somewhere in the middle of the burst.
    assert!(world.tg.wait_for_nth_sent(WAIT, 40, is_link_reply).is_some(), "the burst started");
    bot.kill();
    let before = tokens_by_file(&world).len();

    let bot = world.start_bot(&[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut by_file = tokens_by_file(&world);
    while (by_file.len() as u64) < FILES && Instant::now() < deadline {
        // Each reply wakes this wait; the map is rebuilt outside the fake's lock.
        world.tg.wait_for_nth_sent(Duration::from_millis(200), world.tg.sent().len() + 1, |_| true);
        by_file = tokens_by_file(&world);
    }
    assert_eq!(by_file.len() as u64, FILES, "every file got a link after the restart");
    eprintln!("crash: killed after {before} of {FILES} links; all {FILES} linked after the restart");
    for (name, tokens) in &by_file {
        assert!(tokens.windows(2).all(|w| w[0] == w[1]), "{name} was answered with two different links: {tokens:?}");
        let res = request(bot.addr(), "HEAD", &format!("/dl/{}", tokens[0]), &[]);
        assert_eq!(res.status, 200, "{name}'s link works");
    }
    drop(bot);
    let db = rusqlite::Connection::open(world.data.path().join("streambot.db")).unwrap();
    let check: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
}

#[test]
fn a_kill_during_a_download_is_resumed_with_range_to_the_exact_bytes() {
    let world = World::new("crashdl");
    let bot = world.start_bot(&[]);
    let data = bytes(8 * 1024 * 1024, 91);
    let file = world.tg.add_file(data.clone(), "big.bin", "application/octet-stream");
    let token = world.link_for(&file);
    let path = format!("/dl/{token}");

    let mut s = TcpStream::connect(bot.addr()).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    std::io::Write::write_all(&mut s, &raw("GET", &path, &[], true)).unwrap();
    // Read the head and about a megabyte, then the server dies under the client.
    let mut got = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    while got.len() < 1024 * 1024 {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "the download stopped early");
        got.extend_from_slice(&buf[..n]);
    }
    bot.kill();
    let _ = s.read_to_end(&mut got);
    let head_end = got.windows(4).position(|w| w == b"\r\n\r\n").expect("a head") + 4;
    assert!(got.starts_with(b"HTTP/1.1 200"));
    let mut body = got[head_end..].to_vec();
    assert!(body.len() < data.len(), "the kill cut the download short");

    let bot = world.start_bot(&[]);
    assert_eq!(get(bot.addr(), "/health").status, 200);
    let rest = request(bot.addr(), "GET", &path, &[&format!("Range: bytes={}-", body.len())]);
    assert_eq!(rest.status, 206, "{:?}", rest.header("content-range"));
    body.extend_from_slice(&rest.body);
    assert!(body == data, "resumed download is {} bytes, want {} exact", body.len(), data.len());
}
