//! Settings whose file form is not their Rust type: durations written as seconds, words for
//! enums, and the roster written as a list of coaches.

use coach_plans_model::{Coach, CoachId, RoleId, Roster, UserId};
use serde::de::{DeserializeOwned, Error as _, IntoDeserializer as _};
use serde::{Deserialize, Deserializer};

/// A [`std::time::Duration`] written as a number of seconds, decimals allowed (`0.5`).
pub(crate) mod seconds {
    use std::time::Duration;

    use serde::de::Error as _;
    use serde::{Deserialize as _, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(value: &Duration, out: S) -> Result<S::Ok, S::Error> {
        out.serialize_f64(value.as_secs_f64())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(input: D) -> Result<Duration, D::Error> {
        // Loading checked the range already (settings.rs); this keeps a negative or huge
        // number from panicking in a Config deserialized some other way.
        Duration::try_from_secs_f64(f64::deserialize(input)?).map_err(D::Error::custom)
    }
}

/// A [`std::time::Duration`] written as a whole number of seconds.
pub(crate) mod whole_seconds {
    use std::time::Duration;

    use serde::{Deserialize as _, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(value: &Duration, out: S) -> Result<S::Ok, S::Error> {
        out.serialize_u64(value.as_secs())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(input: D) -> Result<Duration, D::Error> {
        u64::deserialize(input).map(Duration::from_secs)
    }
}

/// A word naming an enum's variant (`INFO`, `json`). Read as text first, so a number there is
/// "expected a string" as for any other text setting.
pub(crate) fn word<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    input: D,
) -> Result<T, D::Error> {
    let word = String::deserialize(input)?;
    T::deserialize(word.into_deserializer())
        .map_err(|error: serde::de::value::Error| D::Error::custom(error))
}

/// A coach as the file writes one: stricter than [`Coach`]'s own serde form (unknown keys are
/// errors) and kinder (the description may be left out).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CoachEntry {
    id: CoachId,
    display_name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    poster_user_ids: Vec<UserId>,
    #[serde(default)]
    poster_role_ids: Vec<RoleId>,
}

/// `coaches`: a list of coaches that must make a valid [`Roster`] (non-empty, no id twice).
pub(crate) fn roster<'de, D: Deserializer<'de>>(input: D) -> Result<Vec<Coach>, D::Error> {
    let coaches: Vec<Coach> = Vec::<CoachEntry>::deserialize(input)?
        .into_iter()
        .map(|entry| Coach {
            id: entry.id,
            display_name: entry.display_name,
            description: entry.description,
            poster_user_ids: entry.poster_user_ids,
            poster_role_ids: entry.poster_role_ids,
        })
        .collect();
    Roster::new(coaches.clone()).map_err(D::Error::custom)?;
    Ok(coaches)
}
