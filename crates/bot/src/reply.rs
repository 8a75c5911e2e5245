//! Every word the bot says in Discord, and the splitting of long replies.

use std::fmt::Write as _;

use coach_plans_model::{
    HistoryAction, InvalidChart, InvalidPlanText, Plan, PlanDate, Roster, display_safe, shorten,
};
use coach_plans_service::{
    Action, Allowed, InvalidRequest, Missing, PlanWithHistory, RefusedAction, RefusedChange, Saved,
    ServiceError,
};

use crate::parse::{CommandName, ParseError};

/// Discord's limit on a message's content, in characters.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// How many characters of a plan a success reply quotes.
const PREVIEW_CHARS: usize = 100;

/// How many characters of a name, file name or mistyped argument a reply echoes.
const ECHO_CHARS: usize = 64;

/// How many skipped attachments a reply names; the rest are counted. Keeps one post with many
/// files to one message.
const SKIPPED_NAMED: usize = 10;

/// How many previous versions `!history` shows.
const HISTORY_ENTRIES: usize = 10;

/// How many characters of each previous version `!history` shows.
const HISTORY_PREVIEW_CHARS: usize = 300;

/// Splits a reply into messages of at most `max` characters, on line boundaries where it can:
/// a single line longer than `max` is cut between characters (never inside one). Empty
/// messages are never produced.
pub fn split_reply(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut messages = Vec::new();
    let mut current = String::new();
    let mut current_chars = 0;
    for line in text.split_inclusive('\n') {
        let line_chars = line.chars().count();
        if current_chars + line_chars > max && current_chars > 0 {
            push_message(&mut messages, std::mem::take(&mut current));
            current_chars = 0;
        }
        if line_chars <= max {
            current.push_str(line);
            current_chars += line_chars;
            continue;
        }
        // A line longer than a whole message: cut it into pieces of `max` characters.
        let mut rest = line;
        while let Some((cut, _)) = rest.char_indices().nth(max) {
            push_message(&mut messages, rest[..cut].to_owned());
            rest = &rest[cut..];
        }
        current.push_str(rest);
        current_chars = rest.chars().count();
    }
    push_message(&mut messages, current);
    messages
}

fn push_message(messages: &mut Vec<String>, message: String) {
    // Discord refuses empty (or blank) content; the line break that ended a chunk is noise.
    let trimmed = message.trim_end_matches(['\n', '\r']);
    if !trimmed.trim().is_empty() {
        messages.push(trimmed.to_owned());
    }
}

fn display_name(roster: &Roster, plan: &Plan) -> String {
    roster.get(&plan.coach).map_or_else(
        || plan.coach.to_string(),
        |coach| coach.display_name.clone(),
    )
}

fn charts(count: usize) -> String {
    match count {
        1 => "1 chart".to_owned(),
        n => format!("{n} charts"),
    }
}

