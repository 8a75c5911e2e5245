#![doc = include_str!("../README.md")]

#[cfg(feature = "blocking")]
pub mod blocking;
mod cache;
mod charts;
mod client;
mod metrics;
mod outcome;
mod source;

pub use charts::{ArchiveStatus, ChartBytes, PlanChart};
pub use client::{BuildError, ClientBuilder, PlanClient};
pub use metrics::ClientMetrics;
pub use outcome::{ClientError, ClientErrorKind, PlanOutcome};
pub use source::{BoxFuture, PlanSource};

/// The server's reports.
pub use coach_plans_model::wire::{HealthReport, HealthStatus, legacy::Metrics as ServerMetrics};
/// The model types a caller needs, so one dependency is enough.
pub use coach_plans_model::{Chart, CoachId, Plan, PlanDate, PlanId, Sha256};
