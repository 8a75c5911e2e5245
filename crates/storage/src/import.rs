//! What both stores share about imports: when a stored plan already holds an imported one, and
//! the read-back check.

use coach_plans_model::Plan;

use crate::StoreError;
use crate::store::NewPlan;

impl NewPlan {
    /// Whether `stored` holds exactly what importing this plan would write (text, charts,
    /// author, channel and timestamps): such a plan is skipped by imports.
    pub fn holds_same_content_as(&self, stored: &Plan) -> bool {
        self.text == stored.text
            && self.charts == stored.charts
            && self.author == stored.author
            && self.channel == stored.channel
            && self.created_at == stored.created_at
            && self.edited_at == stored.edited_at
    }
}

/// Fails unless the plan read back after an import holds exactly its input.
pub(crate) fn verify(new: &NewPlan, stored: &Plan) -> Result<(), StoreError> {
    let differs = [
        ("coach", new.coach != stored.coach),
        ("date", new.date != stored.date),
        ("text", new.text != stored.text),
        ("charts", new.charts != stored.charts),
        ("author", new.author != stored.author),
        ("channel", new.channel != stored.channel),
        ("message id", new.message_id != stored.message_id),
        ("created_at", new.created_at != stored.created_at),
        ("edited_at", new.edited_at != stored.edited_at),
        ("deleted flag", stored.deleted),
    ];
    match differs.iter().find(|(_, differs)| *differs) {
        None => Ok(()),
        Some((field, _)) => Err(StoreError::ImportMismatch {
            coach: new.coach.clone(),
            date: new.date,
            detail: format!("{field} differs"),
        }),
    }
}