/// Words someone wrote (a name, a file name, a mistyped argument) as shown inside a line of
/// ours: on one line, without bidi or control characters (they could reorder or hide our words
/// around them), and at most `max_chars` characters.
fn shown(text: &str, max_chars: usize) -> String {
    let flat = display_safe(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    shorten(&flat, max_chars)
}

/// A one-line quote of the start of a text.
fn quote(text: &str, max_chars: usize) -> String {
    format!("> {}", shown(text, max_chars))
}

/// The message telling an author that a change held while the database was unavailable was
/// refused when the database came back.
pub(crate) fn held_change_refused(roster: &Roster, change: &RefusedChange) -> String {
    let what = match change.action {
        RefusedAction::Post => "plan",
        RefusedAction::Revise => "change to the plan",
        RefusedAction::Delete => "deletion of the plan",
    };
    let kept = if change.kept_in.is_some() {
        " It was kept aside, so an admin can restore it."
    } else {
        ""
    };
    format!(
        "❌ Your {what} for **{}** on {}, accepted while the plan store was unavailable, was not saved when it came back: {}.{kept}",
        display_name(roster, &change.plan),
        change.plan.date,
        display_safe(&change.reason),
    )
}

/// The reply to a post or an edit that was saved.
pub(crate) fn saved(
    roster: &Roster,
    command: CommandName,
    saved: &Saved,
    charts_replaced: bool,
) -> String {
    let plan = &saved.plan;
    let what = match (command, saved.replaced) {
        (CommandName::Edit, _) => "edited",
        (_, true) => "replaced",
        (_, false) => "created",
    };
    let mut reply = format!(
        "✅ Plan {what} for **{}** on {} (plan {}, {})",
        display_name(roster, plan),
        plan.date,
        plan.id,
        charts(plan.charts.len())
    );
    if command == CommandName::Edit && charts_replaced {
        reply.push_str(", charts replaced");
    }
    let _ = write!(reply, "\n{}", quote(plan.text.as_str(), PREVIEW_CHARS));
    if !saved.skipped.is_empty() {
        let mut names: Vec<String> = saved
            .skipped
            .iter()
            .take(SKIPPED_NAMED)
            .map(|s| {
                format!(
                    "{} ({})",
                    shown(&s.filename, ECHO_CHARS),
                    skip_reason(&s.reason)
                )
            })
            .collect();
        if let Some(more) = saved
            .skipped
            .len()
            .checked_sub(SKIPPED_NAMED)
            .filter(|n| *n > 0)
        {
            names.push(format!("and {more} more"));
        }
        let _ = write!(reply, "\nSkipped: {}", names.join(", "));
    }
    if saved.checked_later {
        reply.push_str("\nThe plan store can't be read right now: your plan is saved safely and will be checked against any plan already stored for this coach and date when it is back (you will be told if it can't replace it).");
    }
    reply
}

/// Why an attachment did not become a chart, in a few words.
fn skip_reason(reason: &InvalidChart) -> &'static str {
    match reason {
        InvalidChart::NotAnImage { .. } => "not an image",
        InvalidChart::FilenameTooLong { .. } => "file name too long",
        InvalidChart::BadFilename { .. } => "bad file name",
        InvalidChart::NotHttps { .. } => "not an https link",
        InvalidChart::BadUrl { .. } => "unusable link",
    }
}

/// The reply to a deletion.
pub(crate) fn deleted(roster: &Roster, plan: &Plan, prefix: &str) -> String {
    format!(
        "✅ Plan deleted for **{}** on {} (plan {}, {})\n{}\nIts history is kept (`{prefix}history {} {}`); a new plan may be posted for this date.",
        display_name(roster, plan),
        plan.date,
        plan.id,
        charts(plan.charts.len()),
        quote(plan.text.as_str(), PREVIEW_CHARS),
        plan.coach,
        plan.date
    )
}

/// The reply to `!plans` and `!myplans`.
pub(crate) fn plan_list(roster: &Roster, plans: &[Plan], date: PlanDate, mine: bool) -> String {
    let whose = if mine { "Your plans" } else { "Plans" };
    if plans.is_empty() {
        return format!("📋 {whose} for {date}: none yet.");
    }
    let mut reply = format!("📋 {whose} for {date} ({}):", plans.len());
    for plan in plans {
        let edited = if plan.edited_at.is_some() {
            ", edited"
        } else {
            ""
        };
        let _ = write!(
            reply,
            "\n\n**{}** (plan {}, {}, by {}{edited})\n{}",
            display_name(roster, plan),
            plan.id,
            charts(plan.charts.len()),
            shown(&plan.author.name, ECHO_CHARS),
            display_safe(plan.text.as_str())
        );
    }
    reply
}

