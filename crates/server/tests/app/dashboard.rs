//! The dashboard (SPEC 17) in a real Chromium, driven over WebDriver (chromedriver) against
//! the whole application in mock mode with a token: the login flow, every coach's plan, a chart
//! opening, the previous day, a plan's history, logging out; all with JavaScript disabled, in
//! one browser session. Screenshots at desktop and phone widths, light and dark, are saved
//! under `target/screenshots/` and their paths printed.
//!
//! Without Chromium and chromedriver (`apt-get install -y chromium chromium-driver`) the test
//! says SKIPPED and passes, except under `CI=true`, where it fails. `CHROMIUM` and
//! `CHROMEDRIVER` name other binaries.

use futures_util::FutureExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use coach_plans_config::Secret;
use coach_plans_server::Exit;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

const TOKEN: &str = "browser-test-token";
const INSTALL: &str = "apt-get install -y chromium chromium-driver";

/// The browser and its driver, from `CHROMIUM` / `CHROMEDRIVER` or Debian's paths, when both
/// exist.
fn browser_paths() -> Option<(PathBuf, PathBuf)> {
    let find = |var: &str, default: &str| {
        let path = std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from);
        path.is_file().then_some(path)
    };
    Some((
        find("CHROMIUM", "/usr/bin/chromium")?,
        find("CHROMEDRIVER", "/usr/bin/chromedriver")?,
    ))
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// `target/screenshots/`, created.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// chromedriver, started by this test on a free port and killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start(chromedriver: &Path, log: &Path) -> Self {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(log).unwrap();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        // An external process: poll its status with a deadline.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = reqwest::get(format!("{}/status", driver.url))
                .await
                .ok()
                .filter(|r| r.status().is_success());
            if ready.is_some() {
                return driver;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not start within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Chrome DevTools command through chromedriver (`goog/cdp/execute`): emulated colour
/// scheme and screen size.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({"cmd": self.cmd, "params": self.params});
        (http::Method::POST, Some(body.to_string()))
    }
}

async fn cdp(browser: &Client, cmd: &'static str, params: Value) {
    browser.issue_cmd(Cdp { cmd, params }).await.unwrap();
}

/// The viewport and colour scheme of one screenshot.
struct Look {
    name: &'static str,
    width: u32,
    height: u32,
    mobile: bool,
    dark: bool,
}

const LOOKS: [Look; 4] = [
    Look {
        name: "desktop-light",
        width: 1280,
        height: 1000,
        mobile: false,
        dark: false,
    },
    Look {
        name: "desktop-dark",
        width: 1280,
        height: 1000,
        mobile: false,
        dark: true,
    },
    Look {
        name: "phone-light",
        width: 390,
        height: 844,
        mobile: true,
        dark: false,
    },
    Look {
        name: "phone-dark",
        width: 390,
        height: 844,
        mobile: true,
        dark: true,
    },
];

async fn look(browser: &Client, look: &Look) {
    cdp(
        browser,
        "Emulation.setDeviceMetricsOverride",
        json!({
            "width": look.width,
            "height": look.height,
            "deviceScaleFactor": 1,
            "mobile": look.mobile,
        }),
    )
    .await;
    cdp(
        browser,
        "Emulation.setEmulatedMedia",
        json!({"features": [{
            "name": "prefers-color-scheme",
            "value": if look.dark { "dark" } else { "light" },
        }]}),
    )
    .await;
}

/// Saves a screenshot of what the browser shows and prints its path (for a person to open).
#[allow(clippy::print_stdout)]
async fn screenshot(browser: &Client, name: &str) -> PathBuf {
    let png = browser.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let path = screenshot_dir().join(format!("dashboard-{name}.png"));
    std::fs::write(&path, png).unwrap();
    let shown = path.canonicalize().unwrap_or_else(|_| path.clone());
    println!("screenshot: {}", shown.display());
    path
}

async fn text(browser: &Client, css: &str) -> String {
    find(browser, Locator::Css(css)).await.text().await.unwrap()
}

/// The first element `locator` finds, waiting up to 10 s for it to appear: after a navigation
/// the next document may still be loading.
async fn find(browser: &Client, locator: Locator<'_>) -> fantoccini::elements::Element {
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(locator)
        .await
        .unwrap_or_else(|e| panic!("{locator:?}: {e}"))
}

