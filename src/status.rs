//! The HTTP statuses this server sends, with their reason phrases (RFC 9110 §15): one table for
//! the response heads and the `/metrics` counters. Pure.

/// Every status this server sends, in order, with its reason phrase.
pub const STATUSES: [(u16, &str); 21] = [
    (200, "OK"),
    (204, "No Content"),
    (206, "Partial Content"),
    (301, "Moved Permanently"),
    (302, "Found"),
    (304, "Not Modified"),
    (400, "Bad Request"),
    (403, "Forbidden"),
    (404, "Not Found"),
    (405, "Method Not Allowed"),
    (408, "Request Timeout"),
    (410, "Gone"),
    (414, "URI Too Long"),
    (416, "Range Not Satisfiable"),
    (429, "Too Many Requests"),
    (431, "Request Header Fields Too Large"),
    (500, "Internal Server Error"),
    (501, "Not Implemented"),
    (502, "Bad Gateway"),
    (503, "Service Unavailable"),
    (505, "HTTP Version Not Supported"),
];

/// The position of `status` in [`STATUSES`], if this server sends it.
pub fn index(status: u16) -> Option<usize> {
    STATUSES.binary_search_by_key(&status, |&(code, _)| code).ok()
}

/// The reason phrase of `status`; `Unknown` for a status not in [`STATUSES`].
pub fn reason(status: u16) -> &'static str {
    index(status).map_or("Unknown", |i| STATUSES[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_without_repeats_so_lookups_find_every_row() {
        assert!(STATUSES.windows(2).all(|w| w[0].0 < w[1].0));
        for (i, (code, _)) in STATUSES.iter().enumerate() {
            assert_eq!(index(*code), Some(i));
        }
        assert_eq!(reason(304), "Not Modified");
        assert_eq!(reason(418), "Unknown");
    }
}
