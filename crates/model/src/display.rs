//! Showing text people wrote among words of our own: cut to a length, and unable to reorder or
//! hide what surrounds it.

use std::borrow::Cow;

/// `text` cut to its first `max_chars` characters (never inside one), with `…` added when it
/// was longer. The one helper for cutting text with an ellipsis.
pub fn shorten(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", text[..cut].trim_end()),
    }
}

/// `text` as it may be shown among other words: without bidirectional controls (an override
/// or an unclosed isolate would reorder the words that follow it, ours included) and without
/// control characters other than line breaks and tabs. Everything else is kept.
pub fn display_safe(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| is_bidi_control(c) || (c.is_control() && c != '\n' && c != '\t');
    if text.contains(unsafe_char) {
        Cow::Owned(text.chars().filter(|c| !unsafe_char(*c)).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// The explicit bidirectional formatting characters: marks (ALM, LRM, RLM), embeddings and
/// overrides (LRE, RLE, PDF, LRO, RLO) and isolates (LRI, RLI, FSI, PDI).
pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// The bidirectional controls that reorder or re-level the characters after them: embeddings
/// and overrides (LRE, RLE, PDF, LRO, RLO). Unicode asks new text to use isolates instead.
pub(crate) fn is_bidi_embedding_or_override(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}')
}

/// Whether a character draws nothing by itself: white space, control and format characters
/// (zero-width spaces and joiners, bidi controls, the byte order mark, tags, invisible
/// operators), variation selectors, fillers, and combining marks (which need a base character).
///
/// Written out by hand because model depends on nothing that carries Unicode's tables; the
/// list covers every format character and the combining-mark blocks people can type.
pub(crate) fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '\u{00AD}'                      // soft hyphen
            | '\u{034F}'                    // combining grapheme joiner
            | '\u{0300}'..='\u{036F}'       // combining diacritical marks
            | '\u{061C}'                    // Arabic letter mark
            | '\u{115F}' | '\u{1160}'       // Hangul choseong and jungseong fillers
            | '\u{17B4}' | '\u{17B5}'       // Khmer inherent vowels
            | '\u{180B}'..='\u{180F}'       // Mongolian variation selectors, vowel separator
            | '\u{1AB0}'..='\u{1AFF}'       // combining diacritical marks extended
            | '\u{1DC0}'..='\u{1DFF}'       // combining diacritical marks supplement
            | '\u{200B}'..='\u{200F}'       // zero-width space, non-joiner, joiner; LRM, RLM
            | '\u{202A}'..='\u{202E}'       // bidi embeddings and overrides
            | '\u{2060}'..='\u{206F}'       // word joiner, invisible operators, isolates, ...
            | '\u{20D0}'..='\u{20FF}'       // combining marks for symbols
            | '\u{2800}'                    // Braille pattern blank
            | '\u{3164}'                    // Hangul filler
            | '\u{FE00}'..='\u{FE0F}'       // variation selectors
            | '\u{FE20}'..='\u{FE2F}'       // combining half marks
            | '\u{FEFF}'                    // zero-width no-break space (byte order mark)
            | '\u{FFA0}'                    // halfwidth Hangul filler
            | '\u{FFF9}'..='\u{FFFB}'       // interlinear annotation controls
            | '\u{1BCA0}'..='\u{1BCA3}'     // shorthand format controls
            | '\u{1D173}'..='\u{1D17A}'     // musical symbol format controls
            | '\u{E0000}'..='\u{E007F}'     // tags
            | '\u{E0100}'..='\u{E01EF}' // variation selectors supplement
        )
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

    #[test]
    fn display_safe_drops_bidi_and_control_characters_only() {
        assert_eq!(
            display_safe("chart\u{202E}gnp.exe\u{2066}x\u{2069}\u{200F}"),
            "chartgnp.exex"
        );
        assert_eq!(display_safe("a\u{0}b\u{1b}[31mc\u{9b}d"), "ab[31mcd");
        assert_eq!(display_safe("line one\n\tline two"), "line one\n\tline two");
        assert!(matches!(display_safe("Ünïcödé 📈 日本"), Cow::Borrowed(_)));
        assert_eq!(display_safe("שלום עולם"), "שלום עולם");
    }

    #[test]
    fn invisible_characters_are_told_from_visible_ones() {
        for c in [
            ' ',
            '\u{3000}',
            '\u{0}',
            '\u{200B}',
            '\u{200D}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{180E}',
            '\u{202E}',
            '\u{2067}',
            '\u{0301}',
            '\u{FE0F}',
            '\u{E0041}',
            '\u{3164}',
            '\u{2800}',
            '\u{AD}',
        ] {
            assert!(is_invisible(c), "{c:?}");
        }
        for c in ['a', '9', '.', 'é', '日', '📈', 'ש', '\u{FFFD}', '\u{E000}'] {
            assert!(!is_invisible(c), "{c:?}");
        }
    }
}
