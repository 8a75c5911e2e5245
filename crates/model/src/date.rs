//! Calendar dates of plans, and stored timestamps.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::truncate_for_display;

/// The calendar date a plan is for, written `YYYY-MM-DD`. Always a real date (no 2024-02-30).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PlanDate {
    // Field order makes the derived ordering chronological.
    year: u16,
    month: u8,
    day: u8,
}

/// A date that is not a real `YYYY-MM-DD` calendar date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not a date; use YYYY-MM-DD, for example 2024-05-10")]
pub struct InvalidDate {
    /// What was given (shortened when long).
    pub input: String,
}

impl PlanDate {
    /// 1970-01-01.
    pub const UNIX_EPOCH: Self = Self {
        year: 1970,
        month: 1,
        day: 1,
    };

    /// Parses `YYYY-MM-DD` (surrounding spaces allowed), rejecting dates that do not exist.
    pub fn parse(input: &str) -> Result<Self, InvalidDate> {
        let invalid = || InvalidDate {
            input: truncate_for_display(input),
        };
        let s = input.trim().as_bytes();
        if s.len() != 10 || s[4] != b'-' || s[7] != b'-' {
            return Err(invalid());
        }
        let number = |digits: &[u8]| -> Option<u16> {
            digits.iter().try_fold(0u16, |acc, &b| {
                b.is_ascii_digit().then(|| acc * 10 + u16::from(b - b'0'))
            })
        };
        let (Some(year), Some(month), Some(day)) =
            (number(&s[..4]), number(&s[5..7]), number(&s[8..]))
        else {
            return Err(invalid());
        };
        Self::from_ymd(year, month as u8, day as u8).ok_or_else(invalid)
    }

    /// The date for this year (1 to 9999), month and day, if it exists.
    pub fn from_ymd(year: u16, month: u8, day: u8) -> Option<Self> {
        let valid = (1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month);
        valid.then_some(Self { year, month, day })
    }

    /// The year.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The month, 1 to 12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, 1 to 31.
    pub fn day(self) -> u8 {
        self.day
    }

    /// The date `days` days later (earlier when negative), if it is within years 1 to 9999.
    pub fn checked_add_days(self, days: i64) -> Option<Self> {
        let n = days_from_civil(self).checked_add(days)?;
        civil_from_days(n)
    }

    /// The day of the week, 0 = Monday to 6 = Sunday.
    pub fn weekday(self) -> u8 {
        // 1970-01-01 was a Thursday (3).
        (days_from_civil(self) + 3).rem_euclid(7) as u8
    }
}

