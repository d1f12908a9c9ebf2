//! HTTP server settings beyond the address: timeouts, trusted proxies, per-client caps, CORS
//! the external player page, and who may read /metrics.

use std::net::IpAddr;
use std::time::Duration;

use super::table::Lookup;
use super::{ConfigError, http_url};
use crate::net::{Cidr, TrustedProxies};

/// HTTP server settings beyond the address: hardening, CORS and the external player.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// `HTTP_IDLE_SECS`: longest wait for the first byte of a request.
    pub idle: Duration,
    /// `HTTP_HEADER_TIMEOUT_SECS`: longest a head may take from its first byte to its end.
    pub header_timeout: Duration,
    /// `HTTP_WRITE_TIMEOUT_SECS`: longest a write may make no progress.
    pub write_timeout: Duration,
    /// `TRUST_PROXY`: peers whose `X-Forwarded-For` names the client.
    pub trust_proxy: TrustedProxies,
    /// `MAX_CONNECTIONS_PER_IP`: open connections per client key (a trusted proxy's connections
    /// count for the forwarded client once a head names it).
    pub connections_per_ip: usize,
    /// `MAX_DOWNLOADS_PER_IP`: file bodies streaming at once per client key.
    pub downloads_per_ip: usize,
    /// `CORS_ALLOWED_ORIGINS`, without trailing slashes; `*` allows any origin.
    pub cors_origins: Vec<String>,
    /// `REQUESTS_PER_MINUTE` per client address; 0 = unlimited.
    pub requests_per_minute: u32,
    /// `BAD_TOKENS_PER_MINUTE` per client address; 0 = unlimited.
    pub bad_tokens_per_minute: u32,
    /// `VIDEO_FRONTEND_URL`: an external player page that takes `?url=<stream URL>`.
    pub video_frontend_url: Option<String>,
    /// `METRICS_ALLOW`: the client addresses that may read `/metrics` and `/api/info`; `None`
    /// lets everyone.
    pub metrics_allow: Option<Vec<Cidr>>,
}

impl HttpConfig {
    /// Whether the client at `ip` may read `/metrics` and `/api/info`.
    pub fn metrics_allowed(&self, ip: IpAddr) -> bool {
        self.metrics_allow.as_ref().is_none_or(|list| list.iter().any(|c| c.contains(ip)))
    }
}

impl HttpConfig {
    pub(super) fn from_vars(vars: &Lookup<impl Fn(&str) -> Option<String>>) -> Result<HttpConfig, ConfigError> {
        let origins = |list: &str| -> Option<Vec<String>> {
            let origin = |o: &str| if o == "*" { Some("*".to_owned()) } else { http_url(o) };
            list.split([',', ' ']).filter(|o| !o.is_empty()).map(origin).collect()
        };
        Ok(HttpConfig {
            idle: vars.seconds("HTTP_IDLE_SECS", 1..=86_400)?,
            header_timeout: vars.seconds("HTTP_HEADER_TIMEOUT_SECS", 1..=86_400)?,
            write_timeout: vars.seconds("HTTP_WRITE_TIMEOUT_SECS", 1..=86_400)?,
            trust_proxy: vars.optional("TRUST_PROXY", TrustedProxies::parse)?.unwrap_or_default(),
            connections_per_ip: vars.within("MAX_CONNECTIONS_PER_IP", 1..=65_535)?,
            downloads_per_ip: vars.within("MAX_DOWNLOADS_PER_IP", 1..=65_535)?,
            cors_origins: vars.optional("CORS_ALLOWED_ORIGINS", origins)?.unwrap_or_default(),
            requests_per_minute: vars.value("REQUESTS_PER_MINUTE")?,
            bad_tokens_per_minute: vars.value("BAD_TOKENS_PER_MINUTE")?,
            video_frontend_url: vars.optional("VIDEO_FRONTEND_URL", http_url)?,
            metrics_allow: vars.optional("METRICS_ALLOW", crate::net::cidr_list)?,
        })
    }
}
