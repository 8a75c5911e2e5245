//! Slash commands as the command layer sees them: plain option values in, the same [`Command`]
//! values the prefix parser produces out. No Discord library types here; the gateway runner
//! turns twilight's interactions into a [`SlashCall`] (feature `gateway`, `slash/gateway.rs`).
//!
//! The options of each command (registered with Discord by the runner):
//! - `/plan coach text [date] [chart1..chart10]`
//! - `/edit text [coach] [date] [plan_id] [chart1..chart10]`
//! - `/delete [coach] [date] [plan_id]`, `/history [coach] [date] [plan_id]`
//! - `/plans [date]`, `/myplans [date]`, `/help [command]`
//!
//! Rules where slash commands differ from prefix commands only in form:
//! - A plan is named by `coach` (and `date`, default today) or by `plan_id`, not both.
//! - The `date` option must be a real `YYYY-MM-DD` date (any text there is a date error, as in
//!   `!plans today`).
//! - Charts are the `chart1`..`chart10` attachment options, in that order, whatever order
//!   Discord lists them in.

#[cfg(feature = "gateway")]
pub(crate) mod gateway;

use coach_plans_model::{Attachment, PlanDate, PlanId, Roster, shorten};
use coach_plans_service::PlanRef;

use crate::parse::{Command, CommandName, ParseError, text_argument};

/// Option names, shared by the registration and the conversion.
pub(crate) mod option {
    /// The coach (a choice from the roster).
    pub(crate) const COACH: &str = "coach";
    /// The plan text.
    pub(crate) const TEXT: &str = "text";
    /// The date, `YYYY-MM-DD`.
    pub(crate) const DATE: &str = "date";
    /// A plan id (an integer).
    pub(crate) const PLAN_ID: &str = "plan_id";
    /// The command `/help` explains.
    pub(crate) const COMMAND: &str = "command";
    /// The prefix of the attachment options `chart1` .. `chart10`.
    pub(crate) const CHART: &str = "chart";
}

/// How many chart attachment options `/plan` and `/edit` have (Discord's limit on attachments
/// per message).
pub const MAX_CHART_OPTIONS: usize = 10;

/// A slash command as Discord delivered it, in plain values: its name and the options the
/// caller filled in (attachments already resolved to their files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlashCall {
    /// The command's name without the slash: `plan`.
    pub name: String,
    /// The options given, in any order.
    pub options: Vec<SlashOption>,
}

/// One option of a [`SlashCall`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlashOption {
    /// The option's name: `coach`, `text`, `chart1`, ...
    pub name: String,
    /// Its value.
    pub value: SlashValue,
}

/// The value of a [`SlashOption`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlashValue {
    /// A string option (coach, text, date, command).
    Text(String),
    /// An integer option (plan_id).
    Integer(i64),
    /// An attachment option, resolved to the file.
    Attachment(Attachment),
}

