//! What a lookup gives back: a plan, "not posted", or "unavailable" with the reason.

use std::sync::Arc;
use std::time::Duration;

use coach_plans_model::wire::legacy::{self, PlanReply};
use coach_plans_model::{CoachId, Plan, PlanDate};

/// The answer to "what is this coach's plan for this date?".
///
/// A plan that was not posted is an ordinary answer, not an error; [`PlanOutcome::Unavailable`]
/// means the question could not be answered (server down, timeout, refused request).
#[derive(Debug, Clone)]
pub enum PlanOutcome {
    /// The coach posted a plan.
    Found(Arc<Plan>),
    /// The coach has not posted a plan for that date (or deleted it).
    NotPosted {
        /// The coach asked about.
        coach: CoachId,
        /// The date asked about; `None` when the caller asked for the server's "today".
        date: Option<PlanDate>,
    },
    /// The server could not be asked or refused to answer.
    Unavailable(ClientError),
}

impl PlanOutcome {
    /// The plan, when one was found.
    pub fn plan(&self) -> Option<&Plan> {
        match self {
            Self::Found(plan) => Some(plan),
            _ => None,
        }
    }

    /// Whether a plan was found.
    pub fn is_found(&self) -> bool {
        matches!(self, Self::Found(_))
    }

    /// The answer as the Python version's client saw it: the plan's fields, or a `plan` text
    /// starting with "No" when there is no plan to show (code written for the Python version
    /// tests `plan.startswith("No")`).
    pub fn to_legacy(&self) -> PlanReply {
        match self {
            Self::Found(plan) => PlanReply::Found(legacy::FoundPlan {
                plan: plan.text.as_str().to_owned(),
                charts: plan.charts.iter().map(|c| c.url().to_owned()).collect(),
                author: plan.author.name.clone(),
                created_at: plan.created_at.as_str().to_owned(),
                edited_at: plan.edited_at.as_ref().map(|t| t.as_str().to_owned()),
                channel: plan.channel.name.clone(),
            }),
            Self::NotPosted { coach, date } => PlanReply::Missing(legacy::MissingPlan {
                plan: match date {
                    Some(date) => legacy::missing_plan_text(coach, *date),
                    None => format!("No plan available for {} today", coach.api_key()),
                },
                charts: Vec::new(),
            }),
            Self::Unavailable(error) => PlanReply::Missing(legacy::MissingPlan {
                plan: format!("No plan available (coach-plans unavailable: {error})"),
                charts: Vec::new(),
            }),
        }
    }
}

/// Why the server could not answer. Never carries the auth token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// No connection could be made (refused, unreachable, DNS).
    #[error("cannot connect to {url}: {detail}")]
    Connect {
        /// The server's base URL.
        url: String,
        /// The transport's words.
        detail: String,
    },
    /// No answer within the configured timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The server answered with an error status (5xx, 429, or a 4xx such as 401).
    #[error("server answered {status}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The server's error message, when it gave one.
        message: Option<String>,
    },
    /// The server answered with something that is not the expected JSON.
    #[error("unexpected answer: {0}")]
    InvalidResponse(String),
    /// Another transport failure.
    #[error("request failed: {0}")]
    Transport(String),
}

impl ClientError {
    /// Whether trying again later might succeed: connection failures, timeouts, 5xx and 429.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connect { .. } | Self::Timeout(_) | Self::Transport(_) => true,
            Self::Status { status, .. } => *status >= 500 || *status == 429,
            Self::InvalidResponse(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_texts_start_with_no_when_there_is_no_plan() {
        let coach = CoachId::parse("d").unwrap();
        let missing = PlanOutcome::NotPosted {
            coach: coach.clone(),
            date: PlanDate::from_ymd(2024, 5, 10),
        };
        let PlanReply::Missing(reply) = missing.to_legacy() else {
            panic!("a miss is a Missing reply")
        };
        assert_eq!(reply.plan, "No plan available for coach_d on 2024-05-10");
        let down = PlanOutcome::Unavailable(ClientError::Timeout(Duration::from_secs(10)));
        let PlanReply::Missing(reply) = down.to_legacy() else {
            panic!("unavailable is a Missing reply")
        };
        assert!(reply.plan.starts_with("No"), "{}", reply.plan);
    }

    #[test]
    fn only_connection_failures_timeouts_5xx_and_429_are_transient() {
        let status = |status| ClientError::Status {
            status,
            message: None,
        };
        assert!(status(503).is_transient());
        assert!(status(500).is_transient());
        assert!(status(429).is_transient());
        assert!(!status(400).is_transient());
        assert!(!status(401).is_transient());
        assert!(!status(404).is_transient());
        assert!(ClientError::Timeout(Duration::from_secs(1)).is_transient());
        assert!(!ClientError::InvalidResponse("x".into()).is_transient());
        assert_eq!(
            ClientError::Status {
                status: 400,
                message: Some("bad".into())
            }
            .to_string(),
            "server answered 400: bad"
        );
    }
}
