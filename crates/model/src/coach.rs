//! Coaches and the roster.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{RoleId, UserId};
use crate::truncate_for_display;

/// The longest coach id accepted.
pub const MAX_COACH_ID_LEN: usize = 32;

/// A coach's id: 1 to 32 lowercase ASCII letters or digits, such as `d`.
///
/// Parsing is forgiving in the ways people type: `d`, `D`, ` d `, `coach_d` and `Coach_D` all
/// give `d`. Whether the coach exists is a question for the [`Roster`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CoachId(String);

/// Why a coach id could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not a coach id: use lowercase letters and digits, like 'd' or 'coach_d'")]
pub struct InvalidCoachId {
    /// What was given (shortened when long).
    pub input: String,
}

impl CoachId {
    /// Parses a coach id, accepting an optional `coach_` prefix, any case and surrounding spaces.
    pub fn parse(input: &str) -> Result<Self, InvalidCoachId> {
        match bare_id(input) {
            Some(bare) => Ok(Self(bare.to_ascii_lowercase())),
            None => Err(InvalidCoachId {
                input: truncate_for_display(input),
            }),
        }
    }

    /// The bare id, such as `d`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key the Python version used in its API and storage: `coach_d`.
    pub fn api_key(&self) -> String {
        format!("coach_{}", self.0)
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

impl fmt::Display for CoachId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CoachId {
    type Error = InvalidCoachId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CoachId> for String {
    fn from(id: CoachId) -> Self {
        id.0
    }
}

/// A coach who posts plans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coach {
    /// The coach's id, such as `d`.
    pub id: CoachId,
    /// The name shown to people, such as `Coach D`.
    pub display_name: String,
    /// What the coach covers, such as `Day trading`.
    pub description: String,
    /// Discord users allowed to post for this coach; empty means anyone (unless roles are set).
    #[serde(default)]
    pub poster_user_ids: Vec<UserId>,
    /// Discord roles allowed to post for this coach; empty means anyone (unless users are set).
    #[serde(default)]
    pub poster_role_ids: Vec<RoleId>,
}

impl Coach {
    /// A coach anyone may post for.
    pub fn new(
        id: CoachId,
        display_name: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            id,
            display_name: display_name.into(),
            description: description.into(),
            poster_user_ids: Vec::new(),
            poster_role_ids: Vec::new(),
        }
    }

    /// Whether posting for this coach is limited to listed users or roles.
    pub fn is_restricted(&self) -> bool {
        !self.poster_user_ids.is_empty() || !self.poster_role_ids.is_empty()
    }

    /// Whether a user with these roles may post for this coach.
    pub fn allows_poster(&self, user: UserId, roles: &[RoleId]) -> bool {
        !self.is_restricted()
            || self.poster_user_ids.contains(&user)
            || roles.iter().any(|role| self.poster_role_ids.contains(role))
    }
}

/// The coaches this deployment knows, in their configured order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roster {
    coaches: Vec<Coach>,
}

/// A coach that is not on the roster (or not even a well-formed id).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown coach '{input}'; valid coaches: {valid}")]
pub struct UnknownCoach {
    /// What was given (shortened when long).
    pub input: String,
    /// The valid ids, comma separated: `d, i, s, n`.
    pub valid: String,
}

/// Why a roster could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRoster {
    /// No coaches at all.
    #[error("the coach roster is empty; configure at least one coach")]
    Empty,
    /// The same id twice.
    #[error("coach '{0}' is configured twice")]
    Duplicate(CoachId),
}

/// The id in `input` as typed (any case), without spaces and `coach_`, if it has the shape of
/// an id: what [`CoachId::parse`] lowercases.
fn bare_id(input: &str) -> Option<&str> {
    let trimmed = input.trim();
    let bare = strip_prefix_ignore_case(trimmed, "coach_").unwrap_or(trimmed);
    let valid = !bare.is_empty()
        && bare.len() <= MAX_COACH_ID_LEN
        && bare.bytes().all(|b| b.is_ascii_alphanumeric());
    valid.then_some(bare)
}

impl Roster {
    /// A roster of these coaches, which must be at least one and have distinct ids.
    pub fn new(coaches: Vec<Coach>) -> Result<Self, InvalidRoster> {
        if coaches.is_empty() {
            return Err(InvalidRoster::Empty);
        }
        for (i, coach) in coaches.iter().enumerate() {
            if coaches[..i].iter().any(|c| c.id == coach.id) {
                return Err(InvalidRoster::Duplicate(coach.id.clone()));
            }
        }
        Ok(Self { coaches })
    }

    /// Resolves user input (`d`, `D`, `coach_d`, ...) to a coach on the roster.
    pub fn resolve(&self, input: &str) -> Result<&Coach, UnknownCoach> {
        self.resolve_position(input).map(|(_, coach)| coach)
    }

