//! What a file response will be, decided before any byte is fetched (pure: takes the link, the
//! request's headers, the length and `now`): status, headers, validators and the byte range.
//! `routes.rs` then opens the source and streams what the plan says. RFC 9110 §13 (conditional
//! requests: `If-None-Match`, else `If-Modified-Since`, before `Range`, `If-Range` guarding it) and §14 (ranges).

use super::conditional;
use super::range::{self, Ranged};
use crate::store::LinkRow;
use crate::units::http_date;

/// Longest a client or cache may keep a file response; never past the link's expiry.
const MAX_AGE_SECS: u64 = 3600;

/// The response to a `/dl` or `/stream` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: PlannedBody,
}

/// What follows the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlannedBody {
    /// Nothing (304).
    None,
    /// A short fixed text (416).
    Text(&'static str),
    /// `len` bytes of the file from `start`; `whole` when that is the entire file.
    File { start: u64, len: u64, whole: bool },
}

/// `inline` (for `/stream`) or `attachment` (for `/dl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Disposition {
    Inline,
    Attachment,
}

/// Plans the answer for `link`, whose file is `len` bytes; `header` reads a request header.
pub(crate) fn plan<'a>(
    link: &LinkRow,
    header: impl Fn(&str) -> Option<&'a str>,
    len: u64,
    disposition: Disposition,
    now: u64,
) -> Plan {
    let etag = conditional::etag(&link.file_unique_id);
    let last_modified = http_date(link.created_at);
    let mut headers = vec![
        ("etag", etag.clone()),
        ("last-modified", last_modified.clone()),
        ("cache-control", format!("private, max-age={}", max_age(link.expires_at, now))),
    ];
    // RFC 9110 §13.2.2: If-None-Match first; when it is present, If-Modified-Since is ignored
    // (§13.1.3). Only GET and HEAD reach a plan.
    let not_modified = match header("if-none-match") {
        Some(tags) => conditional::none_match_hits(tags, &etag),
        None => header("if-modified-since").is_some_and(|date| conditional::not_modified_since(date, link.created_at)),
    };
    if not_modified {
        return Plan { status: 304, headers, body: PlannedBody::None };
    }
    let range_header = match header("if-range") {
        Some(v) if !conditional::if_range_holds(v, &etag, &last_modified) => None,
        _ => header("range"),
    };
    headers.push(("accept-ranges", "bytes".into()));
    let (status, start, end) = match range::resolve(range_header, len) {
        Ranged::Unsatisfiable => {
            headers.push(("content-range", format!("bytes */{len}")));
            headers.push(("content-type", "text/plain; charset=utf-8".into()));
            return Plan { status: 416, headers, body: PlannedBody::Text("range not satisfiable\n") };
        }
        Ranged::Partial { start, end } => {
            headers.push(("content-range", format!("bytes {start}-{end}/{len}")));
            (206, start, end + 1)
        }
        Ranged::Full => (200, 0, len),
    };
    let mime = crate::mime::sanitize(&link.mime);
    // Only media that cannot run script is shown inline; an uploaded page or SVG is a download,
    // and the sandbox keeps anything a browser does render away from our origin.
    let kind = match disposition {
        Disposition::Inline if crate::mime::inline_safe(mime) => "inline",
        _ => "attachment",
    };
    headers.push(("content-type", mime.to_owned()));
    headers.push(("content-disposition", content_disposition(kind, &link.file_name)));
    headers.push(("x-content-type-options", "nosniff".into()));
    headers.push(("content-security-policy", "sandbox".into()));
    Plan { status, headers, body: PlannedBody::File { start, len: end - start, whole: status == 200 } }
}

/// Seconds a response may be cached: an hour, or until the link expires if that is sooner.
fn max_age(expires_at: u64, now: u64) -> u64 {
    match expires_at {
        0 => MAX_AGE_SECS,
        at => at.saturating_sub(now).min(MAX_AGE_SECS),
    }
}

