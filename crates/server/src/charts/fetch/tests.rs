//! The downloader against tiny HTTP servers on 127.0.0.1 that write canned answers byte by
//! byte, so cut connections, stalls and chunked bodies are what the test says they are.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use coach_plans_config::{ChartHost, ChartsConfig, Secret};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use super::{ChartFetcher, FetchError, FetchOptions, Fetched, ImageKind, redact};

/// A real 1x1 PNG (70 bytes).
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0x60, 0xf8, 0x5f,
    0x0f, 0x00, 0x02, 0x87, 0x01, 0x80, 0xeb, 0x47, 0xba, 0x92, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A real 1x1 GIF (42 bytes).
const GIF: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x01, 0x44, 0x00, 0x3b,
];

/// A real 1x1 WEBP (34 bytes).
const WEBP: &[u8] = &[
    0x52, 0x49, 0x46, 0x46, 0x1a, 0x00, 0x00, 0x00, 0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38, 0x4c,
    0x0d, 0x00, 0x00, 0x00, 0x2f, 0x00, 0x00, 0x00, 0x10, 0x07, 0x10, 0x11, 0x11, 0x88, 0x88, 0xfe,
    0x07, 0x00,
];

/// A real 1x1 JPEG (134 bytes).
const JPEG: &[u8] = &[
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x01, 0x00, 0x48,
    0x00, 0x48, 0x00, 0x00, 0xff, 0xdb, 0x00, 0x43, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc2, 0x00, 0x0b, 0x08, 0x00, 0x01,
    0x00, 0x01, 0x01, 0x01, 0x11, 0x00, 0xff, 0xc4, 0x00, 0x14, 0x10, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xda, 0x00, 0x08,
    0x01, 0x01, 0x00, 0x01, 0x3f, 0x10,
];

/// What a fake server does with one request.
enum Reply {
    /// Writes these bytes and closes the connection.
    Bytes(Vec<u8>),
    /// Writes these bytes, then holds the connection open without a word.
    Stall(Vec<u8>),
}

/// A fake server: its address and every request it was sent (head and body as text).
struct Fake {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Fake {
    async fn start(reply: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        let reply = Arc::new(reply);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let seen = Arc::clone(&seen);
                let reply = Arc::clone(&reply);
                tokio::spawn(async move {
                    let request = read_request(&mut socket).await;
                    seen.lock().unwrap().push(request.clone());
                    match reply(&request) {
                        Reply::Bytes(bytes) => {
                            let _ = socket.write_all(&bytes).await;
                            let _ = socket.shutdown().await;
                        }
                        Reply::Stall(bytes) => {
                            let _ = socket.write_all(&bytes).await;
                            tokio::time::sleep(Duration::from_secs(30)).await;
                        }
                    }
                });
            }
        });
        Self { addr, requests }
    }

    /// A fake that answers every request the same way.
    async fn answering(bytes: Vec<u8>) -> Self {
        Self::start(move |_| Reply::Bytes(bytes.clone())).await
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn host(&self) -> String {
        self.addr.to_string()
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// Reads a request's head and, when Content-Length says so, its body.
async fn read_request(socket: &mut tokio::net::TcpStream) -> String {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = socket.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                break;
            }
        }
    }
    String::from_utf8_lossy(&data).into_owned()
}

