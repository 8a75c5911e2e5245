//! The fake gateway: one task per WebSocket connection.

use std::sync::Arc;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_websockets::{CloseCode, Message, ServerBuilder};

use super::{APPLICATION_ID, BOT_USER_ID, GUILD_ID, Shared};

/// What a test asks of the connection.
pub(super) enum Control {
    /// Send this text frame.
    Text(String),
    /// Send a close frame with this code and reason.
    Close(u16, String),
    /// Drop the connection without a close frame.
    Drop,
}

const HELLO: &str = r#"{"op":10,"s":null,"t":null,"d":{"heartbeat_interval":41250}}"#;
const HEARTBEAT_ACK: &str = r#"{"op":11,"s":null,"t":null,"d":null}"#;
const MESSAGE_CONTENT_INTENT: u64 = 1 << 15;
/// GUILD_MESSAGES and DIRECT_MESSAGES: the intents that bring MESSAGE_* events.
const MESSAGE_INTENTS: u64 = (1 << 9) | (1 << 12);

pub(super) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    super::serve_each(listener, move |stream| {
        connection(stream, Arc::clone(&shared))
    })
    .await;
}

async fn connection(stream: TcpStream, shared: Arc<Shared>) {
    let Ok((_, mut ws)) = ServerBuilder::new().accept(stream).await else {
        return;
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let id = {
        let mut state = shared.lock();
        state.next_connection += 1;
        state.seen.connections += 1;
        let id = state.next_connection;
        state.current = Some((id, tx.clone()));
        id
    };
    shared.bump();
    if ws.send(Message::text(HELLO)).await.is_ok() {
        loop {
            tokio::select! {
                incoming = ws.next() => match incoming {
                    Some(Ok(message)) => {
                        if let Some(text) = message.as_text() {
                            receive(&shared, id, &tx, text);
                        } else if message.is_close() {
                            // tokio-websockets answers the close frame; read until the end.
                            mark_gone(&shared, id);
                        }
                    }
                    Some(Err(_)) | None => break,
                },
                control = rx.recv() => match control {
                    Some(Control::Text(text)) => {
                        if ws.send(Message::text(text)).await.is_err() {
                            break;
                        }
                    }
                    Some(Control::Close(code, reason)) => {
                        mark_gone(&shared, id);
                        let code = CloseCode::try_from(code).ok();
                        if ws.send(Message::close(code, &reason)).await.is_err() {
                            break;
                        }
                    }
                    Some(Control::Drop) | None => break,
                },
            }
        }
    }
    mark_gone(&shared, id);
    let mut state = shared.lock();
    if state
        .current
        .as_ref()
        .is_some_and(|(current, _)| *current == id)
    {
        state.current = None;
    }
    drop(state);
    shared.bump();
}

/// The connection no longer receives dispatches.
fn mark_gone(shared: &Shared, id: u64) {
    let mut state = shared.lock();
    if state.live == Some(id) {
        state.live = None;
    }
}

fn receive(shared: &Shared, id: u64, tx: &mpsc::UnboundedSender<Control>, text: &str) {
    let Ok(payload) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let data = &payload["d"];
    match payload["op"].as_u64() {
        Some(1) => {
            let _ = tx.send(Control::Text(HEARTBEAT_ACK.to_owned()));
        }
        Some(2) => identify(shared, id, tx, data),
        Some(6) => resume(shared, id, tx, data),
        _ => {}
    }
    shared.bump();
}

fn identify(shared: &Shared, id: u64, tx: &mpsc::UnboundedSender<Control>, data: &Value) {
    let mut state = shared.lock();
    state.seen.identifies += 1;
    if !shared.token_ok(data["token"].as_str().unwrap_or_default()) {
        let _ = tx.send(Control::Close(4004, "Authentication failed.".to_owned()));
        return;
    }
    let intents = data["intents"].as_u64().unwrap_or_default();
    state.seen.identify_intents.push(intents);
    state.content_intent = intents & MESSAGE_CONTENT_INTENT != 0;
    state.message_intent = intents & MESSAGE_INTENTS != 0;
    if intents & MESSAGE_CONTENT_INTENT != 0 && !shared.message_content_intent {
        let _ = tx.send(Control::Close(4014, "Disallowed intent(s).".to_owned()));
        return;
    }
    state.sessions_started += 1;
    let session_id = format!("fake-session-{}", state.sessions_started);
    state.session = Some(session_id.clone());
    state.log.clear();
    state.live = Some(id);
    state.seen.readies += 1;
    let ready = json!({
        "v": 10,
        "user": {
            "id": BOT_USER_ID.to_string(),
            "username": "coach-plans",
            "discriminator": "0",
            "bot": true,
            "mfa_enabled": false,
        },
        "guilds": [{ "id": GUILD_ID.to_string(), "unavailable": true }],
        "session_id": session_id,
        "resume_gateway_url": shared.gateway_url,
        "application": { "id": APPLICATION_ID.to_string(), "flags": 0 },
        "shard": [0, 1],
    });
    state.dispatch("READY", &ready.to_string(), false);
}

fn resume(shared: &Shared, id: u64, tx: &mpsc::UnboundedSender<Control>, data: &Value) {
    let mut state = shared.lock();
    state.seen.resume_attempts += 1;
    if !shared.token_ok(data["token"].as_str().unwrap_or_default()) {
        let _ = tx.send(Control::Close(4004, "Authentication failed.".to_owned()));
        return;
    }
    let resumable = state
        .session
        .as_deref()
        .is_some_and(|s| Some(s) == data["session_id"].as_str());
    if !resumable {
        let _ = tx.send(Control::Text(
            r#"{"op":9,"s":null,"t":null,"d":false}"#.to_owned(),
        ));
        return;
    }
    let after = data["seq"].as_u64().unwrap_or_default();
    for (seq, frame) in &state.log {
        if *seq > after {
            let _ = tx.send(Control::Text(frame.clone()));
        }
    }
    state.live = Some(id);
    state.seen.resumes += 1;
    state.dispatch("RESUMED", "{}", false);
}
