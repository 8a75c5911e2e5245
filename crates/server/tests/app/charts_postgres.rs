//! Charts kept in PostgreSQL (`charts.backend` `auto` with `database.url`): a chart archived
//! through one server is served by another on the same database (SPEC 16's replicas), and the
//! images a chart directory holds from before are moved into the database at startup.
//!
//! Both servers run in mock mode: its generated charts go through the real archiver into the
//! real chart store, with no Discord to share.

use std::time::{Duration, Instant};

use coach_plans_config::DatabaseUrl;
use coach_plans_postgres::testing::TestDatabase;
use coach_plans_server::Exit;
use coach_plans_service::{ChartStore as _, DirChartStore};
use serde_json::Value;

use crate::helpers::{TestApp, blob_files, spawn_app, spawn_app_in};

/// A test database, made and dropped off the runtime's threads (the synchronous client cannot
/// run on one), even when a test fails.
struct Database(Option<TestDatabase>);

impl Database {
    fn create() -> Self {
        Self(Some(
            std::thread::spawn(TestDatabase::create).join().unwrap(),
        ))
    }

    fn db(&self) -> &TestDatabase {
        self.0.as_ref().unwrap()
    }

    /// How many images the database holds.
    fn blob_rows(&self) -> i64 {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    self.db()
                        .client()
                        .query_one("SELECT COUNT(*) FROM chart_blobs", &[])
                        .unwrap()
                        .get(0)
                })
                .join()
                .unwrap()
        })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some(db) = self.0.take() {
            let _ = std::thread::spawn(move || drop(db)).join();
        }
    }
}

/// An HTTP GET. Mock mode builds no chart downloader, so nothing has chosen rustls' crypto
/// provider yet: ring, as the server does.
async fn get(url: &str) -> reqwest::Response {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::get(url).await.unwrap()
}

async fn mock_app_on(db: &Database, dir: Option<tempfile::TempDir>) -> TestApp {
    let url = db.db().url().to_owned();
    let change = move |config: &mut coach_plans_config::Config| {
        config.mock.enabled = true;
        config.database.url = Some(DatabaseUrl::new(url));
    };
    match dir {
        Some(dir) => spawn_app_in(dir, change).await,
        None => spawn_app(change).await,
    }
}

/// The archived links of every chart the app lists, once none is pending any more.
async fn archived_links(app: &TestApp) -> Vec<String> {
    let url = format!("{}/api/v1/plans", app.base);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page: Value = get(&url).await.json().await.unwrap();
        let charts: Vec<Value> = page["plans"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|plan| plan["charts"].as_array().cloned().unwrap_or_default())
            .collect();
        if !charts.is_empty() && charts.iter().all(|c| c["status"] == "archived") {
            return charts
                .iter()
                .map(|c| c["archived_url"].as_str().unwrap().to_owned())
                .collect();
        }
        assert!(Instant::now() < deadline, "charts not archived: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The path of a link (`/api/v1/charts/….png`), to ask another server.
fn path_of(link: &str) -> &str {
    let start = link.find("/api/").unwrap();
    &link[start..]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_archived_through_one_server_is_served_by_another_on_the_same_database() {
    if coach_plans_postgres::testing::skipped("charts on PostgreSQL across two servers") {
        return;
    }
    let db = Database::create();
    let first = mock_app_on(&db, None).await;
    let links = archived_links(&first).await;
    assert!(!links.is_empty());

    let second = mock_app_on(&db, None).await;
    for link in &links {
        let from_first = get(link).await;
        assert_eq!(from_first.status(), 200, "{link}");
        let expected = from_first.bytes().await.unwrap();
        let from_second = get(&format!("{}{}", second.base, path_of(link))).await;
        assert_eq!(
            from_second.status(),
            200,
            "{link} through the second server"
        );
        assert_eq!(from_second.bytes().await.unwrap(), expected);
    }
    assert!(db.blob_rows() > 0, "the images are in the database");

    let (exit, first_dir) = first.stop_keeping_files().await;
    assert_eq!(exit, Exit::Ok);
    let (exit, second_dir) = second.stop_keeping_files().await;
    assert_eq!(exit, Exit::Ok);
    for dir in [&first_dir, &second_dir] {
        assert_eq!(
            blob_files(&dir.path().join("data/charts")),
            0,
            "no image on either server's disk"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_in_the_chart_directory_are_moved_into_the_database_at_startup() {
    if coach_plans_postgres::testing::skipped("moving a chart directory into PostgreSQL") {
        return;
    }
    let db = Database::create();
    // What a server with the directory backend left behind (or what `copy` leaves beside).
    let dir = tempfile::tempdir().unwrap();
    let charts = dir.path().join("data/charts");
    let old = DirChartStore::open(&charts).unwrap();
    let png = coach_plans_fake_discord::TINY_PNG;
    let blob = old.put(png).unwrap();
    let damaged = old.put(b"\x89PNG\r\n\x1a\nrotten later").unwrap();
    std::fs::write(old.path_of(&damaged.sha256), b"\x89PNG\r\n\x1a\nbit rot").unwrap();

    let app = mock_app_on(&db, Some(dir)).await;
    let url = format!("{}/api/v1/charts/{}.png", app.base, blob.sha256);
    let deadline = Instant::now() + Duration::from_secs(20);
    let served = loop {
        let answer = get(&url).await;
        if answer.status() == 200 {
            break answer.bytes().await.unwrap();
        }
        assert!(Instant::now() < deadline, "{url}: {}", answer.status());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(served.as_ref(), png);
    let damaged_url = format!("{}/api/v1/charts/{}.png", app.base, damaged.sha256);
    assert_eq!(get(&damaged_url).await.status(), 404);

    let (exit, dir) = app.stop_keeping_files().await;
    assert_eq!(exit, Exit::Ok);
    let charts = dir.path().join("data/charts");
    assert_eq!(blob_files(&charts), 2, "the directory is left as it was");
    assert_eq!(
        std::fs::read(
            charts
                .join(&blob.sha256.to_string()[..2])
                .join(blob.sha256.to_string())
        )
        .unwrap(),
        png
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_is_down_at_start_does_not_stop_the_server_and_charts_answer_errors() {
    // Nothing listens on this port once the listener is gone.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://coach:s3cret@127.0.0.1:{port}/plans?sslmode=disable");
    let app = spawn_app(move |config| {
        config.mock.enabled = true;
        config.database.url = Some(DatabaseUrl::new(url));
    })
    .await;
    let chart = format!("{}/api/v1/charts/{}.png", app.base, "ab".repeat(32));
    let answer = get(&chart).await;
    assert_eq!(answer.status(), 500);
    let body = answer.text().await.unwrap();
    assert!(!body.contains("s3cret"), "{body}");
    assert_eq!(app.stop().await, Exit::Ok);
}
