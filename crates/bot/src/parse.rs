//! Chat commands: a pure parser from a message's text to a [`Command`].
//!
//! Rules the parser follows where the spec leaves room:
//! - The prefix must open the message (leading white space is allowed) and the command word
//!   follows it at once; the word is matched case-insensitively and must match a whole command:
//!   `!planet` and `!play` belong to other bots and are not ours.
//! - A token shaped like a date (`2024-05-10`, `2024/5/10`, `10.05.2024`, `99999-01-01`,
//!   `+2030-01-05`, `２０２４-０１-０５`, ...; the rule is `looks_like_date`) where a date may
//!   stand must be a real `YYYY-MM-DD` date, or the command fails with a date error, for every
//!   command; any other word (`Tomorrow`, `950`, `3-5%`) is plan text.
//! - A plan target made only of digits is a plan id unless a coach on the roster has exactly
//!   that id (coach ids may be digits, and the roster wins).
//! - `!plan d: text` (the older form) and `!plan d:text` are accepted: a colon ends the coach.
//! - The plan text keeps its inner line breaks; surrounding white space is trimmed.

use coach_plans_model::{
    CoachId, InvalidDate, InvalidId, InvalidPlanText, PlanDate, PlanId, PlanText, Roster,
    UnknownCoach, shorten,
};
use coach_plans_service::PlanRef;

/// The commands the bot answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandName {
    /// `plan`: post or replace a plan.
    Plan,
    /// `edit`: change a plan's text.
    Edit,
    /// `delete`: delete a plan.
    Delete,
    /// `plans`: every plan for a date.
    Plans,
    /// `myplans`: the caller's plans for a date.
    MyPlans,
    /// `history`: a plan's previous versions.
    History,
    /// `help`: usage.
    Help,
}

impl CommandName {
    /// Every command, in the order help lists them.
    pub const ALL: [Self; 7] = [
        Self::Plan,
        Self::Edit,
        Self::Delete,
        Self::Plans,
        Self::MyPlans,
        Self::History,
        Self::Help,
    ];

    /// The command word, lowercase and without the prefix: `plan`, `myplans`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plan => "plan",
            Self::Edit => "edit",
            Self::Delete => "delete",
            Self::Plans => "plans",
            Self::MyPlans => "myplans",
            Self::History => "history",
            Self::Help => "help",
        }
    }

    /// The command for a word, ignoring case; `None` for any other word.
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|name| name.as_str().eq_ignore_ascii_case(word))
    }

    /// The arguments the command takes, as shown in usage lines.
    pub fn arguments(self) -> &'static str {
        match self {
            Self::Plan => "<coach> [YYYY-MM-DD] <text>",
            Self::Edit => "<coach> [YYYY-MM-DD] <text>  or  <plan-id> <text>",
            Self::Delete => "<coach> [YYYY-MM-DD]  or  <plan-id>",
            Self::Plans | Self::MyPlans => "[YYYY-MM-DD]",
            Self::History => "<coach> [YYYY-MM-DD]  or  <plan-id>",
            Self::Help => "[command]",
        }
    }
}

/// A parsed command, with every argument already valid in form (coaches are on the roster,
/// dates are real dates, texts are within limits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `!plan <coach> [date] <text>`.
    Post {
        /// The coach.
        coach: CoachId,
        /// The date; today when absent.
        date: Option<PlanDate>,
        /// The text.
        text: PlanText,
    },
    /// `!edit <coach> [date] <text>` or `!edit <plan-id> <text>`.
    Edit {
        /// Which plan.
        target: PlanRef,
        /// The new text.
        text: PlanText,
    },
    /// `!delete <coach> [date]` or `!delete <plan-id>`.
    Delete {
        /// Which plan.
        target: PlanRef,
    },
    /// `!plans [date]`.
    Plans {
        /// The date; today when absent.
        date: Option<PlanDate>,
    },
    /// `!myplans [date]`.
    MyPlans {
        /// The date; today when absent.
        date: Option<PlanDate>,
    },
    /// `!history <coach> [date]` or `!history <plan-id>`.
    History {
        /// Which plan.
        target: PlanRef,
    },
    /// `!help [command]`.
    Help {
        /// The command asked about; general help when absent or unknown.
        topic: Option<CommandName>,
    },
}

