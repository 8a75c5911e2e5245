//! The fake against the real twilight 0.18 clients it stands in for: what it sends must read as
//! twilight's models, and what twilight sends must be understood and recorded.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use coach_plans_fake_discord::{
    BOT_USER_ID, FakeAttachment, FakeDiscord, FakeMessage, GUILD_ID, SentMessage,
};
use twilight_gateway::queue::InMemoryQueue;
use twilight_gateway::{
    ConfigBuilder, Event, EventTypeFlags, Intents, Shard, ShardId, ShardState, StreamExt as _,
};
use twilight_http::Client;
use twilight_model::channel::message::AllowedMentions;
use twilight_model::id::Id;

const CHANNEL: u64 = 500;

const WANTED: EventTypeFlags = EventTypeFlags::READY
    .union(EventTypeFlags::RESUMED)
    .union(EventTypeFlags::MESSAGE_CREATE);

fn shard(fake: &FakeDiscord, token: &str) -> Shard {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = ConfigBuilder::new(
        token.to_owned(),
        Intents::GUILD_MESSAGES | Intents::MESSAGE_CONTENT,
    )
    .proxy_url(fake.gateway_url())
    .queue(InMemoryQueue::new(0, 0, Duration::ZERO, 0))
    .build();
    Shard::with_config(ShardId::ONE, config)
}

fn http(fake: &FakeDiscord, token: &str) -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .token(token.to_owned())
        .proxy(fake.api_addr().to_string(), true)
        .build()
}

