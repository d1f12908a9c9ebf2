//! The Range parser: any header against any length never panics and a range stays in the file.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, u64)| {
    let (header, len) = input;
    if let Some((start, end)) = streambot::hot_paths::range(Some(header), len) {
        assert!(start <= end && end < len, "{start}-{end} of {len}");
    }
});
