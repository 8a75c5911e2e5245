//! The Discord bot's delivery log in PostgreSQL beyond the shared contract: it survives
//! reopening, a database at schema version 1 gains it without losing plans, two bots recording
//! one message at once are told once, and the fallback says when the database is away.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Barrier};

use coach_plans_model::{
    Author, Channel, ChannelId, CoachId, MessageId, PlanDate, PlanId, PlanText, Timestamp, UserId,
};
use coach_plans_postgres::PostgresStore;
use coach_plans_postgres::testing::TestDatabase;
use coach_plans_storage::{Delivery, DeliveryLog, NewPlan, OnlyTheAuthor, PlanStore, StoreError};

fn delivery(message: u64, content: &str) -> Delivery {
    Delivery {
        message: MessageId::new(message).unwrap(),
        channel: ChannelId::new(500).unwrap(),
        author: UserId::new(42).unwrap(),
        plan: PlanId::new(7),
        content: content.to_owned(),
    }
}

#[test]
fn the_delivery_log_survives_reopening() {
    let db = TestDatabase::create();
    let posted = delivery(1_300_000_000_000_000_001, "!plan d NVDA above 950");
    {
        let (store, _) = PostgresStore::open(&db.config()).unwrap();
        assert!(store.record(&posted).unwrap());
    }
    let (store, report) = PostgresStore::open(&db.config()).unwrap();
    assert!(report.applied.is_empty(), "{report:?}");
    assert_eq!(
        store.delivery(posted.message).unwrap(),
        Some(posted.clone())
    );
    assert!(
        !store.record(&posted).unwrap(),
        "recorded once, across restarts"
    );
    assert_eq!(
        store.cursors().unwrap(),
        vec![(posted.channel, posted.message)]
    );
}

#[test]
fn a_database_at_version_1_gains_the_delivery_log_and_keeps_its_plans() {
    let db = TestDatabase::create();
    let plan = {
        let (store, _) = PostgresStore::open(&db.config()).unwrap();
        store
            .create_plan(NewPlan {
                coach: CoachId::parse("d").unwrap(),
                date: PlanDate::parse("2024-05-10").unwrap(),
                text: PlanText::parse("SPY holding 520").unwrap(),
                author: Author::new(UserId::new(42).unwrap(), "dana"),
                channel: Channel::default(),
                message_id: None,
                created_at: Timestamp::parse("2024-05-10T12:00:00.000000+00:00").unwrap(),
                edited_at: None,
                charts: vec![],
            })
            .unwrap()
    };
    // What a build that knew only migration 1 left behind.
    db.execute(
        "DROP TABLE discord_deliveries, discord_cursors, chart_blobs;
         DROP FUNCTION notify_plans_changed CASCADE;
         DELETE FROM schema_version WHERE version >= 2",
    );
    let status = PostgresStore::inspect(&db.config()).unwrap();
    assert_eq!(status.version, Some(1));
    let pending: Vec<i64> = status.pending.iter().map(|(v, _)| *v).collect();
    assert_eq!(pending, [2, 3, 4]);

    let (store, report) = PostgresStore::open(&db.config()).unwrap();
    assert_eq!((report.before, report.after), (Some(1), 4));
    assert_eq!(report.applied, [2, 3, 4]);
    assert_eq!(store.plan(plan.id).unwrap(), Some(plan));
    let posted = delivery(30, "!plan d SPY holding 520");
    assert!(store.record(&posted).unwrap());
    assert_eq!(store.delivery(posted.message).unwrap(), Some(posted));
}

#[test]
fn of_two_bots_recording_one_message_at_once_one_is_told_it_recorded_it() {
    let db = TestDatabase::create();
    let (store, _) = PostgresStore::open(&db.config()).unwrap();
    let store = Arc::new(store);
    for round in 0..20_u64 {
        let message = 1_000 + round;
        let start = Arc::new(Barrier::new(2));
        let bots: Vec<_> = (0..2)
            .map(|bot| {
                let (store, start) = (Arc::clone(&store), Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    store.record(&delivery(message, &format!("!plan d from bot {bot}")))
                })
            })
            .collect();
        let told: Vec<bool> = bots
            .into_iter()
            .map(|b| b.join().unwrap().unwrap())
            .collect();
        assert_eq!(
            told.iter().filter(|recorded| **recorded).count(),
            1,
            "message {message}: {told:?}"
        );
        let kept = store
            .delivery(MessageId::new(message).unwrap())
            .unwrap()
            .unwrap();
        let winner = told.iter().position(|recorded| *recorded).unwrap();
        assert_eq!(kept.content, format!("!plan d from bot {winner}"));
    }
    assert_eq!(
        store.cursors().unwrap(),
        vec![(ChannelId::new(500).unwrap(), MessageId::new(1_019).unwrap())]
    );
}

#[test]
fn behind_the_fallback_a_database_that_cannot_be_reached_answers_unavailable() {
    let db = TestDatabase::create();
    // A port nobody listens on any more: the connection is refused at once.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let config = coach_plans_config::DatabaseConfig {
        url: Some(coach_plans_config::DatabaseUrl::new(
            db.url_through(&format!("127.0.0.1:{port}")),
        )),
        state_dir: Some(dir.path().to_owned()),
        ..db.config()
    };
    let store = coach_plans_postgres::open_resilient(&config, Arc::new(OnlyTheAuthor)).unwrap();
    let error = store
        .record(&delivery(30, "!plan d while down"))
        .unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    assert!(matches!(
        store.cursors().unwrap_err(),
        StoreError::Unavailable(_)
    ));
    drop(store);
}
