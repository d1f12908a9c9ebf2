//! Who is asking and from where: the client address (from `X-Forwarded-For` only behind a trusted
//! proxy) and the CORS headers for allowed origins. Pure functions over header values.

use std::net::IpAddr;

/// Headers a script may read from a cross-origin response (players need ranges and lengths).
const EXPOSED: &str = "Content-Length, Content-Range, Accept-Ranges, Content-Disposition, ETag";
/// Request headers a cross-origin script may send (asked for in a preflight).
const ALLOWED_HEADERS: &str = "Range, If-None-Match, If-Range, If-Modified-Since";

/// The client's address: the peer, or with `trust_proxy` the last `X-Forwarded-For` entry (the
/// one our proxy added; earlier entries come from the client and prove nothing).
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trust_proxy: bool) -> IpAddr {
    if !trust_proxy {
        return peer;
    }
    forwarded_for
        .and_then(|v| v.rsplit(',').next())
        .map(str::trim)
        .and_then(|last| {
            last.parse::<IpAddr>()
                .ok()
                // `[v6]:port` or `v4:port`, as some proxies write it.
                .or_else(|| last.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        })
        .unwrap_or(peer)
}

/// The `Access-Control-Allow-Origin` value for `origin`, if it is allowed.
pub fn allowed_origin<'a>(allowed: &[String], origin: Option<&'a str>) -> Option<&'a str> {
    let origin = origin?.trim_end_matches('/');
    allowed.iter().any(|a| a == "*" || a.eq_ignore_ascii_case(origin)).then_some(origin)
}

/// CORS headers of a response to an allowed `origin` (`preflight` adds the OPTIONS answers).
pub fn cors_headers(origin: &str, preflight: bool) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("access-control-allow-origin", origin.to_owned()),
        ("access-control-expose-headers", EXPOSED.to_owned()),
        ("vary", "Origin".to_owned()),
    ];
    if preflight {
        headers.push(("access-control-allow-methods", "GET, HEAD".to_owned()));
        headers.push(("access-control-allow-headers", ALLOWED_HEADERS.to_owned()));
        headers.push(("access-control-max-age", "86400".to_owned()));
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_ignored_unless_the_proxy_is_trusted() {
        assert_eq!(client_ip(ip("127.0.0.1"), Some("203.0.113.9"), false), ip("127.0.0.1"));
        assert_eq!(client_ip(ip("127.0.0.1"), Some("203.0.113.9"), true), ip("203.0.113.9"));
    }

    #[test]
    fn the_last_forwarded_entry_is_the_one_the_proxy_added() {
        let v = "1.2.3.4, 198.51.100.7 , 203.0.113.9";
        assert_eq!(client_ip(ip("127.0.0.1"), Some(v), true), ip("203.0.113.9"));
        assert_eq!(client_ip(ip("127.0.0.1"), Some("[2001:db8::1]:443"), true), ip("2001:db8::1"));
        assert_eq!(client_ip(ip("127.0.0.1"), Some("garbage"), true), ip("127.0.0.1"));
        assert_eq!(client_ip(ip("127.0.0.1"), None, true), ip("127.0.0.1"));
    }

    #[test]
    fn only_listed_origins_get_cors() {
        let allowed = vec!["https://a.example".to_owned()];
        assert_eq!(allowed_origin(&allowed, Some("https://a.example")), Some("https://a.example"));
        assert_eq!(allowed_origin(&allowed, Some("https://b.example")), None);
        assert_eq!(allowed_origin(&allowed, None), None);
        assert_eq!(allowed_origin(&[], Some("https://a.example")), None);
        assert_eq!(allowed_origin(&["*".to_owned()], Some("https://b.example")), Some("https://b.example"));
    }
}
