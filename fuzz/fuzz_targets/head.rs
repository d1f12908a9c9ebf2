//! The request-head scanner: any bytes give a length, a refusal status or "read more", never a
//! panic (http-types panics on non-ASCII header values: the scanner must refuse them first).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    match streambot::hot_paths::scan_head(bytes) {
        Ok(len) => assert!(len <= bytes.len()),
        Err(status) => assert!(status == 0 || (400..600).contains(&status), "{status}"),
    }
});
