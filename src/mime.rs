//! MIME types as they reach our headers. Telegram passes on whatever the sender's app declared, so
//! a type is used only if it is a plain ASCII `type/subtype`; and only media types that cannot
//! run script are shown inline. Pure.

/// The fallback for anything unusable.
pub const OCTET_STREAM: &str = "application/octet-stream";

fn is_token(part: &str) -> bool {
    !part.is_empty()
        && part.len() <= 127
        && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
}

/// `mime` if it is a well-formed `type/subtype` (RFC 6838 characters, no parameters), else
/// `application/octet-stream`. Keeps header injection and non-ASCII out of responses.
pub fn sanitize(mime: &str) -> &str {
    match mime.split_once('/') {
        Some((t, s)) if is_token(t) && is_token(s) => mime,
        _ => OCTET_STREAM,
    }
}

/// Whether a browser may display this type inline on our origin: video, audio and raster
/// images. HTML, SVG, XML and the rest could run script, so they are always downloads.
pub fn inline_safe(mime: &str) -> bool {
    let m = mime.to_ascii_lowercase();
    m.starts_with("video/") || m.starts_with("audio/") || (m.starts_with("image/") && !m.contains("svg"))
}

/// Whether the built-in player can play it.
pub fn playable(mime: &str) -> bool {
    let m = mime.to_ascii_lowercase();
    m.starts_with("video/") || m.starts_with("audio/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_types_pass_and_the_rest_fall_back() {
        assert_eq!(sanitize("video/mp4"), "video/mp4");
        assert_eq!(sanitize("application/vnd.ms-excel"), "application/vnd.ms-excel");
        assert_eq!(sanitize("text/html\r\nSet-Cookie: a=b"), OCTET_STREAM);
        assert_eq!(sanitize("vidéo/mp4"), OCTET_STREAM);
        assert_eq!(sanitize("text/plain; charset=utf-8"), OCTET_STREAM);
        assert_eq!(sanitize("nonsense"), OCTET_STREAM);
        assert_eq!(sanitize("/x"), OCTET_STREAM);
    }

    #[test]
    fn only_media_that_cannot_script_is_inline() {
        assert!(inline_safe("video/webm") && inline_safe("audio/ogg") && inline_safe("image/jpeg"));
        assert!(!inline_safe("image/svg+xml") && !inline_safe("text/html") && !inline_safe("application/pdf"));
        assert!(playable("Video/MP4") && !playable("image/png"));
    }
}
