//! Link token mint and verify: every link reply mints one and every request to a link verifies
//! one (HMAC-SHA256 through ring) before any database read, bad tokens included.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use streambot::links::{Claims, Signer};

fn bench(c: &mut Criterion) {
    let signer = Signer::new(b"a-benchmark-link-secret-of-32-bytes!");
    let claims = Claims { link_id: 0x1234_5678_9abc_def0, expires_at: 1_900_000_000 };
    let token = signer.mint(claims);
    c.bench_function("token: mint", |b| b.iter(|| signer.mint(black_box(claims))));
    c.bench_function("token: verify", |b| b.iter(|| signer.verify(black_box(&token), black_box(1_800_000_000))));
    let mut forged = token.clone().into_bytes();
    forged[5] ^= 1;
    let forged = String::from_utf8(forged).unwrap_or_default();
    c.bench_function("token: verify a forged one", |b| b.iter(|| signer.verify(black_box(&forged), 1_800_000_000)));
}

criterion_group!(benches, bench);
criterion_main!(benches);
