//! Link URLs and their route prefixes, in one place: the bot writes links with [`Face::url`] and
//! [`watch_url`], the HTTP side reads them back with [`Face::of_path`]. A link is
//! `/<face>/<token>/<file name>`: the token alone names the file, the name is there for clients
//! that save under the URL's last segment (`wget`, `curl -O`, VLC, browsers). Pure.

/// RFC 3986 unreserved characters besides letters and digits: safe anywhere in a URL.
pub const UNRESERVED: &[u8] = b"-._~";

/// Most bytes of a file name a link carries (before percent-encoding): short enough for every
/// file system's 255-byte name limit even once a client adds ` (1)`, long enough to read.
pub const NAME_MAX: usize = 100;

/// Longest extension kept whole when a long name is shortened.
const EXT_MAX: usize = 16;

/// Longest name segment of a request path that is decoded to be compared; anything longer is
/// not a name we wrote (each of our `NAME_MAX` bytes encodes to at most three).
const SEGMENT_MAX: usize = NAME_MAX * 3;

/// The four faces of a link, all over the same token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// `/dl/<token>/<name>`: a download (`attachment`).
    Download,
    /// `/stream/<token>/<name>`: the same bytes `inline`, for players.
    Stream,
    /// `/watch/<token>/<name>`: the player page.
    Watch,
    /// `/m3u/<token>/<name>`: a one-entry playlist of the `/stream` URL, for desktop players.
    Playlist,
}

/// A request path of a link: which face, the token, and the name segment if there was one
/// (`None` for the short form `/dl/<token>`; still percent-encoded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkPath<'a> {
    pub face: Face,
    pub token: &'a str,
    pub name: Option<&'a str>,
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

    /// `base_url` (no trailing slash) plus this face's path for `token`, named after `file_name`.
    pub fn url(self, base_url: &str, token: &str, file_name: &str) -> String {
        format!("{base_url}{}{token}/{}", self.prefix(), url_name(file_name))
    }

    /// The link a request path asks for: the face, the token after its prefix and the rest.
    pub fn of_path(path: &str) -> Option<LinkPath<'_>> {
        Face::ALL.into_iter().find_map(|face| {
            let rest = path.strip_prefix(face.prefix())?;
            let (token, name) = match rest.split_once('/') {
                Some((token, name)) => (token, Some(name)),
                None => (rest, None),
            };
            Some(LinkPath { face, token, name })
        })
    }

    /// Whether a GET of this face streams file bytes (what the shutdown grace does not start).
    pub fn streams_bytes(self) -> bool {
        matches!(self, Face::Download | Face::Stream)
    }
}

/// The name a link carries for `file_name`, not yet encoded: path separators and control
/// characters become `_` (no client may read a directory into it), a name that would be empty
/// or a dot segment (`.`, `..`: clients resolve those away) becomes `file`, and a long name is cut
/// to [`NAME_MAX`] bytes at a character boundary, keeping its extension.
pub fn link_name(file_name: &str) -> String {
    let clean: String =
        file_name.trim().chars().map(|c| if c == '/' || c == '\\' || c.is_control() { '_' } else { c }).collect();
    if clean.is_empty() || clean == "." || clean == ".." {
        return "file".to_owned();
    }
    if clean.len() <= NAME_MAX {
        return clean;
    }
    match clean.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() && ext.len() <= EXT_MAX => {
            let stem = &stem[..stem.floor_char_boundary(NAME_MAX - 1 - ext.len())];
            format!("{stem}.{ext}")
        }
        _ => clean[..clean.floor_char_boundary(NAME_MAX)].to_owned(),
    }
}

/// [`link_name`] percent-encoded for a path segment: RFC 3986 unreserved characters stay,
/// everything else (a space too) is `%XX` of its UTF-8 bytes.
pub fn url_name(file_name: &str) -> String {
    percent_encode(&link_name(file_name), UNRESERVED)
}

/// Whether the name segment of a request path is the name of `file_name`'s link, compared after
/// percent-decoding (so `%7E` and `~`, `%d0` and `%D0` are alike). A segment too long to be
/// ours, or a broken `%` escape, never is.
pub fn name_matches(segment: &str, file_name: &str) -> bool {
    if segment.len() > SEGMENT_MAX {
        return false;
    }
    percent_decode(segment).is_some_and(|bytes| bytes == link_name(file_name).as_bytes())
}

