//! The HTTP API at its edges, through the built binary as an attacker meets it (issue 9):
//! encoded paths against the bearer token, requests the HTTP layer refuses, and their logs.
#![allow(clippy::unwrap_used)]

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::path::Path;

use coach_plans_e2e::{Response, Server, base_env, parse_response, wait_for};

const TOKEN: &str = "e2e-s3cret-token";

/// A mock-mode server (so there are plans to leak) with a bearer token configured.
fn start_with_token(dir: &Path) -> Server {
    let mut env = base_env(dir);
    env.push(("API_AUTH_TOKEN".into(), TOKEN.into()));
    Server::start(dir, &["--mock"], &env)
}

/// Sends raw bytes on a fresh connection and reads everything the server answers.
fn exchange(address: SocketAddr, raw: &[u8]) -> Response {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    stream.write_all(raw).unwrap();
    let mut answer = Vec::new();
    // The server may close while we still write; what it answered is what matters.
    let _ = stream.read_to_end(&mut answer);
    parse_response(&answer)
}

fn get(address: SocketAddr, path: &str, extra_headers: &str) -> Response {
    let raw = format!(
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{extra_headers}\r\n"
    );
    exchange(address, raw.as_bytes())
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

#[test]
fn percent_encoded_paths_do_not_get_past_the_bearer_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with_token(dir.path());
    let authorized = format!("Authorization: Bearer {TOKEN}\r\n");
    for (encoded, plain) in [
        ("/%61pi/v1/plans", "/api/v1/plans"),
        ("/%61pi/coach-plans/all", "/api/coach-plans/all"),
        ("/%6detrics", "/metrics"),
        ("/%6Detrics/prometheus", "/metrics/prometheus"),
    ] {
        let refused = get(server.address, encoded, "");
        assert_eq!(refused.status, 401, "{encoded}: {}", refused.body);
        assert_eq!(refused.json()["error"], "Unauthorized", "{encoded}");
        assert_eq!(get(server.address, plain, "").status, 401, "{plain}");
        assert_eq!(
            get(server.address, plain, &authorized).status,
            200,
            "{plain} with the token"
        );
        assert_eq!(
            get(server.address, encoded, &authorized).status,
            200,
            "{encoded} is the same route, served with the token"
        );
    }
    assert_eq!(get(server.address, "/%68ealth", "").status, 200, "public");
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn requests_too_large_for_the_api_are_refused_in_json_with_a_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--mock"], &base_env(dir.path()));
    let long_uri = format!("/api/coach-plans/?coach=d&pad={}", "x".repeat(10_000));
    let big_headers: String = (0..40)
        .map(|n| format!("X-Pad-{n}: {}\r\n", "y".repeat(1_000)))
        .collect();
    for (what, response, status) in [
        ("a long URI", get(server.address, &long_uri, ""), 414),
        (
            "long headers",
            get(server.address, "/api/coach-plans/?coach=d", &big_headers),
            431,
        ),
    ] {
        assert_eq!(response.status, status, "{what}: {}", response.body);
        let body = response.json();
        assert!(
            body["error"].is_string() && body["message"].is_string(),
            "{what}: {body}"
        );
        let id = header(&response, "x-request-id").unwrap_or_else(|| panic!("{what}: no id"));
        assert_eq!(id.len(), 16, "{what}");
    }
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn a_malformed_request_is_logged_once_at_warn_and_never_at_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--mock"], &base_env(dir.path()));
    let refused = exchange(
        server.address,
        b"GET /health HTTP/1.1\r\nBad Header\r\n\r\n",
    );
    assert_eq!(refused.status, 400);
    // In the API's JSON shape, with a request id, though the HTTP layer itself refused it.
    let body = refused.json();
    assert_eq!(body["error"], "Bad Request", "{}", refused.body);
    assert!(body["message"].is_string(), "{}", refused.body);
    let request_id = header(&refused, "x-request-id")
        .unwrap_or_else(|| panic!("no X-Request-ID: {}", refused.head))
        .to_owned();
    let log_file = dir.path().join("logs/coach-plans.log");
    let log = wait_for("the malformed request's log line", 10, || {
        let log = std::fs::read_to_string(&log_file).ok()?;
        log.lines()
            .any(|line| line.contains(" WARN ") && line.contains("malformed request"))
            .then_some(log)
    });
    let warnings: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("malformed request"))
        .collect();
    assert_eq!(warnings.len(), 1, "once per connection: {log}");
    assert!(
        warnings[0].contains("127.0.0.1"),
        "names the peer: {}",
        warnings[0]
    );
    assert!(
        warnings[0].contains(&request_id),
        "names the answer's request id: {}",
        warnings[0]
    );
    assert!(
        !log.lines().any(|line| line.contains(" ERROR ")),
        "no ERROR line: {log}"
    );
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn a_head_too_large_for_the_http_layer_is_still_answered_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--mock"], &base_env(dir.path()));
    let huge = format!(
        "GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(200 * 1024)
    );
    let refused = exchange(server.address, huge.as_bytes());
    assert_eq!(refused.status, 431, "{}", refused.head);
    assert_eq!(
        refused.json()["error"],
        "Request Header Fields Too Large",
        "{}",
        refused.body
    );
    assert!(
        header(&refused, "x-request-id").is_some(),
        "{}",
        refused.head
    );
    assert_eq!(server.stop(), Some(0));
}

