//! The chart archiver (SPEC 14) against a fake chart source, over the in-memory stores. Waits
//! run on Tokio's paused clock: nothing here really sleeps.
// Test helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use coach_plans_model::{
    Attachment, Channel, ChartArchive, ChartStatus, CoachId, ImageKind, Plan, PlanDate, PlanId,
    PlanText, Sha256, UserId,
};
use coach_plans_service::{
    Actor, ArchiveEvent, ArchivePolicy, BlobStats, BlobWriter, BoxFuture, ChartArchiver,
    ChartSource, ChartStore, ChartStoreError, FetchFailure, MemoryChartStore, NewPost, PlanService,
    ServiceSettings, StoredBlob,
};
use coach_plans_storage::{MemoryStore, PlanStore};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\nfirst chart bytes";
const JPEG: &[u8] = b"\xff\xd8\xff\xe0second chart bytes";

/// A chart source serving canned bytes by link (without its query string), counting calls.
#[derive(Default)]
struct FakeSource {
    images: Mutex<HashMap<String, Vec<u8>>>,
    /// Full links (query included) that answer "expired".
    expired: Mutex<HashSet<String>>,
    /// Links (without query) that fail this many more times.
    failures: Mutex<HashMap<String, u32>>,
    fetches: AtomicUsize,
    /// The size of each refresh call.
    refreshes: Mutex<Vec<usize>>,
}

fn base(url: &str) -> &str {
    url.split_once('?').map_or(url, |(head, _)| head)
}

impl FakeSource {
    fn serve(&self, url: &str, bytes: &[u8]) {
        self.images
            .lock()
            .unwrap()
            .insert(base(url).to_owned(), bytes.to_vec());
    }

    fn expire(&self, url: &str) {
        self.expired.lock().unwrap().insert(url.to_owned());
    }

    fn fail(&self, url: &str, times: u32) {
        self.failures
            .lock()
            .unwrap()
            .insert(base(url).to_owned(), times);
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    fn refreshes(&self) -> Vec<usize> {
        self.refreshes.lock().unwrap().clone()
    }

    fn answer(&self, url: &str, sink: &mut (dyn Write + Send)) -> Result<ImageKind, FetchFailure> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        if self.expired.lock().unwrap().contains(url) {
            return Err(FetchFailure::expired(
                "404 Not Found: This content is no longer available",
            ));
        }
        if let Some(left) = self.failures.lock().unwrap().get_mut(base(url))
            && *left > 0
        {
            *left -= 1;
            return Err(FetchFailure::failed("503 Service Unavailable"));
        }
        let Some(bytes) = self.images.lock().unwrap().get(base(url)).cloned() else {
            return Err(FetchFailure::failed("404 Not Found"));
        };
        // In pieces, as a download arrives.
        for piece in bytes.chunks(5) {
            sink.write_all(piece)
                .map_err(|e| FetchFailure::failed(format!("writing: {e}")))?;
        }
        ImageKind::from_signature(&bytes)
            .ok_or_else(|| FetchFailure::failed("not a PNG, JPEG, GIF or WebP image"))
    }
}

impl ChartSource for FakeSource {
    fn fetch<'a>(
        &'a self,
        url: &'a str,
        sink: &'a mut (dyn Write + Send),
    ) -> BoxFuture<'a, Result<ImageKind, FetchFailure>> {
        Box::pin(async move { self.answer(url, sink) })
    }

    fn refresh<'a>(
        &'a self,
        urls: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, FetchFailure>> {
        Box::pin(async move {
            self.refreshes.lock().unwrap().push(urls.len());
            Ok(urls
                .iter()
                .map(|url| (url.clone(), format!("{}?ex=fresh", base(url))))
                .collect())
        })
    }
}

/// A chart store whose disk can fill up.
#[derive(Default)]
struct FullDisk {
    inner: MemoryChartStore,
    full: AtomicBool,
}