/// RFC 6266 `Content-Disposition`: an ASCII `filename` for old clients and an RFC 8187
/// `filename*` with the exact UTF-8 name.
pub fn content_disposition(kind: &str, name: &str) -> String {
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    // RFC 8187 attr-char: what may stand unencoded in `filename*`.
    let encoded = crate::urls::percent_encode(name, b"!#$&+-.^_`|~");
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;
    const CREATED: u64 = 1_799_990_000;

    fn link(mime: &str, expires_at: u64) -> LinkRow {
        LinkRow {
            id: 1,
            owner: 2,
            file_id: "F".into(),
            file_unique_id: "U1".into(),
            file_name: "clip.mp4".into(),
            file_size: 1000,
            mime: mime.into(),
            created_at: CREATED,
            expires_at,
            update_id: None,
            revoked: false,
            source: None,
        }
    }

    /// Plans a 1000-byte video with `headers` (`name: value` lines).
    fn run(headers: &[(&str, &str)], disposition: Disposition) -> Plan {
        let l = link("video/mp4", 0);
        plan(&l, |name| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v), 1000, disposition, NOW)
    }

    fn get<'a>(plan: &'a Plan, name: &str) -> Option<&'a str> {
        plan.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn plans_follow_the_conditional_and_range_table() {
        let date = http_date(CREATED);
        let before = http_date(CREATED - 1);
        let file = |start, len| PlannedBody::File { start, len, whole: start == 0 && len == 1000 };
        type Row<'a> = (&'a [(&'a str, &'a str)], u16, PlannedBody);
        let table: &[Row] = &[
            (&[], 200, file(0, 1000)),
            (&[("range", "bytes=0-99")], 206, file(0, 100)),
            (&[("range", "bytes=-10")], 206, file(990, 10)),
            (&[("range", "bytes=990-5000")], 206, file(990, 10)),
            (&[("range", "bytes=1000-")], 416, PlannedBody::Text("range not satisfiable\n")),
            (&[("range", "items=0-1")], 200, file(0, 1000)),
            (&[("if-none-match", "\"U1\"")], 304, PlannedBody::None),
            (&[("if-none-match", "W/\"U1\""), ("range", "bytes=0-1")], 304, PlannedBody::None),
            (&[("if-none-match", "\"other\"")], 200, file(0, 1000)),
            (&[("if-range", "\"U1\""), ("range", "bytes=5-9")], 206, file(5, 5)),
            (&[("if-range", "\"old\""), ("range", "bytes=5-9")], 200, file(0, 1000)),
            (&[("if-range", "W/\"U1\""), ("range", "bytes=5-9")], 200, file(0, 1000)),
            (&[("if-range", date.as_str()), ("range", "bytes=5-9")], 206, file(5, 5)),
            (&[("if-modified-since", date.as_str())], 304, PlannedBody::None),
            (&[("if-modified-since", "Sat, 01 Jan 2100 00:00:00 GMT")], 304, PlannedBody::None),
            (&[("if-modified-since", before.as_str())], 200, file(0, 1000)),
            (&[("if-modified-since", "garbage")], 200, file(0, 1000)),
            (&[("if-modified-since", date.as_str()), ("if-none-match", "\"other\"")], 200, file(0, 1000)),
            (&[("if-modified-since", before.as_str()), ("if-none-match", "\"U1\"")], 304, PlannedBody::None),
        ];
        for (headers, status, body) in table {
            let p = run(headers, Disposition::Attachment);
            assert_eq!((p.status, p.body), (*status, *body), "{headers:?}");
            assert_eq!(get(&p, "etag"), Some("\"U1\""), "{headers:?}");
        }
    }

    #[test]
    fn partial_and_unsatisfiable_answers_carry_their_content_range() {
        assert_eq!(
            get(&run(&[("range", "bytes=0-99")], Disposition::Inline), "content-range"),
            Some("bytes 0-99/1000")
        );
        assert_eq!(get(&run(&[("range", "bytes=2000-")], Disposition::Inline), "content-range"), Some("bytes */1000"));
        assert_eq!(get(&run(&[], Disposition::Inline), "content-range"), None);
        assert_eq!(get(&run(&[("if-none-match", "*")], Disposition::Inline), "accept-ranges"), None);
    }

    #[test]
    fn only_script_free_media_is_inline() {
        assert!(get(&run(&[], Disposition::Inline), "content-disposition").unwrap().starts_with("inline;"));
        assert!(get(&run(&[], Disposition::Attachment), "content-disposition").unwrap().starts_with("attachment;"));
        let page = link("text/html", 0);
        let p = plan(&page, |_| None, 10, Disposition::Inline, NOW);
        assert!(get(&p, "content-disposition").unwrap().starts_with("attachment;"));
        assert_eq!(get(&p, "content-security-policy"), Some("sandbox"));
    }

    #[test]
    fn caching_never_outlives_the_link() {
        let p = |expires_at| plan(&link("video/mp4", expires_at), |_| None, 10, Disposition::Inline, NOW);
        assert_eq!(get(&p(0), "cache-control"), Some("private, max-age=3600"));
        assert_eq!(get(&p(NOW + 60), "cache-control"), Some("private, max-age=60"));
        assert_eq!(get(&p(NOW + 86_400), "cache-control"), Some("private, max-age=3600"));
    }

    #[test]
    fn ascii_name_is_quoted_and_encoded() {
        assert_eq!(
            content_disposition("attachment", "my file.txt"),
            "attachment; filename=\"my file.txt\"; filename*=UTF-8''my%20file.txt"
        );
    }

    #[test]
    fn unicode_name_gets_a_fallback_and_utf8_form() {
        assert_eq!(
            content_disposition("inline", "видео \"1\".mp4"),
            "inline; filename=\"_____ _1_.mp4\"; filename*=UTF-8''%D0%B2%D0%B8%D0%B4%D0%B5%D0%BE%20%221%22.mp4"
        );
    }
}