/// The access lines of a server run with this log format, after one request with a client id.
fn access_lines(format: &str) -> (Vec<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut env = base_env(dir.path());
    env.push(("LOG_FORMAT".into(), format.into()));
    let server = Server::start(dir.path(), &["--mock"], &env);
    let given = get(
        server.address,
        "/health?probe=1",
        "X-Request-ID: e2e-given.id_1\r\n",
    );
    assert_eq!(given.status, 200);
    let generated = get(server.address, "/nope", "");
    assert_eq!(generated.status, 404);
    let generated_id = header(&generated, "x-request-id").unwrap().to_owned();
    assert_eq!(server.stop(), Some(0));
    let log = std::fs::read_to_string(dir.path().join("logs/coach-plans.log")).unwrap();
    let lines = log
        .lines()
        // Only this test's requests (the server may check itself at startup).
        .filter(|line| {
            line.contains("coach_plans::access")
                && (line.contains("/health?probe=1") || line.contains("/nope"))
        })
        .map(str::to_owned)
        .collect();
    (lines, generated_id)
}

#[test]
fn each_request_writes_one_access_line_with_its_request_id_in_text_and_json() {
    let (text, generated_id) = access_lines("text");
    assert_eq!(text.len(), 2, "{text:#?}");
    // 2024-05-10T16:00:00.123456+00:00 INFO  coach_plans::access [id] GET /path?query 200 0.123ms
    for (line, id, request) in [
        (&text[0], "e2e-given.id_1", "GET /health?probe=1 200 "),
        (&text[1], generated_id.as_str(), "GET /nope 404 "),
    ] {
        let (time, rest) = line.split_at(32);
        assert!(
            time.ends_with("+00:00") && time.as_bytes()[10] == b'T' && time.as_bytes()[19] == b'.',
            "{line}"
        );
        let expected = format!(" INFO  coach_plans::access [{id}] {request}");
        assert!(rest.starts_with(&expected), "{line}");
        let duration = &rest[expected.len()..];
        let (whole, fraction) = duration
            .strip_suffix("ms")
            .unwrap()
            .split_once('.')
            .unwrap();
        assert!(
            whole.parse::<u64>().is_ok() && fraction.len() == 3,
            "{line}"
        );
    }

    let (json, generated_id) = access_lines("json");
    assert_eq!(json.len(), 2, "{json:#?}");
    for (line, id, request) in [
        (&json[0], "e2e-given.id_1", "GET /health?probe=1 200 "),
        (&json[1], generated_id.as_str(), "GET /nope 404 "),
    ] {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        // log4rs's JSON encoder's fields, in its order.
        let fields = [
            "time",
            "level",
            "message",
            "module_path",
            "file",
            "line",
            "target",
            "thread",
            "thread_id",
            "mdc",
        ];
        assert_eq!(value.as_object().unwrap().len(), fields.len(), "{line}");
        let positions: Vec<usize> = fields
            .iter()
            .map(|field| line.find(&format!("\"{field}\":")).unwrap())
            .collect();
        assert!(positions.is_sorted(), "{line}");
        assert_eq!(value["level"], "INFO");
        assert_eq!(value["target"], "coach_plans::access");
        assert_eq!(value["mdc"]["request_id"], id, "{line}");
        assert!(
            value["message"].as_str().unwrap().starts_with(request),
            "{line}"
        );
    }
}