impl ChartStore for FullDisk {
    fn writer(&self) -> Result<Box<dyn BlobWriter>, ChartStoreError> {
        if self.full.load(Ordering::SeqCst) {
            return Err(ChartStoreError::Io {
                path: "/data/charts/tmp".into(),
                source: io::Error::new(io::ErrorKind::StorageFull, "No space left on device"),
            });
        }
        self.inner.writer()
    }
    fn get(&self, sha256: &Sha256) -> Result<Option<Vec<u8>>, ChartStoreError> {
        self.inner.get(sha256)
    }
    fn contains(&self, sha256: &Sha256) -> Result<bool, ChartStoreError> {
        self.inner.contains(sha256)
    }
    fn remove(&self, sha256: &Sha256) -> Result<bool, ChartStoreError> {
        self.inner.remove(sha256)
    }
    fn stats(&self) -> Result<BlobStats, ChartStoreError> {
        self.inner.stats()
    }
    fn put(&self, bytes: &[u8]) -> Result<StoredBlob, ChartStoreError> {
        self.inner.put(bytes)
    }
}

struct World {
    service: PlanService,
    store: Arc<MemoryStore>,
    charts: Arc<FullDisk>,
    source: Arc<FakeSource>,
    archiver: ChartArchiver,
}

fn policy() -> ArchivePolicy {
    ArchivePolicy {
        max_attempts: 3,
        first_delay: Duration::from_secs(10),
        max_delay: Duration::from_secs(60),
        batch: 100,
        poll_interval: Duration::from_secs(3600),
    }
}

fn world() -> World {
    world_with(policy())
}

fn world_with(policy: ArchivePolicy) -> World {
    let store = Arc::new(MemoryStore::new());
    let service = PlanService::new(store.clone(), ServiceSettings::default());
    let charts = Arc::new(FullDisk::default());
    let source = Arc::new(FakeSource::default());
    let archiver = ChartArchiver::new(service.clone(), charts.clone(), source.clone(), policy);
    World {
        service,
        store,
        charts,
        source,
        archiver,
    }
}

fn link(name: &str) -> String {
    format!("https://cdn.discordapp.com/attachments/1/2/{name}?ex=first")
}

impl World {
    /// Posts a plan whose charts are these links.
    async fn post(&self, coach: &str, date: &str, links: &[String]) -> Plan {
        let attachments = links
            .iter()
            .map(|url| Attachment {
                url: url.clone(),
                filename: base(url).rsplit('/').next().unwrap().to_owned(),
                content_type: Some("image/png".to_owned()),
                size: Some(1234),
            })
            .collect();
        let post = NewPost {
            coach: CoachId::parse(coach).unwrap(),
            date: Some(PlanDate::parse(date).unwrap()),
            text: PlanText::parse("SPY above 520").unwrap(),
            attachments,
            channel: Channel::default(),
            message_id: None,
        };
        let dana = Actor::new(UserId::new(42).unwrap(), "dana");
        self.service.post_plan(&dana, post).await.unwrap().plan
    }

    fn archives(&self, plan: PlanId) -> Vec<ChartArchive> {
        let plan = self.store.plan(plan).unwrap().unwrap();
        plan.charts.iter().map(|c| c.archive().clone()).collect()
    }

    fn urls(&self, plan: PlanId) -> Vec<String> {
        let plan = self.store.plan(plan).unwrap().unwrap();
        plan.charts.iter().map(|c| c.url().to_owned()).collect()
    }
}

/// Lets the archiver run (its store calls go through the blocking pool) until `done`, within
/// two seconds of the paused clock.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("never happened: {what}");
}

