//! The web dashboard through the built binary (issue 15): `/` keeps the JSON index for
//! programs, and signing in to the dashboard leaves neither the token nor the session cookie
//! in any log line, at DEBUG level.
#![allow(clippy::unwrap_used)]

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::path::Path;

use coach_plans_e2e::{Response, Server, base_env, parse_response};

const TOKEN: &str = "dashboard-e2e-s3cret";

fn exchange(address: SocketAddr, raw: &str) -> Response {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    stream.write_all(raw.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    parse_response(&answer)
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

fn page(address: SocketAddr, path: &str, cookie: Option<&str>) -> Response {
    let cookie = cookie.map_or(String::new(), |c| format!("Cookie: {c}\r\n"));
    exchange(
        address,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nAccept: text/html\r\n{cookie}Connection: close\r\n\r\n"
        ),
    )
}

fn log_in(address: SocketAddr, token: &str) -> Response {
    let body = format!("token={token}&next=%2F");
    exchange(
        address,
        &format!(
            "POST /login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn all_logs(dir: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default());
    }
    text
}

#[test]
fn programs_get_json_at_the_root_and_browsers_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--mock"], &base_env(dir.path()));
    let json = server.get("/");
    assert_eq!(json.status, 200);
    assert_eq!(json.json()["name"], "coach-plans");
    let html = page(server.address, "/", None);
    assert_eq!(html.status, 200);
    assert!(html.body.contains("Coach D") && html.body.contains("Coach N"));
    assert!(header(&html, "content-security-policy").is_some());
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn signing_in_leaves_neither_the_token_nor_the_cookie_in_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = base_env(dir.path());
    env.push(("API_AUTH_TOKEN".into(), TOKEN.into()));
    env.push(("LOG_LEVEL".into(), "DEBUG".into()));
    let server = Server::start(dir.path(), &["--mock"], &env);

    assert_eq!(
        page(server.address, "/", None).status,
        401,
        "the login form"
    );
    let wrong = log_in(server.address, "dashboard-e2e-wrong-guess");
    assert_eq!(wrong.status, 401);
    let right = log_in(server.address, TOKEN);
    assert_eq!(right.status, 303, "{}", right.head);
    let cookie = header(&right, "set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let value = cookie.split_once('=').unwrap().1.to_owned();
    assert_eq!(value.len(), 64);
    let dashboard = page(server.address, "/", Some(&cookie));
    assert_eq!(dashboard.status, 200);
    assert!(dashboard.body.contains("Coach D"));
    let stdout = server.stdout();
    assert_eq!(server.stop(), Some(0));

    let logs = all_logs(&dir.path().join("logs"));
    assert!(
        logs.contains("POST /login"),
        "the login requests are logged"
    );
    for (what, secret) in [
        ("the token", TOKEN),
        ("a guessed token", "dashboard-e2e-wrong-guess"),
        ("the session cookie", value.as_str()),
    ] {
        assert!(!logs.contains(secret), "{what} reached the log file");
        assert!(!stdout.contains(secret), "{what} reached standard output");
    }
}
