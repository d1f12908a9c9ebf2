//! Memory management: every long-lived table has a fixed bound, and timers sweep them.

pub mod stream_tracker;