/// The next event the shard delivers; connection errors and closes before a reconnect (both
/// twilight's business) are skipped. The timeout only bounds a broken test.
async fn next_event(shard: &mut Shard) -> Event {
    let next = async {
        loop {
            match shard.next_event(WANTED).await {
                Some(Ok(Event::GatewayClose(_)) | Err(_)) => continue,
                Some(Ok(event)) => return event,
                None => panic!("the shard stopped"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), next)
        .await
        .expect("an event within 10 s")
}

async fn connected(fake: &FakeDiscord) -> Shard {
    let mut shard = shard(fake, fake.token());
    let Event::Ready(ready) = next_event(&mut shard).await else {
        panic!("READY first");
    };
    assert_eq!(ready.user.id.get(), BOT_USER_ID);
    shard
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_read_as_twilight_models_with_member_roles_and_attachments() {
    let fake = FakeDiscord::start().await.unwrap();
    let mut shard = connected(&fake).await;

    let sent = fake.send_message(
        FakeMessage::new(CHANNEL, 42, "dana", "!plan d NVDA")
            .nick("Dana (Coach D)")
            .roles(&[77])
            .attach(FakeAttachment::png("one.png"))
            .attach(FakeAttachment::pdf("notes.pdf")),
    );
    let Event::MessageCreate(message) = next_event(&mut shard).await else {
        panic!("MESSAGE_CREATE");
    };
    assert_eq!(message.id.get(), sent);
    assert_eq!(message.channel_id.get(), CHANNEL);
    assert_eq!(message.guild_id.map(Id::get), Some(GUILD_ID));
    assert_eq!((message.author.id.get(), message.author.bot), (42, false));
    assert_eq!(message.content, "!plan d NVDA");
    let member = message.member.as_ref().unwrap();
    assert_eq!(member.nick.as_deref(), Some("Dana (Coach D)"));
    assert_eq!(member.roles, [Id::new(77)]);
    let files: Vec<_> = message
        .attachments
        .iter()
        .map(|a| (a.filename.as_str(), a.content_type.as_deref()))
        .collect();
    assert_eq!(
        files,
        [
            ("one.png", Some("image/png")),
            ("notes.pdf", Some("application/pdf"))
        ]
    );
    let url = &message.attachments[0].url;
    assert!(
        url.starts_with("https://cdn.discordapp.com/attachments/500/") && url.contains("?ex="),
        "{url}"
    );

    fake.send_message(FakeMessage::new(CHANNEL, 43, "hook", "hi").from_webhook(7));
    let Event::MessageCreate(message) = next_event(&mut shard).await else {
        panic!("MESSAGE_CREATE");
    };
    assert_eq!(message.webhook_id.map(Id::get), Some(7));
    assert!(message.member.is_none(), "webhook messages carry no member");

    fake.send_message(FakeMessage::new(CHANNEL, 44, "other-bot", "!play").from_bot());
    let Event::MessageCreate(message) = next_event(&mut shard).await else {
        panic!("MESSAGE_CREATE");
    };
    assert!(message.author.bot);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_dropped_connection_the_shard_resumes_and_gets_what_it_missed() {
    let fake = FakeDiscord::start().await.unwrap();
    let mut shard = connected(&fake).await;
    fake.drop_connection();
    let sent = fake.send_message(FakeMessage::new(CHANNEL, 42, "dana", "sent while away"));
    // As on Discord: the missed dispatches first, then RESUMED.
    let Event::MessageCreate(message) = next_event(&mut shard).await else {
        panic!("the missed MESSAGE_CREATE");
    };
    assert_eq!(message.id.get(), sent);
    assert!(matches!(next_event(&mut shard).await, Event::Resumed));
    let seen = fake.seen();
    assert_eq!((seen.readies, seen.resumes), (1, 1), "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_invalidated_for_good_starts_anew_and_only_history_has_what_was_missed() {
    let fake = FakeDiscord::start().await.unwrap();
    let mut shard = connected(&fake).await;
    let before = fake.send_message(FakeMessage::new(CHANNEL, 42, "dana", "before"));
    assert!(matches!(
        next_event(&mut shard).await,
        Event::MessageCreate(_)
    ));
    let missed = [
        fake.add_missed_message(FakeMessage::new(CHANNEL, 42, "dana", "missed one")),
        fake.add_missed_message(FakeMessage::new(CHANNEL + 1, 42, "dana", "elsewhere")),
        fake.add_missed_message(FakeMessage::new(CHANNEL, 43, "eve", "missed two")),
    ];
    fake.invalidate_session(false);
    assert!(
        matches!(next_event(&mut shard).await, Event::Ready(_)),
        "a new session, not a resume"
    );

    let history = http(&fake, fake.token())
        .channel_messages(Id::new(CHANNEL))
        .after(Id::new(before))
        .limit(100)
        .await
        .unwrap()
        .models()
        .await
        .unwrap();
    let ids: Vec<u64> = history.iter().map(|m| m.id.get()).collect();
    assert_eq!(ids, [missed[2], missed[0]], "this channel's, newest first");
    assert_eq!(history[0].content, "missed two");
    assert_eq!(fake.seen().readies, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posted_messages_are_recorded_with_what_they_reply_to_and_whether_they_may_ping() {
    let fake = FakeDiscord::start().await.unwrap();
    fake.set_channel_name(CHANNEL, Some("trading"));
    let http = http(&fake, fake.token());
    let channel = http.channel(Id::new(CHANNEL)).await.unwrap().model().await;
    assert_eq!(channel.unwrap().name.as_deref(), Some("trading"));

    let no_pings = AllowedMentions::default();
    http.create_message(Id::new(CHANNEL))
        .content("quiet reply")
        .allowed_mentions(Some(&no_pings))
        .reply(Id::new(1_234))
        .await
        .unwrap();
    http.create_message(Id::new(CHANNEL + 1))
        .content("loud")
        .await
        .unwrap();
    let posted = fake.wait_for_messages(2).await.unwrap();
    assert_eq!(
        posted,
        [
            SentMessage {
                channel_id: CHANNEL,
                content: "quiet reply".into(),
                reply_to: Some(1_234),
                may_mention: false,
            },
            SentMessage {
                channel_id: CHANNEL + 1,
                content: "loud".into(),
                reply_to: None,
                may_mention: true,
            },
        ]
    );
    assert!(fake.seen().requests.iter().all(|r| r.authorized));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_gets_401_from_rest_and_close_code_4004_from_the_gateway() {
    let fake = FakeDiscord::builder()
        .token("the-right-token")
        .start()
        .await
        .unwrap();
    assert!(
        http(&fake, "a-wrong-token")
            .gateway()
            .authed()
            .await
            .is_err()
    );
    let seen = fake.seen();
    assert_eq!(seen.requests.len(), 1);
    assert!(!seen.requests[0].authorized);
    assert_eq!(seen.requests[0].path, "/api/v10/gateway/bot");

    let mut shard = shard(&fake, "a-wrong-token");
    assert_eq!(fatal_close(&mut shard).await, 4004);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_message_content_intent_an_identify_asking_for_it_is_closed_with_4014() {
    let fake = FakeDiscord::builder()
        .message_content_intent(false)
        .start()
        .await
        .unwrap();
    let mut shard = shard(&fake, fake.token());
    assert_eq!(fatal_close(&mut shard).await, 4014);
    assert_eq!(fake.seen().readies, 0);
}

/// The close code of the close that ends the shard for good.
async fn fatal_close(shard: &mut Shard) -> u16 {
    let closed = async {
        loop {
            match shard.next_event(EventTypeFlags::empty()).await {
                Some(Ok(Event::GatewayClose(frame))) => {
                    assert_eq!(shard.state(), ShardState::FatallyClosed);
                    return frame.unwrap().code;
                }
                Some(_) => continue,
                None => panic!("the shard stopped without a close frame"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), closed)
        .await
        .expect("closed within 10 s")
}
