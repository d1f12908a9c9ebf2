//! The `/watch/<token>/<name>` page: one self-contained HTML document (inline CSS and script, nothing
//! fetched from elsewhere) with a player for the file's `/stream` link, its name and size, a
//! download button, links that open the stream in player apps and a copy field. Pure.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::html::escape;
use crate::players::{MX_PLAYER, VLC_ANDROID, android_intent, vlc_url};
use crate::units::human_size;
use crate::urls::{Face, url_name};

/// `Content-Security-Policy` of the page: media from us, and only the page's own style and script,
/// named by their SHA-256 (CSP Level 2 hashes), so no other inline script or style runs.
pub fn csp() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        format!(
            "default-src 'none'; media-src 'self'; img-src 'self'; style-src '{}'; script-src '{}'; \
base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            sha256_source(STYLE),
            sha256_source(SCRIPT)
        )
    })
}

/// A CSP hash source: `sha256-` and the base64 of the digest of exactly what the tag holds.
fn sha256_source(text: &str) -> String {
    format!("sha256-{}", STANDARD.encode(ring::digest::digest(&ring::digest::SHA256, text.as_bytes())))
}

/// What the page shows.
pub struct Watch<'a> {
    pub token: &'a str,
    /// Whether the page was asked for by its named path (`/watch/<token>/<name>`, one level
    /// deeper than the short form): its relative links climb one more level.
    pub named: bool,
    pub name: &'a str,
    pub size: u64,
    pub mime: &'a str,
    /// Absolute `/stream` URL: the copy field and the player-app links.
    pub stream_url: &'a str,
}

const STYLE: &str = "*{box-sizing:border-box}\
body{margin:0;font:16px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#111;color:#eee}\
main{max-width:960px;margin:0 auto;padding:12px}\
video,audio{width:100%;max-height:50vh;background:#000;border-radius:8px;display:block}\
audio{background:none;margin:24px 0}\
img{max-width:100%}\
h1{font-size:1.1em;margin:12px 0 4px;overflow-wrap:anywhere}\
h2{font-size:.95em;margin:20px 0 0;color:#ccc}\
p{margin:4px 0;color:#aaa}\
.hint{font-size:.85em}\
.row{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0}\
a.b,button{flex:1 1 140px;padding:12px 16px;border:0;border-radius:8px;font:inherit;text-align:center;\
text-decoration:none;cursor:pointer;background:#2d6cdf;color:#fff}\
a.app{background:#262626;border:1px solid #3a3a3a;flex-basis:150px;white-space:nowrap}\
button{background:#333;flex:0 0 auto}\
label{display:block;margin:16px 0 4px;color:#aaa;font-size:.85em}\
.copy{display:flex;gap:8px}\
.copy input{flex:1;min-width:0;padding:10px;border:1px solid #3a3a3a;border-radius:8px;background:#1b1b1b;\
color:#eee;font:14px ui-monospace,Menlo,Consolas,monospace}\
#err{color:#f88}";

const SCRIPT: &str = "(function(){\
var m=document.getElementById('m'),t=document.getElementById('t'),e=document.getElementById('err');\
function f(s){if(!isFinite(s))return'--:--';s=Math.floor(s);var h=Math.floor(s/3600),\
mm=('0'+Math.floor(s%3600/60)).slice(-2),ss=('0'+s%60).slice(-2);return(h?h+':':'')+mm+':'+ss}\
if(m){m.addEventListener('timeupdate',function(){t.dataset.t=m.currentTime.toFixed(2);\
t.textContent=' · '+f(m.currentTime)+' / '+f(m.duration)});\
m.addEventListener('error',function(){e.hidden=false});\
if(/[?&]autoplay(=|&|$)/.test(location.search)){m.muted=true;var p=m.play();if(p)p.catch(function(){})}}\
var u=document.getElementById('u'),c=document.getElementById('c');\
u.addEventListener('focus',function(){u.select()});c.hidden=false;\
c.addEventListener('click',function(){function done(){c.textContent='Copied'}\
function old(){u.focus();u.select();try{if(document.execCommand('copy'))done()}catch(x){}}\
if(navigator.clipboard&&window.isSecureContext){navigator.clipboard.writeText(u.value).then(done,old)}else{old()}})})()";

