//! Link URLs and their route prefixes, in one place: the bot writes links with [`Face::url`] and
//! [`watch_url`], the HTTP side reads them back with [`Face::of_path`]. Pure.

/// RFC 3986 unreserved characters besides letters and digits: safe anywhere in a URL.
pub const UNRESERVED: &[u8] = b"-._~";

/// The four faces of a link, all over the same token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// `/dl/<token>`: a download (`attachment`).
    Download,
    /// `/stream/<token>`: the same bytes `inline`, for players.
    Stream,
    /// `/watch/<token>`: the player page.
    Watch,
    /// `/m3u/<token>`: a one-entry playlist of the `/stream` URL, for desktop players.
    Playlist,
}

impl Face {
    pub const ALL: [Face; 4] = [Face::Download, Face::Stream, Face::Watch, Face::Playlist];

    /// The path prefix, slashes included.
    pub fn prefix(self) -> &'static str {
        match self {
            Face::Download => "/dl/",
            Face::Stream => "/stream/",
            Face::Watch => "/watch/",
            Face::Playlist => "/m3u/",
        }
    }

    /// `base_url` (no trailing slash) plus this face's path for `token`.
    pub fn url(self, base_url: &str, token: &str) -> String {
        format!("{base_url}{}{token}", self.prefix())
    }

    /// The face a request path asks for, and the token after its prefix.
    pub fn of_path(path: &str) -> Option<(Face, &str)> {
        Face::ALL.into_iter().find_map(|face| path.strip_prefix(face.prefix()).map(|token| (face, token)))
    }

    /// Whether a GET of this face streams file bytes (what the shutdown grace does not start).
    pub fn streams_bytes(self) -> bool {
        matches!(self, Face::Download | Face::Stream)
    }
}

/// Where the Watch button points: the built-in page, or `VIDEO_FRONTEND_URL` with the stream
/// URL as its `url` query parameter (percent-encoded).
pub fn watch_url(base_url: &str, token: &str, frontend: Option<&str>) -> String {
    match frontend {
        None => Face::Watch.url(base_url, token),
        Some(front) => {
            let stream = Face::Stream.url(base_url, token);
            let sep = if front.contains('?') { '&' } else { '?' };
            format!("{front}{sep}url={}", percent_encode(&stream, UNRESERVED))
        }
    }
}

/// Percent-encoding of every byte but ASCII letters, digits and `keep`.
pub fn percent_encode(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether Telegram accepts `url` in a URL button: it refuses localhost and loopback addresses.
pub fn button_url_allowed(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    if host.eq_ignore_ascii_case("localhost") || host.is_empty() {
        return false;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => !(ip.is_loopback() || ip.is_unspecified()),
        Err(_) => true,
    }
}

/// The path part of a `BASE_URL` (`/files` in `https://example.com/files`), if any.
pub fn base_path(base_url: &str) -> Option<&str> {
    let rest = base_url.split_once("://").map_or(base_url, |(_, r)| r);
    rest.find('/').map(|i| &rest[i..]).filter(|p| !p.trim_matches('/').is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_urls_cannot_be_buttons() {
        assert!(!button_url_allowed("http://localhost:8080/dl/x"));
        assert!(!button_url_allowed("http://127.0.0.1:8080/dl/x"));
        assert!(!button_url_allowed("http://[::1]:8080/dl/x"));
        assert!(!button_url_allowed("http://0.0.0.0/dl/x"));
        assert!(button_url_allowed("https://dl.example.com/dl/x"));
        assert!(button_url_allowed("http://203.0.113.5:8080/dl/x"));
    }

    #[test]
    fn a_base_url_path_is_found() {
        assert_eq!(base_path("https://example.com/files"), Some("/files"));
        assert_eq!(base_path("https://example.com"), None);
        assert_eq!(base_path("http://127.0.0.1:8080"), None);
    }

    #[test]
    fn every_face_reads_back_what_it_writes() {
        for face in Face::ALL {
            let url = face.url("https://b.example", "T0k");
            let path = url.strip_prefix("https://b.example").unwrap();
            assert_eq!(Face::of_path(path), Some((face, "T0k")));
        }
        assert_eq!(Face::of_path("/health"), None);
        assert_eq!(Face::of_path("/dl"), None);
    }

    #[test]
    fn watch_url_uses_the_frontend_when_set() {
        assert_eq!(watch_url("https://b.example", "T", None), "https://b.example/watch/T");
        assert_eq!(
            watch_url("https://b.example", "T", Some("https://p.example/play")),
            "https://p.example/play?url=https%3A%2F%2Fb.example%2Fstream%2FT"
        );
        assert_eq!(
            watch_url("http://b", "T", Some("https://p.example/?theme=dark")),
            "https://p.example/?theme=dark&url=http%3A%2F%2Fb%2Fstream%2FT"
        );
    }
}