/// The bytes `%XX` escapes stand for (any bytes: not necessarily UTF-8); `None` for a `%` not
/// followed by two hex digits.
fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).filter(|h| h.iter().all(u8::is_ascii_hexdigit))?;
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Where the Watch button points: the built-in page, or `VIDEO_FRONTEND_URL` with the stream
/// URL as its `url` query parameter (percent-encoded).
pub fn watch_url(base_url: &str, token: &str, file_name: &str, frontend: Option<&str>) -> String {
    match frontend {
        None => Face::Watch.url(base_url, token, file_name),
        Some(front) => {
            let stream = Face::Stream.url(base_url, token, file_name);
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
            let url = face.url("https://b.example", "T0k", "my clip.mp4");
            let path = url.strip_prefix("https://b.example").unwrap();
            assert_eq!(path, format!("{}T0k/my%20clip.mp4", face.prefix()));
            let read = Face::of_path(path).unwrap();
            assert_eq!((read.face, read.token), (face, "T0k"));
            assert!(name_matches(read.name.unwrap(), "my clip.mp4"));
        }
        let short = Face::of_path("/dl/T0k").unwrap();
        assert_eq!((short.face, short.token, short.name), (Face::Download, "T0k", None));
        assert_eq!(Face::of_path("/stream/T0k/").unwrap().name, Some(""));
        assert_eq!(Face::of_path("/dl/T0k/a/b").unwrap().name, Some("a/b"));
        assert_eq!(Face::of_path("/health"), None);
        assert_eq!(Face::of_path("/dl"), None);
    }

    #[test]
    fn names_are_encoded_with_unreserved_characters_kept() {
        assert_eq!(url_name("Report-2026_v1.~final.pdf"), "Report-2026_v1.~final.pdf");
        assert_eq!(url_name("a b#c?d%e&f+g.txt"), "a%20b%23c%3Fd%25e%26f%2Bg.txt");
        assert_eq!(url_name("видео.mp4"), "%D0%B2%D0%B8%D0%B4%D0%B5%D0%BE.mp4");
    }

    #[test]
    fn separators_dot_segments_and_empty_names_never_reach_a_path() {
        assert_eq!(link_name("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(link_name("a\\b\nc"), "a_b_c");
        assert_eq!(link_name(""), "file");
        assert_eq!(link_name("   "), "file");
        assert_eq!(link_name("."), "file");
        assert_eq!(link_name(".."), "file");
        assert_eq!(link_name("..."), "...");
        assert_eq!(url_name("/"), "_");
    }

    #[test]
    fn long_names_are_cut_at_a_char_boundary_keeping_the_extension() {
        let long = format!("{}.mkv", "a".repeat(300));
        let cut = link_name(&long);
        assert_eq!(cut.len(), NAME_MAX);
        assert!(cut.ends_with("aaa.mkv"), "{cut}");
        // Two-byte letters: the cut never splits one.
        let cyrillic = format!("{}.webm", "я".repeat(200));
        let cut = link_name(&cyrillic);
        assert!(cut.ends_with("я.webm"), "{cut}");
        assert_eq!(cut.len(), 99, "47 letters of two bytes (the 48th would pass the limit) and .webm");
        // No extension, or one too long to be one: the name is cut as a whole.
        assert_eq!(link_name(&"я".repeat(200)), "я".repeat(50));
        let odd = format!("x.{}", "e".repeat(200));
        assert_eq!(link_name(&odd).len(), NAME_MAX);
        assert_eq!(link_name(&"b".repeat(NAME_MAX)), "b".repeat(NAME_MAX), "at the limit nothing is cut");
    }

    #[test]
    fn names_compare_after_decoding_and_anything_else_is_another_name() {
        assert!(name_matches("my%20file.txt", "my file.txt"));
        assert!(name_matches("my%20file%2etxt", "my file.txt"), "an escaped unreserved character is the same");
        assert!(name_matches("%d0%b2.mp4", "в.mp4"), "hex digits in either case");
        assert!(!name_matches("old.txt", "my file.txt"));
        assert!(!name_matches("", "my file.txt"));
        assert!(!name_matches("my%2", "my"), "a cut escape");
        assert_eq!(percent_decode("%+1"), None, "a sign is no hex digit");
        assert!(!name_matches("%FF%FE.txt", "x.txt"), "bytes that are no UTF-8 are just another name");
        assert!(name_matches(&"%41".repeat(NAME_MAX), &"A".repeat(NAME_MAX)), "the longest segment we write");
        assert!(
            !name_matches(&format!("{}A", "%41".repeat(NAME_MAX)), &"A".repeat(NAME_MAX + 1)),
            "longer than we write"
        );
        let long = format!("{}.mkv", "a".repeat(300));
        assert!(name_matches(&url_name(&long), &long), "a long name matches its shortened form");
    }

    #[test]
    fn watch_url_uses_the_frontend_when_set() {
        assert_eq!(watch_url("https://b.example", "T", "v.mp4", None), "https://b.example/watch/T/v.mp4");
        assert_eq!(
            watch_url("https://b.example", "T", "v.mp4", Some("https://p.example/play")),
            "https://p.example/play?url=https%3A%2F%2Fb.example%2Fstream%2FT%2Fv.mp4"
        );
        assert_eq!(
            watch_url("http://b", "T", "a b", Some("https://p.example/?theme=dark")),
            "https://p.example/?theme=dark&url=http%3A%2F%2Fb%2Fstream%2FT%2Fa%2520b"
        );
    }
}
