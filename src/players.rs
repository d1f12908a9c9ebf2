//! Links that hand a stream URL to a player app: `vlc://`, Android `intent:` URIs (VLC, MX
//! Player) and a one-entry `.m3u` playlist (mpv, VLC and most desktop players). Pure.

use crate::urls::{UNRESERVED, percent_encode};

/// VLC for Android's package name.
pub const VLC_ANDROID: &str = "org.videolan.vlc";
/// MX Player's free edition (`com.mxtech.videoplayer.pro` is the paid one; one intent names one package).
pub const MX_PLAYER: &str = "com.mxtech.videoplayer.ad";

/// RFC 3986 characters that may stand in a URL as they are, `#` left out: in a `vlc://` link
/// and in the data part of an `intent:` URI a `#` would end the URL early.
const URL_CHARS: &[u8] = b"-._~:/?[]@!$&'()*+,;=%";

/// `url` with every byte outside [`URL_CHARS`] percent-encoded (non-ASCII, spaces, `#`, quotes).
fn url_safe(url: &str) -> String {
    percent_encode(url, URL_CHARS)
}

/// `vlc://<stream url>`: VLC for iOS opens the URL after the `vlc://` prefix (a desktop VLC only
/// where a handler for the scheme is installed).
pub fn vlc_url(stream_url: &str) -> String {
    format!("vlc://{}", url_safe(stream_url))
}

/// The Play Store page of an Android `package`.
pub fn play_store_url(package: &str) -> String {
    format!("https://play.google.com/store/apps/details?id={}", percent_encode(package, UNRESERVED))
}

/// An Android `intent:` URI that opens `stream_url` in `package` with a VIEW intent, in the form
/// Chrome documents: `intent://host/path#Intent;scheme=https;package=...;type=...;end`. The
/// stream URL's scheme moves to `scheme=`; `Intent.parseUri` URL-decodes each value, so values
/// are percent-encoded. `type` is the file's type for media (players register for `video/*` and
/// `audio/*` over http and https), `video/*` otherwise. Without the app, Chrome follows
/// `S.browser_fallback_url`: the app's Play Store page.
pub fn android_intent(stream_url: &str, package: &str, mime: &str) -> String {
    let (scheme, rest) = stream_url.split_once("://").unwrap_or(("https", stream_url));
    let lower = mime.to_ascii_lowercase();
    let mime = if lower.starts_with("video/") || lower.starts_with("audio/") { mime } else { "video/*" };
    format!(
        "intent://{}#Intent;scheme={};package={};type={};S.browser_fallback_url={};end",
        url_safe(rest),
        percent_encode(scheme, UNRESERVED),
        percent_encode(package, UNRESERVED),
        percent_encode(mime, b"-._~/*+"),
        percent_encode(&play_store_url(package), UNRESERVED),
    )
}

/// A one-entry extended M3U playlist: `#EXTM3U`, `#EXTINF:-1,<name>`, the stream URL. Line
/// breaks and other control characters in the name become spaces (they would start a new entry).
pub fn m3u(name: &str, stream_url: &str) -> String {
    let title: String = name.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    format!("#EXTM3U\n#EXTINF:-1,{title}\n{}\n", url_safe(stream_url))
}

/// The playlist's file name: the file's name without its extension, plus `.m3u`.
pub fn m3u_file_name(name: &str) -> String {
    let stem = match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => name,
    };
    let stem = if stem.is_empty() { "stream" } else { stem };
    format!("{stem}.m3u")
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = "https://dl.example.com/stream/AbC-_9";

    #[test]
    fn an_intent_moves_the_scheme_and_names_package_type_and_fallback() {
        assert_eq!(
            android_intent(STREAM, VLC_ANDROID, "video/mp4"),
            "intent://dl.example.com/stream/AbC-_9#Intent;scheme=https;package=org.videolan.vlc;type=video/mp4;\
S.browser_fallback_url=https%3A%2F%2Fplay.google.com%2Fstore%2Fapps%2Fdetails%3Fid%3Dorg.videolan.vlc;end"
        );
        let http = android_intent("http://203.0.113.5:8080/stream/T", MX_PLAYER, "audio/mpeg");
        assert!(http.starts_with(
            "intent://203.0.113.5:8080/stream/T#Intent;scheme=http;package=com.mxtech.videoplayer.ad;type=audio/mpeg;"
        ));
    }

    #[test]
    fn an_intent_of_a_non_media_type_asks_for_video_and_encodes_what_would_break_it() {
        let intent = android_intent("https://h.example/a b#c/stream/T", VLC_ANDROID, "application/pdf");
        assert!(intent.starts_with("intent://h.example/a%20b%23c/stream/T#Intent;"), "{intent}");
        assert!(intent.contains(";type=video/*;"));
        assert_eq!(intent.matches('#').count(), 1, "one # only, before Intent: {intent}");
        assert!(android_intent(STREAM, VLC_ANDROID, "video/x;y").contains(";type=video/x%3By;"));
        assert!(android_intent(STREAM, VLC_ANDROID, "video/a#b").contains(";type=video/a%23b;"));
    }

    #[test]
    fn a_vlc_link_is_the_stream_url_behind_vlc_scheme() {
        assert_eq!(vlc_url(STREAM), "vlc://https://dl.example.com/stream/AbC-_9");
        assert_eq!(vlc_url("https://h/ü\"x"), "vlc://https://h/%C3%BC%22x");
    }

    #[test]
    fn the_playlist_has_the_header_the_title_and_the_url() {
        assert_eq!(m3u("clip.webm", STREAM), format!("#EXTM3U\n#EXTINF:-1,clip.webm\n{STREAM}\n"));
        assert_eq!(m3u("a\nhttp://evil\r.mp4", STREAM).lines().count(), 3, "a line break cannot add an entry");
        assert!(m3u("видео.mp4", STREAM).contains("#EXTINF:-1,видео.mp4\n"));
    }

    #[test]
    fn the_playlist_file_name_drops_the_extension() {
        assert_eq!(m3u_file_name("clip.webm"), "clip.m3u");
        assert_eq!(m3u_file_name("my.song.mp3"), "my.song.m3u");
        assert_eq!(m3u_file_name("noext"), "noext.m3u");
        assert_eq!(m3u_file_name(".hidden"), ".hidden.m3u");
        assert_eq!(m3u_file_name(""), "stream.m3u");
    }
}
