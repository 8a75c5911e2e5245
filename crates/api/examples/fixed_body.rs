//! The throughput ceiling of SPEC 13: an actix-web server whose only handler returns a fixed
//! 330-byte JSON body, with as many workers as the real server. `cargo xtask bench` measures the
//! real API against it in the same run.
//!
//! `cargo run --release -p coach-plans-api --example fixed_body` prints `ready: http://ADDR`.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use actix_web::{App, HttpResponse, HttpServer, web};

/// 330 bytes of JSON, the size of a typical plan answer.
fn body() -> &'static str {
    static BODY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BODY.get_or_init(|| {
        let head = r#"{"plan":""#;
        let tail = r#"","charts":[],"author":"coach","created_at":"2024-05-10T12:00:00","edited_at":null,"channel":"trading"}"#;
        let filler = "x".repeat(330 - head.len() - tail.len());
        let body = format!("{head}{filler}{tail}");
        assert_eq!(body.len(), 330);
        body
    })
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    println!("ready: http://{}", listener.local_addr()?);
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    HttpServer::new(|| {
        App::new().default_service(web::to(|| async {
            HttpResponse::Ok()
                .content_type("application/json")
                .body(body())
        }))
    })
    .workers(workers)
    .listen(listener)?
    .run()
    .await
}
