//! The dashboard's pages, as maud templates: every `(value)` spliced in is HTML-escaped, so
//! plan text, names and reasons from Discord can never become markup.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use coach_plans_model::{HistoryAction, HistoryEntry, Plan, PlanDate, Timestamp};
use jiff::tz::TimeZone;
use maud::{DOCTYPE, Markup, html};

use super::assets;
use super::diff::{self, Line};

/// No script at all, no inline style, images and styles from this origin only, forms posted
/// only here, and never framed.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A chart as the dashboard shows it.
pub(crate) struct ChartView<'a> {
    /// 1-based position.
    pub(crate) number: usize,
    pub(crate) filename: Option<&'a str>,
    pub(crate) state: ChartState<'a>,
}

/// Where a chart's image is, or why there is none.
pub(crate) enum ChartState<'a> {
    /// Archived: served by this server at this path.
    Archived(String),
    /// Not archived yet: only Discord's link (which expires).
    Pending(&'a str),
    /// Given up on, with the reason.
    Failed(&'a str),
}

/// One coach's place on the day page.
pub(crate) struct CoachDay<'a> {
    pub(crate) coach_id: &'a str,
    pub(crate) display_name: &'a str,
    pub(crate) plan: Option<(&'a Plan, Vec<ChartView<'a>>)>,
}

/// What every page shares.
pub(crate) struct Chrome<'a> {
    /// Whether a login is configured (a "Log out" link is shown).
    pub(crate) logout: bool,
    pub(crate) timezone: &'a TimeZone,
}

fn layout(chrome: &Chrome<'_>, title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · coach-plans" }
                link rel="stylesheet" href=(assets::stylesheet().href());
            }
            body {
                header class="site" {
                    a class="brand" href="/" { "coach-plans" }
                    @if chrome.logout {
                        nav aria-label="Session" { a href="/logout" { "Log out" } }
                    }
                }
                main { (content) }
            }
        }
    }
}

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `Friday 10 May 2024`.
fn long_date(date: PlanDate) -> String {
    format!(
        "{} {} {} {}",
        WEEKDAYS[usize::from(date.weekday()) % 7],
        date.day(),
        MONTHS[usize::from(date.month().saturating_sub(1)) % 12],
        date.year()
    )
}

/// A stored timestamp in the plans' time zone (`2024-05-10 12:00 EDT`); imported rows without
/// an offset are shown as they were recorded.
fn when(at: &Timestamp, timezone: &TimeZone) -> Markup {
    let shown = at
        .has_offset()
        .then(|| at.as_str().parse::<jiff::Timestamp>().ok())
        .flatten()
        .map_or_else(
            || {
                at.as_str()
                    .get(..16)
                    .unwrap_or(at.as_str())
                    .replace('T', " ")
            },
            |instant| {
                instant
                    .to_zoned_datetime(timezone.clone())
                    .strftime("%Y-%m-%d %H:%M %Z")
                    .to_string()
            },
        );
    html! { time datetime=(at.as_str()) { (shown) } }
}

fn date_nav(date: PlanDate) -> Markup {
    html! {
        nav class="days" aria-label="Other days" {
            @if let Some(previous) = date.checked_add_days(-1) {
                a rel="prev" href={ "/?date=" (previous) } { "← " (previous) }
            }
            form method="get" action="/" {
                label for="date" { "Date" }
                input type="date" id="date" name="date" value=(date) min="0001-01-01" max="9999-12-31" required;
                button type="submit" { "Show" }
            }
            @if let Some(next) = date.checked_add_days(1) {
                a rel="next" href={ "/?date=" (next) } { (next) " →" }
            }
            a href="/" { "Today" }
        }
    }
}

