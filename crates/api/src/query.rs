//! Query strings, decoded once per request.

use std::borrow::Cow;

/// The most parameters read from one query string; the rest are ignored.
const MAX_PAIRS: usize = 32;

/// Decoded `key=value` pairs. Like the Python version (Flask), the first occurrence of a key
/// wins and unknown keys are ignored.
pub(crate) struct Query<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Query<'a> {
    /// Decodes a query string (`+` and `%XX`; invalid UTF-8 becomes U+FFFD rather than an error).
    pub(crate) fn parse(query: &'a str) -> Self {
        Self {
            pairs: form_urlencoded::parse(query.as_bytes())
                .take(MAX_PAIRS)
                .collect(),
        }
    }

    /// The first value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref())
    }

    /// The first value of `key`, treating an empty (or blank) value as absent.
    pub(crate) fn non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.trim().is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::Query;

    #[test]
    fn values_are_decoded_and_the_first_wins() {
        let q = Query::parse("coach=coach%5Fd&date=2024-05-10&coach=i&note=a+b");
        assert_eq!(q.get("coach"), Some("coach_d"));
        assert_eq!(q.get("note"), Some("a b"));
        assert_eq!(q.get("missing"), None);
    }

    #[test]
    fn odd_query_strings_do_not_fail() {
        for raw in [
            "",
            "&&&",
            "=",
            "coach",
            "coach=%ZZ",
            "coach=%FF%FE",
            "a=b=c",
        ] {
            let q = Query::parse(raw);
            let _ = q.get("coach");
        }
        assert_eq!(Query::parse("coach=").non_empty("coach"), None);
        assert_eq!(Query::parse("coach=%20").non_empty("coach"), None);
        assert_eq!(Query::parse("coach").get("coach"), Some(""));
    }
}
