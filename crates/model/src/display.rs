//! Showing text people wrote among words of our own: cut to a length, and unable to reorder or
//! hide what surrounds it.

/// `text` cut to its first `max_chars` characters (never inside one), with `…` added when it
/// was longer. The one helper for cutting text with an ellipsis.
pub fn shorten(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", text[..cut].trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_cuts_on_characters_and_marks_the_cut() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("exactly10!", 10), "exactly10!");
        assert_eq!(shorten("one two three", 4), "one…");
        let cut = shorten(&"📈".repeat(150), 100);
        assert_eq!(cut.chars().count(), 101);
        assert!(cut.ends_with('…'));
    }
}
