//! Plans and their history.

use serde::{Deserialize, Serialize};

use crate::{ChannelId, UserId};
use crate::{Chart, CoachId, HistoryId, MessageId, PlanDate, PlanId, PlanText, Timestamp};

/// Who posted or changed a plan: the Discord user id and the display name at that time.
///
/// Plans imported from the Python version have a name but no id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Author {
    /// The Discord user id; absent on rows imported from the Python version.
    pub id: Option<UserId>,
    /// The display name when the action was taken.
    pub name: String,
}

impl Author {
    /// An author known by Discord id and name.
    pub fn new(id: UserId, name: impl Into<String>) -> Self {
        Self {
            id: Some(id),
            name: name.into(),
        }
    }

    /// An author known only by name, as in the Python version's data.
    pub fn legacy(name: impl Into<String>) -> Self {
        Self {
            id: None,
            name: name.into(),
        }
    }

    /// Whether `other` is the same person: by user id whenever this author has one, by name only
    /// for legacy authors that never had an id.
    pub fn is_same_person(&self, other_id: UserId, other_name: &str) -> bool {
        match self.id {
            Some(id) => id == other_id,
            None => self.name == other_name,
        }
    }
}

/// The Discord channel a plan was posted in. Either part may be unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Channel {
    /// The channel id.
    pub id: Option<ChannelId>,
    /// The channel name, as the Python version stored it (for example `#trading`).
    pub name: Option<String>,
}

/// A coach's plan for one date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Plan {
    /// Stable across edits and replacements.
    pub id: PlanId,
    /// Whose plan it is.
    pub coach: CoachId,
    /// The trading day it is for.
    pub date: PlanDate,
    /// The plan itself.
    pub text: PlanText,
    /// Who posted it.
    pub author: Author,
    /// Where it was posted.
    pub channel: Channel,
    /// The Discord message that posted it, when known.
    pub message_id: Option<MessageId>,
    /// When it was first posted.
    pub created_at: Timestamp,
    /// When it was last edited or replaced; absent until then.
    pub edited_at: Option<Timestamp>,
    /// Chart screenshots in the order attached.
    pub charts: Vec<Chart>,
    /// Whether it was deleted (deleted plans keep their history).
    pub deleted: bool,
}

/// What a history entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum HistoryAction {
    /// The text (and maybe the charts) was edited.
    Edit,
    /// A new `!plan` replaced the text and charts.
    Replace,
    /// The plan was deleted.
    Delete,
}

impl HistoryAction {
    /// The lowercase name used in storage and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Edit => "edit",
            Self::Replace => "replace",
            Self::Delete => "delete",
        }
    }

    /// The action for a stored name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "edit" => Some(Self::Edit),
            "replace" => Some(Self::Replace),
            "delete" => Some(Self::Delete),
            _ => None,
        }
    }
}

/// A version of a plan kept when it was edited, replaced or deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryEntry {
    /// The entry's id.
    pub id: HistoryId,
    /// The plan it belongs to.
    pub plan_id: PlanId,
    /// What happened.
    pub action: HistoryAction,
    /// The text before the change.
    pub text: PlanText,
    /// The charts before the change; absent on entries from the Python version, which did not
    /// record them.
    pub charts: Option<Vec<Chart>>,
    /// Who made the change.
    pub by: Author,
    /// When.
    pub at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authors_are_matched_by_id_and_legacy_authors_by_name() {
        let alice = UserId::new(1).unwrap();
        let bob = UserId::new(2).unwrap();
        let author = Author::new(alice, "Alice");
        assert!(author.is_same_person(alice, "renamed"));
        assert!(
            !author.is_same_person(bob, "Alice"),
            "a display name never proves identity"
        );
        let legacy = Author::legacy("TestUser");
        assert!(legacy.is_same_person(bob, "TestUser"));
        assert!(!legacy.is_same_person(bob, "testuser"));
    }

    #[test]
    fn history_actions_round_trip_through_their_names() {
        for action in [
            HistoryAction::Edit,
            HistoryAction::Replace,
            HistoryAction::Delete,
        ] {
            assert_eq!(HistoryAction::from_name(action.as_str()), Some(action));
        }
        assert_eq!(HistoryAction::from_name("EDIT"), None);
    }
}
