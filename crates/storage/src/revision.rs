//! [`Revision`]: a change to a live plan's content, how it applies to a plan, and the history
//! entry any change (revision or deletion) leaves. The in-memory store, the fallback's overlay
//! and SQLite all apply changes through these, so they keep plans and history alike.

use coach_plans_model::{
    Author, Chart, HistoryAction, HistoryEntry, HistoryId, MessageId, Plan, PlanText, Timestamp,
};

/// A change to a live plan's content.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Revision {
    /// [`HistoryAction::Edit`] or [`HistoryAction::Replace`] (a deletion is
    /// [`PlanStore::delete_plan`](crate::PlanStore::delete_plan)).
    pub action: HistoryAction,
    /// The new text.
    pub text: PlanText,
    /// New charts replacing the old ones, or `None` to keep them.
    pub charts: Option<Vec<Chart>>,
    /// The message that made the change; replaces the stored message id when set.
    pub message_id: Option<MessageId>,
    /// Who made it.
    pub by: Author,
    /// When; becomes the plan's `edited_at`.
    pub at: Timestamp,
}

impl Revision {
    /// Changes `plan` as this revision says: new text and edit time, the message id and charts
    /// when the revision brings them. `id`, `created_at` and the author stay.
    pub fn apply_to(&self, plan: &mut Plan) {
        plan.text = self.text.clone();
        plan.edited_at = Some(self.at.clone());
        if let Some(message_id) = self.message_id {
            plan.message_id = Some(message_id);
        }
        if let Some(charts) = &self.charts {
            plan.charts = charts.clone();
        }
    }
}

/// The history entry `id` keeping `before`, the version a change by `by` at `at` replaced.
pub(crate) fn history_entry(
    id: HistoryId,
    before: &Plan,
    action: HistoryAction,
    by: Author,
    at: Timestamp,
) -> HistoryEntry {
    HistoryEntry {
        id,
        plan_id: before.id,
        action,
        text: before.text.clone(),
        charts: Some(before.charts.clone()),
        by,
        at,
    }
}
