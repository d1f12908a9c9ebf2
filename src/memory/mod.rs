//! Memory management: the stream tracker, timers that sweep the long-lived tables, trimming,
//! the log cache, and the monitor that reports what the process holds. [`fixed_table`] is the
//! bounded table the feature caches share (`users::member_cache`, `users::told`,
//! `store::download_counts`, the request limiter, the `getFile` path cache).

pub mod cleanup;
pub mod fixed_table;
pub mod line_ring;
pub mod log_cache;
pub mod monitor;
pub mod scheduler;
pub mod stream_tracker;
mod trim;
