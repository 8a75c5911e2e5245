//! Revising a plan when the author edits the Discord message that made it (SPEC 15): the same
//! parser, service call and wording as `!edit`, with a line saying where the change came from.

use coach_plans_model::{CoachId, Plan, PlanDate, PlanId, PlanText};
use coach_plans_service::{Missing, PlanEdit, PlanRef, ServiceError};

use crate::handler::{CommandHandler, IncomingMessage};
use crate::parse::{Command, CommandName, parse};
use crate::reply::{self, MAX_MESSAGE_CHARS, split_reply};

/// The line added to the reply of a revision made by editing a message.
pub(crate) const REVISED_BY_EDIT: &str =
    "✏️ Revised from your edited message; the previous text is kept in the plan's history.";

impl CommandHandler {
    /// The author edited the message that created or changed plan `plan` (a `!plan` or an
    /// `!edit`); `message` carries its new text. Revises the plan from it, as `!edit` would
    /// (history kept, charts left as they are), and returns the replies. No replies when the
    /// message is no longer a `!plan` or `!edit` (nothing changes). A new text naming another
    /// coach or date changes nothing either, and the reply says to post a new `!plan`.
    ///
    /// Whoever delivers messages checks first that the editor is the message's author and that
    /// the text changed.
    pub async fn revise_from_edit(&self, message: &IncomingMessage, plan: PlanId) -> Vec<String> {
        if !self.listens_to(message) {
            return Vec::new();
        }
        let service = self.service();
        let roster = service.roster();
        let prefix = self.settings().prefix.as_str();
        let (coach, date, text) = match parse(&message.content, prefix, roster) {
            Some(Ok(Command::Post { coach, date, text })) => (Some(coach), date, text),
            Some(Ok(Command::Edit {
                target: PlanRef::Id(id),
                text,
            })) if id == plan => (None, None, text),
            Some(Ok(Command::Edit {
                target: PlanRef::CoachDate(coach, date),
                text,
            })) => (Some(coach), date, text),
            Some(Ok(Command::Edit { .. })) => {
                return split_reply(&moved(prefix), MAX_MESSAGE_CHARS);
            }
            Some(Ok(other)) => {
                log::info!(
                    "the message behind plan {plan} was edited into !{}; the plan is left as it is",
                    other.name().as_str()
                );
                return Vec::new();
            }
            None => return Vec::new(),
            Some(Err(error)) => {
                let text = reply::parse_error(prefix, &error, roster, false);
                return split_reply(
                    &format!("{text}\nThe plan was left as it was."),
                    MAX_MESSAGE_CHARS,
                );
            }
        };
        let text = match self.revise(message, plan, coach, date, text).await {
            Ok(Some(reply)) => reply,
            Ok(None) => moved(prefix),
            Err(error) => {
                log::info!(
                    "revision of plan {plan} from an edited message refused for {} ({}): {error}",
                    message.author_name,
                    message.author_id
                );
                reply::service_error(&error, roster, service.today())
            }
        };
        split_reply(&text, MAX_MESSAGE_CHARS)
    }

    /// The reply, or `None` when the new text names another coach or date than the plan's.
    async fn revise(
        &self,
        message: &IncomingMessage,
        plan: PlanId,
        coach: Option<CoachId>,
        date: Option<PlanDate>,
        text: PlanText,
    ) -> Result<Option<String>, ServiceError> {
        let service = self.service();
        let Some(current) = service.plan_by_id(plan).await? else {
            return Err(Missing::WithId(plan).into());
        };
        if !same_plan(&current, coach.as_ref(), date) {
            return Ok(None);
        }
        log::info!(
            "edit received: plan={plan} (edited message) author={} ({}) channel={} chars={}",
            message.author_name,
            message.author_id,
            message.channel_id,
            text.char_count()
        );
        let edit = PlanEdit {
            target: PlanRef::Id(plan),
            text,
            // Discord lets an edit remove attachments, never add them: charts stay as posted.
            attachments: Vec::new(),
            message_id: message.id,
        };
        let saved = service.edit_plan(&message.actor(), edit).await?;
        let reply = reply::saved(service.roster(), CommandName::Edit, &saved, false);
        Ok(Some(format!("{reply}\n{REVISED_BY_EDIT}")))
    }
}

/// Whether the coach and date a new text names (when it names them) are the plan's.
fn same_plan(plan: &Plan, coach: Option<&CoachId>, date: Option<PlanDate>) -> bool {
    coach.is_none_or(|c| *c == plan.coach) && date.is_none_or(|d| d == plan.date)
}

/// The refusal of an edit that would move a plan to another coach, date or plan.
fn moved(prefix: &str) -> String {
    format!(
        "❌ Editing a message cannot move its plan to another coach, date or plan; the plan was left as it was. Post a new `{prefix}plan` instead."
    )
}
