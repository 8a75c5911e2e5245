//! What a lookup gives back: a plan, "not posted", or "unavailable" with the reason.

use std::sync::Arc;
use std::time::Duration;

use coach_plans_model::wire::legacy::{self, PlanReply};
use coach_plans_model::{CoachId, Plan, PlanDate, Sha256};

/// The answer to "what is this coach's plan for this date?".
///
/// A plan that was not posted is an ordinary answer, not an error; [`PlanOutcome::Unavailable`]
/// means the question could not be answered (server down, timeout, refused request).
#[derive(Debug, Clone)]
#[non_exhaustive]
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
                plan: format!(
                    "No plan available (coach-plans unavailable: {})",
                    error.chain()
                ),
                charts: Vec::new(),
            }),
        }
    }
}

/// Why the server could not answer: a [`kind`](Self::kind) to match on, and the underlying
/// error as [`source`](std::error::Error::source) so logs keep the whole chain. Never carries
/// the auth token.
#[derive(Debug, Clone)]
pub struct ClientError {
    kind: ClientErrorKind,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

/// What kind of failure a [`ClientError`] is. New kinds may be added.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientErrorKind {
    /// No connection could be made (refused, unreachable, DNS).
    Connect {
        /// The server's base URL.
        url: String,
    },
    /// No answer within the configured timeout.
    Timeout(Duration),
    /// The server answered with an error status (5xx, 429, or a 4xx such as 401).
    Status {
        /// The HTTP status code.
        status: u16,
        /// The server's error message, when it gave one.
        message: Option<String>,
    },
    /// The server answered with something that is not the expected JSON.
    InvalidResponse,
    /// Another transport failure.
    Transport,
    /// What was asked for does not exist (404), from the calls that name one thing:
    /// [`PlanClient::fetch_chart`](crate::PlanClient::fetch_chart) and
    /// [`PlanClient::fetch_plan_charts`](crate::PlanClient::fetch_plan_charts). The other calls
    /// report a 404 as [`ClientErrorKind::Status`], as they always have.
    NotFound,
    /// The chart's bytes do not hash to the SHA-256 its archived URL names: they were damaged
    /// on the way. Not retried.
    Corrupt {
        /// The SHA-256 the URL names.
        expected: Sha256,
        /// The SHA-256 of the bytes received.
        found: Sha256,
    },
    /// The URL given is not an absolute `http://` or `https://` URL.
    InvalidUrl {
        /// The URL given (shortened when long).
        url: String,
    },
}

impl ClientError {
    /// An error of this kind, without an underlying cause.
    pub fn new(kind: ClientErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// An error of this kind caused by `source`.
    pub fn with_source(
        kind: ClientErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            kind,
            source: Some(Arc::from(source.into())),
        }
    }

    /// What kind of failure it is.
    pub fn kind(&self) -> &ClientErrorKind {
        &self.kind
    }

    /// The underlying error, if any.
    pub fn into_source(self) -> Option<Arc<dyn std::error::Error + Send + Sync>> {
        self.source
    }

    /// Whether trying again later might succeed: connection failures, timeouts, 5xx and 429.
    pub fn is_transient(&self) -> bool {
        match &self.kind {
            ClientErrorKind::Connect { .. }
            | ClientErrorKind::Timeout(_)
            | ClientErrorKind::Transport => true,
            ClientErrorKind::Status { status, .. } => *status >= 500 || *status == 429,
            ClientErrorKind::InvalidResponse
            | ClientErrorKind::NotFound
            | ClientErrorKind::Corrupt { .. }
            | ClientErrorKind::InvalidUrl { .. } => false,
        }
    }

    /// This error and every cause below it, joined with `: ` (causes whose words the text
    /// already holds are left out).
    pub fn chain(&self) -> String {
        error_chain(self)
    }
}

/// An error and its causes in one line, such as "error sending request: ... Connection refused".
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        let words = error.to_string();
        if !text.contains(&words) {
            text.push_str(": ");
            text.push_str(&words);
        }
        cause = error.source();
    }
    text
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            ClientErrorKind::Connect { url } => write!(f, "cannot connect to {url}"),
            ClientErrorKind::Timeout(after) => write!(f, "no answer within {after:?}"),
            ClientErrorKind::Status { status, message } => {
                write!(f, "server answered {status}")?;
                match message {
                    Some(message) => write!(f, ": {message}"),
                    None => Ok(()),
                }
            }
            ClientErrorKind::InvalidResponse => f.write_str("unexpected answer from the server"),
            ClientErrorKind::Transport => f.write_str("request failed"),
            ClientErrorKind::NotFound => f.write_str("not found"),
            ClientErrorKind::Corrupt { expected, found } => write!(
                f,
                "the chart {expected} arrived damaged (its bytes hash to {found})"
            ),
            ClientErrorKind::InvalidUrl { url } => {
                write!(f, "'{url}' is not an absolute http:// or https:// URL")
            }
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
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
        let down = PlanOutcome::Unavailable(ClientError::new(ClientErrorKind::Timeout(
            Duration::from_secs(10),
        )));
        let PlanReply::Missing(reply) = down.to_legacy() else {
            panic!("unavailable is a Missing reply")
        };
        assert!(reply.plan.starts_with("No"), "{}", reply.plan);
    }

    #[test]
    fn only_connection_failures_timeouts_5xx_and_429_are_transient() {
        let status = |status| {
            ClientError::new(ClientErrorKind::Status {
                status,
                message: None,
            })
        };
        assert!(status(503).is_transient());
        assert!(status(500).is_transient());
        assert!(status(429).is_transient());
        assert!(!status(400).is_transient());
        assert!(!status(401).is_transient());
        assert!(!status(404).is_transient());
        assert!(ClientError::new(ClientErrorKind::Timeout(Duration::from_secs(1))).is_transient());
        assert!(!ClientError::new(ClientErrorKind::InvalidResponse).is_transient());
        assert_eq!(
            ClientError::new(ClientErrorKind::Status {
                status: 400,
                message: Some("bad".into())
            })
            .to_string(),
            "server answered 400: bad"
        );
    }

    #[test]
    fn the_cause_stays_reachable_through_source() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused by peer");
        let error = ClientError::with_source(
            ClientErrorKind::Connect {
                url: "http://127.0.0.1:9/".into(),
            },
            io,
        );
        assert_eq!(error.to_string(), "cannot connect to http://127.0.0.1:9/");
        let source = std::error::Error::source(&error).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("refused by peer"));
        assert_eq!(
            error.chain(),
            "cannot connect to http://127.0.0.1:9/: refused by peer"
        );
        assert!(matches!(error.kind(), ClientErrorKind::Connect { .. }));
    }
}