impl SlashCall {
    /// A call of `name` with these options (test and bench helper).
    pub fn new(name: &str, options: impl IntoIterator<Item = (&'static str, SlashValue)>) -> Self {
        Self {
            name: name.to_owned(),
            options: options
                .into_iter()
                .map(|(name, value)| SlashOption {
                    name: name.to_owned(),
                    value,
                })
                .collect(),
        }
    }

    /// The files of the `chart1`..`chart10` options, in that order.
    pub fn charts(&self) -> Vec<Attachment> {
        let mut charts: Vec<(usize, &Attachment)> = self
            .options
            .iter()
            .filter_map(|o| match &o.value {
                SlashValue::Attachment(file) => Some((chart_number(&o.name)?, file)),
                _ => None,
            })
            .collect();
        charts.sort_by_key(|(n, _)| *n);
        charts.into_iter().map(|(_, file)| file.clone()).collect()
    }

    fn text(&self, name: &str) -> Option<&str> {
        self.options.iter().find_map(|o| match &o.value {
            SlashValue::Text(text) if o.name == name => Some(text.as_str()),
            _ => None,
        })
    }

    fn integer(&self, name: &str) -> Option<i64> {
        self.options.iter().find_map(|o| match o.value {
            SlashValue::Integer(n) if o.name == name => Some(n),
            _ => None,
        })
    }
}

/// `chart3` -> 3, for the chart options only.
fn chart_number(name: &str) -> Option<usize> {
    name.strip_prefix(option::CHART)?
        .parse()
        .ok()
        .filter(|n| (1..=MAX_CHART_OPTIONS).contains(n))
}

/// The command a slash call stands for, checked as the prefix parser checks it; `None` for a
/// command that is not ours.
pub fn slash_command(call: &SlashCall, roster: &Roster) -> Option<Result<Command, ParseError>> {
    let name = CommandName::ALL
        .into_iter()
        .find(|name| name.as_str() == call.name)?;
    Some(convert(name, call, roster))
}

fn convert(name: CommandName, call: &SlashCall, roster: &Roster) -> Result<Command, ParseError> {
    match name {
        CommandName::Plan => {
            let coach = call
                .text(option::COACH)
                .ok_or(ParseError::MissingCoach { command: name })?;
            Ok(Command::Post {
                coach: roster.resolve(coach)?.id.clone(),
                date: date(call)?,
                text: text_argument(name, call.text(option::TEXT).unwrap_or_default())?,
            })
        }
        CommandName::Edit => {
            let target = target(name, call, roster)?;
            Ok(Command::Edit {
                target,
                text: text_argument(name, call.text(option::TEXT).unwrap_or_default())?,
            })
        }
        CommandName::Delete => Ok(Command::Delete {
            target: target(name, call, roster)?,
        }),
        CommandName::History => Ok(Command::History {
            target: target(name, call, roster)?,
        }),
        CommandName::Plans => Ok(Command::Plans { date: date(call)? }),
        CommandName::MyPlans => Ok(Command::MyPlans { date: date(call)? }),
        CommandName::Help => Ok(Command::Help {
            topic: call
                .text(option::COMMAND)
                .and_then(|word| CommandName::from_word(word.trim().trim_start_matches('/'))),
        }),
    }
}

fn date(call: &SlashCall) -> Result<Option<PlanDate>, ParseError> {
    call.text(option::DATE)
        .map(|text| PlanDate::parse(text.trim()))
        .transpose()
        .map_err(ParseError::from)
}

/// A plan by `plan_id`, or by `coach` and optional `date`.
fn target(name: CommandName, call: &SlashCall, roster: &Roster) -> Result<PlanRef, ParseError> {
    let coach = call.text(option::COACH);
    match call.integer(option::PLAN_ID) {
        Some(id) => {
            if let Some(extra) = coach.or_else(|| call.text(option::DATE)) {
                return Err(ParseError::Unexpected {
                    command: name,
                    input: shorten(extra, 32),
                });
            }
            Ok(PlanRef::Id(id.to_string().parse::<PlanId>()?))
        }
        None => {
            let coach = coach.ok_or(ParseError::MissingCoach { command: name })?;
            Ok(PlanRef::CoachDate(
                roster.resolve(coach)?.id.clone(),
                date(call)?,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use coach_plans_model::CoachId;

    use super::*;

    fn text(value: &str) -> SlashValue {
        SlashValue::Text(value.to_owned())
    }

    fn file(name: &str) -> SlashValue {
        SlashValue::Attachment(Attachment {
            url: format!("https://cdn.discordapp.com/ephemeral-attachments/1/2/{name}"),
            filename: name.to_owned(),
            content_type: Some("image/png".to_owned()),
            size: Some(10),
        })
    }

    fn convert(call: SlashCall) -> Result<Command, ParseError> {
        slash_command(&call, &Roster::default()).unwrap()
    }

    fn coach(id: &str) -> CoachId {
        CoachId::parse(id).unwrap()
    }

    #[test]
    fn plan_options_become_the_command_the_prefix_parser_makes() {
        let slash = convert(SlashCall::new(
            "plan",
            [
                ("text", text("  NVDA above 950\nstop 920 ")),
                ("coach", text("d")),
                ("date", text("2024-05-10")),
            ],
        ))
        .unwrap();
        let prefix = crate::parse(
            "!plan d 2024-05-10 NVDA above 950\nstop 920",
            "!",
            &Roster::default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(slash, prefix);
        let today = convert(SlashCall::new(
            "plan",
            [("coach", text("coach_S")), ("text", text("swing"))],
        ))
        .unwrap();
        assert!(
            matches!(today, Command::Post { date: None, ref coach, .. } if *coach == self::coach("s"))
        );
    }

    #[test]
    fn bad_values_give_the_prefix_commands_errors() {
        let bad_date = convert(SlashCall::new(
            "plan",
            [
                ("coach", text("d")),
                ("text", text("x")),
                ("date", text("tomorrow")),
            ],
        ));
        assert!(
            matches!(bad_date, Err(ParseError::BadDate(_))),
            "{bad_date:?}"
        );
        let unknown = convert(SlashCall::new(
            "plan",
            [("coach", text("zz")), ("text", text("x"))],
        ));
        assert!(matches!(unknown, Err(ParseError::UnknownCoach(_))));
        let blank = convert(SlashCall::new(
            "plan",
            [("coach", text("d")), ("text", text("   "))],
        ));
        assert_eq!(
            blank,
            Err(ParseError::MissingText {
                command: CommandName::Plan
            })
        );
        assert_eq!(
            convert(SlashCall::new("delete", [])),
            Err(ParseError::MissingCoach {
                command: CommandName::Delete
            })
        );
        assert!(matches!(
            convert(SlashCall::new(
                "history",
                [("plan_id", SlashValue::Integer(0))]
            )),
            Err(ParseError::BadPlanId(_))
        ));
        assert!(matches!(
            convert(SlashCall::new(
                "history",
                [("plan_id", SlashValue::Integer(-4))]
            )),
            Err(ParseError::BadPlanId(_))
        ));
    }

    #[test]
    fn a_plan_is_named_by_coach_and_date_or_by_id_but_not_both() {
        assert_eq!(
            convert(SlashCall::new(
                "edit",
                [("plan_id", SlashValue::Integer(17)), ("text", text("new"))]
            ))
            .unwrap(),
            crate::parse("!edit 17 new", "!", &Roster::default())
                .unwrap()
                .unwrap()
        );
        assert_eq!(
            convert(SlashCall::new(
                "delete",
                [("coach", text("i")), ("date", text("2024-05-10"))]
            ))
            .unwrap(),
            crate::parse("!delete i 2024-05-10", "!", &Roster::default())
                .unwrap()
                .unwrap()
        );
        assert!(matches!(
            convert(SlashCall::new(
                "delete",
                [("coach", text("i")), ("plan_id", SlashValue::Integer(3))]
            )),
            Err(ParseError::Unexpected { .. })
        ));
    }

    #[test]
    fn listings_and_help_take_their_optional_option() {
        assert_eq!(
            convert(SlashCall::new("plans", [])).unwrap(),
            Command::Plans { date: None }
        );
        assert_eq!(
            convert(SlashCall::new("myplans", [("date", text("2024-05-10"))])).unwrap(),
            Command::MyPlans {
                date: PlanDate::from_ymd(2024, 5, 10)
            }
        );
        assert_eq!(
            convert(SlashCall::new("help", [("command", text("edit"))])).unwrap(),
            Command::Help {
                topic: Some(CommandName::Edit)
            }
        );
        assert_eq!(
            slash_command(&SlashCall::new("play", []), &Roster::default()),
            None
        );
    }

    #[test]
    fn charts_come_in_option_order_and_only_from_chart_options() {
        let call = SlashCall::new(
            "plan",
            [
                ("chart10", file("ten.png")),
                ("chart2", file("two.png")),
                ("chart1", file("one.png")),
                ("chart11", file("eleven.png")),
                ("text", text("x")),
            ],
        );
        let names: Vec<String> = call.charts().into_iter().map(|a| a.filename).collect();
        assert_eq!(names, ["one.png", "two.png", "ten.png"]);
    }
}
