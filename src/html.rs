//! HTML escaping, for Telegram messages sent with `parse_mode=HTML` (which rejects stray `<`, `>`,
//! `&` with "can't parse entities") and for our own pages. Telegram accepts numeric entities, so
//! one escaper serves both.

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_are_escaped_and_others_kept() {
        assert_eq!(escape("<b>a&b</b> \"x\" 'y'"), "&lt;b&gt;a&amp;b&lt;/b&gt; &quot;x&quot; &#39;y&#39;");
        assert_eq!(escape("тест.mp4"), "тест.mp4");
    }
}
