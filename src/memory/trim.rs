//! glibc allocator calls (with `http::egress::mapped`, the only `unsafe`): `malloc_trim(0)` and two
//! `mallopt` settings. glibc keeps freed heap memory in its arenas until asked to give it back;
//! musl returns it by itself, so there these do nothing.
#![allow(unsafe_code)]

/// Asks glibc to return free heap pages to the OS; true if it released any.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn malloc_trim() -> bool {
    // SAFETY: malloc_trim takes a plain integer, touches only the allocator's own free lists and
    // is thread-safe; no Rust object is affected.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Serves large blocks (download buffers of 64 KiB and more) from their own mappings, so freeing
/// one returns it to the OS at once, and keeps one malloc arena: our work is on one thread, and
/// each extra arena reserves 64 MiB of address space.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune_allocator() {
    // SAFETY: mallopt only sets allocator parameters; called once at start-up before other
    // threads allocate much, and glibc makes it thread-safe anyway.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 60 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Nothing to tune outside glibc.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune_allocator() {}

/// Nothing to trim outside glibc.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn malloc_trim() -> bool {
    false
}
