//! `malloc_trim(0)`: the one place with `unsafe`. glibc keeps freed heap memory in its arenas
//! until asked to give it back; musl returns it by itself, so there this does nothing.
#![allow(unsafe_code)]

/// Asks glibc to return free heap pages to the OS; true if it released any.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn malloc_trim() -> bool {
    // SAFETY: malloc_trim takes a plain integer, touches only the allocator's own free lists and
    // is thread-safe; no Rust object is affected.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Nothing to trim outside glibc.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn malloc_trim() -> bool {
    false
}