/// The reply to `!history`.
pub(crate) fn history(roster: &Roster, found: &PlanWithHistory) -> String {
    let plan = &found.plan;
    let state = if plan.deleted { " (deleted)" } else { "" };
    let mut reply = format!(
        "🕘 History of **{}**'s plan for {} (plan {}){state}, newest first:\n\n**Now** (posted by {} at {}{}, {})\n{}",
        display_name(roster, plan),
        plan.date,
        plan.id,
        shown(&plan.author.name, ECHO_CHARS),
        plan.created_at,
        plan.edited_at
            .as_ref()
            .map(|at| format!(", last changed {at}"))
            .unwrap_or_default(),
        charts(plan.charts.len()),
        display_safe(plan.text.as_str())
    );
    if found.history.is_empty() {
        reply.push_str("\n\nNo earlier versions.");
    }
    for entry in found.history.iter().take(HISTORY_ENTRIES) {
        let verb = match entry.action {
            HistoryAction::Edit => "edited",
            HistoryAction::Replace => "replaced",
            HistoryAction::Delete => "deleted",
        };
        let charts = entry
            .charts
            .as_ref()
            .map(|c| format!(", had {}", charts(c.len())))
            .unwrap_or_default();
        let _ = write!(
            reply,
            "\n\n**{verb}** by {} at {}{charts}; before that it read:\n{}",
            shown(&entry.by.name, ECHO_CHARS),
            entry.at,
            quote(entry.text.as_str(), HISTORY_PREVIEW_CHARS)
        );
    }
    if let Some(older) = found
        .history
        .len()
        .checked_sub(HISTORY_ENTRIES)
        .filter(|n| *n > 0)
    {
        let _ = write!(
            reply,
            "\n\n… and {older} older versions (the HTTP API has them all)."
        );
    }
    reply
}

/// `!help` and `!help <command>`.
pub(crate) fn help(prefix: &str, topic: Option<CommandName>, roster: &Roster) -> String {
    let coaches: Vec<String> = roster
        .coaches()
        .iter()
        .map(|c| format!("`{}` {}", c.id, c.display_name))
        .collect();
    let coaches = coaches.join(", ");
    let Some(topic) = topic else {
        let mut reply = "**Coach plans: commands**".to_owned();
        for name in CommandName::ALL {
            let _ = write!(
                reply,
                "\n`{prefix}{} {}`: {}",
                name.as_str(),
                name.arguments(),
                summary(name)
            );
        }
        let _ = write!(
            reply,
            "\nCoaches: {coaches}. Dates are YYYY-MM-DD (default: today). `{prefix}help <command>` tells more."
        );
        return reply;
    };
    let mut reply = format!("{}\n{}", usage(prefix, topic), summary(topic));
    match topic {
        CommandName::Plan => {
            let _ = write!(
                reply,
                "\nAttach chart screenshots (png, jpg, gif or webp) to the same message; other files are skipped. \
                 Posting again for the same coach and date replaces your plan. The older form `{prefix}plan d: text` works too.\n\
                 Example: `{prefix}plan d 2024-05-10 NVDA above 950, stop 920`\nCoaches: {coaches}."
            );
        }
        CommandName::Edit => {
            let _ = write!(
                reply,
                "\nOnly the plan's author or an admin may edit. Images attached to the edit replace the charts.\n\
                 Example: `{prefix}edit d NVDA above 955 now` or `{prefix}edit 17 NVDA above 955 now`"
            );
        }
        CommandName::Delete => {
            let _ = write!(
                reply,
                "\nOnly the plan's author or an admin may delete. The history is kept.\nExample: `{prefix}delete d 2024-05-10`"
            );
        }
        CommandName::Plans | CommandName::MyPlans | CommandName::History | CommandName::Help => {}
    }
    reply
}

fn usage(prefix: &str, name: CommandName) -> String {
    format!("Usage: `{prefix}{} {}`", name.as_str(), name.arguments())
}

fn summary(name: CommandName) -> &'static str {
    match name {
        CommandName::Plan => "post (or replace) a coach's plan, with chart images attached",
        CommandName::Edit => "change a plan's text; attached images replace its charts",
        CommandName::Delete => "delete a plan (its history is kept)",
        CommandName::Plans => "every plan for a date",
        CommandName::MyPlans => "the plans you posted for a date",
        CommandName::History => "a plan's earlier versions, newest first",
        CommandName::Help => "this help",
    }
}

