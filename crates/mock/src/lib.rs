#![doc = include_str!("../README.md")]

mod bot;
mod charts;
mod data;
mod source;

pub use bot::{MockBot, SeedReport};
pub use charts::{MOCK_CHART_PREFIX, MockChartSource, mock_png};
pub use data::{MockPlan, mock_plan};
pub use source::MockPlanSource;

/// docs/mock-mode.md, so `cargo test --doc` compiles its example too.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/mock-mode.md")]
struct MockModeGuide;

/// The line printed (and logged) when the server starts in mock mode.
pub const BANNER: &str = "MOCK MODE: nothing is connected to Discord; plans come from the mock bot (mock charts generated, then archived and served by this server)";