impl Command {
    /// Which command this is.
    pub fn name(&self) -> CommandName {
        match self {
            Self::Post { .. } => CommandName::Plan,
            Self::Edit { .. } => CommandName::Edit,
            Self::Delete { .. } => CommandName::Delete,
            Self::Plans { .. } => CommandName::Plans,
            Self::MyPlans { .. } => CommandName::MyPlans,
            Self::History { .. } => CommandName::History,
            Self::Help { .. } => CommandName::Help,
        }
    }
}

/// One of our commands, written wrongly. Worded for people by the reply module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The command needs a coach (or plan id) and none was given.
    #[error("{command:?} needs a coach")]
    MissingCoach {
        /// The command.
        command: CommandName,
    },
    /// The coach is not on the roster.
    #[error(transparent)]
    UnknownCoach(#[from] UnknownCoach),
    /// A date-shaped token that is not a real `YYYY-MM-DD` date.
    #[error(transparent)]
    BadDate(#[from] InvalidDate),
    /// A plan id that is not a valid id (zero, or too large).
    #[error(transparent)]
    BadPlanId(#[from] InvalidId),
    /// The command needs text and none was given.
    #[error("{command:?} needs text")]
    MissingText {
        /// The command.
        command: CommandName,
    },
    /// The text breaks a limit (too long).
    #[error(transparent)]
    BadText(InvalidPlanText),
    /// Words after the last argument the command takes.
    #[error("{command:?} does not take '{input}'")]
    Unexpected {
        /// The command.
        command: CommandName,
        /// The first unexpected word (shortened when long).
        input: String,
    },
}

/// Parses a message's text. `None` when the text is not one of our commands (it may be another
/// bot's, or plain chat): such messages are ignored without a reply.
pub fn parse(content: &str, prefix: &str, roster: &Roster) -> Option<Result<Command, ParseError>> {
    let rest = content.trim_start().strip_prefix(prefix)?;
    // The command word follows the prefix at once: "! plan" is not a command.
    if rest.starts_with(char::is_whitespace) {
        return None;
    }
    let (word, args) = next_token(rest)?;
    let name = CommandName::from_word(word)?;
    Some(parse_arguments(name, args, prefix, roster))
}

fn parse_arguments(
    name: CommandName,
    args: &str,
    prefix: &str,
    roster: &Roster,
) -> Result<Command, ParseError> {
    match name {
        CommandName::Plan => {
            let (coach, rest) = coach_argument(name, args, roster)?;
            let (date, rest) = optional_date(rest)?;
            Ok(Command::Post {
                coach,
                date,
                text: text_argument(name, rest)?,
            })
        }
        CommandName::Edit => {
            let (target, rest) = target_argument(name, args, roster)?;
            Ok(Command::Edit {
                target,
                text: text_argument(name, rest)?,
            })
        }
        CommandName::Delete | CommandName::History => {
            let (target, rest) = target_argument(name, args, roster)?;
            nothing_more(name, rest)?;
            Ok(if name == CommandName::Delete {
                Command::Delete { target }
            } else {
                Command::History { target }
            })
        }
        CommandName::Plans | CommandName::MyPlans => {
            let (date, rest) = match next_token(args) {
                // Here any word stands where a date must: `!plans today` is a date error.
                Some((token, rest)) => (Some(PlanDate::parse(token)?), rest),
                None => (None, args),
            };
            nothing_more(name, rest)?;
            Ok(if name == CommandName::Plans {
                Command::Plans { date }
            } else {
                Command::MyPlans { date }
            })
        }
        CommandName::Help => {
            let topic = next_token(args).and_then(|(token, _)| {
                CommandName::from_word(token.strip_prefix(prefix).unwrap_or(token))
            });
            Ok(Command::Help { topic })
        }
    }
}

/// The first white-space-separated token and what follows it (untrimmed).
fn next_token(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    if s.is_empty() {
        return None;
    }
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    Some(s.split_at(end))
}

/// A coach, accepting `d`, `coach_d`, `D:` and `d:text`.
fn coach_argument<'a>(
    name: CommandName,
    args: &'a str,
    roster: &Roster,
) -> Result<(CoachId, &'a str), ParseError> {
    let args = args.trim_start();
    let (token, _) = next_token(args).ok_or(ParseError::MissingCoach { command: name })?;
    let (coach, rest) = match token.find(':') {
        Some(colon) => (&token[..colon], &args[colon + 1..]),
        None => (token, &args[token.len()..]),
    };
    if coach.is_empty() || looks_like_date(coach) {
        return Err(ParseError::MissingCoach { command: name });
    }
    let coach = roster.resolve(coach)?.id.clone();
    // "!plan d : text" has the colon on its own.
    let rest = rest.trim_start();
    Ok((coach, rest.strip_prefix(':').unwrap_or(rest)))
}

/// A plan by id (all digits, not a coach on the roster) or by coach and optional date.
fn target_argument<'a>(
    name: CommandName,
    args: &'a str,
    roster: &Roster,
) -> Result<(PlanRef, &'a str), ParseError> {
    let (token, rest) = next_token(args).ok_or(ParseError::MissingCoach { command: name })?;
    let is_roster_coach = CoachId::parse(token).is_ok_and(|id| roster.contains(&id));
    if token.bytes().all(|b| b.is_ascii_digit()) && !is_roster_coach {
        return Ok((PlanRef::Id(token.parse::<PlanId>()?), rest));
    }
    let (coach, rest) = coach_argument(name, args, roster)?;
    let (date, rest) = optional_date(rest)?;
    Ok((PlanRef::CoachDate(coach, date), rest))
}

