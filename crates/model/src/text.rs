//! Plan text.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest plan text accepted, in characters after trimming.
pub const MAX_PLAN_TEXT_CHARS: usize = 4000;

/// A plan's text: 1 to 4000 characters (Unicode scalar values) after trimming surrounding
/// white space, which is removed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PlanText(String);

/// Why a plan text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidPlanText {
    /// Nothing but white space.
    #[error("the plan text is empty")]
    Empty,
    /// Over the limit.
    #[error("the plan text is {chars} characters long; the limit is {MAX_PLAN_TEXT_CHARS}")]
    TooLong {
        /// How many characters it has after trimming.
        chars: usize,
    },
}

impl PlanText {
    /// Trims the text and checks its length.
    pub fn parse(input: &str) -> Result<Self, InvalidPlanText> {
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

    /// The first `max_chars` characters, with `…` added when cut.
    pub fn preview(&self, max_chars: usize) -> String {
        crate::shorten(&self.0, max_chars)
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
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
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
    }
}