/// An HTTP/1.1 answer with a Content-Length, closing the connection after it.
fn answer(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A chunked answer, without Content-Length, in chunks of 500 bytes.
fn chunked(body: &[u8]) -> Vec<u8> {
    let mut bytes = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for chunk in body.chunks(500) {
        bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        bytes.extend_from_slice(chunk);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    bytes
}

fn png_answer(body: &[u8]) -> Vec<u8> {
    answer("200 OK", &[("Content-Type", "image/png")], body)
}

/// A PNG signature followed by `size - 8` more bytes.
fn big_png(size: usize) -> Vec<u8> {
    let mut bytes = PNG[..8].to_vec();
    bytes.resize(size, 0x42);
    bytes
}

fn fetcher(hosts: &[String], max_bytes: u64) -> ChartFetcher {
    let config = ChartsConfig {
        allowed_hosts: hosts.iter().map(|h| ChartHost::parse(h).unwrap()).collect(),
        max_bytes,
        ..ChartsConfig::default()
    };
    let options = FetchOptions {
        timeout: Duration::from_millis(200),
        connect_timeout: Duration::from_millis(200),
    };
    ChartFetcher::with_options(&config, options).unwrap()
}

/// Fetches `url` from `fake` (allowed) into a fresh sink.
async fn fetch(fake: &Fake, path: &str) -> (Result<Fetched, FetchError>, Vec<u8>) {
    let mut sink = Vec::new();
    let result = fetcher(&[fake.host()], 26_214_400)
        .fetch_into(&fake.url(path), &mut sink)
        .await;
    (result, sink)
}

#[tokio::test]
async fn real_images_of_each_kind_are_written_to_the_sink_exactly() {
    for (bytes, kind, content_type) in [
        (PNG, ImageKind::Png, "image/png"),
        (JPEG, ImageKind::Jpeg, "image/jpeg"),
        (GIF, ImageKind::Gif, "image/gif"),
        (WEBP, ImageKind::Webp, "image/webp"),
    ] {
        // A claimed type that is wrong does not matter: the bytes decide.
        let fake =
            Fake::answering(answer("200 OK", &[("Content-Type", "text/plain")], bytes)).await;
        let (result, sink) = fetch(&fake, "/attachments/1/2/chart?ex=1&hm=2").await;
        let fetched = result.unwrap();
        assert_eq!(fetched.kind, kind);
        assert_eq!(fetched.kind.content_type(), content_type);
        assert_eq!(fetched.bytes, bytes.len() as u64);
        assert_eq!(sink, bytes, "{kind:?}");
        assert!(fake.requests()[0].starts_with("GET /attachments/1/2/chart?ex=1&hm=2 HTTP/1.1"));
    }
    assert_eq!(
        ["png", "jpg", "gif", "webp"],
        [
            ImageKind::Png,
            ImageKind::Jpeg,
            ImageKind::Gif,
            ImageKind::Webp
        ]
        .map(ImageKind::extension)
    );
}

#[tokio::test]
async fn a_chunked_image_is_written_whole() {
    let image = big_png(5000);
    let fake = Fake::answering(chunked(&image)).await;
    let (result, sink) = fetch(&fake, "/a.png").await;
    assert_eq!(result.unwrap().bytes, 5000);
    assert_eq!(sink, image);
}

#[tokio::test]
async fn a_text_file_served_as_png_is_not_an_image_and_nothing_is_written() {
    let fake = Fake::answering(png_answer(
        b"<html>This content is no longer available.</html>",
    ))
    .await;
    let (result, sink) = fetch(&fake, "/a.png").await;
    assert!(matches!(result, Err(FetchError::NotAnImage)), "{result:?}");
    assert!(sink.is_empty());

    let fake = Fake::answering(png_answer(b"")).await;
    let (result, _) = fetch(&fake, "/empty.png").await;
    assert!(matches!(result, Err(FetchError::NotAnImage)), "{result:?}");
    // Too short for any signature.
    let fake = Fake::answering(png_answer(&PNG[..5])).await;
    let (result, _) = fetch(&fake, "/short.png").await;
    assert!(matches!(result, Err(FetchError::NotAnImage)), "{result:?}");
}

#[tokio::test]
async fn a_body_cut_short_is_truncated() {
    let image = big_png(5000);
    let mut bytes = png_answer(&image);
    bytes.truncate(bytes.len() - 4000);
    let fake = Fake::answering(bytes).await;
    let (result, _) = fetch(&fake, "/a.png").await;
    match result {
        Err(FetchError::Truncated { received, expected }) => {
            assert!(received < 5000, "{received}");
            assert_eq!(expected, Some(5000));
        }
        other => panic!("{other:?}"),
    }

    // A chunked body whose last chunk never comes.
    let mut bytes = chunked(&image);
    bytes.truncate(bytes.len() - 600);
    let fake = Fake::answering(bytes).await;
    let (result, _) = fetch(&fake, "/a.png").await;
    assert!(
        matches!(result, Err(FetchError::Truncated { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_expired_link_is_a_404_that_says_so() {
    let fake = Fake::answering(answer(
        "404 Not Found",
        &[("Content-Type", "text/plain")],
        b"This content is no longer available.",
    ))
    .await;
    let (result, sink) = fetch(&fake, "/attachments/1/2/a.png?ex=1").await;
    let error = result.unwrap_err();
    assert!(matches!(error, FetchError::Status(404)), "{error:?}");
    assert!(error.is_expired());
    assert!(sink.is_empty());
    assert!(FetchError::Status(410).is_expired() && FetchError::Status(403).is_expired());
    assert!(!FetchError::Status(500).is_expired() && !FetchError::Timeout.is_expired());
}

#[tokio::test]
async fn a_server_that_stalls_times_out() {
    // The head arrives, the body never does.
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n\x89PNG".to_vec();
    let fake = Fake::start(move |_| Reply::Stall(head.clone())).await;
    let (result, _) = fetch(&fake, "/a.png").await;
    assert!(matches!(result, Err(FetchError::Timeout)), "{result:?}");

    // Not even a head.
    let fake = Fake::start(|_| Reply::Stall(Vec::new())).await;
    let (result, _) = fetch(&fake, "/a.png").await;
    assert!(matches!(result, Err(FetchError::Timeout)), "{result:?}");
}

#[tokio::test]
async fn a_redirect_to_another_host_or_port_is_not_followed() {
    let elsewhere = Fake::answering(png_answer(PNG)).await;
    let target = elsewhere.url("/a.png");
    let fake = Fake::answering(answer("302 Found", &[("Location", &target)], b"")).await;
    let mut sink = Vec::new();
    // Both are allowed hosts: the rule is about redirects.
    let result = fetcher(&[fake.host(), elsewhere.host()], 1_000_000)
        .fetch_into(&fake.url("/a.png"), &mut sink)
        .await;
    match result {
        Err(FetchError::Redirect { to_host }) => assert_eq!(to_host, elsewhere.host()),
        other => panic!("{other:?}"),
    }
    assert!(
        elsewhere.requests().is_empty(),
        "the other host was never asked"
    );
}

#[tokio::test]
async fn a_redirect_within_the_same_host_is_followed_a_few_times() {
    let fake = Fake::start(|request: &str| {
        Reply::Bytes(if request.starts_with("GET /old") {
            answer("301 Moved Permanently", &[("Location", "/new.png")], b"")
        } else if request.starts_with("GET /loop") {
            answer("302 Found", &[("Location", "/loop")], b"")
        } else {
            png_answer(PNG)
        })
    })
    .await;
    let (result, sink) = fetch(&fake, "/old.png?ex=1").await;
    assert_eq!(result.unwrap().kind, ImageKind::Png);
    assert_eq!(sink, PNG);
    let (result, _) = fetch(&fake, "/loop").await;
    assert!(
        matches!(result, Err(FetchError::TooManyRedirects)),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_image_over_the_limit_is_refused_with_or_without_a_length() {
    let image = big_png(5000);
    for (how, bytes) in [("length", png_answer(&image)), ("chunked", chunked(&image))] {
        let fake = Fake::answering(bytes).await;
        let mut sink = Vec::new();
        let result = fetcher(&[fake.host()], 1000)
            .fetch_into(&fake.url("/big.png"), &mut sink)
            .await;
        assert!(
            matches!(result, Err(FetchError::TooLarge { limit: 1000 })),
            "{how}: {result:?}"
        );
        assert!(sink.len() <= 1000, "{how}: {} bytes written", sink.len());
    }
}

#[tokio::test]
async fn hosts_not_allowed_and_plain_http_elsewhere_are_refused_before_connecting() {
    let fake = Fake::answering(png_answer(PNG)).await;
    let mut sink = Vec::new();
    let result = fetcher(&["cdn.discordapp.com".to_owned()], 1000)
        .fetch_into(&fake.url("/a.png"), &mut sink)
        .await;
    match result {
        Err(FetchError::HostNotAllowed { host }) => assert_eq!(host, fake.host()),
        other => panic!("{other:?}"),
    }
    assert!(fake.requests().is_empty());

    // The same host on another port is another host.
    let other_port = format!("127.0.0.1:{}", fake.addr.port().wrapping_add(1).max(1));
    let result = fetcher(&[other_port], 1000)
        .fetch_into(&fake.url("/a.png"), &mut sink)
        .await;
    assert!(
        matches!(result, Err(FetchError::HostNotAllowed { .. })),
        "{result:?}"
    );

    let result = fetcher(&["example.com".to_owned()], 1000)
        .fetch_into("http://example.com/x.png?ex=1&hm=secret", &mut sink)
        .await;
    match result {
        Err(error @ FetchError::InsecureScheme { .. }) => {
            assert!(!error.to_string().contains("secret"), "{error}");
            assert!(error.to_string().contains("example.com/x.png"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    for bad in ["ftp://example.com/x.png", "not a url", "file:///etc/passwd"] {
        let result = fetcher(&["example.com".to_owned()], 1000)
            .fetch_into(bad, &mut sink)
            .await;
        assert!(
            matches!(result, Err(FetchError::InvalidUrl { .. })),
            "{bad}: {result:?}"
        );
    }
    assert!(sink.is_empty());
}

#[tokio::test]
async fn the_default_downloader_takes_only_discords_cdn() {
    let fake = Fake::answering(png_answer(PNG)).await;
    let mut sink = Vec::new();
    let result = ChartFetcher::new(&ChartsConfig::default())
        .unwrap()
        .fetch_into(&fake.url("/a.png"), &mut sink)
        .await;
    assert!(
        matches!(result, Err(FetchError::HostNotAllowed { .. })),
        "{result:?}"
    );
    let result = ChartFetcher::new(&ChartsConfig::default())
        .unwrap()
        .fetch_into("http://cdn.discordapp.com/attachments/1/2/a.png", &mut sink)
        .await;
    assert!(
        matches!(result, Err(FetchError::InsecureScheme { .. })),
        "{result:?}"
    );
}

#[test]
fn redact_keeps_host_and_path_only() {
    assert_eq!(
        redact("https://cdn.discordapp.com/attachments/1/2/chart.png?ex=65&is=64&hm=abc#x"),
        "cdn.discordapp.com/attachments/1/2/chart.png"
    );
    assert_eq!(
        redact("http://user:pw@127.0.0.1:9002/a.png?hm=abc"),
        "127.0.0.1:9002/a.png"
    );
    assert_eq!(redact("not a url?hm=abc"), "not a url");
    assert_eq!(redact("weird://user@host/x?hm=abc"), "host/x");
}

#[tokio::test]
async fn expired_links_are_refreshed_fifty_at_a_time_with_the_bot_token() {
    let fake = Fake::start(|request: &str| {
        let body = request.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        let asked: serde_json::Value = serde_json::from_str(body).unwrap();
        let refreshed: Vec<_> = asked["attachment_urls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|url| {
                let url = url.as_str().unwrap();
                serde_json::json!({"original": url, "refreshed": format!("{url}?ex=new")})
            })
            .collect();
        let answer_body = serde_json::json!({ "refreshed_urls": refreshed }).to_string();
        Reply::Bytes(answer(
            "200 OK",
            &[("Content-Type", "application/json")],
            answer_body.as_bytes(),
        ))
    })
    .await;
    let urls: Vec<String> = (0..120)
        .map(|i| format!("https://cdn.discordapp.com/attachments/1/{i}/c.png"))
        .collect();
    let pairs = fetcher(&[], 1)
        .refresh_urls(
            &fake.url("/api/v10/"),
            &Secret::new("MTIz.bot-token"),
            &urls,
        )
        .await
        .unwrap();
    assert_eq!(pairs.len(), 120);
    assert_eq!(
        pairs[119],
        (urls[119].clone(), format!("{}?ex=new", urls[119]))
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    for (request, count) in requests.iter().zip([50, 50, 20]) {
        assert!(
            request.starts_with("POST /api/v10/attachments/refresh-urls HTTP/1.1"),
            "{request}"
        );
        let lower = request.to_ascii_lowercase();
        assert!(
            lower.contains("authorization: bot mtiz.bot-token\r\n"),
            "{request}"
        );
        assert!(lower.contains("user-agent: discordbot ("), "{request}");
        assert_eq!(request.matches("cdn.discordapp.com").count(), count);
    }
}

#[tokio::test]
async fn a_refused_refresh_is_a_clear_error_without_the_token() {
    let fake = Fake::answering(answer(
        "401 Unauthorized",
        &[("Content-Type", "application/json")],
        br#"{"message": "401: Unauthorized Bot MTIz.bot-token", "code": 0}"#,
    ))
    .await;
    let urls = vec!["https://cdn.discordapp.com/attachments/1/2/c.png".to_owned()];
    let error = fetcher(&[], 1)
        .refresh_urls(
            &fake.url("/api/v10"),
            &Secret::new("Bot MTIz.bot-token"),
            &urls,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, FetchError::RefreshRefused { status: 401, .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("401"), "{message}");
    assert!(!message.contains("MTIz"), "{message}");
    assert!(!format!("{error:?}").contains("MTIz"));
    // The "Bot " prefix is not doubled.
    assert!(
        fake.requests()[0]
            .to_ascii_lowercase()
            .contains("authorization: bot mtiz.bot-token\r\n")
    );
}