/// A date if the next token looks like one (and then it must be a real date). A colon may end
/// the date as it may end the coach: `2024-05-10: text`, `2024-05-10:text`.
fn optional_date(args: &str) -> Result<(Option<PlanDate>, &str), ParseError> {
    let Some((token, rest)) = next_token(args).filter(|(token, _)| looks_like_date(token)) else {
        return Ok((None, args));
    };
    if let Some((written, _)) = token.split_once(':')
        && let Ok(date) = PlanDate::parse(written)
    {
        let token_start = args.len() - rest.len() - token.len();
        return Ok((Some(date), &args[token_start + written.len() + 1..]));
    }
    // Otherwise the whole token is the date, and it is echoed whole when it is not one.
    Ok((Some(PlanDate::parse(token)?), rest))
}

pub(crate) fn text_argument(name: CommandName, rest: &str) -> Result<PlanText, ParseError> {
    PlanText::parse(rest).map_err(|error| match error {
        InvalidPlanText::Empty => ParseError::MissingText { command: name },
        other => ParseError::BadText(other),
    })
}

fn nothing_more(name: CommandName, rest: &str) -> Result<(), ParseError> {
    match next_token(rest) {
        None => Ok(()),
        Some((token, _)) => Err(ParseError::Unexpected {
            command: name,
            input: shorten(token, 32),
        }),
    }
}

/// Signs a year may be written with: `+2030-01-05` looks like a date, and must be a real one.
const SIGNS: [char; 5] = ['+', '-', '\u{2212}', '\u{ff0b}', '\u{ff0d}'];

