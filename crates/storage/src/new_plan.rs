//! [`NewPlan`]: a plan to store, what it becomes once stored, and how imports compare it with
//! what a store holds. Every store uses these, so they agree on what "the same plan" means.

use coach_plans_model::{Author, Channel, Chart, CoachId, MessageId, Plan, PlanDate, PlanId};
use coach_plans_model::{PlanText, Timestamp};

use crate::StoreError;

/// A plan to store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewPlan {
    /// Whose plan.
    pub coach: CoachId,
    /// For which trading day.
    pub date: PlanDate,
    /// The text.
    pub text: PlanText,
    /// Who posted it.
    pub author: Author,
    /// Where.
    pub channel: Channel,
    /// The Discord message, when known.
    pub message_id: Option<MessageId>,
    /// When it was posted.
    pub created_at: Timestamp,
    /// When it was last edited (set only by imports of already-edited plans).
    pub edited_at: Option<Timestamp>,
    /// Charts in order; their positions are 0, 1, 2, ...
    pub charts: Vec<Chart>,
}

impl NewPlan {
    /// The live plan this becomes when stored under `id`.
    pub fn into_plan(self, id: PlanId) -> Plan {
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

    /// Whether `stored` holds exactly what importing this plan would write (text, charts,
    /// author, channel and timestamps): such a plan is skipped by imports. Charts are compared
    /// as attachments ([`Chart::same_attachment`]): archiving them, or refreshing their
    /// Discord links, since the first import does not make the plan another one.
    pub fn holds_same_content_as(&self, stored: &Plan) -> bool {
        self.text == stored.text
            && self.charts.len() == stored.charts.len()
            && self
                .charts
                .iter()
                .zip(&stored.charts)
                .all(|(new, old)| new.same_attachment(old))
            && self.author == stored.author
            && self.channel == stored.channel
            && self.created_at == stored.created_at
            && self.edited_at == stored.edited_at
    }

    /// The read-back check of [`PlanStore::import_plans`](crate::PlanStore::import_plans):
    /// fails with [`StoreError::ImportMismatch`] naming the first field that differs unless
    /// `stored`, read back after writing this plan, holds exactly this plan, live.
    pub fn check_read_back(&self, stored: &Plan) -> Result<(), StoreError> {
        let differs = [
            ("coach", self.coach != stored.coach),
            ("date", self.date != stored.date),
            ("text", self.text != stored.text),
            ("charts", self.charts != stored.charts),
            ("author", self.author != stored.author),
            ("channel", self.channel != stored.channel),
            ("message id", self.message_id != stored.message_id),
            ("created_at", self.created_at != stored.created_at),
            ("edited_at", self.edited_at != stored.edited_at),
            ("deleted flag", stored.deleted),
        ];
        match differs.iter().find(|(_, differs)| *differs) {
            None => Ok(()),
            Some((field, _)) => Err(StoreError::ImportMismatch {
                coach: self.coach.clone(),
                date: self.date,
                detail: format!("{field} differs"),
            }),
        }
    }
}
