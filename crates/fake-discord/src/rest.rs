//! The fake REST API: `/api/v10/...` over HTTP/1.1 (hyper).

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::{BOT_USER_ID, GUILD_ID, RecordedRequest, SentMessage, Shared};

pub(super) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    super::serve_each(listener, move |stream| {
        let shared = Arc::clone(&shared);
        async move {
            let service = service_fn(move |request| answer(Arc::clone(&shared), request));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        }
    })
    .await;
}

type Reply = Response<Full<Bytes>>;

async fn answer(shared: Arc<Shared>, request: Request<Incoming>) -> Result<Reply, Infallible> {
    let method = request.method().clone();
    let path = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().path().to_owned(), |p| p.to_string());
    let authorized = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| shared.token_ok(value));
    if method == Method::GET && path.starts_with("/attachments/") {
        let reply = cdn(&shared, &path);
        shared.bump();
        return Ok(reply);
    }
    let local = request
        .headers()
        .get(hyper::header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = match request.into_body().collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
        Err(_) => String::new(),
    };
    let reply = {
        let mut state = shared.lock();
        state.seen.requests.push(RecordedRequest {
            method: method.to_string(),
            path: path.clone(),
            body: body.clone(),
            authorized,
        });
        if authorized {
            route(&shared, &mut state, &method, &path, &body, &local)
        } else {
            json_reply(
                StatusCode::UNAUTHORIZED,
                &json!({ "message": "401: Unauthorized", "code": 0 }),
            )
        }
    };
    shared.bump();
    Ok(reply)
}

fn route(
    shared: &Shared,
    state: &mut super::State,
    method: &Method,
    path: &str,
    body: &str,
    host: &str,
) -> Reply {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let segments: Vec<&str> = path.trim_start_matches("/api/v10/").split('/').collect();
    match (method, segments.as_slice()) {
        (&Method::GET, ["gateway", "bot"]) => json_reply(
            StatusCode::OK,
            &json!({
                "url": shared.gateway_url,
                "shards": 1,
                "session_start_limit": { "total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1 },
            }),
        ),
        (&Method::POST, ["attachments", "refresh-urls"]) => refresh_urls(state, body, host),
        (&Method::GET, ["channels", id]) => match id.parse::<u64>() {
            Ok(id) => match state.channels.get(&id) {
                Some(None) => unknown("Unknown Channel", 10003),
                Some(Some(name)) => channel_reply(id, name),
                None => channel_reply(id, &format!("channel-{id}")),
            },
            Err(_) => unknown("Unknown Channel", 10003),
        },
        (&Method::GET, ["channels", id, "messages"]) => match id.parse::<u64>() {
            Ok(channel) => super::history::list(state, channel, query),
            Err(_) => unknown("Unknown Channel", 10003),
        },
        (&Method::POST, ["channels", id, "messages"]) => {
            let Ok(channel_id) = id.parse::<u64>() else {
                return unknown("Unknown Channel", 10003);
            };
            let Ok(payload) = serde_json::from_str::<Value>(body) else {
                return json_reply(
                    StatusCode::BAD_REQUEST,
                    &json!({ "message": "Cannot send an empty message", "code": 50006 }),
                );
            };
            let content = payload["content"].as_str().unwrap_or_default().to_owned();
            let reply_to = payload["message_reference"]["message_id"]
                .as_str()
                .and_then(|id| id.parse().ok());
            let may_mention = match &payload["allowed_mentions"] {
                Value::Object(allowed) => {
                    allowed
                        .get("parse")
                        .and_then(Value::as_array)
                        .is_some_and(|parse| !parse.is_empty())
                        || ["users", "roles"].iter().any(|key| {
                            allowed
                                .get(*key)
                                .and_then(Value::as_array)
                                .is_some_and(|ids| !ids.is_empty())
                        })
                        || allowed
                            .get("replied_user")
                            .and_then(Value::as_bool)
                            .unwrap_or(false)
                }
                _ => true,
            };
            state.seen.messages.push(SentMessage {
                channel_id,
                content: content.clone(),
                reply_to,
                may_mention,
            });
            let message_id = state.new_id();
            json_reply(
                StatusCode::OK,
                &json!({
                    "id": message_id.to_string(),
                    "channel_id": channel_id.to_string(),
                    "author": { "id": BOT_USER_ID.to_string(), "username": "coach-plans", "discriminator": "0", "bot": true },
                    "content": content,
                    "timestamp": super::history::timestamp_of(message_id),
                    "edited_timestamp": null,
                    "tts": false,
                    "mention_everyone": false,
                    "mentions": [],
                    "mention_roles": [],
                    "attachments": [],
                    "embeds": [],
                    "pinned": false,
                    "type": if reply_to.is_some() { 19 } else { 0 },
                }),
            )
        }
        _ => unknown("404: Not Found", 0),
    }
}

fn channel_reply(id: u64, name: &str) -> Reply {
    json_reply(
        StatusCode::OK,
        &json!({ "id": id.to_string(), "type": 0, "guild_id": GUILD_ID.to_string(), "name": name, "position": 0 }),
    )
}

fn unknown(message: &str, code: u32) -> Reply {
    json_reply(
        StatusCode::NOT_FOUND,
        &json!({ "message": message, "code": code }),
    )
}

/// The CDN: a file's bytes for a link signed in the current generation, Discord's 404 for an
/// expired one or an unknown file.
fn cdn(shared: &Shared, path_and_query: &str) -> Reply {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut state = shared.lock();
    let current = format!("hm={:x}sig", state.link_generation);
    let fresh = query.split('&').any(|pair| pair == current);
    match state.cdn.get(path).cloned() {
        Some(bytes) if fresh => {
            state.seen.cdn_downloads += 1;
            let mut reply = Response::new(Full::new(bytes));
            reply.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/octet-stream"),
            );
            reply
        }
        _ => {
            let mut reply = Response::new(Full::new(Bytes::from_static(
                b"This content is no longer available.",
            )));
            *reply.status_mut() = StatusCode::NOT_FOUND;
            reply
        }
    }
}

/// `POST /attachments/refresh-urls`: a fresh link for each of the fake CDN's files asked for
/// (at most 50, as Discord allows); links to other files are left out.
fn refresh_urls(state: &super::State, body: &str, host: &str) -> Reply {
    let urls: Vec<String> = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| serde_json::from_value(v["attachment_urls"].clone()).ok())
        .unwrap_or_default();
    if urls.is_empty() || urls.len() > 50 {
        return json_reply(
            StatusCode::BAD_REQUEST,
            &json!({ "message": "Invalid Form Body", "code": 50035 }),
        );
    }
    let refreshed: Vec<Value> = urls
        .iter()
        .filter_map(|original| {
            let path = original
                .split_once(host)
                .map(|(_, rest)| rest.split('?').next().unwrap_or(rest))?;
            state.cdn.contains_key(path).then(|| {
                json!({
                    "original": original,
                    "refreshed": super::signed_link(host, path, state.link_generation),
                })
            })
        })
        .collect();
    json_reply(StatusCode::OK, &json!({ "refreshed_urls": refreshed }))
}

fn json_reply(status: StatusCode, body: &Value) -> Reply {
    text_reply(status, body.to_string())
}

fn text_reply(status: StatusCode, body: String) -> Reply {
    let mut reply = Response::new(Full::new(Bytes::from(body)));
    *reply.status_mut() = status;
    reply.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    reply
}