/// The built-in player for `mime`, or nothing for a document or an archive (no player that could
/// only show an error).
fn player(mime: &str, stream: &str, name: &str) -> String {
    let lower = mime.to_ascii_lowercase();
    let mime = escape(mime);
    if lower.starts_with("audio/") {
        format!("<audio id=\"m\" controls preload=\"metadata\"><source src=\"{stream}\" type=\"{mime}\"></audio>")
    } else if lower.starts_with("image/") {
        format!("<img src=\"{stream}\" alt=\"{name}\">")
    } else if lower.starts_with("video/") {
        format!(
            "<video id=\"m\" controls playsinline preload=\"metadata\"><source src=\"{stream}\" type=\"{mime}\"></video>"
        )
    } else {
        String::new()
    }
}

/// "Open in a player": VLC (`vlc://`), VLC and MX Player on Android (intents),
/// and the `.m3u` playlist for mpv and desktop players. Only for audio and video.
fn player_apps(w: &Watch<'_>, up: &str, token: &str, file: &str) -> String {
    if !crate::mime::playable(w.mime) {
        return String::new();
    }
    let vlc = escape(&vlc_url(w.stream_url));
    let vlc_android = escape(&android_intent(w.stream_url, VLC_ANDROID, w.mime));
    let mx = escape(&android_intent(w.stream_url, MX_PLAYER, w.mime));
    let m3u = format!("{up}{}{token}/{file}", Face::Playlist.prefix());
    format!(
        "<h2>Open in a player</h2><div class=\"row\">\
<a class=\"b app\" href=\"{vlc}\">VLC</a>\
<a class=\"b app\" href=\"{vlc_android}\">VLC for Android</a>\
<a class=\"b app\" href=\"{mx}\">MX Player</a>\
<a class=\"b app\" href=\"{m3u}\" download>mpv (.m3u)</a></div>\
<p class=\"hint\">VLC: iPhone and iPad, and desktops that handle vlc:// links. \
Android: the app, or its store page. mpv (.m3u): a playlist for mpv, VLC and most desktop players.</p>"
    )
}

