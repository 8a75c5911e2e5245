//! How a change applies to a plan held in memory: shared by the in-memory store and the
//! fallback's overlay of held changes, so both keep plans and history exactly as SQLite does.

use coach_plans_model::{Author, HistoryAction, HistoryEntry, HistoryId, Plan, PlanId, Timestamp};

use crate::store::{NewPlan, Revision};

impl NewPlan {
    /// The live plan this becomes when stored under `id`.
    pub(crate) fn into_plan(self, id: PlanId) -> Plan {
        Plan {
            id,
            coach: self.coach,
            date: self.date,
            text: self.text,
            author: self.author,
            channel: self.channel,
            message_id: self.message_id,
            created_at: self.created_at,
            edited_at: self.edited_at,
            charts: self.charts,
            deleted: false,
        }
    }
}

impl Revision {
    /// Changes `plan` as this revision says: new text and edit time, the message id and charts
    /// when the revision brings them.
    pub(crate) fn apply_to(&self, plan: &mut Plan) {
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
