//! Typed ids: Discord snowflakes and our own row ids.

use std::fmt;
use std::num::NonZeroU64;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An id that is not a valid Discord snowflake or plan id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not a valid {kind} id: expected a positive whole number")]
pub struct InvalidId {
    /// Which kind of id was expected.
    pub kind: &'static str,
    /// What was given (shortened when long).
    pub input: String,
}

macro_rules! snowflake {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        ///
        /// Serialized as a string, as Discord does, so JavaScript clients keep every digit; a
        /// JSON number is accepted on input.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(NonZeroU64);

        impl $name {
            /// The id for this non-zero value.
            pub const fn new(value: u64) -> Option<Self> {
                match NonZeroU64::new(value) {
                    Some(v) => Some(Self(v)),
                    None => None,
                }
            }

            /// The numeric value.
            pub const fn get(self) -> u64 {
                self.0.get()
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim()
                    .parse::<u64>()
                    .ok()
                    .and_then(Self::new)
                    .ok_or_else(|| InvalidId { kind: $kind, input: crate::truncate_for_display(s) })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_any(SnowflakeVisitor($kind)).map(Self)
            }
        }
    };
}

struct SnowflakeVisitor(&'static str);

impl Visitor<'_> for SnowflakeVisitor {
    type Value = NonZeroU64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a {} id (a positive whole number, as a string or a number)",
            self.0
        )
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        NonZeroU64::new(v).ok_or_else(|| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        u64::try_from(v)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            .and_then(|v| self.visit_u64(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        v.trim()
            .parse::<u64>()
            .ok()
            .and_then(NonZeroU64::new)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }
}

snowflake!(
    /// A Discord user id.
    UserId,
    "user"
);
snowflake!(
    /// A Discord role id.
    RoleId,
    "role"
);
snowflake!(
    /// A Discord channel id.
    ChannelId,
    "channel"
);
snowflake!(
    /// A Discord message id.
    MessageId,
    "message"
);

macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "i64", into = "i64")]
        pub struct $name(i64);

        impl $name {
            /// The smallest id, 1.
            pub const MIN: Self = Self(1);

            /// The id for this positive value.
            pub const fn new(value: i64) -> Option<Self> {
                if value > 0 { Some(Self(value)) } else { None }
            }

            /// The numeric value.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl TryFrom<i64> for $name {
            type Error = InvalidId;
            fn try_from(value: i64) -> Result<Self, Self::Error> {
                Self::new(value).ok_or(InvalidId { kind: $kind, input: value.to_string() })
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim()
                    .parse::<i64>()
                    .ok()
                    .and_then(Self::new)
                    .ok_or_else(|| InvalidId { kind: $kind, input: crate::truncate_for_display(s) })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

row_id!(
    /// A plan's id: stable across edits and replacements.
    PlanId,
    "plan"
);
row_id!(
    /// A history entry's id.
    HistoryId,
    "history"
);
row_id!(
    /// A stored chart's id: one chart of one version of a plan. An edit that brings new
    /// charts gives them new ids, so a record made for a replaced chart finds nothing.
    ChartId,
    "chart"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflakes_round_trip_as_strings_and_accept_numbers() {
        let id: UserId = "1100000000000000001".parse().unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"1100000000000000001\"");
        assert_eq!(serde_json::from_str::<UserId>(&json).unwrap(), id);
        assert_eq!(serde_json::from_str::<UserId>("42").unwrap().get(), 42);
    }

    #[test]
    fn zero_negative_and_text_ids_are_rejected() {
        for bad in ["0", "-1", "abc", "", "18446744073709551616"] {
            assert!(bad.parse::<ChannelId>().is_err(), "{bad:?}");
        }
        assert!(serde_json::from_str::<RoleId>("0").is_err());
        assert!(serde_json::from_str::<RoleId>("-5").is_err());
        assert!("0".parse::<PlanId>().is_err());
        assert!(serde_json::from_str::<PlanId>("-3").is_err());
        assert_eq!("17".parse::<PlanId>().unwrap().get(), 17);
    }
}
