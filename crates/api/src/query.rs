//! Query strings, decoded once per request, and the strict shapes of the values in them.
//!
//! Values are taken exactly as written: no trimming, no sign. A query string is written by a
//! program, and a `+` in it decodes to a space, so `date=+2024-01-01` must not pass for a
//! date; the model's parsers forgive surrounding spaces, which suits Discord commands but not
//! here, so the exact shape is checked first.

use std::borrow::Cow;
use std::str::FromStr;

use coach_plans_model::PlanDate;
use coach_plans_model::wire::PageCursor;

/// The most parameters read from one query string; the rest are ignored.
const MAX_PAIRS: usize = 32;

/// Decoded `key=value` pairs. Like the Python version (Flask), the first occurrence of a key
/// wins and unknown keys are ignored.
pub(crate) struct Query<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Query<'a> {
    /// Decodes a query string (`+` and `%XX`; invalid UTF-8 becomes U+FFFD rather than an error),
    /// as `form_urlencoded::parse` does. A pair with neither `%` nor `+` decodes to itself, so
    /// it is borrowed as it stands; only the others go through the decoder. Trading systems
    /// poll with plain pairs (`coach=d&date=2024-05-10`), and the decoder's general way cost
    /// more than the rest of the handler (issue 11).
    pub(crate) fn parse(query: &'a str) -> Self {
        let mut pairs = Vec::with_capacity(4);
        for piece in query.split('&').filter(|p| !p.is_empty()).take(MAX_PAIRS) {
            if piece.bytes().any(|b| b == b'%' || b == b'+') {
                pairs.extend(form_urlencoded::parse(piece.as_bytes()));
            } else {
                let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
                pairs.push((Cow::Borrowed(key), Cow::Borrowed(value)));
            }
        }
        Self { pairs }
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

/// A date written exactly `YYYY-MM-DD`: ten ASCII characters, digits and two dashes.
pub(crate) fn date(input: &str) -> Option<PlanDate> {
    let shaped = input.len() == 10
        && input.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    shaped.then(|| PlanDate::parse(input).ok()).flatten()
}

/// A whole number written with ASCII digits only (no sign, no spaces), parsed as `T` (which
/// still checks its range).
pub(crate) fn number<T: FromStr>(input: &str) -> Option<T> {
    let shaped = !input.is_empty() && input.bytes().all(|b| b.is_ascii_digit());
    shaped.then(|| input.parse().ok()).flatten()
}

/// A page cursor, `YYYY-MM-DD.<id>`, in the strict shapes above.
pub(crate) fn cursor(input: &str) -> Option<PageCursor> {
    let (day, id) = input.split_once('.')?;
    Some(PageCursor {
        date: date(day)?,
        id: number(id)?,
    })
}

#[cfg(test)]
mod tests {
    use super::{Query, cursor, date, number};

    #[test]
    fn values_are_decoded_and_the_first_wins() {
        let q = Query::parse("coach=coach%5Fd&date=2024-05-10&coach=i&note=a+b");
        assert_eq!(q.get("coach"), Some("coach_d"));
        assert_eq!(q.get("note"), Some("a b"));
        assert_eq!(q.get("missing"), None);
    }

    #[test]
    fn pairs_are_decoded_as_the_form_decoder_decodes_them() {
        for raw in [
            "",
            "&&&",
            "=",
            "==",
            "coach",
            "coach=d&date=2024-05-10",
            "coach=coach%5Fd&date=2024-05-10&coach=i&note=a+b",
            "a=b=c&&d&=e&f=",
            "coach=%ZZ&x=%FF%FE&y=%e2%80%ae",
            "k+ey=v%20al&plain=ü&emoji=🙂",
        ] {
            let ours: Vec<(String, String)> = Query::parse(raw)
                .pairs
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let theirs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            assert_eq!(ours, theirs, "{raw:?}");
        }
        let many = "a=1&".repeat(40);
        assert_eq!(Query::parse(&many).pairs.len(), super::MAX_PAIRS);
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

    #[test]
    fn dates_numbers_and_cursors_are_taken_only_in_their_exact_shape() {
        assert!(date("2024-02-29").is_some());
        for bad in [
            " 2024-01-01",
            "2024-01-01 ",
            "+2024-01-01",
            "2024-1-01",
            "2024-02-30",
            "２０２４-01-01",
            "2024/01/01",
            "",
        ] {
            assert_eq!(date(bad), None, "{bad:?}");
        }
        assert_eq!(number::<u32>("007"), Some(7));
        for bad in ["", "+1", "-1", " 1", "1 ", "1.0", "１", "99999999999"] {
            assert_eq!(number::<u32>(bad), None, "{bad:?}");
        }
        assert!(cursor("2024-05-10.12").is_some());
        for bad in [
            "2024-05-10",
            "2024-05-10.",
            " 2024-05-10.1",
            "2024-05-10.+1",
            ".1",
        ] {
            assert_eq!(cursor(bad), None, "{bad:?}");
        }
    }
}
