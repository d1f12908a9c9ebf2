//! The `Range` parser over its test table: every `/dl` and `/stream` request runs it once, and
//! players seek with a new ranged request each time, so it sits on the path of every byte.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use streambot::hot_paths::range;

const TABLE: &[(Option<&str>, u64)] = &[
    (None, 1000),
    (Some("bytes=0-99"), 1000),
    (Some("bytes=500-"), 1000),
    (Some("bytes=-200"), 1000),
    (Some("bytes=0-0"), 1),
    (Some("bytes=990-5000"), 1000),
    (Some("bytes=1000-"), 1000),
    (Some("bytes=0-1,5-9"), 1000),
    (Some("items=0-1"), 1000),
    (Some(" bytes = 10 - 20 "), 1000),
    (Some("bytes=99999999999999999999-"), 1000),
    (Some("bytes=abc"), 1000),
];

fn bench(c: &mut Criterion) {
    c.bench_function("range: the 12-row table", |b| {
        b.iter(|| TABLE.iter().map(|&(h, len)| range(black_box(h), black_box(len)).is_some() as u32).sum::<u32>())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
