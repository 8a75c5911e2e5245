//! Builders shared by the storage tests.
#![allow(dead_code, clippy::unwrap_used)]

use coach_plans_model::{
    Attachment, Author, Channel, ChannelId, Chart, CoachId, HistoryAction, MessageId, PlanDate,
    PlanText, Timestamp, UserId,
};
use coach_plans_storage::{NewPlan, Revision};

pub(crate) fn coach(id: &str) -> CoachId {
    CoachId::parse(id).unwrap()
}

pub(crate) fn date(s: &str) -> PlanDate {
    PlanDate::parse(s).unwrap()
}

pub(crate) fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

pub(crate) fn user(id: u64, name: &str) -> Author {
    Author::new(UserId::new(id).unwrap(), name)
}

pub(crate) fn chart(name: &str, position: u32) -> Chart {
    let attachment = Attachment {
        url: format!("https://cdn.discordapp.com/attachments/1/2/{name}?ex=abc"),
        filename: name.to_owned(),
        content_type: Some("image/png".to_owned()),
        size: Some(4096),
    };
    Chart::from_attachment(&attachment, position).unwrap()
}

pub(crate) fn new_plan(coach_id: &str, day: &str, text: &str) -> NewPlan {
    NewPlan {
        coach: coach(coach_id),
        date: date(day),
        text: PlanText::parse(text).unwrap(),
        author: user(42, "dana"),
        channel: Channel {
            id: ChannelId::new(77),
            name: Some("day-trading".to_owned()),
        },
        message_id: MessageId::new(1000),
        created_at: ts("2024-05-10T12:00:00.000000+00:00"),
        edited_at: None,
        charts: vec![chart("a.png", 0), chart("b.png", 1)],
    }
}

pub(crate) fn revision(
    action: HistoryAction,
    text: &str,
    charts: Option<Vec<Chart>>,
    at: &str,
) -> Revision {
    Revision {
        action,
        text: PlanText::parse(text).unwrap(),
        charts,
        message_id: None,
        by: user(1, "admin"),
        at: ts(at),
    }
}
