//! A log rate-limiter insert with all 1000 slots taken: every log line passes through it, and a
//! full cache is the worst case (a scan of every slot to find the oldest to reuse).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use streambot::hot_paths::LogCacheBench;

fn bench(c: &mut Criterion) {
    let mut cache = LogCacheBench::full(1_000);
    let mut key = 1_000_000u64;
    let mut now = 10_000u64;
    c.bench_function("log cache: a new key into a full cache", |b| {
        b.iter(|| {
            key += 1;
            now += 1;
            cache.admit(black_box(key), black_box(now))
        })
    });
    let mut repeat = LogCacheBench::full(1_000);
    c.bench_function("log cache: a repeat within the window", |b| b.iter(|| repeat.admit(black_box(500), 2_000)));
}

criterion_group!(benches, bench);
criterion_main!(benches);
