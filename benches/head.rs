//! The request-head scanner: every HTTP request is parsed (httparse plus the checks that refuse
//! bodies and malformed heads) before routing, and parsed again after each read that did not
//! complete it.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use streambot::hot_paths::scan_head;

const PLAYER: &[u8] = b"GET /stream/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA HTTP/1.1\r\nHost: files.example.com\r\n\
User-Agent: VLC/3.0.20 LibVLC/3.0.20\r\nAccept: */*\r\nAccept-Language: en_US\r\nRange: bytes=1048576-\r\n\
Icy-MetaData: 1\r\nConnection: keep-alive\r\n\r\n";

fn bench(c: &mut Criterion) {
    assert!(scan_head(PLAYER).is_ok());
    c.bench_function("head: a player's ranged GET", |b| b.iter(|| scan_head(black_box(PLAYER))));
    let half = &PLAYER[..PLAYER.len() / 2];
    c.bench_function("head: half a head (not complete yet)", |b| b.iter(|| scan_head(black_box(half))));
    let smuggle = b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n";
    c.bench_function("head: a smuggling shape refused", |b| b.iter(|| scan_head(black_box(smuggle))));
}

criterion_group!(benches, bench);
criterion_main!(benches);