fn is_leap(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Days since 1970-01-01, after Howard Hinnant's `days_from_civil`.
fn days_from_civil(date: PlanDate) -> i64 {
    let (m, d) = (i64::from(date.month), i64::from(date.day));
    let y = i64::from(date.year) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> Option<PlanDate> {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    PlanDate::from_ymd(u16::try_from(year).ok()?, month as u8, day as u8)
}

impl fmt::Display for PlanDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for PlanDate {
    type Err = InvalidDate;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for PlanDate {
    type Error = InvalidDate;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PlanDate> for String {
    fn from(date: PlanDate) -> Self {
        date.to_string()
    }
}

/// A stored timestamp, kept exactly as written.
///
/// New timestamps are RFC 3339 in UTC with microseconds and an explicit offset
/// (`2025-11-09T20:36:52.274074+00:00`). Rows that came from the Python version carry naive
/// local times (`2025-11-09T13:35:57.211386`); they are kept as they are rather than given an
/// invented offset, so [`Timestamp::has_offset`] tells the two apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Timestamp(String);

/// A string that is not an ISO 8601 date and time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not a timestamp; expected YYYY-MM-DDTHH:MM:SS[.ffffff][+HH:MM]")]
pub struct InvalidTimestamp {
    /// What was given (shortened when long).
    pub input: String,
}

impl Timestamp {
    /// Accepts `YYYY-MM-DDTHH:MM:SS`, an optional fraction of 1 to 9 digits, and an optional
    /// `Z` or `±HH:MM` offset. A space is accepted in place of the `T`, as SQLite writes it.
    pub fn parse(input: &str) -> Result<Self, InvalidTimestamp> {
        if is_timestamp(input.as_bytes()) {
            Ok(Self(input.to_owned()))
        } else {
            Err(InvalidTimestamp {
                input: truncate_for_display(input),
            })
        }
    }

    /// 1970-01-01T00:00:00.000000+00:00.
    pub fn unix_epoch() -> Self {
        Self("1970-01-01T00:00:00.000000+00:00".to_owned())
    }

    /// The timestamp as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the timestamp names its offset from UTC (imported legacy rows do not).
    pub fn has_offset(&self) -> bool {
        let after_seconds =
            self.0[19..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
        !after_seconds.is_empty()
    }

    /// The calendar date part.
    pub fn date(&self) -> PlanDate {
        // Construction guarantees a valid date in the first ten bytes.
        PlanDate::parse(&self.0[..10]).unwrap_or(PlanDate {
            year: 1970,
            month: 1,
            day: 1,
        })
    }
}

fn is_timestamp(s: &[u8]) -> bool {
    let digits = |range: std::ops::Range<usize>| {
        s.get(range)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let two =
        |at: usize, max: u8| digits(at..at + 2) && (s[at] - b'0') * 10 + (s[at + 1] - b'0') <= max;
    let head_ok = s.len() >= 19
        && std::str::from_utf8(&s[..10]).is_ok_and(|d| PlanDate::parse(d).is_ok())
        && matches!(s[10], b'T' | b' ')
        && two(11, 23)
        && s[13] == b':'
        && two(14, 59)
        && s[16] == b':'
        && two(17, 60);
    if !head_ok {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if !(1..=9).contains(&n) {
            return false;
        }
        rest = &fraction[n..];
    }
    match rest {
        [] | [b'Z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit())
                && (*h1 - b'0') * 10 + (*h2 - b'0') <= 23
                && (*m1 - b'0') <= 5
        }
        _ => false,
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Timestamp {
    type Error = InvalidTimestamp;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        if is_timestamp(value.as_bytes()) {
            Ok(Self(value))
        } else {
            Err(InvalidTimestamp {
                input: truncate_for_display(&value),
            })
        }
    }
}

impl From<Timestamp> for String {
    fn from(ts: Timestamp) -> Self {
        ts.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_dates_parse_and_print_back() {
        for s in [
            "2024-05-10",
            "2024-02-29",
            "2000-02-29",
            "0001-01-01",
            "9999-12-31",
        ] {
            assert_eq!(PlanDate::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(
            PlanDate::parse(" 2024-05-10\n").unwrap().to_string(),
            "2024-05-10"
        );
    }

    #[test]
    fn impossible_and_malformed_dates_are_rejected() {
        for s in [
            "2024-02-30",
            "2023-02-29",
            "1900-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-04-31",
            "0000-01-01",
            "2024-5-10",
            "2024/05/10",
            "20240510",
            "",
            "tomorrow",
            "２０２４-05-10",
            "2024-05-10x",
            "+024-05-10",
        ] {
            assert!(PlanDate::parse(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn dates_order_chronologically_and_step_by_days() {
        let d = PlanDate::parse("2024-03-01").unwrap();
        assert_eq!(d.checked_add_days(-1).unwrap().to_string(), "2024-02-29");
        assert_eq!(d.checked_add_days(365).unwrap().to_string(), "2025-03-01");
        assert!(PlanDate::parse("2024-02-29").unwrap() < d);
        assert_eq!(
            PlanDate::parse("9999-12-31").unwrap().checked_add_days(1),
            None
        );
        assert_eq!(
            PlanDate::parse("2024-05-10").unwrap().weekday(),
            4,
            "a Friday"
        );
        assert_eq!(
            PlanDate::parse("1970-01-01").unwrap().weekday(),
            3,
            "a Thursday"
        );
    }

    #[test]
    fn the_day_arithmetic_agrees_with_itself_across_four_centuries() {
        let start = PlanDate::parse("1999-12-25").unwrap();
        let mut prev = start;
        for n in 1..146_097 {
            let next = start.checked_add_days(n).unwrap();
            assert!(next > prev);
            assert_eq!(next.checked_add_days(-n), Some(start));
            prev = next;
        }
    }

    #[test]
    fn timestamps_are_kept_as_written() {
        for s in [
            "2025-11-09T20:36:52.274074+00:00",
            "2025-11-09T13:35:57.211386",
            "2024-05-10T08:41:12",
            "2024-05-10T08:41:12Z",
            "2024-05-10 08:41:12",
        ] {
            assert_eq!(Timestamp::parse(s).unwrap().as_str(), s);
        }
        assert!(
            Timestamp::parse("2025-11-09T20:36:52.274074+00:00")
                .unwrap()
                .has_offset()
        );
        assert!(
            !Timestamp::parse("2025-11-09T13:35:57.211386")
                .unwrap()
                .has_offset()
        );
        assert_eq!(
            Timestamp::parse("2025-11-09T13:35:57")
                .unwrap()
                .date()
                .to_string(),
            "2025-11-09"
        );
    }

    #[test]
    fn malformed_timestamps_are_rejected() {
        for s in [
            "",
            "2025-11-09",
            "2025-11-09T25:00:00",
            "2025-02-30T10:00:00",
            "2025-11-09T10:00",
            "2025-11-09T10:00:00.",
            "2025-11-09T10:00:00+0000",
            "2025-11-09T10:00:00 junk",
        ] {
            assert!(Timestamp::parse(s).is_err(), "{s:?}");
        }
    }
}