/// The whole page.
pub fn watch_page(w: &Watch<'_>) -> String {
    let name = escape(w.name);
    let token = escape(w.token);
    // Relative links keep working behind a proxy that serves us under a path prefix.
    let up = if w.named { "../.." } else { ".." };
    let file = url_name(w.name);
    let stream = format!("{up}{}{token}/{file}", Face::Stream.prefix());
    let download = format!("{up}{}{token}/{file}", Face::Download.prefix());
    let player = player(w.mime, &stream, &name);
    let cannot_play = if player.is_empty() { "" } else { " hidden" };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta name=\"robots\" content=\"noindex\"><title>{name}</title><style>{STYLE}</style></head>\
<body><main>{player}\
<h1>{name}</h1><p>{size}<span id=\"t\" data-t=\"0\"></span></p>\
<p id=\"err\"{cannot_play}>This browser cannot play this file. Download it, or open it in a player below.</p>\
<div class=\"row\"><a class=\"b\" href=\"{download}\" download>Download</a></div>\
<section id=\"open\">{apps}\
<label for=\"u\">Stream link (select it to copy)</label>\
<div class=\"copy\"><input id=\"u\" type=\"text\" readonly value=\"{stream_url}\">\
<button id=\"c\" type=\"button\" hidden>Copy link</button></div></section>\
</main><script>{SCRIPT}</script></body></html>\n",
        size = escape(&human_size(w.size)),
        apps = player_apps(w, up, &token, &file),
        stream_url = escape(w.stream_url),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(name: &str, mime: &str) -> String {
        watch_page(&Watch { token: "TOK", named: true, name, size: 2048, mime, stream_url: "http://h/stream/TOK" })
    }

    #[test]
    fn names_are_escaped_everywhere() {
        let html = page("<script>alert('x')</script>&\".mp4", "video/mp4");
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;.mp4"));
    }

    #[test]
    fn video_audio_and_other_files_get_the_right_element() {
        assert!(page("a.webm", "video/webm").contains("<video id=\"m\""));
        assert!(page("a.mp3", "audio/mpeg").contains("<audio id=\"m\""));
        assert!(page("a.jpg", "image/jpeg").contains("<img src=\"../../stream/TOK/a.jpg\""));
    }

    #[test]
    fn a_document_gets_no_player_but_the_download_button_and_the_reason() {
        let html = page("report.pdf", "application/pdf");
        assert!(!html.contains("<video") && !html.contains("<audio") && !html.contains("<img"));
        assert!(html.contains("href=\"../../dl/TOK/report.pdf\" download>Download</a>"));
        assert!(html.contains("<p id=\"err\">This browser cannot play this file."), "shown, not hidden");
        assert!(page("a.mp4", "video/mp4").contains("<p id=\"err\" hidden>"));
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        let html = page("a.webm", "video/webm");
        assert!(!html.contains("<link") && !html.contains("url("));
        for (at, _) in html.match_indices(" src=\"") {
            assert!(html[at + 6..].starts_with("../../stream/TOK/a.webm\""), "{}", &html[at..at + 40]);
        }
        assert!(html.contains("href=\"../../dl/TOK/a.webm\"") && html.contains("2.00 KiB"));
        assert!(html.contains("name=\"viewport\""));
    }

    #[test]
    fn media_gets_player_app_links_and_the_copy_field() {
        let html = page("a.webm", "video/webm");
        assert!(html.contains("href=\"vlc://http://h/stream/TOK\">VLC</a>"), "{html}");
        assert!(
            html.contains("href=\"intent://h/stream/TOK#Intent;scheme=http;package=org.videolan.vlc;type=video/webm;")
        );
        assert!(html.contains("package=com.mxtech.videoplayer.ad;"));
        assert!(html.contains("href=\"../../m3u/TOK/a.webm\" download>mpv"));
        assert!(html.contains("<input id=\"u\" type=\"text\" readonly value=\"http://h/stream/TOK\">"));
        assert!(html.contains("<button id=\"c\" type=\"button\" hidden>"), "shown by the script only");
        let pdf = page("a.pdf", "application/pdf");
        assert!(!pdf.contains("vlc://") && !pdf.contains("intent:") && pdf.contains("id=\"u\""));
    }

    #[test]
    fn stream_urls_are_percent_encoded_in_app_links_and_escaped_in_attributes() {
        let url = "https://h/p?a=1&b=\"x\" y/stream/TOK";
        let html = watch_page(&Watch {
            token: "TOK",
            named: false,
            name: "a.mp4",
            size: 1,
            mime: "video/mp4",
            stream_url: url,
        });
        assert!(html.contains("href=\"vlc://https://h/p?a=1&amp;b=%22x%22%20y/stream/TOK\""), "{html}");
        assert!(html.contains("href=\"intent://h/p?a=1&amp;b=%22x%22%20y/stream/TOK#Intent;scheme=https;"));
        assert!(html.contains("value=\"https://h/p?a=1&amp;b=&quot;x&quot; y/stream/TOK\""));
    }

    #[test]
    fn the_policy_allows_exactly_the_page_script_and_style_by_hash() {
        let policy = csp();
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        let html = page("a.webm", "video/webm");
        let script = html.split("<script>").nth(1).unwrap().split("</script>").next().unwrap();
        let style = html.split("<style>").nth(1).unwrap().split("</style>").next().unwrap();
        assert!(policy.contains(&format!("script-src '{}'", sha256_source(script))));
        assert!(policy.contains(&format!("style-src '{}'", sha256_source(style))));
        assert!(!html.contains(" style=\""), "style attributes would need 'unsafe-hashes'");
        assert_eq!(sha256_source(""), "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    }

    #[test]
    fn relative_links_climb_as_deep_as_the_page_was_asked_for() {
        let short = watch_page(&Watch {
            token: "TOK",
            named: false,
            name: "a b.mp4",
            size: 1,
            mime: "video/mp4",
            stream_url: "http://h/stream/TOK/a%20b.mp4",
        });
        assert!(short.contains("src=\"../stream/TOK/a%20b.mp4\""), "from /watch/TOK one level up");
        assert!(
            page("a b.mp4", "video/mp4").contains("src=\"../../stream/TOK/a%20b.mp4\""),
            "from /watch/TOK/a%20b.mp4"
        );
    }
}
