//! The `/watch/<token>/<name>` page: one self-contained HTML document (inline CSS and script, nothing
//! fetched from elsewhere) with a player for the file's `/stream` link, its name and size, and a
//! download button. Pure: the route passes everything the page shows.

use crate::html::escape;
use crate::units::human_size;
use crate::urls::{Face, url_name};

/// `Content-Security-Policy` of the page: only its own inline style and script, media from us.
pub const CSP: &str = "default-src 'none'; media-src 'self'; img-src 'self'; style-src 'unsafe-inline'; \
script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// What the page shows.
pub struct Watch<'a> {
    pub token: &'a str,
    /// Whether the page was asked for by its named path (`/watch/<token>/<name>`, one level
    /// deeper than the short form): its relative links climb one more level.
    pub named: bool,
    pub name: &'a str,
    pub size: u64,
    pub mime: &'a str,
    /// Absolute `/stream` URL, for "copy link" (VLC, mpv).
    pub stream_url: &'a str,
}

const STYLE: &str = "*{box-sizing:border-box}\
body{margin:0;font:16px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#111;color:#eee}\
main{max-width:960px;margin:0 auto;padding:12px}\
video,audio{width:100%;max-height:80vh;background:#000;border-radius:8px;display:block}\
audio{background:none;margin:24px 0}\
h1{font-size:1.1em;margin:12px 0 4px;overflow-wrap:anywhere}\
p{margin:4px 0;color:#aaa}\
.row{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0}\
a.b,button{flex:1 1 140px;padding:12px 16px;border:0;border-radius:8px;font:inherit;text-align:center;\
text-decoration:none;cursor:pointer;background:#2d6cdf;color:#fff}\
button{background:#333}\
#err{color:#f88}";

const SCRIPT: &str = "(function(){\
var m=document.getElementById('m'),t=document.getElementById('t'),e=document.getElementById('err');\
function f(s){if(!isFinite(s))return'--:--';s=Math.floor(s);var h=Math.floor(s/3600),\
mm=('0'+Math.floor(s%3600/60)).slice(-2),ss=('0'+s%60).slice(-2);return(h?h+':':'')+mm+':'+ss}\
if(m){m.addEventListener('timeupdate',function(){t.dataset.t=m.currentTime.toFixed(2);\
t.textContent=' · '+f(m.currentTime)+' / '+f(m.duration)});\
m.addEventListener('error',function(){e.hidden=false});\
if(/[?&]autoplay(=|&|$)/.test(location.search)){m.muted=true;var p=m.play();if(p)p.catch(function(){})}}\
var c=document.getElementById('c');c.addEventListener('click',function(){\
var u=c.dataset.u;if(navigator.clipboard){navigator.clipboard.writeText(u).then(function(){c.textContent='Copied'})}\
else{window.prompt('Stream link',u)}})})()";

/// The whole page.
pub fn watch_page(w: &Watch<'_>) -> String {
    let name = escape(w.name);
    let token = escape(w.token);
    let mime = escape(w.mime);
    // Relative links keep working behind a proxy that serves us under a path prefix.
    let up = if w.named { "../.." } else { ".." };
    let file = url_name(w.name);
    let stream = format!("{up}{}{token}/{file}", Face::Stream.prefix());
    let download = format!("{up}{}{token}/{file}", Face::Download.prefix());
    let lower = w.mime.to_ascii_lowercase();
    let player = if lower.starts_with("audio/") {
        format!("<audio id=\"m\" controls preload=\"metadata\"><source src=\"{stream}\" type=\"{mime}\"></audio>")
    } else if lower.starts_with("image/") {
        format!("<img src=\"{stream}\" alt=\"{name}\" style=\"max-width:100%\">")
    } else if lower.starts_with("video/") {
        format!(
            "<video id=\"m\" controls playsinline preload=\"metadata\"><source src=\"{stream}\" type=\"{mime}\"></video>"
        )
    } else {
        // A document or an archive: no player that could only show an error.
        String::new()
    };
    let cannot_play = if player.is_empty() { "" } else { " hidden" };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta name=\"robots\" content=\"noindex\"><title>{name}</title><style>{STYLE}</style></head>\
<body><main>{player}\
<h1>{name}</h1><p>{size}<span id=\"t\" data-t=\"0\"></span></p>\
<p id=\"err\"{cannot_play}>This browser cannot play this file. Download it, or open the stream link in VLC or mpv.</p>\
<div class=\"row\"><a class=\"b\" href=\"{download}\" download>Download</a>\
<button id=\"c\" type=\"button\" data-u=\"{stream_url}\">Copy stream link</button></div>\
</main><script>{SCRIPT}</script></body></html>\n",
        size = escape(&human_size(w.size)),
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
        for external in ["http://", "https://", "//cdn", "<link", "src=\"/"] {
            let outside_copy_link = html.replace("data-u=\"http://h/stream/TOK\"", "");
            assert!(!outside_copy_link.contains(external), "{external}");
        }
        assert!(html.contains("href=\"../../dl/TOK/a.webm\"") && html.contains("2.00 KiB"));
        assert!(html.contains("name=\"viewport\""));
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
