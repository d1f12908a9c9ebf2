//! Update decoding: any getUpdates body decodes (or is refused) without a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let _ = streambot::hot_paths::decode_updates(body);
});
