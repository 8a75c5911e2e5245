//! The service's rules, exercised through its public API over the in-memory store.
// Test helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use coach_plans_model::wire::LegacyExport;
use coach_plans_model::{
    Attachment, Channel, ChannelId, CoachId, HistoryAction, MessageId, PlanDate, PlanText, RoleId,
    Roster, UserId,
};
use coach_plans_service::{
    Action, Actor, Allowed, FixedClock, ImportError, InvalidRequest, Missing, NewPost, PlanEdit,
    PlanQuery, PlanRef, PlanService, ServiceError, ServiceSettings,
};
use coach_plans_storage::testing::{Call, FaultyStore};
use coach_plans_storage::{MemoryStore, PlanStore};

const ADMIN_ROLE: u64 = 900;

struct World {
    service: PlanService,
    clock: Arc<FixedClock>,
    store: Arc<MemoryStore>,
}

fn world_with(settings: ServiceSettings) -> World {
    // 02:30 UTC on 11 May is still 10 May in New York.
    let clock = Arc::new(FixedClock::new("2024-05-11T02:30:00Z".parse().unwrap()));
    let store = Arc::new(MemoryStore::new());
    let service = PlanService::with_clock(store.clone(), settings, clock.clone());
    World {
        service,
        clock,
        store,
    }
}

fn world() -> World {
    world_with(ServiceSettings {
        admin_user_ids: vec![UserId::new(1).unwrap()],
        admin_role_ids: vec![RoleId::new(ADMIN_ROLE).unwrap()],
        ..ServiceSettings::default()
    })
}

fn user(id: u64, name: &str) -> Actor {
    Actor::new(UserId::new(id).unwrap(), name)
}

fn dana() -> Actor {
    user(42, "dana")
}

fn coach(id: &str) -> CoachId {
    CoachId::parse(id).unwrap()
}

fn date(s: &str) -> PlanDate {
    PlanDate::parse(s).unwrap()
}

fn image(name: &str) -> Attachment {
    Attachment {
        url: format!("https://cdn.discordapp.com/attachments/1/2/{name}"),
        filename: name.to_owned(),
        content_type: Some("image/png".to_owned()),
        size: Some(2048),
    }
}

fn pdf(name: &str) -> Attachment {
    Attachment {
        content_type: Some("application/pdf".to_owned()),
        ..image(name)
    }
}

fn post(coach_id: &str, text: &str, attachments: Vec<Attachment>) -> NewPost {
    NewPost {
        coach: coach(coach_id),
        date: None,
        text: PlanText::parse(text).unwrap(),
        attachments,
        channel: Channel {
            id: ChannelId::new(77),
            name: Some("day-trading".to_owned()),
        },
        message_id: MessageId::new(1000),
    }
}

fn edit(target: PlanRef, text: &str, attachments: Vec<Attachment>) -> PlanEdit {
    PlanEdit {
        target,
        text: PlanText::parse(text).unwrap(),
        attachments,
        message_id: None,
    }
}

fn today_d() -> PlanRef {
    PlanRef::CoachDate(coach("d"), None)
}

