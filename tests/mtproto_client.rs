//! streambot's own MTProto client (src/mtproto) against the fake DC: the real handshake with the
//! fake's RSA key given as a PEM (as a configured server key will be), the bot login and ranged
//! `upload.getFile` reads planned by the client's part plan.

use std::time::{Duration, Instant};

use streambot::hot_paths::mtproto_read_document;

use crate::support::fake_dc::{DcFile, FakeDc, PUBLIC_KEY_PEM, generated_bytes};

const TOKEN: &str = "4242:fake-dc-token";
const API: (i32, &str) = (17349, "344583e45741c457fe1862106095a5eb");
/// Deadline of each connection and each call: a debug build's 2048-bit arithmetic on both sides of
/// the handshake is slow on a loaded machine (the Telethon checks allow their script 60 s too).
const DEADLINE: Duration = Duration::from_secs(60);

/// How a test reads a document: the server key it trusts, the bot token it logs in with, the
/// part size and the calls in flight.
struct Read<'a> {
    key: Option<&'a str>,
    token: &'a str,
    part: u32,
    in_flight: usize,
}

/// Reads `range` of `doc` from DC 2 of `dc` with streambot's client, as `how` says.
fn read(dc: &FakeDc, doc: &DcFile, range: (u64, u64), how: Read<'_>) -> Result<Vec<u8>, String> {
    let document = (doc.id, doc.access_hash, doc.file_reference.clone());
    let login = (API.0, API.1, how.token);
    mtproto_read_document("127.0.0.1", dc.port(2), how.key, login, document, range, how.part, how.in_flight, DEADLINE)
}

/// The usual reader: the fake's key, the right token, one call at a time.
fn usual(part: u32) -> Read<'static> {
    Read { key: Some(PUBLIC_KEY_PEM), token: TOKEN, part, in_flight: 1 }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_left(u32::from(seed) % 31) as u8 ^ seed).collect()
}

#[test]
fn the_client_makes_a_key_with_a_configured_server_key_logs_in_and_reads_ranges() {
    let dc = FakeDc::start(TOKEN);
    let bytes = pattern(300_000, 7);
    let doc = dc.add_document(2, bytes.clone());
    // (range, part size, calls in flight): the 4 KiB parts go eight at a time on one connection.
    let cases: [((u64, u64), u32, usize); 4] = [
        ((0, 299_999), 64 * 1024, 2),
        ((5_000, 200_000), 4096, 8),
        ((131_072, 196_607), 512 * 1024, 1),
        ((250_000, 400_000), 128 * 1024, 3),
    ];
    for (range, part, in_flight) in cases {
        let got = read(&dc, &doc, range, Read { in_flight, ..usual(part) });
        let end = (range.1 as usize).min(bytes.len() - 1);
        assert!(
            got.as_deref() == Ok(&bytes[range.0 as usize..=end]),
            "{range:?} by {part}: {:?}",
            got.map(|g| g.len())
        );
    }
    assert_eq!(dc.handshakes(2), cases.len(), "one new auth key per connection");
    let logins = dc.methods().iter().filter(|(d, m)| *d == 2 && m == "auth.importBotAuthorization").count();
    assert_eq!(logins, cases.len());
}

#[test]
fn parts_in_flight_at_once_come_back_in_file_order_even_when_answers_are_slow() {
    let dc = FakeDc::start(TOKEN);
    let bytes = pattern(64 * 1024, 5);
    let doc = dc.add_document(2, bytes.clone());
    dc.set_get_file_delay(Duration::from_millis(200));
    let got = read(&dc, &doc, (0, 65_535), Read { in_flight: 8, ..usual(8192) });
    assert!(got.as_deref() == Ok(&bytes[..]), "{:?}", got.map(|g| g.len()));
    assert_eq!(dc.get_file_calls(2), 8);
}

#[test]
fn without_the_configured_server_key_the_handshake_is_refused() {
    let dc = FakeDc::start(TOKEN);
    let doc = dc.add_document(2, pattern(10, 1));
    let got = read(&dc, &doc, (0, 9), Read { key: None, ..usual(4096) });
    let error = got.unwrap_err();
    assert!(error.contains("no accepted server key"), "{error}");
}

#[test]
fn a_wrong_bot_token_is_an_rpc_error_not_a_dropped_connection() {
    let dc = FakeDc::start(TOKEN);
    let doc = dc.add_document(2, pattern(10, 1));
    let got = read(&dc, &doc, (0, 9), Read { token: "4242:wrong", ..usual(4096) });
    let error = got.unwrap_err();
    assert!(error.starts_with("login: rpc error"), "{error}");
}

#[test]
fn a_handshake_the_server_answers_dh_gen_retry_is_started_again() {
    let dc = FakeDc::start(TOKEN);
    let bytes = pattern(10_000, 3);
    let doc = dc.add_document(2, bytes.clone());
    dc.retry_next_handshakes(2);
    let got = read(&dc, &doc, (0, 9_999), usual(4096));
    assert!(got.as_deref() == Ok(&bytes[..]), "{:?}", got.map(|g| g.len()));
    assert_eq!(dc.handshakes(2), 1, "two refused attempts, then one key");
}

#[test]
fn a_generated_document_of_64_mib_reads_back_byte_exact_in_512_kib_parts() {
    let dc = FakeDc::start(TOKEN);
    let size = 64u64 << 20;
    let doc = dc.add_generated_document(2, size);
    let started = Instant::now();
    let first = read(&dc, &doc, (0, 4095), usual(4096)).expect("read one part");
    let setup = started.elapsed();
    let started = Instant::now();
    let got = read(&dc, &doc, (0, size - 1), Read { in_flight: 4, ..usual(512 * 1024) }).expect("read");
    let took = started.elapsed();
    // Printed for the record (a bound would be flaky on a loaded machine): the fake and the client
    // both run unoptimized here, except the crates Cargo.toml's dev profile optimizes. The first
    // read is the connection, handshake and login alone.
    let mib = (size >> 20) as f64;
    let rate = mib / took.saturating_sub(setup).as_secs_f64();
    eprintln!("{mib} MiB in {took:?}, {setup:?} of it setup: {rate:.0} MiB/s over loopback");
    assert!(first == generated_bytes(0, 4096));
    assert_eq!(got.len() as u64, size);
    assert!(got == generated_bytes(0, size as usize), "bytes differ from the generated ones");
    assert_eq!(dc.bytes_served(2), size + 4096);
}
