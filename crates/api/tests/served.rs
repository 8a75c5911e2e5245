//! The API served on 127.0.0.1:0, as the server runs it: HEAD over a real socket, request ids
//! on every log line while concurrent requests interleave on one worker, and requests the HTTP
//! layer itself refuses.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use coach_plans_api::{ACCESS_TARGET, Api, ApiSettings, StaticBotStatus, with_current_request_id};
use coach_plans_service::{PlanService, ServiceSettings};
use coach_plans_storage::testing::{Call, FaultyStore};
use coach_plans_storage::{MemoryStore, PlanStore, StoreError};

/// A log line: (request id in the logging context, target, message, level).
type Line = (Option<String>, String, String, log::Level);

/// Every log line written in this test binary.
static LINES: OnceLock<Mutex<Vec<Line>>> = OnceLock::new();

struct Recorder;

impl log::Log for Recorder {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        let id = with_current_request_id(|id| id.map(str::to_owned));
        LINES.get_or_init(Default::default).lock().unwrap().push((
            id,
            record.target().to_owned(),
            record.args().to_string(),
            record.level(),
        ));
    }
    fn flush(&self) {}
}

fn record_logs() {
    static INSTALL: OnceLock<()> = OnceLock::new();
    INSTALL.get_or_init(|| {
        log::set_logger(&Recorder).unwrap();
        log::set_max_level(log::LevelFilter::Info);
    });
}

/// A store whose lookups take a few milliseconds and then fail, so requests interleave and each
/// logs an error.
fn slow_failing_store() -> FaultyStore {
    let store = FaultyStore::new();
    store.before_each(|call| {
        if call != Call::LivePlan {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(5));
        Err(StoreError::Other("lookup failed on purpose".into()))
    });
    store
}

struct Served {
    base: String,
    handle: actix_web::dev::ServerHandle,
}

fn serve(store: Arc<dyn PlanStore>, workers: usize) -> Served {
    let service = PlanService::new(store, ServiceSettings::default());
    let settings = ApiSettings {
        workers: Some(workers),
        ..ApiSettings::default()
    };
    let api = Api::new(service, settings, Arc::new(StaticBotStatus::mock()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = api.serve(listener).unwrap();
    let handle = server.handle();
    tokio::spawn(server);
    Served { base, handle }
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_answers_like_get_without_a_body() {
    let served = serve(Arc::new(MemoryStore::new()), 1);
    let client = client();
    let get = client
        .get(format!("{}/api/coach-plans/?coach=d", served.base))
        .send()
        .await
        .unwrap();
    let get_length = get.headers()["content-length"].clone();
    assert_eq!(get.status(), 200);
    let head = client
        .head(format!("{}/api/coach-plans/?coach=d", served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], get_length);
    assert!(head.bytes().await.unwrap().is_empty());
    served.handle.stop(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_log_each_line_with_their_own_request_id() {
    record_logs();
    // One worker: all requests interleave on one thread, across the store's await.
    let served = serve(Arc::new(slow_failing_store()), 1);
    let client = client();
    let requests = (0..24).map(|n| {
        let (client, base) = (client.clone(), served.base.clone());
        let id = format!("req-{n:02}");
        tokio::spawn(async move {
            let url = format!("{base}/api/coach-plans/?coach=d&date=2024-05-10&tag={id}");
            let reply = client
                .get(url)
                .header("X-Request-ID", &id)
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status(), 500);
            assert_eq!(reply.headers()["x-request-id"], id.as_str());
        })
    });
    for request in requests.collect::<Vec<_>>() {
        request.await.unwrap();
    }
    served.handle.stop(true).await;

    let lines = LINES.get_or_init(Default::default).lock().unwrap().clone();
    let ours: Vec<_> = lines
        .iter()
        .filter(|(_, _, message, _)| message.contains("tag=req-") || message.contains("on purpose"))
        .collect();
    let access: Vec<_> = lines
        .iter()
        .filter(|(_, target, message, _)| target == ACCESS_TARGET && message.contains("tag=req-"))
        .collect();
    assert_eq!(access.len(), 24, "one access line per request");
    for (id, _, message, _) in &access {
        let tag = message
            .split("tag=")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap();
        assert_eq!(
            id.as_deref(),
            Some(tag),
            "access line carries its request's id: {message}"
        );
        assert!(
            message.starts_with("GET /api/coach-plans/?coach=d") && message.contains(" 500 "),
            "{message}"
        );
    }
    let errors: Vec<_> = lines
        .iter()
        .filter(|(_, _, message, _)| message.contains("lookup failed on purpose"))
        .collect();
    assert_eq!(errors.len(), 24, "one error line per failed request");
    let mut error_ids: Vec<_> = errors
        .iter()
        .map(|(id, _, _, _)| id.clone().unwrap())
        .collect();
    error_ids.sort();
    error_ids.dedup();
    assert_eq!(
        error_ids.len(),
        24,
        "each error line carries a different request's id"
    );
    assert!(
        ours.iter()
            .all(|(id, _, _, _)| id.as_deref().is_some_and(|id| id.starts_with("req-")))
    );
}

/// Sends raw bytes on a new connection; returns what the server answered and our address.
async fn exchange(base: &str, raw: Vec<u8>) -> (String, String) {
    let address = base.trim_start_matches("http://").to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read as _, Write as _};
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        let local = stream.local_addr().unwrap().to_string();
        // The server may close before it has read everything; its answer is what counts.
        let _ = stream.write_all(&raw);
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        (String::from_utf8_lossy(&answer).into_owned(), local)
    })
    .await
    .unwrap()
}

/// The log lines that name `peer`, once there is at least one (the line is written when the
/// connection ends, which the client may notice first).
async fn lines_naming(peer: &str) -> Vec<Line> {
    for _ in 0..500 {
        let lines: Vec<Line> = LINES
            .get_or_init(Default::default)
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, _, message, _)| message.contains(peer))
            .cloned()
            .collect();
        if !lines.is_empty() {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no log line names {peer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_the_http_layer_refuses_are_logged_once_at_warn_naming_the_peer() {
    record_logs();
    let served = serve(Arc::new(MemoryStore::new()), 1);
    let mut huge_head = b"GET / HTTP/1.1\r\nX-Pad: ".to_vec();
    huge_head.extend(std::iter::repeat_n(b'a', 140_000));
    huge_head.extend(b"\r\n\r\n");
    for (raw, status) in [
        (
            b"GET /health HTTP/1.1\r\nBad Header\r\n\r\n".to_vec(),
            "400",
        ),
        (huge_head, "431"),
    ] {
        let (answer, peer) = exchange(&served.base, raw).await;
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{answer}"
        );
        let lines = lines_naming(&peer).await;
        assert_eq!(lines.len(), 1, "one line per connection: {lines:?}");
        let (_, _, message, level) = &lines[0];
        assert_eq!(*level, log::Level::Warn, "{message}");
        assert!(message.contains("malformed request"), "{message}");
        assert!(message.contains(&format!("answered {status}")), "{message}");
    }
    served.handle.stop(true).await;
}