/// Clicks `element` (a link or a submit button) and waits until the page it leads to has
/// replaced this one: chromedriver may answer the click before the next document is there, and
/// a `find` then reads the old page.
async fn click_and_wait(browser: &Client, element: fantoccini::elements::Element) {
    let old = browser.find(Locator::Css("html")).await.unwrap();
    element.click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    // The old document's root goes stale once the next document has replaced it.
    while old.tag_name().await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "the click led to no new page within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An image's `naturalWidth`: 0 until it has loaded. (fantoccini expects properties to be
/// strings and hands numbers back as `NotW3C`.)
async fn natural_width(image: &fantoccini::elements::Element) -> u64 {
    match image.prop("naturalWidth").await {
        Ok(Some(width)) => width.parse().unwrap(),
        Err(fantoccini::error::CmdError::NotW3C(Value::Number(width))) => width.as_u64().unwrap(),
        other => panic!("naturalWidth: {other:?}"),
    }
}

async fn path_and_query(browser: &Client) -> String {
    let url = browser.current_url().await.unwrap();
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

/// Waits (polling the API, with a deadline) until no chart of the mock plans is pending.
async fn charts_settled(app: &TestApp) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page: Value = client
            .get(format!("{}/api/v1/plans?limit=500", app.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let plans = page["plans"].as_array().cloned().unwrap_or_default();
        let pending = plans
            .iter()
            .flat_map(|plan| plan["charts"].as_array().cloned().unwrap_or_default())
            .any(|chart| chart["status"] == "pending");
        if !plans.is_empty() && !pending {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "mock charts still pending: {page}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_works_in_a_real_browser_without_javascript() {
    let Some((chromium, chromedriver)) = browser_paths() else {
        assert!(
            !in_ci(),
            "browser suite: chromium and chromedriver are missing; install them with `{INSTALL}`"
        );
        eprintln!(
            "SKIPPED browser suite (dashboard in Chromium): chromium or chromedriver not found; install them with `{INSTALL}`"
        );
        return;
    };
    // reqwest is built without a TLS provider of its own (only plain http is used here).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let app = spawn_app(|config| {
        config.mock.enabled = true;
        config.mock.seed_days = 1;
        config.api.auth_token = Some(Secret::new(TOKEN));
    })
    .await;
    charts_settled(&app).await;
    let driver = Driver::start(&chromedriver, &screenshot_dir().join("chromedriver.log")).await;
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".to_owned(), json!("chrome"));
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--lang=en-US", "--hide-scrollbars"],
            // The whole session runs without JavaScript: the dashboard must not need it.
            "prefs": {"profile.managed_default_content_settings.javascript": 2},
        }),
    );
    let browser = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .unwrap();
    // A failing step panics: the browser is closed (and chromedriver stopped) all the same,
    // then the failure goes on.
    let outcome = std::panic::AssertUnwindSafe(scenarios(&browser, &app))
        .catch_unwind()
        .await;
    let _ = browser.close().await;
    drop(driver);
    assert_eq!(app.stop().await, Exit::Ok);
    match outcome {
        Ok(result) => result.unwrap(),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Every scenario in one session; the browser is closed by the caller whatever happens.
async fn scenarios(browser: &Client, app: &TestApp) -> Result<(), String> {
    javascript_is_off(browser).await;
    look(browser, &LOOKS[0]).await;
    logging_in(browser, app).await;
    every_coachs_plan_is_shown(browser).await;
    for each in &LOOKS {
        look(browser, each).await;
        browser.goto(&format!("{}/", app.base)).await.unwrap();
        screenshot(browser, each.name).await;
        if each.mobile {
            // No sideways scrolling on a phone: nothing on the page reaches past its right edge
            // (a long unbroken word or a wide table would).
            for element in browser.find_all(Locator::Css("body *")).await.unwrap() {
                let (x, _, width, _) = element.rectangle().await.unwrap();
                assert!(
                    x + width <= f64::from(each.width) + 0.5,
                    "{} ends at {} px, past the {} px screen",
                    element.html(false).await.unwrap_or_default(),
                    x + width,
                    each.width
                );
            }
        }
    }
    look(browser, &LOOKS[0]).await;
    a_chart_opens(browser, app).await;
    the_previous_day_and_a_plans_history(browser, app).await;
    logging_out(browser, app).await;
    Ok(())
}

async fn javascript_is_off(browser: &Client) {
    browser
        .goto("data:text/html,<p id=r>off</p><script>document.getElementById('r').textContent='on'</script>")
        .await
        .unwrap();
    assert_eq!(text(browser, "#r").await, "off", "JavaScript is disabled");
}

async fn logging_in(browser: &Client, app: &TestApp) {
    browser.goto(&format!("{}/", app.base)).await.unwrap();
    assert_eq!(text(browser, "h1").await, "Log in");
    screenshot(browser, "login").await;
    let field = find(browser, Locator::Id("token")).await;
    field.send_keys("not-the-token").await.unwrap();
    click_and_wait(
        browser,
        find(browser, Locator::Css("form.login button[type=submit]")).await,
    )
    .await;
    assert!(
        text(browser, "[role=alert]")
            .await
            .contains("not the access token"),
        "a wrong token shows the form again, with a message"
    );
    let field = find(browser, Locator::Id("token")).await;
    field.send_keys(TOKEN).await.unwrap();
    click_and_wait(
        browser,
        find(browser, Locator::Css("form.login button[type=submit]")).await,
    )
    .await;
    assert_eq!(path_and_query(browser).await, "/");
    assert!(text(browser, "h1").await.starts_with("Plans for"));
}

async fn every_coachs_plan_is_shown(browser: &Client) {
    let plans = browser
        .find_all(Locator::Css("article.plan"))
        .await
        .unwrap();
    let mut names = Vec::new();
    for plan in &plans {
        names.push(
            plan.find(Locator::Css("h2"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
        let body = plan
            .find(Locator::Css(".text"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!body.trim().is_empty(), "a plan's text is shown");
        let thumbnail = plan.find(Locator::Css(".charts img")).await.unwrap();
        assert_eq!(
            natural_width(&thumbnail).await,
            32,
            "the chart thumbnail loaded"
        );
    }
    assert_eq!(
        names,
        ["Coach D", "Coach I", "Coach S", "Coach N"],
        "roster order"
    );
}

async fn a_chart_opens(browser: &Client, app: &TestApp) {
    browser.goto(&format!("{}/", app.base)).await.unwrap();
    let link = find(browser, Locator::Css("article.plan .charts a")).await;
    let href = link.attr("href").await.unwrap().unwrap();
    assert!(
        href.starts_with("/api/v1/charts/") && href.ends_with(".png"),
        "{href}"
    );
    click_and_wait(browser, link).await;
    assert_eq!(path_and_query(browser).await, href);
    // Chrome shows an image as a document holding one <img>; the session cookie let it load.
    let image = find(browser, Locator::Css("img")).await;
    assert_eq!(natural_width(&image).await, 32, "the full chart opened");
}

async fn the_previous_day_and_a_plans_history(browser: &Client, app: &TestApp) {
    browser.goto(&format!("{}/", app.base)).await.unwrap();
    let today = find(browser, Locator::Css("h1 time"))
        .await
        .attr("datetime")
        .await
        .unwrap()
        .unwrap();
    let previous = find(browser, Locator::Css("a[rel=prev]")).await;
    let href = previous.attr("href").await.unwrap().unwrap();
    click_and_wait(browser, previous).await;
    assert_eq!(path_and_query(browser).await, href);
    let yesterday = find(browser, Locator::Css("h1 time"))
        .await
        .attr("datetime")
        .await
        .unwrap()
        .unwrap();
    assert!(yesterday < today, "{yesterday} before {today}");
    assert_eq!(
        browser
            .find_all(Locator::Css("article.plan .text"))
            .await
            .unwrap()
            .len(),
        4,
        "the mock plans of the day before"
    );
    click_and_wait(
        browser,
        find(browser, Locator::LinkText("History and details")).await,
    )
    .await;
    assert!(path_and_query(browser).await.starts_with("/plans/"));
    assert_eq!(text(browser, "#history").await, "History");
    screenshot(browser, "plan").await;
}

async fn logging_out(browser: &Client, app: &TestApp) {
    browser.goto(&format!("{}/", app.base)).await.unwrap();
    click_and_wait(browser, find(browser, Locator::LinkText("Log out")).await).await;
    assert!(text(browser, "[role=alert]").await.contains("logged out"));
    browser.goto(&format!("{}/", app.base)).await.unwrap();
    assert_eq!(text(browser, "h1").await, "Log in", "the cookie is gone");
}