#[tokio::test(start_paused = true)]
async fn a_plan_with_two_charts_is_archived_in_the_background_with_exact_bytes() {
    let world = world();
    let handle = world.archiver.spawn();
    let (png, jpeg) = (link("a.png"), link("b.png"));
    world.source.serve(&png, PNG);
    world.source.serve(&jpeg, JPEG);
    // The poll interval is an hour: only the service's wake-up can start this pass.
    let plan = world.post("d", "2024-05-10", &[png, jpeg]).await;
    eventually("both charts archived", || {
        world
            .archives(plan.id)
            .iter()
            .all(|a| a.status == ChartStatus::Archived)
    })
    .await;
    let archives = world.archives(plan.id);
    for (archive, (bytes, kind)) in archives
        .iter()
        .zip([(PNG, ImageKind::Png), (JPEG, ImageKind::Jpeg)])
    {
        let sha = archive.sha256.unwrap();
        assert_eq!(world.charts.get(&sha).unwrap().as_deref(), Some(bytes));
        assert_eq!(archive.stored_size, Some(bytes.len() as u64));
        assert_eq!(archive.image, Some(kind));
        assert_eq!(archive.attempts, 0);
        assert!(archive.archived_at.is_some());
    }
    assert_eq!(world.charts.stats().unwrap().count, 2);
    assert_eq!(world.service.chart_counts().await.unwrap().archived, 2);
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_backlog_larger_than_a_batch_is_archived_without_waiting_for_the_next_poll() {
    // Two charts a pass and a poll every hour: six charts need three passes back to back.
    let world = world_with(ArchivePolicy {
        batch: 2,
        ..policy()
    });
    let mut plans = Vec::new();
    for coach in ["d", "i", "s"] {
        let links = [
            link(&format!("{coach}1.png")),
            link(&format!("{coach}2.png")),
        ];
        for url in &links {
            world.source.serve(url, PNG);
        }
        plans.push(world.post(coach, "2024-05-10", &links).await);
    }
    let handle = world.archiver.spawn();
    eventually("all six charts archived", || {
        plans.iter().all(|plan| {
            world
                .archives(plan.id)
                .iter()
                .all(|a| a.status == ChartStatus::Archived)
        })
    })
    .await;
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn archiving_a_chart_changes_the_generation_so_read_caches_drop_it() {
    let world = world();
    let png = link("a.png");
    world.source.serve(&png, PNG);
    world.post("d", "2024-05-10", &[png]).await;
    let before = world.service.generation();
    world.archiver.archive_all(|_| {}).await.unwrap();
    assert_ne!(world.service.generation(), before);
}

#[tokio::test(start_paused = true)]
async fn the_same_image_in_two_plans_is_stored_once() {
    let world = world();
    let (first, second) = (link("a.png"), link("copy.png"));
    world.source.serve(&first, PNG);
    world.source.serve(&second, PNG);
    let one = world.post("d", "2024-05-10", &[first]).await;
    let two = world.post("i", "2024-05-10", &[second]).await;
    let summary = world.archiver.archive_all(|_| {}).await.unwrap();
    assert_eq!(summary.archived, 2);
    assert_eq!(world.charts.stats().unwrap().count, 1);
    assert_eq!(
        world.archives(one.id)[0].sha256,
        world.archives(two.id)[0].sha256
    );
}

#[tokio::test(start_paused = true)]
async fn an_expired_link_is_refreshed_once_then_archived() {
    let world = world();
    let png = link("a.png");
    world.source.serve(&png, PNG);
    world.source.expire(&png);
    let plan = world
        .post("d", "2024-05-10", std::slice::from_ref(&png))
        .await;
    let handle = world.archiver.spawn();
    eventually("archived", || {
        world.archives(plan.id)[0].status == ChartStatus::Archived
    })
    .await;
    assert_eq!(world.source.refreshes(), [1]);
    assert_eq!(world.source.fetches(), 2);
    assert_eq!(
        world.urls(plan.id),
        ["https://cdn.discordapp.com/attachments/1/2/a.png?ex=fresh"]
    );
    // A refreshed link is not a failed attempt.
    assert_eq!(world.archives(plan.id)[0].attempts, 0);
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_hundred_and_twenty_expired_links_are_refreshed_fifty_at_a_time() {
    let world = world();
    let mut plans = Vec::new();
    for (n, (coach, date)) in ["d", "i", "s", "n"]
        .iter()
        .flat_map(|c| ["2024-05-08", "2024-05-09", "2024-05-10"].map(|d| (*c, d)))
        .enumerate()
    {
        let links: Vec<String> = (0..10).map(|i| link(&format!("p{n}c{i}.png"))).collect();
        for url in &links {
            world.source.serve(url, PNG);
            world.source.expire(url);
        }
        plans.push(world.post(coach, date, &links).await);
    }
    let mut events = Vec::new();
    let summary = world
        .archiver
        .archive_all(|event| events.push(event))
        .await
        .unwrap();
    assert_eq!(summary.archived, 120);
    assert_eq!(summary.refreshed, 120);
    assert!(summary.failed.is_empty());
    let calls = world.source.refreshes();
    assert_eq!(calls.len(), 3, "refresh calls: {calls:?}");
    assert!(calls.iter().all(|n| *n <= 50));
    assert_eq!(calls.iter().sum::<usize>(), 120);
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, ArchiveEvent::Refreshed { .. }))
            .count(),
        120
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_chart_waits_its_backoff_and_fails_for_good_after_the_last_attempt() {
    let world = world();
    let bad = link("notes.png");
    world.source.serve(&bad, b"hello, not an image");
    let plan = world.post("d", "2024-05-10", &[bad]).await;
    let handle = world.archiver.spawn();
    eventually("first attempt", || world.archives(plan.id)[0].attempts == 1).await;
    let archive = &world.archives(plan.id)[0];
    assert_eq!(archive.status, ChartStatus::Pending);
    assert!(
        archive.reason.as_deref().unwrap().contains("not a PNG"),
        "{archive:?}"
    );

    // 10 s after the first failure, not before.
    tokio::time::sleep(Duration::from_secs(9)).await;
    assert_eq!(world.source.fetches(), 1);
    eventually("second attempt", || world.source.fetches() == 2).await;
    eventually("recorded", || world.archives(plan.id)[0].attempts == 2).await;

    // Then 20 s.
    tokio::time::sleep(Duration::from_secs(19)).await;
    assert_eq!(world.source.fetches(), 2);
    tokio::time::sleep(Duration::from_secs(2)).await;
    eventually("the last attempt", || {
        world.archives(plan.id)[0].status == ChartStatus::Failed
    })
    .await;
    let archive = &world.archives(plan.id)[0];
    assert_eq!(archive.attempts, 3);
    assert!(archive.reason.as_deref().unwrap().contains("not a PNG"));
    assert_eq!(world.service.chart_counts().await.unwrap().failed, 1);

    // Given up on: never fetched again.
    tokio::time::sleep(Duration::from_secs(3 * 3600)).await;
    assert_eq!(world.source.fetches(), 3);
    handle.shutdown().await;
}

#[tokio::test]
async fn the_backoff_doubles_from_the_first_delay_up_to_the_longest() {
    let delays: Vec<u64> = (1..=5).map(|n| policy().delay_after(n).as_secs()).collect();
    assert_eq!(delays, [10, 20, 40, 60, 60]);
}

#[tokio::test(start_paused = true)]
async fn one_failing_chart_does_not_hold_up_the_others() {
    let world = world();
    let (bad, good) = (link("gone.png"), link("good.png"));
    world.source.serve(&good, PNG);
    world.source.fail(&bad, u32::MAX);
    let plan = world.post("d", "2024-05-10", &[bad, good]).await;
    let handle = world.archiver.spawn();
    eventually("the good chart archived", || {
        world.archives(plan.id)[1].status == ChartStatus::Archived
    })
    .await;
    let bad = &world.archives(plan.id)[0];
    assert_eq!(bad.status, ChartStatus::Pending);
    assert_eq!(bad.attempts, 1);
    assert_eq!(bad.reason.as_deref(), Some("503 Service Unavailable"));
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_full_disk_is_a_failed_attempt_with_the_reason_and_the_next_try_succeeds() {
    let world = world();
    world.charts.full.store(true, Ordering::SeqCst);
    let png = link("a.png");
    world.source.serve(&png, PNG);
    let plan = world.post("d", "2024-05-10", &[png]).await;
    let handle = world.archiver.spawn();
    eventually("a failed attempt", || {
        world.archives(plan.id)[0].attempts == 1
    })
    .await;
    let archive = &world.archives(plan.id)[0];
    assert_eq!(archive.status, ChartStatus::Pending);
    assert!(
        archive
            .reason
            .as_deref()
            .unwrap()
            .contains("No space left on device"),
        "{archive:?}"
    );
    world.charts.full.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(10)).await;
    eventually("archived once there is room", || {
        world.archives(plan.id)[0].status == ChartStatus::Archived
    })
    .await;
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_the_loop() {
    let world = world();
    let handle = world.archiver.spawn();
    handle.shutdown().await;
    let png = link("a.png");
    world.source.serve(&png, PNG);
    let plan = world.post("d", "2024-05-10", &[png]).await;
    tokio::time::sleep(Duration::from_secs(2 * 3600)).await;
    assert_eq!(world.source.fetches(), 0);
    assert_eq!(world.archives(plan.id)[0].status, ChartStatus::Pending);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_handle_stops_the_loop_too() {
    let world = world();
    let handle = world.archiver.spawn();
    drop(handle);
    tokio::time::sleep(Duration::from_millis(10)).await;
    let png = link("a.png");
    world.source.serve(&png, PNG);
    world.post("d", "2024-05-10", &[png]).await;
    tokio::time::sleep(Duration::from_secs(2 * 3600)).await;
    assert_eq!(world.source.fetches(), 0);
}

#[tokio::test(start_paused = true)]
async fn archive_all_retries_at_once_and_sums_up_what_it_did() {
    let world = world();
    let (flaky, broken, fine) = (link("flaky.png"), link("broken.png"), link("fine.png"));
    world.source.serve(&flaky, PNG);
    world.source.fail(&flaky, 2);
    world.source.fail(&broken, u32::MAX);
    world.source.serve(&fine, JPEG);
    let plan = world.post("d", "2024-05-10", &[flaky, broken, fine]).await;

    let pending = world.archiver.list_pending().await.unwrap();
    assert_eq!(pending.len(), 3);
    assert_eq!(world.source.fetches(), 0, "a dry run fetches nothing");

    let mut failures = 0;
    let summary = world
        .archiver
        .archive_all(|event| {
            if matches!(event, ArchiveEvent::Failed { .. }) {
                failures += 1;
            }
        })
        .await
        .unwrap();
    assert_eq!(summary.archived, 2);
    assert_eq!(summary.refreshed, 0);
    let broken_id = pending[1].id;
    assert_eq!(
        summary.failed,
        [(broken_id, "503 Service Unavailable".to_owned())]
    );
    // flaky: 2 failures then success; broken: 3 failures (max_attempts).
    assert_eq!(failures, 5);
    let archives = world.archives(plan.id);
    assert_eq!(archives[0].status, ChartStatus::Archived);
    assert_eq!(archives[0].attempts, 2);
    assert_eq!(archives[1].status, ChartStatus::Failed);
    assert_eq!(archives[1].attempts, 3);
    assert!(world.archiver.list_pending().await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn attempts_made_before_a_restart_count_towards_the_last() {
    let world = world();
    let broken = link("broken.png");
    world.source.fail(&broken, u32::MAX);
    let plan = world.post("d", "2024-05-10", &[broken]).await;
    let chart = world.archiver.list_pending().await.unwrap()[0].id;
    // Two attempts made by an earlier run.
    world
        .store
        .record_chart_failure(chart, "timed out", 2, false)
        .unwrap();
    let handle = world.archiver.spawn();
    eventually("failed for good", || {
        world.archives(plan.id)[0].status == ChartStatus::Failed
    })
    .await;
    assert_eq!(world.source.fetches(), 1);
    handle.shutdown().await;
}
