//! Service errors: what callers act on, worded neutrally (the bot and the API choose their own
//! words for people).

use coach_plans_model::{CoachId, PlanDate, PlanId, UnknownCoach};
use coach_plans_storage::{Cause, StoreError};

/// Why a service call failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request breaks a rule of the domain.
    #[error(transparent)]
    Invalid(#[from] InvalidRequest),
    /// There is no such plan.
    #[error(transparent)]
    NotFound(#[from] Missing),
    /// The actor may not do this.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// Storage cannot be reached now; nothing was changed. Worth retrying later.
    #[error("storage is unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// Anything else (the cause goes to the log, not to the person).
    #[error("internal error: {0}")]
    Internal(#[source] Cause),
}

/// A request that breaks a domain rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRequest {
    /// The coach is not on the roster.
    #[error(transparent)]
    UnknownCoach(#[from] UnknownCoach),
    /// More charts than `plans.max_chart_attachments`.
    #[error("{count} chart images attached; at most {max} are allowed")]
    TooManyCharts {
        /// How many images were attached.
        count: usize,
        /// The limit.
        max: usize,
    },
}

/// A plan that does not exist (or was deleted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Missing {
    /// No live plan for this coach and date.
    #[error("no plan for {coach} on {date}")]
    ForCoachDate {
        /// The coach.
        coach: CoachId,
        /// The date.
        date: PlanDate,
    },
    /// No live plan with this id.
    #[error("no plan with id {0}")]
    WithId(PlanId),
}

/// What the actor tried to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Post a new plan.
    Post,
    /// Replace an existing plan with a new `!plan`.
    Replace,
    /// Edit a plan.
    Edit,
    /// Delete a plan.
    Delete,
}

impl Action {
    /// The verb: `post`, `replace`, `edit`, `delete`.
    pub fn verb(self) -> &'static str {
        match self {
            Self::Post => "post",
            Self::Replace => "replace",
            Self::Edit => "edit",
            Self::Delete => "delete",
        }
    }
}

/// Who may do what was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowed {
    /// Only the plan's author (by name here) or an admin.
    AuthorOrAdmin {
        /// The author's display name.
        author: String,
    },
    /// Only the coach's listed posters or an admin.
    CoachPosters {
        /// The coach.
        coach: CoachId,
    },
}

/// The actor may not do this.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not allowed to {}: {}", action.verb(), describe(allowed))]
pub struct Forbidden {
    /// What was refused.
    pub action: Action,
    /// Who may do it.
    pub allowed: Allowed,
}

fn describe(allowed: &Allowed) -> String {
    match allowed {
        Allowed::AuthorOrAdmin { author } => format!("only its author ({author}) or an admin may"),
        Allowed::CoachPosters { coach } => {
            format!("only the posters configured for coach {coach} or an admin may")
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(id) => Self::NotFound(Missing::WithId(id)),
            StoreError::Unavailable(cause) => Self::Unavailable(cause),
            other => Self::Internal(Box::new(other)),
        }
    }
}
