//! The web dashboard (SPEC 17, issue 15) in process: `/` negotiated between the dashboard and
//! the JSON index, the day and plan pages, bad input, the read cache, and the login.

use std::sync::Arc;

use actix_web::http::StatusCode;
use coach_plans_api::{Api, ApiSettings, StaticBotStatus};
use coach_plans_config::Secret;
use coach_plans_model::{Coach, CoachId, PlanDate, Roster};
use coach_plans_service::{FixedClock, PlanRef, PlanService, ServiceSettings};
use coach_plans_storage::MemoryChartStore;
use coach_plans_storage::testing::FaultyStore;

use crate::helpers::{PUBLIC_URL, Reply, TODAY, TestApp, dana, spawn_app};

/// What Chromium sends when it navigates.
const BROWSER: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
const TOKEN: &str = "dashboard-test-token";
/// A real 1x1 PNG, as the archiver stores it.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

impl TestApp {
    /// A page as a browser asks for it.
    async fn page(&self, uri: &str) -> Reply {
        self.request("GET", uri, &[("Accept", BROWSER)]).await
    }

    async fn page_with(&self, uri: &str, headers: &[(&str, &str)]) -> Reply {
        let mut all = vec![("Accept", BROWSER)];
        all.extend_from_slice(headers);
        self.request("GET", uri, &all).await
    }
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

/// An app on the default roster, or on `coaches` (id, display name), with these settings,
/// its archived charts' links built on `public_url`.
fn build(coaches: Option<&[(&str, &str)]>, settings: ApiSettings, public_url: &str) -> TestApp {
    let mut service_settings = ServiceSettings::default();
    if let Some(coaches) = coaches {
        service_settings.roster = Roster::new(
            coaches
                .iter()
                .map(|(id, name)| Coach::new(CoachId::parse(id).unwrap(), *name, "test coach"))
                .collect(),
        )
        .unwrap();
    }
    let store = Arc::new(FaultyStore::default());
    let clock = Arc::new(FixedClock::new("2024-05-10T16:00:00Z".parse().unwrap()));
    let service = PlanService::with_clock(store.clone(), service_settings, clock);
    let charts = Arc::new(MemoryChartStore::new());
    let api = Api::with_charts(
        service.clone(),
        settings,
        Arc::new(StaticBotStatus::mock()),
        charts.clone(),
        public_url,
    );
    TestApp {
        api,
        service,
        store,
        charts,
    }
}

/// An app whose roster has names that look like markup.
fn app_with_roster(coaches: &[(&str, &str)]) -> TestApp {
    build(Some(coaches), ApiSettings::default(), PUBLIC_URL)
}

fn with_token(public_url: &str) -> TestApp {
    let settings = ApiSettings {
        auth_token: Some(Secret::new(TOKEN)),
        ..ApiSettings::default()
    };
    build(None, settings, public_url)
}

/// The position of `needle` in `haystack`, which must hold it.
fn at(haystack: &str, needle: &str) -> usize {
    haystack
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the page:\n{haystack}"))
}

fn assert_dashboard_headers(reply: &Reply) {
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = reply.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let body = reply.text();
    assert!(!body.contains("<script"), "no script at all");
    assert!(
        !body.contains(" style=") && !body.contains("<style"),
        "no inline style"
    );
}

#[actix_web::test]
async fn programs_keep_the_json_index_and_browsers_get_the_dashboard() {
    let app = spawn_app();
    for accept in [None, Some("*/*"), Some("application/json")] {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
        let reply = app.request("GET", "/", &headers).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.header("content-type"), Some("application/json"));
        let index = reply.json();
        assert_eq!(index["name"], "coach-plans", "{accept:?}");
        assert!(index["endpoints"]["coach_plan"].is_string());
        assert!(reply.header("vary").unwrap().contains("Accept"));
    }
    let page = app.page("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_dashboard_headers(&page);
    assert!(page.header("vary").unwrap().contains("Accept"));
    assert!(page.text().starts_with("<!DOCTYPE html>"));
}

#[actix_web::test]
async fn the_day_shows_every_coach_in_roster_order_with_no_plan_yet_where_none() {
    let app = spawn_app();
    app.post(
        "s",
        TODAY,
        "SPY swing: hold above 520\nadd on a retest",
        &[],
    )
    .await;
    app.post("d", TODAY, "NVDA above 950, stop 920", &[]).await;
    let page = app.page("/").await.text();
    let (d, i, s, n) = (
        at(&page, "Coach D"),
        at(&page, "Coach I"),
        at(&page, "Coach S"),
        at(&page, "Coach N"),
    );
    assert!(d < i && i < s && s < n, "roster order");
    assert!(page[d..i].contains("NVDA above 950, stop 920"));
    assert!(page[d..i].contains("dana"), "the author");
    assert!(
        page[d..i].contains("2024-05-10 12:00 EDT"),
        "posted at, in New York time"
    );
    assert!(page[i..s].contains("No plan yet"));
    assert!(
        page[s..n].contains("SPY swing: hold above 520\nadd on a retest"),
        "line breaks kept (shown with white-space: pre-wrap)"
    );
    assert!(page[n..].contains("No plan yet"));
    assert_eq!(page.matches("No plan yet").count(), 2);
    // Previous and next day, and a date picker that works without JavaScript.
    assert!(page.contains(r#"href="/?date=2024-05-09""#));
    assert!(page.contains(r#"href="/?date=2024-05-11""#));
    assert!(page.contains(r#"<form method="get" action="/">"#));
    assert!(page.contains(r#"type="date""#) && page.contains(r#"value="2024-05-10""#));
}

#[actix_web::test]
async fn another_date_shows_that_days_plans() {
    let app = spawn_app();
    app.post("d", "2024-05-09", "yesterday's plan", &[]).await;
    app.post("d", TODAY, "today's plan", &[]).await;
    let page = app.page("/?date=2024-05-09").await.text();
    assert!(page.contains("yesterday's plan"));
    assert!(!page.contains("today's plan"));
    assert!(page.contains("Thursday 9 May 2024"));
    let today = app.page("/?date=today").await.text();
    assert!(today.contains("today's plan"));
    let empty = app.page("/?date=").await.text();
    assert!(empty.contains("today's plan"), "an empty date is today");
}

#[actix_web::test]
async fn bad_dates_get_a_clear_page_with_400_never_a_500() {
    let app = spawn_app();
    for (input, shown) in [
        ("2024-02-30", "2024-02-30"),
        ("2024-13-01", "2024-13-01"),
        ("0000-01-01", "0000-01-01"),
        ("10000-01-01", "10000-01-01"),
        ("yesterday", "yesterday"),
        (
            "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            "&lt;script&gt;alert(1)&lt;/script&gt;",
        ),
        ("+2024-01-01", " 2024-01-01"),
    ] {
        let reply = app.page(&format!("/?date={input}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{input}");
        assert_dashboard_headers(&reply);
        let text = reply.text();
        assert!(text.contains("Use YYYY-MM-DD"), "{text}");
        assert!(text.contains(shown), "{input}: {text}");
        assert!(!text.contains("<script>"));
    }
    // The ends of the calendar are pages, without a link beyond them.
    let last = app.page("/?date=9999-12-31").await;
    assert_eq!(last.status, StatusCode::OK);
    assert!(!last.text().contains(r#"rel="next""#));
    let first = app.page("/?date=0001-01-01").await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(!first.text().contains(r#"rel="prev""#));
}

#[actix_web::test]
async fn markup_in_plans_and_coach_names_is_shown_as_text() {
    let app = app_with_roster(&[
        ("x", "<img src=x onerror=alert(1)> & Co"),
        ("y", "\"Quoted\" <b>coach</b>"),
    ]);
    app.post(
        "x",
        TODAY,
        "<script>alert('plan')</script>\n</div><a href=\"javascript:x\">",
        &[],
    )
    .await;
    let page = app.page("/").await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    assert!(!text.contains("<script>alert"), "{text}");
    assert!(!text.contains("<img src=x"));
    assert!(!text.contains("<b>coach</b>"));
    assert!(text.contains("&lt;script&gt;alert('plan')&lt;/script&gt;"));
    assert!(text.contains("&lt;img src=x onerror=alert(1)&gt; &amp; Co"));
    assert!(text.contains("&quot;Quoted&quot; &lt;b&gt;coach&lt;/b&gt;"));
    assert!(text.contains("&lt;/div&gt;&lt;a href=&quot;javascript:x&quot;&gt;"));
    // The coach without a plan is listed too.
    assert!(text.contains("No plan yet"));
    // And on the plan's own page.
    let id = app
        .service
        .plan(
            &CoachId::parse("x").unwrap(),
            PlanDate::parse(TODAY).unwrap(),
        )
        .await
        .unwrap()
        .unwrap()
        .id;
    let plan = app.page(&format!("/plans/{id}")).await.text();
    assert!(!plan.contains("<script>alert"));
    assert!(plan.contains("&lt;img src=x onerror=alert(1)&gt; &amp; Co"));
}

#[actix_web::test]
async fn a_huge_plan_is_shown_whole() {
    let app = spawn_app();
    let huge = format!("{}\n{}", "A".repeat(2000), "word ".repeat(399).trim_end());
    assert!(huge.chars().count() <= 4000);
    app.post("d", TODAY, &huge, &[]).await;
    let page = app.page("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains(&huge));
}

#[actix_web::test]
async fn archived_charts_are_lazy_thumbnails_linking_to_the_image_and_failed_ones_say_why() {
    let app = spawn_app();
    app.post("d", TODAY, "levels on the charts", &["levels.png"])
        .await;
    app.archive_charts(PNG).await;
    app.post("i", TODAY, "a chart that fails", &["broken.png"])
        .await;
    app.archive_charts(b"this is not an image").await;
    app.post("s", TODAY, "a chart still waiting", &["later.png"])
        .await;
    let page = app.page("/").await.text();
    let sha = {
        use sha2::Digest as _;
        coach_plans_model::Sha256::from_bytes(sha2::Sha256::digest(PNG).into()).to_string()
    };
    let src = format!("/api/v1/charts/{sha}.png");
    assert!(
        page.contains(&format!(
            r#"<a href="{src}"><img src="{src}" alt="Chart 1 of Coach D's plan: levels.png" loading="lazy""#
        )),
        "{page}"
    );
    let i = at(&page, "Coach I");
    let failed = &page[i..at(&page, "Coach S")];
    assert!(failed.contains("could not be archived"), "{failed}");
    assert!(failed.contains("not an image"), "the reason: {failed}");
    let waiting = &page[at(&page, "Coach S")..];
    assert!(waiting.contains("not archived yet"));
    assert!(waiting.contains("https://cdn.discordapp.com/attachments/1/2/later.png"));
    // The thumbnail's link answers the image.
    let image = app.get(&src).await;
    assert_eq!(image.status, StatusCode::OK);
    assert_eq!(image.body, PNG);
}

#[actix_web::test]
async fn a_plan_page_shows_its_history_newest_first_with_what_changed() {
    let app = spawn_app();
    let plan = app.post("d", TODAY, "NVDA above 950\nstop 920", &[]).await;
    app.edit(&plan, "NVDA above 960\nstop 920").await;
    app.edit(&plan, "NVDA above 960\nstop 930").await;
    let reply = app.page(&format!("/plans/{}", plan.id)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_dashboard_headers(&reply);
    let page = reply.text();
    assert!(
        page.contains("NVDA above 960\nstop 930"),
        "the current text"
    );
    let history = &page[at(&page, "History</h2>")..];
    let newest = at(history, "<del>stop 920</del>");
    let oldest = at(history, "<del>NVDA above 950</del>");
    assert!(newest < oldest, "newest first");
    assert!(history.contains("<ins>stop 930</ins>"));
    assert!(history.contains("<ins>NVDA above 960</ins>"));
    assert_eq!(history.matches("Edited").count(), 2);
    assert!(
        page.contains(r#"href="/?date=2024-05-10""#),
        "back to the day"
    );

    // A deleted plan keeps its page, saying so.
    app.service
        .delete_plan(&dana(), PlanRef::Id(plan.id))
        .await
        .unwrap();
    let deleted = app.page(&format!("/plans/{}", plan.id)).await.text();
    assert!(deleted.contains("This plan was deleted"));
    assert!(deleted.contains("Deleted"));
}

#[actix_web::test]
async fn unknown_plan_ids_get_a_404_page() {
    let app = spawn_app();
    for id in [
        "999",
        "0",
        "abc",
        "-1",
        "99999999999999999999999",
        "%3Cb%3E",
    ] {
        let reply = app.page(&format!("/plans/{id}")).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{id}");
        assert_dashboard_headers(&reply);
        assert!(reply.text().contains("There is no plan"));
        assert!(!reply.text().contains("<b>"));
    }
}

#[actix_web::test]
async fn a_storage_failure_is_an_error_page_that_leaks_nothing() {
    let app = spawn_app();
    app.fail_reads();
    let reply = app.page("/?date=2024-05-01").await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_dashboard_headers(&reply);
    assert!(!reply.text().contains("/secret/path"));
}

#[actix_web::test]
async fn the_day_page_is_cached_until_a_plan_changes() {
    let app = spawn_app();
    app.post("d", TODAY, "first version", &[]).await;
    let first = app.page("/").await;
    let etag = first.header("etag").unwrap().to_owned();
    let same = app.page_with("/", &[("If-None-Match", &etag)]).await;
    assert_eq!(same.status, StatusCode::NOT_MODIFIED);
    // Cached now (asked twice); a new plan must still show on the next view.
    assert_eq!(app.page("/").await.body, first.body);
    app.post("n", TODAY, "news plan posted later", &[]).await;
    let after = app.page_with("/", &[("If-None-Match", &etag)]).await;
    assert_eq!(after.status, StatusCode::OK);
    assert!(after.text().contains("news plan posted later"));
}

#[actix_web::test]
async fn the_stylesheet_is_embedded_and_cached_for_a_year() {
    let app = spawn_app();
    let page = app.page("/").await.text();
    let start = at(&page, "/assets/dashboard.css?v=");
    let href = &page[start..start + page[start..].find('"').unwrap()];
    let css = app.get(href).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(
        css.header("cache-control")
            .unwrap()
            .contains("max-age=31536000")
    );
    assert!(String::from_utf8_lossy(&css.body).contains("prefers-color-scheme: dark"));
    assert_eq!(
        app.get("/assets/nope.js").await.status,
        StatusCode::NOT_FOUND
    );
}

/// The `name=value` of a `Set-Cookie` header.
fn cookie_pair(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap()
}

/// `POST /login` with this form body.
pub(crate) async fn log_in(app: &TestApp, body: &str) -> Reply {
    let request = actix_web::test::TestRequest::post()
        .uri("/login")
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .set_payload(body.to_owned());
    let service = actix_web::test::init_service(app.api.app()).await;
    let res = actix_web::test::call_service(&service, request.to_request()).await;
    let status = res.status();
    let headers = res.headers().clone();
    let body = actix_web::test::read_body(res).await.to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

#[actix_web::test]
async fn with_a_token_the_dashboard_asks_for_it_once_and_sets_a_strict_cookie() {
    let app = with_token(PUBLIC_URL);
    let plan = app.post("d", TODAY, "SECRET-PLAN-TEXT", &["c.png"]).await;
    app.archive_charts(PNG).await;

    // Without the cookie: the form, never plan data.
    for uri in ["/", "/?date=2024-05-10", &format!("/plans/{}", plan.id)] {
        let reply = app.page(uri).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_dashboard_headers(&reply);
        let text = reply.text();
        assert!(text.contains(r#"<form class="login" method="post" action="/login">"#));
        assert!(!text.contains("SECRET-PLAN-TEXT"), "{uri}");
        assert!(text.contains(&format!(r#"name="next" value="{}""#, uri)));
    }

    // A wrong token: the form again, with a message, and no cookie.
    let wrong = log_in(&app, "token=not-it&next=%2F").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.header("set-cookie").is_none());
    assert!(wrong.text().contains("That is not the access token"));
    assert!(
        !wrong.text().contains("not-it"),
        "the attempt is not echoed"
    );

    // The right one: a cookie, and back to the page asked for.
    let right = log_in(&app, &format!("token={TOKEN}&next=%2Fplans%2F{}", plan.id)).await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    assert_eq!(
        right.header("location"),
        Some(format!("/plans/{}", plan.id).as_str())
    );
    let set_cookie = right.header("set-cookie").unwrap().to_owned();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    assert!(!set_cookie.contains("Secure"), "plain http: {set_cookie}");
    assert!(
        !set_cookie.contains(TOKEN),
        "the cookie never holds the token"
    );
    let cookie = cookie_pair(&set_cookie).to_owned();

    let page = app.page_with("/", &[("Cookie", &cookie)]).await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    assert!(text.contains("SECRET-PLAN-TEXT"));
    assert!(text.contains(r#"href="/logout""#), "a logout link");
    let detail = app
        .page_with(&format!("/plans/{}", plan.id), &[("Cookie", &cookie)])
        .await;
    assert_eq!(detail.status, StatusCode::OK);

    // Chart images take the cookie too; the JSON API still needs the bearer token.
    let start = at(&text, "/api/v1/charts/");
    let src = &text[start..start + text[start..].find('"').unwrap()];
    assert_eq!(app.get(src).await.status, StatusCode::UNAUTHORIZED);
    let image = app.request("GET", src, &[("Cookie", &cookie)]).await;
    assert_eq!(image.status, StatusCode::OK);
    assert_eq!(image.body, PNG);
    let api = app
        .request("GET", "/api/v1/plans", &[("Cookie", &cookie)])
        .await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);

    // A forged cookie is no session.
    let forged = app
        .page_with("/", &[("Cookie", "coach_plans_session=0000")])
        .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);

    // Logging out clears the cookie.
    let out = app.page_with("/logout", &[("Cookie", &cookie)]).await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert!(out.text().contains("You are logged out"));
}

#[actix_web::test]
async fn the_cookie_is_secure_when_the_public_url_is_https_and_next_stays_here() {
    let app = with_token("https://plans.example.com");
    let right = log_in(&app, &format!("token={TOKEN}&next=%2F%2Fevil.example%2F")).await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    assert!(right.header("set-cookie").unwrap().contains("; Secure"));
    assert_eq!(right.header("location"), Some("/"), "never to another site");
}

#[actix_web::test]
async fn without_a_token_there_is_nothing_to_log_in_to() {
    let app = spawn_app();
    let page = app.page("/").await.text();
    assert!(!page.contains("/logout"));
    let login = log_in(&app, "token=x").await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.header("set-cookie").is_none());
    assert!(login.text().contains("No login needed"));
}
