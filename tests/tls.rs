//! The Bot API over TLS, as every real user reaches it: the fake Telegram behind a TLS front
//! whose CA is made at test time, trusted through `TELEGRAM_CA_FILE` or not at all.

use crate::harness::{WAIT, World, bytes, get, request};
use crate::support::bot_process::BotProcess;
use crate::support::tls_front::TlsFront;

#[test]
fn over_tls_with_the_ca_file_the_bot_logs_in_polls_replies_and_serves_a_download() {
    let world = World::new("tls");
    let front = TlsFront::start(world.tg.addr());
    let ca = world.data.path().join("test-ca.pem");
    std::fs::write(&ca, &front.ca_pem).unwrap();
    let ca = ca.display().to_string();
    // getMe happens inside start: it waits for /health to answer 200 (logged in).
    let bot = world.start_bot(&[("TELEGRAM_API_URL", &front.url()), ("TELEGRAM_CA_FILE", &ca)]);
    let data = bytes(300_000, 111);
    let file = world.tg.add_file(data.clone(), "over-tls.bin", "application/octet-stream");
    // A long poll brings the document, the reply carries the link.
    let token = world.link_for(&file);
    let res = get(bot.addr(), &format!("/dl/{token}"));
    assert_eq!(res.status, 200, "{}", bot.output());
    assert!(res.body == data, "the download is byte-exact ({} of {} bytes)", res.body.len(), data.len());
    assert!(!world.tg.file_requests().is_empty(), "the bytes came from the fake's /file/ route, over TLS");
    assert!(front.handshakes() >= 1, "the calls went through the TLS front");
}

#[test]
fn downloads_read_to_their_end_hand_their_tls_connection_to_the_next_one() {
    let world = World::new("tlsreuse");
    let front = TlsFront::start(world.tg.addr());
    let ca = world.data.path().join("test-ca.pem");
    std::fs::write(&ca, &front.ca_pem).unwrap();
    let bot = world.start_bot(&[("TELEGRAM_API_URL", &front.url()), ("TELEGRAM_CA_FILE", &ca.display().to_string())]);
    let data = bytes(300_000, 112);
    let file = world.tg.add_file(data.clone(), "seek.bin", "application/octet-stream");
    let token = world.link_for(&file);
    assert_eq!(get(bot.addr(), &format!("/dl/{token}")).status, 200, "{}", bot.output());
    let before = front.handshakes();
    // A player seeking: one range after another, each a download of its own from Telegram.
    for i in 0..6 {
        let start = i * 40_000;
        let range = format!("range: bytes={start}-{}", start + 9_999);
        let res = request(bot.addr(), "GET", &format!("/dl/{token}"), &[&range]);
        assert_eq!(res.status, 206, "{}", bot.output());
        assert!(res.body == data[start..start + 10_000], "range {i} is byte-exact");
    }
    // Six fresh connections would be six more handshakes (one spare for a call that raced).
    assert!(front.handshakes() <= before + 1, "{} handshakes after {before}", front.handshakes());
    assert_eq!(world.tg.file_requests().len(), 7, "every range was a download of its own");
}

#[test]
fn over_tls_without_the_ca_file_the_bot_stops_with_one_line_naming_the_certificate() {
    let world = World::new("tlsnoca");
    let front = TlsFront::start(world.tg.addr());
    let bot = BotProcess::spawn_raw(&[], &world.env(&[("TELEGRAM_API_URL", &front.url())]));
    let status = bot.wait_exit(WAIT).expect("a refused certificate stops the bot, it is not retried");
    assert_eq!(status.code(), Some(1), "{}", bot.output());
    let lines: Vec<String> = bot.lines().into_iter().filter(|l| l.contains("not trusted")).collect();
    assert_eq!(lines.len(), 1, "one line names the problem:\n{}", bot.output());
    assert!(lines[0].contains("UnknownIssuer") && lines[0].contains("TELEGRAM_CA_FILE"), "{}", lines[0]);
    assert_eq!(bot.count_events("login_retry", &[]), 0, "{}", bot.output());
    assert_eq!(front.handshakes(), 0);
}

#[test]
fn a_ca_file_without_certificates_is_refused_at_start_naming_the_variable() {
    let world = World::new("tlsbadca");
    let bad = world.data.path().join("not-a-ca.pem");
    std::fs::write(&bad, "hello\n").unwrap();
    let bad = bad.display().to_string();
    let bot = BotProcess::spawn_raw(&[], &world.env(&[("TELEGRAM_CA_FILE", &bad)]));
    let status = bot.wait_exit(WAIT).expect("exits at start");
    assert_eq!(status.code(), Some(1), "{}", bot.output());
    assert!(bot.output().contains("invalid TELEGRAM_CA_FILE"), "{}", bot.output());
}