#[tokio::test]
async fn a_plan_posted_without_a_date_is_for_today_in_new_york() {
    let w = world();
    let saved = w
        .service
        .post_plan(&dana(), post("d", "NVDA above 950, stop 920", vec![]))
        .await
        .unwrap();
    assert_eq!(saved.plan.date, date("2024-05-10"));
    assert!(!saved.replaced);
    assert_eq!(saved.plan.author.name, "dana");
    assert_eq!(
        saved.plan.created_at.as_str(),
        "2024-05-11T02:30:00.000000+00:00"
    );
    assert_eq!(saved.plan.edited_at, None);
    let found = w
        .service
        .plan(&coach("d"), date("2024-05-10"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, saved.plan);
}

#[tokio::test]
async fn today_follows_the_configured_time_zone() {
    let w = world_with(ServiceSettings {
        timezone: jiff::tz::TimeZone::UTC,
        ..ServiceSettings::default()
    });
    assert_eq!(w.service.today(), date("2024-05-11"));
    w.clock.set("2024-12-31T23:59:59Z".parse().unwrap());
    assert_eq!(w.service.today(), date("2024-12-31"));
}

#[tokio::test]
async fn an_unknown_coach_is_refused_naming_the_valid_ones() {
    let w = world();
    let err = w
        .service
        .post_plan(&dana(), post("x", "text", vec![]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::Invalid(InvalidRequest::UnknownCoach(_))),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "unknown coach 'x'; valid coaches: d, i, s, n"
    );
    assert!(
        w.service
            .plan(&coach("x"), date("2024-05-10"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn eleven_images_are_refused_and_nothing_is_stored() {
    let w = world();
    let images = (0..11).map(|i| image(&format!("c{i}.png"))).collect();
    let err = w
        .service
        .post_plan(&dana(), post("d", "text", images))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "11 chart images attached; at most 10 are allowed"
    );
    assert_eq!(
        w.service
            .plan(&coach("d"), date("2024-05-10"))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn non_image_attachments_are_skipped_by_name_and_images_kept_in_order() {
    let w = world();
    let saved = w
        .service
        .post_plan(
            &dana(),
            post(
                "d",
                "text",
                vec![image("one.png"), pdf("notes.pdf"), image("two.png")],
            ),
        )
        .await
        .unwrap();
    let names: Vec<_> = saved
        .plan
        .charts
        .iter()
        .map(|c| (c.filename().unwrap(), c.position()))
        .collect();
    assert_eq!(names, [("one.png", 0), ("two.png", 1)]);
    assert_eq!(saved.skipped.len(), 1);
    assert_eq!(saved.skipped[0].filename, "notes.pdf");
    assert_eq!(
        saved.skipped[0].reason.to_string(),
        "'notes.pdf' is not an image (png, jpg, gif or webp)"
    );
}

#[tokio::test]
async fn a_second_post_by_the_author_replaces_the_plan_and_keeps_the_old_version() {
    let w = world();
    let first = w
        .service
        .post_plan(&dana(), post("d", "first", vec![image("a.png")]))
        .await
        .unwrap()
        .plan;
    w.clock.set("2024-05-11T03:00:00Z".parse().unwrap());
    let second = w
        .service
        .post_plan(&dana(), post("d", "second", vec![]))
        .await
        .unwrap();
    assert!(second.replaced);
    assert_eq!(
        second.plan.id, first.id,
        "the id is stable across replacements"
    );
    assert_eq!(second.plan.text.as_str(), "second");
    assert!(
        second.plan.charts.is_empty(),
        "a replacement replaces the charts too"
    );
    assert_eq!(second.plan.created_at, first.created_at);
    assert_eq!(
        second.plan.edited_at.unwrap().as_str(),
        "2024-05-11T03:00:00.000000+00:00"
    );
    let history = w.service.history(today_d()).await.unwrap().history;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].action, HistoryAction::Replace);
    assert_eq!(history[0].text.as_str(), "first");
    assert_eq!(history[0].charts.as_ref().unwrap().len(), 1);
}

#[tokio::test]
async fn another_user_may_not_replace_edit_or_delete_a_plan() {
    let w = world();
    w.service
        .post_plan(&dana(), post("d", "mine", vec![]))
        .await
        .unwrap();
    let mallory = user(666, "dana"); // same display name, different person
    let refusals = [
        w.service
            .post_plan(&mallory, post("d", "theirs", vec![]))
            .await
            .unwrap_err(),
        w.service
            .edit_plan(&mallory, edit(today_d(), "theirs", vec![]))
            .await
            .unwrap_err(),
        w.service
            .delete_plan(&mallory, today_d())
            .await
            .unwrap_err(),
    ];
    for (err, action) in refusals
        .iter()
        .zip([Action::Replace, Action::Edit, Action::Delete])
    {
        match err {
            ServiceError::Forbidden(f) => {
                assert_eq!(f.action, action);
                assert_eq!(
                    f.allowed,
                    Allowed::AuthorOrAdmin {
                        author: "dana".to_owned()
                    }
                );
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    let plan = w
        .service
        .plan(&coach("d"), date("2024-05-10"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(plan.text.as_str(), "mine", "nothing changed");
    assert!(
        w.service
            .history(today_d())
            .await
            .unwrap()
            .history
            .is_empty()
    );
}

#[tokio::test]
async fn the_author_and_admins_by_id_or_role_may_change_a_plan() {
    let w = world();
    w.service
        .post_plan(&dana(), post("d", "v1", vec![]))
        .await
        .unwrap();
    w.service
        .edit_plan(&dana(), edit(today_d(), "v2", vec![]))
        .await
        .unwrap();
    let admin_by_id = user(1, "root");
    w.service
        .edit_plan(&admin_by_id, edit(today_d(), "v3", vec![]))
        .await
        .unwrap();
    let admin_by_role = Actor {
        role_ids: vec![RoleId::new(ADMIN_ROLE).unwrap()],
        ..user(5, "mod")
    };
    let replaced = w
        .service
        .post_plan(&admin_by_role, post("d", "v4", vec![]))
        .await
        .unwrap();
    assert!(replaced.replaced);
    assert_eq!(
        replaced.plan.author.name, "dana",
        "the author stays the original poster"
    );
    w.service
        .delete_plan(&admin_by_role, today_d())
        .await
        .unwrap();
    let history = w.service.history(today_d()).await.unwrap().history;
    let summary: Vec<_> = history
        .iter()
        .map(|h| (h.action, h.text.as_str(), h.by.name.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (HistoryAction::Delete, "v4", "mod"),
            (HistoryAction::Replace, "v3", "mod"),
            (HistoryAction::Edit, "v2", "root"),
            (HistoryAction::Edit, "v1", "dana"),
        ]
    );
}

#[tokio::test]
async fn an_edit_keeps_charts_unless_it_brings_images() {
    let w = world();
    let plan = w
        .service
        .post_plan(&dana(), post("d", "v1", vec![image("a.png")]))
        .await
        .unwrap()
        .plan;
    let by_id = PlanRef::Id(plan.id);
    let kept = w
        .service
        .edit_plan(&dana(), edit(by_id.clone(), "v2", vec![pdf("x.pdf")]))
        .await
        .unwrap();
    assert_eq!(
        kept.plan.charts.len(),
        1,
        "a PDF alone does not wipe the charts"
    );
    assert_eq!(kept.skipped.len(), 1);
    let replaced = w
        .service
        .edit_plan(
            &dana(),
            edit(by_id, "v3", vec![image("b.png"), image("c.png")]),
        )
        .await
        .unwrap();
    let names: Vec<_> = replaced
        .plan
        .charts
        .iter()
        .map(|c| c.filename().unwrap())
        .collect();
    assert_eq!(names, ["b.png", "c.png"]);
    assert_eq!(replaced.plan.created_at, plan.created_at);
}

#[tokio::test]
async fn a_deleted_plan_can_be_posted_again_and_keeps_its_history() {
    let w = world();
    let first = w
        .service
        .post_plan(&dana(), post("d", "first", vec![]))
        .await
        .unwrap()
        .plan;
    let deleted = w.service.delete_plan(&dana(), today_d()).await.unwrap();
    assert_eq!(deleted.id, first.id);
    assert_eq!(
        w.service
            .plan(&coach("d"), date("2024-05-10"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        w.service.plan_by_id(first.id).await.unwrap(),
        None,
        "deleted plans are not served"
    );
    let history = w.service.history(today_d()).await.unwrap();
    assert_eq!(history.plan.id, first.id);
    assert_eq!(history.history[0].action, HistoryAction::Delete);

    let again = w
        .service
        .post_plan(&user(7, "ivan"), post("d", "again", vec![]))
        .await
        .unwrap();
    assert!(!again.replaced);
    assert_ne!(again.plan.id, first.id);
    assert_eq!(
        w.service
            .history(PlanRef::Id(first.id))
            .await
            .unwrap()
            .history
            .len(),
        1
    );
}

#[tokio::test]
async fn changing_a_missing_plan_says_it_is_missing() {
    let w = world();
    let err = w
        .service
        .edit_plan(&dana(), edit(today_d(), "x", vec![]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::NotFound(Missing::ForCoachDate { .. })),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "no plan for d on 2024-05-10");
    let id = "12345".parse().unwrap();
    let err = w
        .service
        .delete_plan(&dana(), PlanRef::Id(id))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "no plan with id 12345");
}

#[tokio::test]
async fn restricted_coaches_take_posts_from_listed_users_roles_and_admins_only() {
    let mut roster: Vec<_> = Roster::default().coaches().to_vec();
    roster[0].poster_user_ids = vec![UserId::new(42).unwrap()];
    roster[0].poster_role_ids = vec![RoleId::new(500).unwrap()];
    let w = world_with(ServiceSettings {
        roster: Roster::new(roster).unwrap(),
        admin_user_ids: vec![UserId::new(1).unwrap()],
        ..ServiceSettings::default()
    });
    let err = w
        .service
        .post_plan(&user(9, "eve"), post("d", "x", vec![]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::Forbidden(ref f) if f.action == Action::Post),
        "{err:?}"
    );
    w.service
        .post_plan(
            &user(9, "eve"),
            post("i", "other coaches stay open", vec![]),
        )
        .await
        .unwrap();
    w.service
        .post_plan(&dana(), post("d", "listed user", vec![]))
        .await
        .unwrap();
    let member = Actor {
        role_ids: vec![RoleId::new(500).unwrap()],
        ..user(10, "sam")
    };
    w.service.delete_plan(&dana(), today_d()).await.unwrap();
    w.service
        .post_plan(&member, post("d", "listed role", vec![]))
        .await
        .unwrap();
    w.service.delete_plan(&member, today_d()).await.unwrap();
    w.service
        .post_plan(&user(1, "root"), post("d", "admin", vec![]))
        .await
        .unwrap();
}

#[tokio::test]
async fn listings_by_date_and_author_come_in_roster_order() {
    let w = world();
    for (c, who) in [("n", dana()), ("d", user(7, "ivan")), ("s", dana())] {
        w.service
            .post_plan(&who, post(c, &format!("plan {c}"), vec![]))
            .await
            .unwrap();
    }
    let on_date = w.service.plans_on(date("2024-05-10")).await.unwrap();
    let coaches: Vec<_> = on_date.iter().map(|p| p.coach.as_str()).collect();
    assert_eq!(coaches, ["d", "s", "n"]);
    let mine = w
        .service
        .plans_by_author(&dana(), date("2024-05-10"))
        .await
        .unwrap();
    let coaches: Vec<_> = mine.iter().map(|p| p.coach.as_str()).collect();
    assert_eq!(coaches, ["s", "n"]);
    assert!(
        w.service
            .plans_on(date("2024-05-09"))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn pages_follow_each_other_without_gaps_or_repeats() {
    let w = world();
    let mut day = date("2024-01-01");
    for _ in 0..7 {
        let mut p = post("d", "daily", vec![]);
        p.date = Some(day);
        w.service.post_plan(&dana(), p).await.unwrap();
        day = day.checked_add_days(1).unwrap();
    }
    let mut seen = Vec::new();
    let mut query = PlanQuery {
        coach: None,
        author: None,
        from: None,
        to: None,
        after: None,
        limit: 3,
    };
    loop {
        let page = w.service.list_plans(query.clone()).await.unwrap();
        seen.extend(page.plans.iter().map(|p| p.date.to_string()));
        match page.next {
            Some(cursor) => query.after = Some(cursor),
            None => break,
        }
    }
    let expected: Vec<_> = (1..=7).rev().map(|d| format!("2024-01-0{d}")).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn stats_follow_every_change() {
    let w = world();
    assert_eq!(w.service.stats().await.unwrap().live_plans, 0);
    let before = w.service.generation();
    w.service
        .post_plan(
            &dana(),
            post("d", "x", vec![image("a.png"), image("b.png")]),
        )
        .await
        .unwrap();
    assert_ne!(w.service.generation(), before);
    let stats = w.service.stats().await.unwrap();
    assert_eq!(
        (stats.live_plans, stats.live_charts, stats.history_entries),
        (1, 2, 0)
    );
    assert_eq!(stats.latest_plan_date, Some(date("2024-05-10")));
    w.service
        .edit_plan(&dana(), edit(today_d(), "y", vec![]))
        .await
        .unwrap();
    assert_eq!(w.service.stats().await.unwrap().history_entries, 1);
    w.service.delete_plan(&dana(), today_d()).await.unwrap();
    let stats = w.service.stats().await.unwrap();
    assert_eq!(
        (stats.live_plans, stats.live_charts, stats.history_entries),
        (0, 0, 2)
    );
}

fn fixture_export() -> LegacyExport {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/legacy-memory-export.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn the_python_memory_export_imports_once_with_authors_matched_by_name() {
    let w = world();
    let export = fixture_export();
    let preview = w.service.preview_legacy_import(&export).await.unwrap();
    assert_eq!(preview.new.len(), 4);
    let report = w.service.import_legacy(&export).await.unwrap();
    assert_eq!((report.imported, report.already_present), (4, 0));
    let again = w.service.import_legacy(&export).await.unwrap();
    assert_eq!((again.imported, again.already_present), (0, 4));

    let plan = w
        .service
        .plan(&coach("d"), date("2024-05-10"))
        .await
        .unwrap()
        .unwrap();
    let record = &export["coach_d_2024-05-10"];
    assert_eq!(plan.text.as_str(), record.plan);
    assert_eq!(plan.author.name, record.author);
    assert_eq!(plan.author.id, None);
    assert_eq!(
        plan.created_at.as_str(),
        record.timestamp,
        "naive timestamps are kept as they were"
    );
    let urls: Vec<_> = plan.charts.iter().map(|c| c.url()).collect();
    assert_eq!(
        urls,
        record.charts.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(plan.channel.name.as_deref(), Some("day-trading"));

    // A legacy author has no id, so the name decides.
    let mut legacy_author = user(31, "coach_dana");
    let target = PlanRef::CoachDate(coach("d"), Some(date("2024-05-10")));
    w.service
        .edit_plan(&legacy_author, edit(target.clone(), "edited", vec![]))
        .await
        .unwrap();
    legacy_author.name = "someone else".to_owned();
    assert!(
        w.service
            .edit_plan(&legacy_author, edit(target, "again", vec![]))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_malformed_export_names_the_record_and_changes_nothing() {
    let w = world();
    let mut export = fixture_export();
    let mut bad = export["coach_i_2024-05-10"].clone();
    bad.plan = "   ".to_owned();
    export.insert("coach_i_2024-05-11".to_owned(), bad);
    let err = w.service.import_legacy(&export).await.unwrap_err();
    assert!(
        matches!(err, ImportError::InvalidRecord { ref key, .. } if key == "coach_i_2024-05-11"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "record 'coach_i_2024-05-11' is invalid: the plan text is empty; nothing was imported"
    );
    assert_eq!(w.service.stats().await.unwrap().live_plans, 0);

    let mut export = fixture_export();
    let record = export["coach_i_2024-05-10"].clone();
    export.insert("coach_x_2024-05-10".to_owned(), record);
    let err = w.service.import_legacy(&export).await.unwrap_err();
    assert!(err.to_string().contains("coach_x_2024-05-10"), "{err}");
}

#[tokio::test]
async fn an_import_conflicting_with_a_stored_plan_changes_nothing() {
    let w = world();
    let mut p = post("d", "a different plan", vec![]);
    p.date = Some(date("2024-05-10"));
    w.service.post_plan(&dana(), p).await.unwrap();
    let err = w
        .service
        .import_legacy(&fixture_export())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ImportError::Conflict { ref key } if key == "coach_d_2024-05-10"),
        "{err:?}"
    );
    assert_eq!(w.store.stats().unwrap().live_plans, 1);
}

#[tokio::test(flavor = "current_thread")]
async fn a_slow_store_call_does_not_stall_the_async_runtime() {
    // Lookups wait for a signal that only another task on the same runtime sends: if store
    // calls ran on the runtime's thread, the signal could never be sent.
    let (open_gate, gate) = std::sync::mpsc::channel();
    let gate = std::sync::Mutex::new(gate);
    let store = Arc::new(FaultyStore::new());
    store.before_each(move |call| {
        if call == Call::LivePlan {
            gate.lock()
                .unwrap()
                .recv_timeout(std::time::Duration::from_secs(10))
                .map_err(|e| coach_plans_storage::StoreError::Other(Box::new(e)))?;
        }
        Ok(())
    });
    let service = PlanService::new(store, ServiceSettings::default());
    let lookup = tokio::spawn({
        let service = service.clone();
        async move { service.plan(&coach("d"), date("2024-05-10")).await }
    });
    // This task runs on the runtime's only thread while the lookup is blocked in the store.
    tokio::task::yield_now().await;
    open_gate.send(()).unwrap();
    let found = lookup.await.unwrap();
    assert_eq!(
        found.unwrap(),
        None,
        "the lookup completed once the other task opened the gate"
    );
}
