//! Validators and preconditions (RFC 9110 §8.8 and §13): the strong `ETag` of a link comes from
//! Telegram's `file_unique_id` (stable for the same bytes), `Last-Modified` from the link's
//! creation time. Pure.

/// The strong entity tag of a file.
pub fn etag(file_unique_id: &str) -> String {
    format!("\"{file_unique_id}\"")
}

/// `If-None-Match`: true when any listed tag matches ours by weak comparison, or it is `*`.
pub fn none_match_hits(header: &str, etag: &str) -> bool {
    let ours = etag.trim_start_matches("W/");
    header.split(',').map(str::trim).any(|tag| tag == "*" || tag.trim_start_matches("W/") == ours)
}

/// `If-Modified-Since` (RFC 9110 §13.1.3): true when the resource, last modified at
/// `last_modified` (Unix seconds, as our `Last-Modified` says), is not newer than the date, as
/// nginx's `if_modified_since before` has it. A header that is no HTTP-date is ignored (false).
pub fn not_modified_since(header: &str, last_modified: u64) -> bool {
    crate::units::parse_http_date(header).is_some_and(|since| last_modified <= since)
}

/// `If-Range`: the range applies only if the validator is our exact strong tag or our exact
/// `Last-Modified` date; anything else (a weak tag, another tag, another date) means "send it all".
pub fn if_range_holds(header: &str, etag: &str, last_modified: &str) -> bool {
    let v = header.trim();
    if v.starts_with("W/") {
        return false;
    }
    v == etag || v == last_modified
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_is_quoted_unique_id() {
        assert_eq!(etag("AgADx"), "\"AgADx\"");
    }

    #[test]
    fn if_none_match_uses_weak_comparison_over_a_list() {
        let tag = etag("abc");
        assert!(none_match_hits("\"abc\"", &tag));
        assert!(none_match_hits("\"x\", W/\"abc\"", &tag));
        assert!(none_match_hits("*", &tag));
        assert!(!none_match_hits("\"abcd\"", &tag));
        assert!(!none_match_hits("", &tag));
    }

    #[test]
    fn if_modified_since_holds_at_and_after_the_last_modified_date() {
        let lm = 1_795_619_509;
        assert!(not_modified_since("Wed, 25 Nov 2026 15:11:49 GMT", lm), "at");
        assert!(not_modified_since("Wed, 25 Nov 2026 15:11:50 GMT", lm), "after");
        assert!(not_modified_since("Wed Nov 25 15:11:49 2026", lm), "asctime");
        assert!(!not_modified_since("Wed, 25 Nov 2026 15:11:48 GMT", lm), "a second before");
        assert!(!not_modified_since("not a date", lm), "ignored");
    }

    #[test]
    fn if_range_needs_an_exact_strong_match() {
        let tag = etag("abc");
        let date = "Wed, 25 Nov 2026 15:11:49 GMT";
        assert!(if_range_holds("\"abc\"", &tag, date));
        assert!(if_range_holds(date, &tag, date));
        assert!(!if_range_holds("W/\"abc\"", &tag, date));
        assert!(!if_range_holds("\"other\"", &tag, date));
        assert!(!if_range_holds("Thu, 26 Nov 2026 15:11:49 GMT", &tag, date));
    }
}
