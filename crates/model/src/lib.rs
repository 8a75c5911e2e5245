#![doc = include_str!("../README.md")]

mod chart;
mod coach;
mod date;
mod display;
mod ids;
mod image;
#[cfg(feature = "openapi")]
mod openapi;
mod plan;
mod text;
pub mod wire;

pub use chart::{
    Attachment, Chart, ChartArchive, ChartStatus, IMAGE_TYPES, InvalidChart,
    MAX_CHART_FILENAME_CHARS, MAX_CHART_URL_LEN, charts_from_attachments,
};
pub use coach::{
    Coach, CoachId, InvalidCoachId, InvalidRoster, MAX_COACH_ID_LEN, Roster, UnknownCoach,
};
pub use date::{InvalidDate, InvalidTimestamp, PlanDate, Timestamp};
pub use display::{display_safe, shorten};
pub use ids::{ChannelId, ChartId, HistoryId, InvalidId, MessageId, PlanId, RoleId, UserId};
pub use image::{ImageKind, InvalidSha256, Sha256};
pub use plan::{Author, Channel, HistoryAction, HistoryEntry, Plan};
pub use text::{InvalidPlanText, MAX_PLAN_TEXT_CHARS, PlanText};

/// The longest piece of user input echoed back in an error message, in characters.
const MAX_ECHO_CHARS: usize = 64;

/// User input as it may be echoed in an error: cut to [`MAX_ECHO_CHARS`] characters with `…`.
fn truncate_for_display(input: &str) -> String {
    shorten(input, MAX_ECHO_CHARS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_input_is_shortened_before_it_is_echoed() {
        let echoed = super::truncate_for_display(&"ü".repeat(10_000));
        assert_eq!(echoed.chars().count(), super::MAX_ECHO_CHARS + 1);
        assert_eq!(super::truncate_for_display("d"), "d");
    }
}