    /// As [`Self::resolve`], with the coach's position in the roster. Nothing is allocated
    /// unless the input names no coach (the API resolves a coach on every request).
    pub fn resolve_position(&self, input: &str) -> Result<(usize, &Coach), UnknownCoach> {
        // Ids are stored lowercase and the bare id is ASCII: comparing without case is
        // comparing with the parsed id.
        bare_id(input)
            .and_then(|bare| {
                self.coaches
                    .iter()
                    .enumerate()
                    .find(|(_, c)| c.id.as_str().eq_ignore_ascii_case(bare))
            })
            .ok_or_else(|| UnknownCoach {
                input: truncate_for_display(input.trim()),
                valid: self.valid_ids(),
            })
    }

    /// The coach with this id, if on the roster.
    pub fn get(&self, id: &CoachId) -> Option<&Coach> {
        self.coaches.iter().find(|c| &c.id == id)
    }

    /// Whether this coach is on the roster.
    pub fn contains(&self, id: &CoachId) -> bool {
        self.get(id).is_some()
    }

    /// The coaches in configured order.
    pub fn coaches(&self) -> &[Coach] {
        &self.coaches
    }

    /// The valid ids, comma separated, as shown in error messages: `d, i, s, n`.
    pub fn valid_ids(&self) -> String {
        let ids: Vec<&str> = self.coaches.iter().map(|c| c.id.as_str()).collect();
        ids.join(", ")
    }
}

impl Default for Roster {
    /// The four coaches of the Python version: day trading, intraday, swing, news and events.
    fn default() -> Self {
        let coach = |id: &str, name: &str, description: &str| {
            Coach::new(CoachId(id.to_owned()), name, description)
        };
        Self {
            coaches: vec![
                coach("d", "Coach D", "Day trading"),
                coach("i", "Coach I", "Intraday"),
                coach("s", "Coach S", "Swing trading"),
                coach("n", "Coach N", "News and events"),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coach_ids_are_accepted_in_the_forms_people_type() {
        for input in ["d", "D", " d ", "coach_d", "Coach_D", "COACH_D\t"] {
            assert_eq!(
                CoachId::parse(input).unwrap().as_str(),
                "d",
                "input {input:?}"
            );
        }
        assert_eq!(CoachId::parse("d").unwrap().api_key(), "coach_d");
    }

    #[test]
    fn malformed_coach_ids_are_rejected() {
        let long = "x".repeat(MAX_COACH_ID_LEN + 1);
        for input in [
            "",
            "  ",
            "coach_",
            "d!",
            "d d",
            "é",
            "coach-d",
            long.as_str(),
        ] {
            assert!(CoachId::parse(input).is_err(), "input {input:?}");
        }
    }

    #[test]
    fn the_default_roster_has_the_four_coaches_of_the_python_version() {
        let roster = Roster::default();
        assert_eq!(roster.valid_ids(), "d, i, s, n");
        assert_eq!(roster.resolve("Coach_S").unwrap().display_name, "Coach S");
    }

    #[test]
    fn resolving_finds_what_parsing_and_looking_up_find() {
        let roster = Roster::default();
        for input in [
            "d",
            "D",
            " coach_i ",
            "Coach_S",
            "COACH_N",
            "x",
            "coach_",
            "",
            "dd",
            "ü",
            "d!",
        ] {
            let by_parse = CoachId::parse(input).ok().and_then(|id| roster.get(&id));
            let resolved = roster.resolve_position(input).ok();
            assert_eq!(resolved.map(|(_, c)| c), by_parse, "{input:?}");
            if let Some((position, coach)) = resolved {
                assert_eq!(roster.coaches()[position], *coach);
            }
        }
    }

    #[test]
    fn unknown_coaches_list_the_valid_ones() {
        let err = Roster::default().resolve(" x ").unwrap_err();
        assert_eq!(err.input, "x");
        assert_eq!(err.valid, "d, i, s, n");
        assert!(Roster::default().resolve("coach_").is_err());
    }

    #[test]
    fn a_roster_needs_distinct_coaches() {
        let d = Coach::new(CoachId::parse("d").unwrap(), "D", "");
        assert_eq!(Roster::new(vec![]), Err(InvalidRoster::Empty));
        assert!(matches!(
            Roster::new(vec![d.clone(), d]),
            Err(InvalidRoster::Duplicate(_))
        ));
    }

    #[test]
    fn restricted_coaches_allow_listed_users_and_roles_only() {
        let mut coach = Coach::new(CoachId::parse("d").unwrap(), "D", "");
        let (alice, bob) = (UserId::new(1).unwrap(), UserId::new(2).unwrap());
        let mods = RoleId::new(7).unwrap();
        assert!(coach.allows_poster(bob, &[]));
        coach.poster_user_ids.push(alice);
        coach.poster_role_ids.push(mods);
        assert!(coach.allows_poster(alice, &[]));
        assert!(coach.allows_poster(bob, &[mods]));
        assert!(!coach.allows_poster(bob, &[]));
    }
}
