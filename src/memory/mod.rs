//! Memory management: every long-lived table has a fixed bound, timers sweep them, and the
//! monitor reports what the process holds.

pub mod cleanup;
pub mod download_counts;
pub mod fixed_table;
pub mod line_ring;
pub mod log_cache;
pub mod member_cache;
pub mod monitor;
pub mod owner_bytes;
pub mod scheduler;
pub mod stream_tracker;
pub mod told;
mod trim;
