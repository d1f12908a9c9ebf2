//! Logger set-up: env_logger's format and `RUST_LOG` filters (default `info`), to stderr. The
//! HTTP library's own lines are capped at info: its trace lines print request URLs, and every
//! Bot API URL carries the bot token.

use log::LevelFilter;

/// Installs the logger. Call once, before anything logs.
pub fn init() {
    let mut builder = env_logger::Builder::new();
    builder.filter_level(LevelFilter::Info);
    if let Ok(spec) = std::env::var("RUST_LOG") {
        builder.parse_filters(&spec);
    }
    // After RUST_LOG, so these win over anything it says about them.
    for target in ["async_h1", "http_types", "rustls", "futures_rustls"] {
        builder.filter_module(target, LevelFilter::Info);
    }
    builder.init();
}