/// The reply to a command written wrongly.
pub(crate) fn parse_error(
    prefix: &str,
    error: &ParseError,
    roster: &Roster,
    has_attachments: bool,
) -> String {
    match error {
        ParseError::MissingCoach { command } => format!(
            "❌ Say which coach first. {}\nCoaches: {}.",
            usage(prefix, *command),
            coach_list(roster)
        ),
        ParseError::UnknownCoach(unknown) => {
            format!(
                "❌ Unknown coach '{}'. Valid coaches: {}.",
                shown(&unknown.input, ECHO_CHARS),
                coach_list(roster)
            )
        }
        ParseError::BadDate(bad) => {
            // Full-width and other scripts' digits look right but are not the ones dates use.
            let digits = if bad.input.chars().any(|c| c.is_numeric() && !c.is_ascii()) {
                " with the digits 0-9"
            } else {
                ""
            };
            format!(
                "❌ '{}' is not a date. Write dates as YYYY-MM-DD{digits}, for example 2024-05-10.",
                shown(&bad.input, ECHO_CHARS)
            )
        }
        ParseError::BadPlanId(bad) => {
            format!(
                "❌ '{}' is not a plan id. Plan ids are the numbers shown in replies, like `plan 17`.",
                shown(&bad.input, ECHO_CHARS)
            )
        }
        ParseError::MissingText { command } if has_attachments => format!(
            "❌ Add the plan text: attachments alone are not a plan. Write the text in the same message as the charts.\n{}",
            usage(prefix, *command)
        ),
        ParseError::MissingText { command } => {
            format!("❌ The plan text is missing. {}", usage(prefix, *command))
        }
        ParseError::BadText(InvalidPlanText::Invisible) => "❌ The plan text has nothing visible in it: only spaces or invisible characters (such as zero-width spaces). Write the plan in words and post again.".to_owned(),
        ParseError::BadText(bad @ InvalidPlanText::TooLong { .. }) => format!(
            "❌ {}. Shorten it and post again.",
            capitalized(&bad.to_string())
        ),
        ParseError::BadText(bad) => format!("❌ {}.", capitalized(&bad.to_string())),
        ParseError::Unexpected { command, input } => {
            format!(
                "❌ `{prefix}{}` does not take '{}'. {}",
                command.as_str(),
                shown(input, ECHO_CHARS),
                usage(prefix, *command)
            )
        }
    }
}

/// The reply to a command the service refused or could not carry out.
pub(crate) fn service_error(error: &ServiceError, roster: &Roster, today: PlanDate) -> String {
    match error {
        ServiceError::Invalid(InvalidRequest::UnknownCoach(unknown)) => {
            format!("❌ Unknown coach '{}'. Valid coaches: {}.", shown(&unknown.input, ECHO_CHARS), coach_list(roster))
        }
        ServiceError::Invalid(InvalidRequest::TooManyCharts { count, max }) => format!(
            "❌ {count} chart images are attached; at most {max} are allowed. Nothing was saved: post again with fewer."
        ),
        ServiceError::NotFound(Missing::ForCoachDate { coach, date }) => {
            let name = roster.get(coach).map_or_else(|| coach.to_string(), |c| c.display_name.clone());
            let when = if *date == today { format!("today ({date})") } else { date.to_string() };
            format!("❌ There is no plan for **{name}** on {when}.")
        }
        ServiceError::NotFound(Missing::WithId(id)) => format!("❌ There is no plan with id {id}."),
        ServiceError::Forbidden(forbidden) => {
            let what = match forbidden.action {
                Action::Post => "post",
                Action::Replace => "replace",
                Action::Edit => "edit",
                Action::Delete => "delete",
            };
            match &forbidden.allowed {
                Allowed::AuthorOrAdmin { author } => format!(
                    "❌ You can't {what} this plan: only its author ({}) or an admin may {what} it.",
                    shown(author, ECHO_CHARS)
                ),
                Allowed::CoachPosters { coach } => {
                    let name = roster.get(coach).map_or_else(|| coach.to_string(), |c| c.display_name.clone());
                    format!("❌ You can't post plans for **{name}**: only the people set up to post for {name}, or an admin, may.")
                }
            }
        }
        ServiceError::Unavailable(_) => {
            "❌ The plan store is unavailable right now, so nothing was saved. Please try again in a minute.".to_owned()
        }
        ServiceError::Internal(_) => {
            "❌ Something went wrong on our side and nothing was changed. Please try again; if it keeps failing, tell an admin (details are in the log)."
                .to_owned()
        }
    }
}

