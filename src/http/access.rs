//! Cross-origin access: the CORS headers for the origins `CORS_ALLOWED_ORIGINS` allows. Pure
//! functions over header values.

/// Headers a script may read from a cross-origin response (players need ranges and lengths).
const EXPOSED: &str = "Content-Length, Content-Range, Accept-Ranges, Content-Disposition, ETag";
/// Request headers a cross-origin script may send (asked for in a preflight).
const ALLOWED_HEADERS: &str = "Range, If-None-Match, If-Range, If-Modified-Since";

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
