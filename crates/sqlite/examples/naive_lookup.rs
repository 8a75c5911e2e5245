//! The naive reference of `cargo xtask bench`: what a plain actix-web + r2d2 + rusqlite
//! server does for `GET /api/coach-plans/?coach=C&date=D`, with no cache and default pragmas:
//! per request, `web::block` onto actix's blocking pool, a pooled connection, the plan row,
//! then its charts, serialized to the compatibility endpoint's JSON shape. The bench serves the
//! same database file with it and with coach-plans in the same run.
//!
//! ```text
//! cargo run --release -p coach-plans-sqlite --example naive_lookup -- DB_PATH
//! ```
//!
//! Prints `ready: http://ADDR`, with as many workers as cores (like the real server).
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use actix_web::{App, HttpResponse, HttpServer, web};
use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{OptionalExtension as _, params};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Lookup {
    coach: String,
    date: String,
}

#[derive(Serialize)]
struct Found {
    plan: String,
    charts: Vec<String>,
    author: String,
    created_at: String,
    edited_at: Option<String>,
    channel: Option<String>,
}

#[derive(Serialize)]
struct Missing {
    plan: String,
    charts: [String; 0],
}

async fn plan(
    pool: web::Data<Pool<SqliteConnectionManager>>,
    query: web::Query<Lookup>,
) -> actix_web::Result<HttpResponse> {
    let Lookup { coach, date } = query.into_inner();
    let body = web::block(move || -> Result<Vec<u8>, String> {
        let conn = pool.get().map_err(|e| e.to_string())?;
        let key = format!("coach_{coach}");
        let row = conn
            .prepare_cached(
                "SELECT id, plan, author, created_at, edited_at, channel FROM coach_plans
                 WHERE coach_name = ?1 AND date = ?2 AND is_deleted = 0",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![key, date], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        Found {
                            plan: row.get(1)?,
                            charts: Vec::new(),
                            author: row.get(2)?,
                            created_at: row.get(3)?,
                            edited_at: row.get(4)?,
                            channel: row.get(5)?,
                        },
                    ))
                })
                .optional()
            })
            .map_err(|e| e.to_string())?;
        let Some((id, mut found)) = row else {
            return serde_json::to_vec(&Missing {
                plan: format!("No plan available for {key} on {date}"),
                charts: [],
            })
            .map_err(|e| e.to_string());
        };
        let mut stmt = conn
            .prepare_cached(
                "SELECT chart_url FROM plan_charts WHERE plan_id = ?1 ORDER BY position, id",
            )
            .map_err(|e| e.to_string())?;
        found.charts = stmt
            .query_map(params![id], |row| row.get(0))
            .and_then(Iterator::collect)
            .map_err(|e| e.to_string())?;
        serde_json::to_vec(&found).map_err(|e| e.to_string())
    })
    .await
    .map_err(actix_web::error::ErrorInternalServerError)?
    .map_err(actix_web::error::ErrorInternalServerError)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let path = std::env::args().nth(1).expect("give the database path");
    let pool = Pool::builder()
        .max_size(8)
        .build(SqliteConnectionManager::file(path))
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    println!("ready: http://{}", listener.local_addr()?);
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    let pool = web::Data::new(pool);
    HttpServer::new(move || {
        App::new()
            .app_data(pool.clone())
            .route("/api/coach-plans/", web::get().to(plan))
    })
    .workers(workers)
    .listen(listener)?
    .run()
    .await
}