fn coach_list(roster: &Roster) -> String {
    let coaches: Vec<String> = roster
        .coaches()
        .iter()
        .map(|c| format!("{} ({})", c.id, c.display_name))
        .collect();
    coaches.join(", ")
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> usize {
        s.chars().count()
    }

    #[test]
    fn short_replies_stay_whole() {
        assert_eq!(split_reply("✅ done", MAX_MESSAGE_CHARS), ["✅ done"]);
        assert!(split_reply("", MAX_MESSAGE_CHARS).is_empty());
        assert!(split_reply("\n\n", MAX_MESSAGE_CHARS).is_empty());
    }

    #[test]
    fn long_replies_split_on_line_boundaries() {
        let line = format!("{}\n", "é".repeat(99)); // 100 characters, 199 bytes
        let text = line.repeat(30); // 3000 characters
        let parts = split_reply(&text, MAX_MESSAGE_CHARS);
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| chars(p) <= MAX_MESSAGE_CHARS));
        assert!(
            parts.iter().all(|p| p.lines().all(|l| l == "é".repeat(99))),
            "a line was cut"
        );
        assert_eq!(parts.iter().map(|p| p.lines().count()).sum::<usize>(), 30);
    }

    #[test]
    fn a_line_longer_than_a_message_is_cut_between_characters() {
        let text = format!("head\n{}\ntail", "📈".repeat(4500));
        let parts = split_reply(&text, MAX_MESSAGE_CHARS);
        assert!(
            parts
                .iter()
                .all(|p| chars(p) <= MAX_MESSAGE_CHARS && !p.is_empty())
        );
        assert_eq!(parts.concat().chars().filter(|c| *c == '📈').count(), 4500);
        assert_eq!(parts.first().map(String::as_str), Some("head"));
        assert!(parts.last().is_some_and(|p| p.ends_with("tail")));
    }

    #[test]
    fn splitting_never_loses_text() {
        let text: String = (0..500).map(|i| format!("línea {i} 日本 📈\n")).collect();
        for max in [1, 7, 50, 2000] {
            let parts = split_reply(&text, max);
            assert!(parts.iter().all(|p| chars(p) <= max), "max {max}");
            // Blank pieces are dropped (Discord refuses them), so compare without white space.
            let rejoined: String = parts
                .concat()
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            let original: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            assert_eq!(rejoined, original, "max {max}");
        }
    }

    #[test]
    fn storage_trouble_asks_to_try_again_without_details() {
        let roster = Roster::default();
        let today = PlanDate::UNIX_EPOCH;
        let unavailable = service_error(
            &ServiceError::Unavailable("disk I/O error at /srv/db".into()),
            &roster,
            today,
        );
        assert!(
            unavailable.starts_with("❌") && unavailable.contains("try again"),
            "{unavailable}"
        );
        assert!(unavailable.contains("nothing was saved"));
        let internal = service_error(
            &ServiceError::Internal("constraint failed: plans.id".into()),
            &roster,
            today,
        );
        assert!(
            internal.starts_with("❌") && !internal.contains("constraint"),
            "{internal}"
        );
    }

    #[test]
    fn quotes_are_one_line_and_cut_at_a_hundred_characters() {
        let q = quote(
            &format!("line one\nline two {}", "x".repeat(200)),
            PREVIEW_CHARS,
        );
        assert!(!q.contains('\n'));
        assert_eq!(chars(&q), 2 + PREVIEW_CHARS + 1);
        assert!(q.starts_with("> line one line two"));
    }
}
