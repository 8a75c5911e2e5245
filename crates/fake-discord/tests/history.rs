//! Channel history as twilight-http reads it from the fake: Discord's order (newest first) and
//! its `after` / `before` / `limit` semantics, and the faults asked for.
#![allow(clippy::unwrap_used)]

use coach_plans_fake_discord::{FakeDiscord, FakeMessage};
use twilight_http::Client;
use twilight_model::id::Id;

const CHANNEL: u64 = 500;

fn http(fake: &FakeDiscord) -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .token(fake.token().to_owned())
        .proxy(fake.api_addr().to_string(), true)
        .build()
}

/// The ids of a page, as twilight returns them.
async fn page(client: &Client, after: Option<u64>, before: Option<u64>, limit: u16) -> Vec<u64> {
    let request = client.channel_messages(Id::new(CHANNEL)).limit(limit);
    let response = match (after, before) {
        (Some(after), _) => request.after(Id::new(after)).await,
        (None, Some(before)) => request.before(Id::new(before)).await,
        (None, None) => request.await,
    };
    let messages = response.unwrap().models().await.unwrap();
    messages.iter().map(|m| m.id.get()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_pages_come_newest_first_with_discords_after_and_before() {
    let fake = FakeDiscord::start().await.unwrap();
    let ids: Vec<u64> = (0..5)
        .map(|n| fake.add_missed_message(FakeMessage::new(CHANNEL, 42, "dana", &format!("m{n}"))))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow with time");
    let client = http(&fake);
    // `after`: the oldest two after it, newest first.
    assert_eq!(page(&client, Some(ids[0]), None, 2).await, [ids[2], ids[1]]);
    // `before`: the newest two before it, newest first.
    assert_eq!(page(&client, None, Some(ids[4]), 2).await, [ids[3], ids[2]]);
    // Neither: the newest.
    assert_eq!(page(&client, None, None, 3).await, [ids[4], ids[3], ids[2]]);
    // Past the end: nothing.
    assert!(page(&client, Some(ids[4]), None, 100).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_page_is_retried_by_twilight_and_a_denied_channel_is_403() {
    let fake = FakeDiscord::start().await.unwrap();
    let id = fake.add_missed_message(FakeMessage::new(CHANNEL, 42, "dana", "hello"));
    let client = http(&fake);
    fake.rate_limit_history(0, 0.05);
    assert_eq!(page(&client, None, None, 10).await, [id]);
    let seen = fake.seen();
    assert_eq!(seen.rate_limited, 1);
    assert_eq!(seen.requests.len(), 2, "asked again after the 429");

    fake.deny_history(CHANNEL);
    let error = client.channel_messages(Id::new(CHANNEL)).await.unwrap_err();
    assert!(error.to_string().contains("403"), "{error}");
}