/// What people put between the parts of a date: `-`, `/`, `.`, and the dashes and full-width
/// forms phones and input methods substitute for them.
const DATE_SEPARATORS: [char; 12] = [
    '-', '/', '.', '\u{2010}', '\u{2011}', '\u{2012}', '\u{2013}', '\u{2014}', '\u{2212}',
    '\u{ff0d}', '\u{ff0f}', '\u{ff0e}',
];

/// Whether a token is meant as a date, so that it must be a real `YYYY-MM-DD` date instead of
/// quietly becoming the start of today's plan text. The one place this is decided.
///
/// A token looks like a date when, after an optional sign, it starts with three groups of
/// digits joined by date separators, either year first (a year of four or more digits, then
/// one or two, then one or two: `2024-05-10`, `99999-01-01`, `+2030-01-05`) or year last
/// (`10.05.2024`). Digits are any Unicode numeric characters (`２０２４-０１-０５`), separators
/// are [`DATE_SEPARATORS`], and anything may follow the third group (`2024-05-10T09:30`,
/// `2024-05-10,`).
///
/// Plans often open with numbers, so anything else stays text: one or two groups (`950`,
/// `950-960`, `2024-2025`, `3-5%`, `+5%`), groups without a year (`1-2-3 reversal`) and runs of
/// price levels (`4500-4510-4520`).
fn looks_like_date(token: &str) -> bool {
    let mut rest = token.strip_prefix(SIGNS).unwrap_or(token);
    let mut groups = [0usize; 3];
    for (n, group) in groups.iter_mut().enumerate() {
        if n > 0 {
            match rest.strip_prefix(DATE_SEPARATORS) {
                Some(after) => rest = after,
                None => return false,
            }
        }
        let end = rest
            .char_indices()
            .find(|(_, c)| !c.is_numeric())
            .map_or(rest.len(), |(at, _)| at);
        *group = rest[..end].chars().count();
        if *group == 0 {
            return false;
        }
        rest = &rest[end..];
    }
    let short = |n: usize| (1..=2).contains(&n);
    let [first, second, third] = groups;
    (first >= 4 && short(second) && short(third)) || (short(first) && short(second) && third >= 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster() -> Roster {
        Roster::default()
    }

    fn ok(content: &str) -> Command {
        match parse(content, "!", &roster()) {
            Some(Ok(command)) => command,
            other => panic!("{content:?} gave {other:?}"),
        }
    }

    fn err(content: &str) -> ParseError {
        match parse(content, "!", &roster()) {
            Some(Err(error)) => error,
            other => panic!("{content:?} gave {other:?}"),
        }
    }

    fn coach(id: &str) -> CoachId {
        CoachId::parse(id).unwrap()
    }

    fn date(s: &str) -> PlanDate {
        PlanDate::parse(s).unwrap()
    }

    fn post(command: Command) -> (CoachId, Option<PlanDate>, String) {
        match command {
            Command::Post { coach, date, text } => (coach, date, text.as_str().to_owned()),
            other => panic!("not a post: {other:?}"),
        }
    }

    #[test]
    fn a_plan_names_coach_optional_date_and_text() {
        assert_eq!(
            post(ok("!plan d NVDA above 950")),
            (coach("d"), None, "NVDA above 950".into())
        );
        assert_eq!(
            post(ok("!plan coach_S 2024-05-10 swing AAPL")),
            (coach("s"), Some(date("2024-05-10")), "swing AAPL".into())
        );
    }

    #[test]
    fn the_older_colon_form_is_accepted() {
        assert_eq!(post(ok("!plan d: NVDA above 950")).2, "NVDA above 950");
        assert_eq!(post(ok("!plan D:NVDA")).2, "NVDA");
        assert_eq!(post(ok("!plan d : spaced colon")).2, "spaced colon");
        assert_eq!(
            post(ok("!plan d 2024-05-10: dated")),
            (coach("d"), Some(date("2024-05-10")), "dated".into())
        );
        assert_eq!(
            post(ok("!plan d 2024-05-10:dated")),
            (coach("d"), Some(date("2024-05-10")), "dated".into())
        );
        assert_eq!(
            ok("!delete d 2024-05-10:"),
            Command::Delete {
                target: PlanRef::CoachDate(coach("d"), Some(date("2024-05-10")))
            }
        );
    }

    #[test]
    fn commands_ignore_case_and_extra_spaces() {
        assert_eq!(
            post(ok("   !PLAN    d     2024-05-10    text   here  ")).2,
            "text   here"
        );
        assert_eq!(ok("!Plans"), Command::Plans { date: None });
        assert_eq!(
            ok("!MYPLANS 2024-05-10"),
            Command::MyPlans {
                date: Some(date("2024-05-10"))
            }
        );
    }

    #[test]
    fn text_keeps_its_inner_line_breaks() {
        let (_, _, text) = post(ok("!plan d\nline one\n\n  line two\n"));
        assert_eq!(text, "line one\n\n  line two");
        let (_, day, text) = post(ok("!plan i 2024-05-10\nentry 10\nstop 9"));
        assert_eq!(
            (day, text.as_str()),
            (Some(date("2024-05-10")), "entry 10\nstop 9")
        );
    }

    #[test]
    fn words_that_are_not_our_commands_are_not_ours() {
        for content in [
            "!planet d hello",
            "!play music",
            "!pla",
            "! plan d text",
            "plan d text",
            "hello !plan d text",
            "",
            "!",
            "   ",
            "?plan d text",
            "!plän d text",
        ] {
            assert_eq!(parse(content, "!", &roster()), None, "{content:?}");
        }
    }

    #[test]
    fn a_date_shaped_token_must_be_a_real_date() {
        for content in [
            "!plan d 2024-02-30 text",
            "!plan d 2024-13-01 text",
            "!plan d 2024/5/10 text",
            "!plan d 10.05.2024 text",
        ] {
            assert!(
                matches!(err(content), ParseError::BadDate(_)),
                "{content:?}"
            );
        }
        assert!(matches!(err("!plans 2024-02-30"), ParseError::BadDate(_)));
        assert!(matches!(err("!plans today"), ParseError::BadDate(_)));
        assert!(matches!(
            err("!delete d 2023-02-29"),
            ParseError::BadDate(_)
        ));
    }

    #[test]
    fn an_impossible_date_in_any_writing_is_a_date_error_for_every_command() {
        for token in [
            "99999-01-01",
            "+2030-01-05",
            "-2024-05-10",
            "\u{ff0b}2024-05-10",
            "２０２４-０１-０５",
            "2024\u{2013}05\u{2013}10",
            "2024-05-10T09:30",
            "2024-05-10,",
            "12345-1-2",
            "10.05.99999",
        ] {
            for content in [
                format!("!plan d {token} x"),
                format!("!plan d {token}: x"),
                format!("!edit d {token} x"),
                format!("!delete d {token}"),
                format!("!history d {token}"),
                format!("!plans {token}"),
                format!("!myplans {token}"),
            ] {
                assert!(
                    matches!(err(&content), ParseError::BadDate(_)),
                    "{content:?}"
                );
            }
        }
    }

    #[test]
    fn no_mix_of_awkward_pieces_panics() {
        let pieces = [
            "",
            " ",
            ":",
            "d",
            "d:",
            "2024-05-10",
            "2024-05-10:",
            "2024-05-10:x",
            "+",
            "-",
            "２０２４-０１-０５",
            "99999-1-1",
            "1-1-",
            "2024-05-1",
            "\u{202E}",
            "\u{200B}",
            "\0",
            "📈",
            "é:",
            "\n",
            "17",
            "0",
        ];
        for command in [
            "plan", "edit", "delete", "history", "plans", "myplans", "help",
        ] {
            for a in pieces {
                for b in pieces {
                    for c in pieces {
                        let _ = parse(&format!("!{command} {a}{b} {c}"), "!", &roster());
                        let _ = parse(&format!("!{command}{a} {b}{c}"), "!", &roster());
                    }
                }
            }
        }
    }

    #[test]
    fn a_word_that_is_not_a_date_is_text() {
        assert_eq!(
            post(ok("!plan d Tomorrow buy SPY")),
            (coach("d"), None, "Tomorrow buy SPY".into())
        );
        assert_eq!(post(ok("!plan d 2024-2025 outlook")).2, "2024-2025 outlook");
        assert_eq!(post(ok("!plan d 950-960 range")).2, "950-960 range");
        for text in [
            "950 is the level",
            "3-5% gap",
            "+5% premarket",
            "-2% overnight",
            "10.5 stop",
            "1-2-3 reversal",
            "4500-4510-4520 levels",
            "5200-05 zone",
            "2024 outlook",
            "1.2.3",
        ] {
            assert_eq!(post(ok(&format!("!plan d {text}"))).2, text);
            assert!(matches!(
                ok(&format!("!edit d {text}")),
                Command::Edit { .. }
            ));
        }
    }

    #[test]
    fn missing_arguments_are_named() {
        assert_eq!(
            err("!plan"),
            ParseError::MissingCoach {
                command: CommandName::Plan
            }
        );
        assert_eq!(
            err("!plan   "),
            ParseError::MissingCoach {
                command: CommandName::Plan
            }
        );
        assert_eq!(
            err("!plan d"),
            ParseError::MissingText {
                command: CommandName::Plan
            }
        );
        assert_eq!(
            err("!plan d:"),
            ParseError::MissingText {
                command: CommandName::Plan
            }
        );
        assert_eq!(
            err("!plan d 2024-05-10"),
            ParseError::MissingText {
                command: CommandName::Plan
            }
        );
        assert_eq!(
            err("!plan 2024-05-10 d text"),
            ParseError::MissingCoach {
                command: CommandName::Plan
            }
        );
        assert_eq!(
            err("!plan : text"),
            ParseError::MissingCoach {
                command: CommandName::Plan
            }
        );
        assert_eq!(
            err("!edit"),
            ParseError::MissingCoach {
                command: CommandName::Edit
            }
        );
        assert_eq!(
            err("!edit d"),
            ParseError::MissingText {
                command: CommandName::Edit
            }
        );
        assert_eq!(
            err("!edit 17"),
            ParseError::MissingText {
                command: CommandName::Edit
            }
        );
        assert_eq!(
            err("!delete"),
            ParseError::MissingCoach {
                command: CommandName::Delete
            }
        );
        assert_eq!(
            err("!history"),
            ParseError::MissingCoach {
                command: CommandName::History
            }
        );
    }

    #[test]
    fn unknown_coaches_list_the_valid_ones() {
        let ParseError::UnknownCoach(unknown) = err("!plan NVDA above 950") else {
            panic!()
        };
        assert_eq!(
            (unknown.input.as_str(), unknown.valid.as_str()),
            ("NVDA", "d, i, s, n")
        );
        assert!(matches!(err("!plan é text"), ParseError::UnknownCoach(_)));
        assert!(matches!(err("!plan 📈 text"), ParseError::UnknownCoach(_)));
        assert!(matches!(err("!history x"), ParseError::UnknownCoach(_)));
    }

    #[test]
    fn digits_are_a_plan_id_unless_a_coach_has_that_id() {
        let text = PlanText::parse("new text").unwrap();
        assert_eq!(
            ok("!edit 17 new text"),
            Command::Edit {
                target: PlanRef::Id(PlanId::new(17).unwrap()),
                text
            }
        );
        assert_eq!(
            ok("!delete 17"),
            Command::Delete {
                target: PlanRef::Id(PlanId::new(17).unwrap())
            }
        );
        assert!(matches!(err("!delete 0"), ParseError::BadPlanId(_)));
        assert!(matches!(
            err("!delete 99999999999999999999999"),
            ParseError::BadPlanId(_)
        ));

        let seven = coach_plans_model::Coach::new(coach("7"), "Coach 7", "");
        let roster = Roster::new(vec![seven]).unwrap();
        assert_eq!(
            parse("!delete 7", "!", &roster),
            Some(Ok(Command::Delete {
                target: PlanRef::CoachDate(coach("7"), None)
            }))
        );
    }

    #[test]
    fn edit_and_delete_take_coach_and_date() {
        assert_eq!(
            ok("!edit coach_d 2024-05-10 better text"),
            Command::Edit {
                target: PlanRef::CoachDate(coach("d"), Some(date("2024-05-10"))),
                text: PlanText::parse("better text").unwrap()
            }
        );
        assert_eq!(
            ok("!delete D"),
            Command::Delete {
                target: PlanRef::CoachDate(coach("d"), None)
            }
        );
        assert_eq!(
            ok("!history n 2024-05-10"),
            Command::History {
                target: PlanRef::CoachDate(coach("n"), Some(date("2024-05-10")))
            }
        );
        assert_eq!(
            err("!delete d please"),
            ParseError::Unexpected {
                command: CommandName::Delete,
                input: "please".into()
            }
        );
        assert!(matches!(
            err("!plans 2024-05-10 extra"),
            ParseError::Unexpected { .. }
        ));
    }

    #[test]
    fn unicode_text_is_kept_whole() {
        let text = "Ünïcödé 📈 日本株 — entrée à 950 €\nзавтра";
        assert_eq!(post(ok(&format!("!plan d {text}"))).2, text);
        // A non-breaking space is white space too.
        assert_eq!(post(ok("!plan d\u{a0}NVDA")).2, "NVDA");
    }

    #[test]
    fn very_long_text_is_refused_without_panicking() {
        let long = "📈".repeat(4001);
        assert!(matches!(
            err(&format!("!plan d {long}")),
            ParseError::BadText(InvalidPlanText::TooLong { chars: 4001 })
        ));
        assert_eq!(
            post(ok(&format!("!plan d {}", "é".repeat(4000))))
                .2
                .chars()
                .count(),
            4000
        );
    }

    #[test]
    fn help_takes_an_optional_command() {
        assert_eq!(ok("!help"), Command::Help { topic: None });
        assert_eq!(
            ok("!help plan"),
            Command::Help {
                topic: Some(CommandName::Plan)
            }
        );
        assert_eq!(
            ok("!HELP !MyPlans"),
            Command::Help {
                topic: Some(CommandName::MyPlans)
            }
        );
        assert_eq!(ok("!help nonsense"), Command::Help { topic: None });
    }

    #[test]
    fn the_prefix_is_configurable() {
        let roster = roster();
        assert!(matches!(
            parse("cp!plan d text", "cp!", &roster),
            Some(Ok(Command::Post { .. }))
        ));
        assert_eq!(parse("!plan d text", "cp!", &roster), None);
        assert!(matches!(
            parse("$$plans", "$$", &roster),
            Some(Ok(Command::Plans { date: None }))
        ));
    }

    #[test]
    fn date_shapes_are_recognised() {
        for yes in [
            "2024-05-10",
            "2024/5/1",
            "10.05.2024",
            "1-1-2024",
            "0000-00-00",
            "99999-01-01",
            "+2030-01-05",
            "２０２４-０１-０５",
            "2024-05-10-01",
            "2024-05-10:text",
        ] {
            assert!(looks_like_date(yes), "{yes}");
        }
        for no in [
            "2024",
            "2024-05",
            "Tomorrow",
            "24-05-10",
            "2024-0a-10",
            "2024-100-10",
            "4500-4510-4520",
            "1-2-3",
            "+5%",
            "-",
            "",
            "--",
        ] {
            assert!(!looks_like_date(no), "{no}");
        }
    }
}