fn charts(coach: &str, charts: &[ChartView<'_>]) -> Markup {
    html! {
        @if !charts.is_empty() {
            ul class="charts" aria-label="Charts" {
                @for chart in charts {
                    @let label = match chart.filename {
                        Some(name) => format!("Chart {} of {coach}'s plan: {name}", chart.number),
                        None => format!("Chart {} of {coach}'s plan", chart.number),
                    };
                    li {
                        @match &chart.state {
                            ChartState::Archived(src) => {
                                figure {
                                    a href=(src) {
                                        img src=(src) alt=(label) loading="lazy" decoding="async";
                                    }
                                    figcaption { (chart.filename.unwrap_or("chart")) }
                                }
                            }
                            ChartState::Pending(discord) => {
                                div class="placeholder pending" role="img" aria-label=(label) {
                                    span { "Chart " (chart.number) " is not archived yet." }
                                    a href=(discord) rel="noopener noreferrer" { "Discord's link" }
                                }
                            }
                            ChartState::Failed(reason) => {
                                div class="placeholder failed" role="img" aria-label=(label) {
                                    strong { "Chart " (chart.number) " could not be archived" }
                                    span class="reason" { (reason) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn byline(plan: &Plan, timezone: &TimeZone) -> Markup {
    html! {
        p class="byline" {
            "by " span class="author" { (plan.author.name) }
            " · posted " (when(&plan.created_at, timezone))
            @if let Some(edited) = &plan.edited_at {
                " · edited " (when(edited, timezone))
            }
        }
    }
}

/// `GET /`: every coach's plan for `date`, in roster order.
pub(crate) fn day(chrome: &Chrome<'_>, date: PlanDate, coaches: &[CoachDay<'_>]) -> Markup {
    let title = format!("Plans for {date}");
    layout(
        chrome,
        &title,
        html! {
            h1 { "Plans for " time datetime=(date) { (long_date(date)) } }
            (date_nav(date))
            @for coach in coaches {
                article class="plan" id={ "coach-" (coach.coach_id) } {
                    header {
                        h2 { (coach.display_name) }
                        @if let Some((plan, _)) = &coach.plan {
                            (byline(plan, chrome.timezone))
                        }
                    }
                    @match &coach.plan {
                        Some((plan, views)) => {
                            div class="text" { (plan.text) }
                            (charts(coach.display_name, views))
                            p class="muted" {
                                a href={ "/plans/" (plan.id) } { "History and details" }
                            }
                        }
                        None => {
                            p class="none" { "No plan yet." }
                        }
                    }
                }
            }
        },
    )
}

/// `GET /plans/{id}`: one plan and its history, newest first, each version compared with the
/// one that followed it.
pub(crate) fn plan(
    chrome: &Chrome<'_>,
    display_name: &str,
    plan: &Plan,
    views: &[ChartView<'_>],
    history: &[HistoryEntry],
) -> Markup {
    let title = format!("{display_name}, {}", plan.date);
    layout(
        chrome,
        &title,
        html! {
            p { a href={ "/?date=" (plan.date) } { "← All plans for " (plan.date) } }
            article class="plan" {
                header {
                    h1 { (display_name) ", " time datetime=(plan.date) { (long_date(plan.date)) } }
                    (byline(plan, chrome.timezone))
                }
                @if plan.deleted {
                    p class="notice" { "This plan was deleted. Its last text and history are kept." }
                }
                div class="text" { (plan.text) }
                (charts(display_name, views))
            }
            section aria-labelledby="history" {
                h2 id="history" { "History" }
                @if history.is_empty() {
                    p class="none" { "Never changed since it was posted." }
                } @else {
                    ol class="history" reversed {
                        @for (i, entry) in history.iter().enumerate() {
                            @let after = if i == 0 { Some(plan.text.as_str()) } else { Some(history[i - 1].text.as_str()) };
                            @let after = after.filter(|_| entry.action != HistoryAction::Delete);
                            li { (change(entry, after, chrome.timezone)) }
                        }
                    }
                }
            }
        },
    )
}

/// One history entry: what was done, by whom, when, and the text before against the text
/// after (`None` when the change was a deletion).
fn change(entry: &HistoryEntry, after: Option<&str>, timezone: &TimeZone) -> Markup {
    let verb = match entry.action {
        HistoryAction::Edit => "Edited",
        HistoryAction::Replace => "Replaced",
        HistoryAction::Delete => "Deleted",
    };
    html! {
        p {
            strong { (verb) } " by " span class="author" { (entry.by.name) } " · " (when(&entry.at, timezone))
        }
        @match after {
            Some(after) => {
                ul class="diff" aria-label="Changes to the text" {
                    @for line in diff::lines(entry.text.as_str(), after) {
                        @match line {
                            Line::Same(text) => {
                                li class="same" { (text) }
                            }
                            Line::Removed(text) => {
                                li class="removed" { del { (text) } }
                            }
                            Line::Added(text) => {
                                li class="added" { ins { (text) } }
                            }
                        }
                    }
                }
            }
            None => {
                p class="muted" { "The text when it was deleted:" }
                div class="text" { (entry.text) }
            }
        }
        @if let Some(before) = &entry.charts {
            p class="muted" { "Charts before this change: " (before.len()) }
        }
    }
}

/// The login form, with a message after a wrong token or a logout. `next` is where to go
/// after signing in (a path on this server).
pub(crate) fn login(chrome: &Chrome<'_>, message: Option<&str>, next: &str) -> Markup {
    layout(
        chrome,
        "Log in",
        html! {
            h1 { "Log in" }
            p { "This dashboard needs the server's access token (" code { "API_AUTH_TOKEN" } ")." }
            @if let Some(message) = message {
                p class="notice" role="alert" { (message) }
            }
            form class="login" method="post" action="/login" {
                label for="token" { "Access token" }
                input type="password" id="token" name="token" autocomplete="current-password" required autofocus;
                input type="hidden" name="next" value=(next);
                button type="submit" { "Log in" }
            }
        },
    )
}

/// A page saying what went wrong, with a way back.
pub(crate) fn problem(chrome: &Chrome<'_>, title: &str, message: &str) -> Markup {
    layout(
        chrome,
        title,
        html! {
            h1 { (title) }
            p { (message) }
            p { a href="/" { "Today's plans" } }
        },
    )
}

/// An HTML response with the dashboard's security headers.
pub(crate) fn respond(status: StatusCode, body: impl Into<actix_web::web::Bytes>) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    with_headers(&mut response);
    response.body(body.into())
}

/// The headers every dashboard page carries: HTML, the CSP, no sniffing, no referrer beyond
/// this site, and revalidation on every view (pages change with every plan).
pub(crate) fn with_headers(response: &mut actix_web::HttpResponseBuilder) {
    response
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .insert_header((
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        ))
        .insert_header((header::VARY, HeaderValue::from_static("Accept, Cookie")));
}

/// A 404 page (for paths that are not the dashboard's, no chrome is known: no logout link).
pub(crate) fn not_found_response(message: &str) -> HttpResponse {
    let chrome = Chrome {
        logout: false,
        timezone: &TimeZone::UTC,
    };
    respond(
        StatusCode::NOT_FOUND,
        problem(&chrome, "Not found", message).into_string(),
    )
}
