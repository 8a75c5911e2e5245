//! Plan text.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::display::{is_bidi_embedding_or_override, is_invisible};

/// The longest plan text accepted, in characters after trimming.
pub const MAX_PLAN_TEXT_CHARS: usize = 4000;

/// A plan's text: 1 to 4000 characters (Unicode scalar values) with at least one visible
/// character, after cleaning and trimming surrounding white space.
///
/// [`PlanText::parse`] (new text, from Discord or an import) cleans before it checks:
/// - NUL and the other control characters are dropped, except tabs and line breaks; `\r\n`
///   and a lone `\r` become `\n`. They draw nothing, and in logs and terminals they forge lines
///   and colours.
/// - The bidi embeddings and overrides (U+202A to U+202E) are dropped. An override makes the
///   text shown differ from the text stored (`stop \u{202E}029` shows as `stop 920`), and an
///   unclosed one reorders whatever is shown after it. Unicode asks for isolates instead.
/// - The bidi isolates (U+2066 to U+2069) and marks (U+200E, U+200F, U+061C) are kept: writers
///   of right-to-left languages need them, they cannot reverse the characters of a word, and
///   what shows text among other words (the bot's replies) removes them with
///   [`display_safe`](crate::display_safe).
///
/// Text made only of white space and invisible characters (zero-width spaces and joiners,
/// the byte order mark, bidi controls, variation selectors, tags, combining marks without a
/// base, fillers) is refused: a plan nobody can see is not a plan.
///
/// Text read back from storage or from the API goes through [`PlanText::from_stored`], which
/// changes nothing, so rows written before these rules still read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PlanText(String);

/// Why a plan text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidPlanText {
    /// Nothing but white space.
    #[error("the plan text is empty")]
    Empty,
    /// Only white space and characters that draw nothing (zero-width spaces, joiners, ...).
    #[error("the plan text has no visible character")]
    Invisible,
    /// Over the limit.
    #[error("the plan text is {chars} characters long; the limit is {MAX_PLAN_TEXT_CHARS}")]
    TooLong {
        /// How many characters it has after trimming.
        chars: usize,
    },
}

impl PlanText {
    /// Cleans new text (see the type's documentation), trims it, and checks that something is
    /// visible and that it is within the limit.
    pub fn parse(input: &str) -> Result<Self, InvalidPlanText> {
        if input.chars().all(char::is_whitespace) {
            return Err(InvalidPlanText::Empty);
        }
        let text = Self::from_stored(&clean(input)).map_err(|error| match error {
            // Something was written, but only characters that cleaning drops.
            InvalidPlanText::Empty => InvalidPlanText::Invisible,
            other => other,
        })?;
        if text.0.chars().all(is_invisible) {
            return Err(InvalidPlanText::Invisible);
        }
        Ok(text)
    }

    /// Text as an earlier version may have stored it: trimmed and checked against the limit,
    /// nothing else refused or changed. For storage and for reading the API's answers; new
    /// text goes through [`PlanText::parse`].
    pub fn from_stored(input: &str) -> Result<Self, InvalidPlanText> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(InvalidPlanText::Empty);
        }
        // Counting stops early so a huge input costs no more than the limit.
        let chars = trimmed.chars().take(MAX_PLAN_TEXT_CHARS + 1).count();
        if chars > MAX_PLAN_TEXT_CHARS {
            return Err(InvalidPlanText::TooLong {
                chars: trimmed.chars().count(),
            });
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first `max_chars` characters, with `…` added when cut, fit to show among other
    /// words (see [`display_safe`](crate::display_safe)).
    pub fn preview(&self, max_chars: usize) -> String {
        crate::shorten(&crate::display_safe(&self.0), max_chars)
    }

    /// The length in characters.
    pub fn char_count(&self) -> usize {
        self.0.chars().count()
    }
}

impl fmt::Display for PlanText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PlanText {
    type Error = InvalidPlanText;
    /// As [`PlanText::from_stored`]: JSON carries text a server already accepted.
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::from_stored(&value)
    }
}

/// New text without control characters (bar tabs and line breaks, with `\r\n` and `\r` made
/// `\n`) and without bidi embeddings and overrides.
fn clean(input: &str) -> Cow<'_, str> {
    let dropped =
        |c: char| (c.is_control() && c != '\n' && c != '\t') || is_bidi_embedding_or_override(c);
    if !input.contains(dropped) {
        return Cow::Borrowed(input);
    }
    let mut cleaned = String::with_capacity(input.len());
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            chars.next_if_eq(&'\n');
            cleaned.push('\n');
        } else if !dropped(c) {
            cleaned.push(c);
        }
    }
    Cow::Owned(cleaned)
}

