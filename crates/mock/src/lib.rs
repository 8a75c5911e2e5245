#![doc = include_str!("../README.md")]

mod bot;
mod data;
mod source;

pub use bot::{MockBot, SeedReport};
pub use data::{MockPlan, mock_plan};
pub use source::MockPlanSource;

/// The line printed (and logged) when the server starts in mock mode.
pub const BANNER: &str = "MOCK MODE: nothing is connected to Discord; plans come from the mock bot (mock charts at https://example.com/)";