impl From<PlanText> for String {
    fn from(text: PlanText) -> Self {
        text.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_kept() {
        let text = PlanText::parse("  NVDA above 950, stop 920 \n").unwrap();
        assert_eq!(text.as_str(), "NVDA above 950, stop 920");
    }

    #[test]
    fn empty_and_blank_text_is_refused() {
        for s in ["", " ", "\n\t ", "\u{3000}"] {
            assert_eq!(PlanText::parse(s), Err(InvalidPlanText::Empty), "{s:?}");
        }
    }

    #[test]
    fn text_with_nothing_visible_is_refused() {
        for s in [
            "\u{200B}",
            "\u{200B}\u{200C}\u{200D}",
            " \u{2060}\u{FEFF}\n\u{180E} ",
            "\u{200E}\u{200F}\u{2066}\u{2069}",
            " \u{202E}\u{202D} ",
            "\u{0301}\u{0301}",
            "\u{FE0F}\u{E0041}\u{E0042}",
            "\u{3164}\u{2800}\u{00AD}",
        ] {
            assert_eq!(PlanText::parse(s), Err(InvalidPlanText::Invisible), "{s:?}");
        }
        assert_eq!(
            InvalidPlanText::Invisible.to_string(),
            "the plan text has no visible character"
        );
        // One visible character is enough, and the invisible ones around it are kept.
        assert_eq!(
            PlanText::parse("\u{200B}x\u{200D}").unwrap().as_str(),
            "\u{200B}x\u{200D}"
        );
        assert_eq!(PlanText::parse("e\u{0301}").unwrap().as_str(), "e\u{0301}");
        assert!(PlanText::parse("👨\u{200D}💻").is_ok());
    }

    #[test]
    fn nul_and_other_control_characters_are_dropped_and_line_ends_become_newlines() {
        let text = PlanText::parse("NVDA\u{0} above\r\n950\rstop\u{1b}[31m\t920\u{7f}\u{9b}\u{85}")
            .unwrap();
        assert_eq!(text.as_str(), "NVDA above\n950\nstop[31m\t920");
        assert_eq!(
            PlanText::parse("\u{0}\u{1}"),
            Err(InvalidPlanText::Invisible)
        );
    }

    #[test]
    fn bidi_overrides_are_dropped_and_isolates_and_marks_kept() {
        // An override would show "stop 950 above" for the stored "stop evoba 059".
        assert_eq!(
            PlanText::parse("stop \u{202E}evoba 059\u{202C} now")
                .unwrap()
                .as_str(),
            "stop evoba 059 now"
        );
        for embedding in ['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}'] {
            let text = PlanText::parse(&format!("a{embedding}b")).unwrap();
            assert_eq!(text.as_str(), "ab");
        }
        let hebrew = "קנייה \u{2066}NVDA 950\u{2069}\u{200F} עצירה";
        assert_eq!(PlanText::parse(hebrew).unwrap().as_str(), hebrew);
    }

    #[test]
    fn stored_text_reads_back_as_it_was_written() {
        for stored in ["\u{200B}", "a\u{0}b", "x\u{202E}y"] {
            assert_eq!(PlanText::from_stored(stored).unwrap().as_str(), stored);
        }
        assert_eq!(PlanText::from_stored(" "), Err(InvalidPlanText::Empty));
        let json: PlanText = serde_json::from_str("\"\\u200b\"").unwrap();
        assert_eq!(json.as_str(), "\u{200B}");
    }

    #[test]
    fn the_limit_counts_characters_not_bytes() {
        assert!(PlanText::parse(&"é".repeat(4000)).is_ok());
        assert!(PlanText::parse(&"📈".repeat(4000)).is_ok());
        assert_eq!(
            PlanText::parse(&"x".repeat(4001)),
            Err(InvalidPlanText::TooLong { chars: 4001 })
        );
        let err = PlanText::parse(&"x".repeat(4001)).unwrap_err().to_string();
        assert_eq!(
            err,
            "the plan text is 4001 characters long; the limit is 4000"
        );
    }

    #[test]
    fn previews_cut_on_character_boundaries() {
        let text = PlanText::parse(&"📈".repeat(150)).unwrap();
        let preview = text.preview(100);
        assert_eq!(preview.chars().count(), 101);
        assert!(preview.ends_with('…'));
        assert_eq!(PlanText::parse("short").unwrap().preview(100), "short");
        // Text stored before the cleaning rules may still hold an override.
        let stored = PlanText::from_stored("stop \u{202E}029\u{0} \u{2067}x").unwrap();
        assert_eq!(stored.preview(100), "stop 029 x");
    }
}
