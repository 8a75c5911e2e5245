//! The contract every [`PlanStore`] meets: one case per behaviour, run by each store's tests
//! through [`contract_tests!`](crate::contract_tests) (feature `contract`).
//!
//! Each case takes a fresh, empty store and panics when the store breaks the contract. The
//! in-memory store, the fallback around it, SQLite and the fallback around SQLite all run every
//! case; a new store adds one line to its tests:
//!
//! ```
//! # use coach_plans_storage::MemoryStore as MyStore;
//! coach_plans_storage::contract_tests!(MyStore::new());
//! # fn main() {}
//! ```
// A failed step is a failed test: the kit panics by design.
#![allow(clippy::unwrap_used)]

use coach_plans_model::wire::PageCursor;
use coach_plans_model::{
    ChartArchive, ChartId, ChartStatus, HistoryAction, ImageKind, Plan, PlanText, UserId,
};

use crate::testing::{chart, coach, date, new_plan, revision, ts, user};
use crate::{AuthorFilter, ChartCounts, ChartRef, PlanQuery, PlanStore, StoreError, sha256_of};

pub mod charts;
pub mod delivery;

/// What a contract case runs against: a store, alone or with something that must outlive it
/// (the temporary directory of its files), as `(store, guard)`; the store is dropped first.
pub trait Fixture {
    /// The store under test.
    fn store(&self) -> &dyn PlanStore;
}

impl<S: PlanStore> Fixture for S {
    fn store(&self) -> &dyn PlanStore {
        self
    }
}

impl<S: PlanStore, G> Fixture for (S, G) {
    fn store(&self) -> &dyn PlanStore {
        &self.0
    }
}

/// Expands to one `#[test]` per contract case, so a failure names the case. `$make` is an
/// expression evaluated afresh in each test, giving a [`Fixture`]: an empty store, or
/// `(store, guard)` when something must outlive the store.
///
/// ```
/// # use coach_plans_storage::MemoryStore as SqliteStore;
/// mod memory {
///     coach_plans_storage::contract_tests!(coach_plans_storage::MemoryStore::new());
/// }
/// mod sqlite {
///     coach_plans_storage::contract_tests!(super::fresh_sqlite());
/// }
///
/// /// A store whose files live in a temporary directory, dropped after the store.
/// fn fresh_sqlite() -> (SqliteStore, tempfile::TempDir) {
///     # let open = |_: &std::path::Path| SqliteStore::new();
///     let dir = tempfile::tempdir().unwrap();
///     let store = open(&dir.path().join("plans.db"));
///     (store, dir)
/// }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! contract_tests {
    ($make:expr $(,)?) => {
        $crate::__contract_tests! {
            { $make }
            a_created_plan_reads_back_identically,
            plans_with_no_charts_or_several_read_back_by_coach_and_date,
            a_second_live_plan_for_the_same_coach_and_date_conflicts,
            an_edit_keeps_id_and_created_at_and_records_the_previous_version,
            charts_change_only_when_a_revision_brings_them,
            a_deleted_plan_frees_its_coach_and_date,
            plans_for_lists_the_live_plan_first_then_deleted_ones_newest_first,
            changing_a_missing_or_deleted_plan_is_not_found,
            listings_filter_by_coach_author_and_date_range,
            keyset_pages_cover_every_plan_once_newest_first,
            stats_follow_every_kind_of_write,
            imports_are_idempotent_and_all_or_nothing,
            unicode_text_survives_a_round_trip,
            new_charts_are_pending_and_offered_oldest_first,
            an_archived_chart_reads_back_with_its_plan,
            failures_count_attempts_and_the_last_one_fails_the_chart,
            a_refreshed_link_reads_back_and_is_offered,
            a_deleted_plans_charts_are_not_offered,
            a_chart_replaced_by_an_edit_is_not_found,
            chart_counts_follow_archiving_edits_and_deletions,
            failed_charts_can_be_put_back_in_the_queue,
            charts_of_a_damaged_blob_go_back_in_the_queue,
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __contract_tests {
    ({ $make:expr } $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let fixture = $make;
                $crate::contract::$case($crate::contract::Fixture::store(&fixture));
            }
        )*
    };
}

/// A created plan reads back identically by id and by coach and date, charts in order.
pub fn a_created_plan_reads_back_identically(store: &dyn PlanStore) {
    let created = store
        .create_plan(new_plan("d", "2024-05-10", "NVDA above 950"))
        .unwrap();
    assert!(!created.deleted);
    assert_eq!(store.plan(created.id).unwrap().as_ref(), Some(&created));
    assert_eq!(
        store
            .live_plan(&coach("d"), date("2024-05-10"))
            .unwrap()
            .as_ref(),
        Some(&created)
    );
    assert_eq!(
        store.live_plan(&coach("i"), date("2024-05-10")).unwrap(),
        None
    );
    let names: Vec<_> = created
        .charts
        .iter()
        .map(|c| (c.filename().unwrap(), c.position()))
        .collect();
    assert_eq!(names, [("a.png", 0), ("b.png", 1)]);
}

/// A plan without charts reads back with none, one with three reads back with the three in order.
pub fn plans_with_no_charts_or_several_read_back_by_coach_and_date(store: &dyn PlanStore) {
    let mut bare = new_plan("d", "2024-05-10", "no charts");
    bare.charts.clear();
    let bare = store.create_plan(bare).unwrap();
    let mut three = new_plan("i", "2024-05-10", "three charts");
    three.charts = vec![chart("a.png", 0), chart("b.png", 1), chart("c.png", 2)];
    let three = store.create_plan(three).unwrap();
    let read = |c: &str| store.live_plan(&coach(c), date("2024-05-10")).unwrap();
    assert_eq!(read("d").as_ref(), Some(&bare));
    assert!(bare.charts.is_empty());
    assert_eq!(read("i").as_ref(), Some(&three));
    let names: Vec<_> = three.charts.iter().filter_map(|c| c.filename()).collect();
    assert_eq!(names, ["a.png", "b.png", "c.png"]);
}

/// A second live plan for the same coach and date is a conflict naming the first; other days and coaches are not.
pub fn a_second_live_plan_for_the_same_coach_and_date_conflicts(store: &dyn PlanStore) {
    let first = store
        .create_plan(new_plan("d", "2024-05-10", "one"))
        .unwrap();
    match store.create_plan(new_plan("d", "2024-05-10", "two")) {
        Err(StoreError::Conflict { existing, .. }) => assert_eq!(existing, first.id),
        other => panic!("expected a conflict, got {other:?}"),
    }
    store
        .create_plan(new_plan("d", "2024-05-11", "another day"))
        .unwrap();
    store
        .create_plan(new_plan("i", "2024-05-10", "another coach"))
        .unwrap();
}

/// An edit keeps the id and `created_at`, sets `edited_at`, and records the previous version.
pub fn an_edit_keeps_id_and_created_at_and_records_the_previous_version(store: &dyn PlanStore) {
    let created = store
        .create_plan(new_plan("d", "2024-05-10", "v1"))
        .unwrap();
    let at = "2024-05-10T13:00:00.000000+00:00";
    let edited = store
        .revise_plan(created.id, revision(HistoryAction::Edit, "v2", None, at))
        .unwrap();
    assert_eq!(
        (edited.id, &edited.created_at),
        (created.id, &created.created_at)
    );
    assert_eq!(edited.text.as_str(), "v2");
    assert_eq!(edited.edited_at, Some(ts(at)));
    assert_eq!(store.plan(created.id).unwrap().unwrap(), edited);
    let history = store.history(created.id).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].action, HistoryAction::Edit);
    assert_eq!(history[0].text.as_str(), "v1");
    assert_eq!(
        history[0].charts.as_deref(),
        Some(created.charts.as_slice())
    );
    assert_eq!(history[0].by, user(1, "admin"));
    assert_eq!(history[0].at, ts(at));
}

/// Charts change only when a revision brings them; history keeps the charts each version had.
pub fn charts_change_only_when_a_revision_brings_them(store: &dyn PlanStore) {
    let created = store
        .create_plan(new_plan("d", "2024-05-10", "v1"))
        .unwrap();
    let kept = store
        .revise_plan(
            created.id,
            revision(HistoryAction::Edit, "v2", None, "2024-05-10T13:00:00Z"),
        )
        .unwrap();
    assert_eq!(kept.charts, created.charts);
    let new_charts = vec![chart("c.png", 0)];
    let replaced = store
        .revise_plan(
            created.id,
            revision(
                HistoryAction::Replace,
                "v3",
                Some(new_charts.clone()),
                "2024-05-10T14:00:00Z",
            ),
        )
        .unwrap();
    assert_eq!(replaced.charts, new_charts);
    assert_eq!(store.plan(created.id).unwrap().unwrap().charts, new_charts);
    let emptied = store
        .revise_plan(
            created.id,
            revision(
                HistoryAction::Replace,
                "v4",
                Some(vec![]),
                "2024-05-10T15:00:00Z",
            ),
        )
        .unwrap();
    assert!(emptied.charts.is_empty());
    let history = store.history(created.id).unwrap();
    let actions: Vec<_> = history
        .iter()
        .map(|h| (h.action, h.text.as_str(), h.charts.as_ref().unwrap().len()))
        .collect();
    assert_eq!(
        actions,
        [
            (HistoryAction::Replace, "v3", 1),
            (HistoryAction::Replace, "v2", 2),
            (HistoryAction::Edit, "v1", 2)
        ]
    );
}

/// A deleted plan keeps its row and history and frees its coach and date for a new post.
pub fn a_deleted_plan_frees_its_coach_and_date(store: &dyn PlanStore) {
    let created = store
        .create_plan(new_plan("d", "2024-05-10", "v1"))
        .unwrap();
    let deleted = store
        .delete_plan(created.id, user(42, "dana"), ts("2024-05-10T16:00:00Z"))
        .unwrap();
    assert_eq!(deleted, created, "delete returns the plan as it was");
    assert_eq!(
        store.live_plan(&coach("d"), date("2024-05-10")).unwrap(),
        None
    );
    assert!(store.plan(created.id).unwrap().unwrap().deleted);
    let history = store.history(created.id).unwrap();
    assert_eq!(history[0].action, HistoryAction::Delete);
    assert_eq!(history[0].text.as_str(), "v1");
    let again = store
        .create_plan(new_plan("d", "2024-05-10", "posted again"))
        .unwrap();
    assert_ne!(again.id, created.id);
    assert!(again.id > created.id, "ids are never reused");
}

/// `plans_for` lists the live plan first, then deleted ones, newest first.
pub fn plans_for_lists_the_live_plan_first_then_deleted_ones_newest_first(store: &dyn PlanStore) {
    let first = store
        .create_plan(new_plan("d", "2024-05-10", "first"))
        .unwrap();
    store
        .delete_plan(first.id, user(42, "dana"), ts("2024-05-10T16:00:00Z"))
        .unwrap();
    let second = store
        .create_plan(new_plan("d", "2024-05-10", "second"))
        .unwrap();
    store
        .delete_plan(second.id, user(42, "dana"), ts("2024-05-10T17:00:00Z"))
        .unwrap();
    let ids: Vec<_> = store
        .plans_for(&coach("d"), date("2024-05-10"))
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, [second.id, first.id]);
    let live = store
        .create_plan(new_plan("d", "2024-05-10", "third"))
        .unwrap();
    let plans = store.plans_for(&coach("d"), date("2024-05-10")).unwrap();
    assert_eq!(
        plans.iter().map(|p| p.id).collect::<Vec<_>>(),
        [live.id, second.id, first.id]
    );
    assert!(!plans[0].deleted);
    assert!(
        store
            .plans_for(&coach("s"), date("2024-05-10"))
            .unwrap()
            .is_empty()
    );
}

/// Revising or deleting a missing or deleted plan is `NotFound`.
pub fn changing_a_missing_or_deleted_plan_is_not_found(store: &dyn PlanStore) {
    let missing = "999".parse().unwrap();
    let edit = || revision(HistoryAction::Edit, "x", None, "2024-05-10T13:00:00Z");
    assert!(
        matches!(store.revise_plan(missing, edit()), Err(StoreError::NotFound(id)) if id == missing)
    );
    assert!(matches!(
        store.delete_plan(missing, user(1, "a"), ts("2024-05-10T13:00:00Z")),
        Err(StoreError::NotFound(_))
    ));
    let created = store
        .create_plan(new_plan("d", "2024-05-10", "v1"))
        .unwrap();
    store
        .delete_plan(created.id, user(1, "a"), ts("2024-05-10T13:00:00Z"))
        .unwrap();
    assert!(matches!(
        store.revise_plan(created.id, edit()),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.delete_plan(created.id, user(1, "a"), ts("2024-05-10T13:00:00Z")),
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store.history(created.id).unwrap().len(),
        1,
        "failed changes leave no history"
    );
    assert!(store.history(missing).unwrap().is_empty());
    assert_eq!(store.plan(missing).unwrap(), None);
}

/// Listings filter by coach, author (id, name, person) and date range, newest first.
pub fn listings_filter_by_coach_author_and_date_range(store: &dyn PlanStore) {
    let mut legacy = new_plan("s", "2024-05-09", "legacy");
    legacy.author = coach_plans_model::Author::legacy("dana");
    store.create_plan(legacy).unwrap();
    store
        .create_plan(new_plan("d", "2024-05-10", "dana d"))
        .unwrap();
    let mut ivan = new_plan("i", "2024-05-10", "ivan i");
    ivan.author = user(7, "ivan");
    store.create_plan(ivan).unwrap();
    let deleted = store
        .create_plan(new_plan("n", "2024-05-10", "gone"))
        .unwrap();
    store
        .delete_plan(deleted.id, user(42, "dana"), ts("2024-05-10T13:00:00Z"))
        .unwrap();

    let list = |query: PlanQuery| -> Vec<String> {
        store
            .list_plans(&query)
            .unwrap()
            .iter()
            .map(|p| p.text.as_str().to_owned())
            .collect()
    };
    let all = PlanQuery {
        coach: None,
        author: None,
        from: None,
        to: None,
        after: None,
        limit: 100,
    };
    assert_eq!(
        list(all.clone()),
        ["ivan i", "dana d", "legacy"],
        "live only, newest first"
    );
    assert_eq!(
        list(PlanQuery {
            coach: Some(coach("d")),
            ..all.clone()
        }),
        ["dana d"]
    );
    assert_eq!(
        list(PlanQuery::on(date("2024-05-10"), 100)),
        ["ivan i", "dana d"]
    );
    assert_eq!(
        list(PlanQuery {
            from: Some(date("2024-05-10")),
            ..all.clone()
        }),
        ["ivan i", "dana d"]
    );
    assert_eq!(
        list(PlanQuery {
            to: Some(date("2024-05-09")),
            ..all.clone()
        }),
        ["legacy"]
    );
    let dana_id = UserId::new(42).unwrap();
    assert_eq!(
        list(PlanQuery {
            author: Some(AuthorFilter::Id(dana_id)),
            ..all.clone()
        }),
        ["dana d"]
    );
    assert_eq!(
        list(PlanQuery {
            author: Some(AuthorFilter::Name("dana".into())),
            ..all.clone()
        }),
        ["dana d", "legacy"]
    );
    let person = AuthorFilter::Person {
        id: dana_id,
        name: "dana".into(),
    };
    assert_eq!(
        list(PlanQuery {
            author: Some(person),
            ..all.clone()
        }),
        ["dana d", "legacy"]
    );
    let impostor = AuthorFilter::Person {
        id: UserId::new(99).unwrap(),
        name: "dana".into(),
    };
    assert_eq!(
        list(PlanQuery {
            author: Some(impostor),
            ..all.clone()
        }),
        ["legacy"],
        "a name matches legacy plans only"
    );
    assert_eq!(list(PlanQuery { limit: 1, ..all }), ["ivan i"]);
}

/// Keyset pages cover every live plan exactly once, newest first.
pub fn keyset_pages_cover_every_plan_once_newest_first(store: &dyn PlanStore) {
    let mut expected = Vec::new();
    for day in 1..=9 {
        for c in ["d", "i"] {
            let plan = store
                .create_plan(new_plan(c, &format!("2024-05-0{day}"), "p"))
                .unwrap();
            expected.push((plan.date, plan.id));
        }
    }
    expected.sort_by(|a, b| b.cmp(a));
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let query = PlanQuery {
            coach: None,
            author: None,
            from: None,
            to: None,
            after,
            limit: 4,
        };
        let page = store.list_plans(&query).unwrap();
        if page.is_empty() {
            break;
        }
        let last = page.last().unwrap();
        after = Some(PageCursor {
            date: last.date,
            id: last.id,
        });
        seen.extend(page.iter().map(|p| (p.date, p.id)));
    }
    assert_eq!(seen, expected);
}

/// Counts follow every kind of write.
pub fn stats_follow_every_kind_of_write(store: &dyn PlanStore) {
    let stats = |s: &dyn PlanStore| {
        let st = s.stats().unwrap();
        (
            st.live_plans,
            st.live_charts,
            st.history_entries,
            st.latest_plan_date.map(|d| d.to_string()),
        )
    };
    assert_eq!(stats(store), (0, 0, 0, None));
    let a = store.create_plan(new_plan("d", "2024-05-10", "a")).unwrap();
    let b = store.create_plan(new_plan("i", "2024-05-12", "b")).unwrap();
    assert_eq!(stats(store), (2, 4, 0, Some("2024-05-12".into())));
    store
        .revise_plan(
            a.id,
            revision(HistoryAction::Edit, "a2", None, "2024-05-10T13:00:00Z"),
        )
        .unwrap();
    assert_eq!(stats(store), (2, 4, 1, Some("2024-05-12".into())));
    store
        .revise_plan(
            a.id,
            revision(
                HistoryAction::Replace,
                "a3",
                Some(vec![chart("x.png", 0)]),
                "2024-05-10T14:00:00Z",
            ),
        )
        .unwrap();
    assert_eq!(stats(store), (2, 3, 2, Some("2024-05-12".into())));
    store
        .delete_plan(b.id, user(42, "dana"), ts("2024-05-10T15:00:00Z"))
        .unwrap();
    assert_eq!(stats(store), (1, 1, 3, Some("2024-05-10".into())));
    store
        .import_plans(&[new_plan("s", "2024-05-11", "imported")])
        .unwrap();
    assert_eq!(stats(store), (2, 3, 3, Some("2024-05-11".into())));
}

/// Imports skip identical plans, and a conflicting one fails the whole import.
pub fn imports_are_idempotent_and_all_or_nothing(store: &dyn PlanStore) {
    let mut edited = new_plan("i", "2024-05-10", "already edited once");
    edited.edited_at = Some(ts("2024-05-10T09:00:00.123456"));
    edited.author = coach_plans_model::Author::legacy("ivan");
    let batch = vec![new_plan("d", "2024-05-10", "one"), edited.clone()];
    let report = store.import_plans(&batch).unwrap();
    assert_eq!((report.imported, report.already_present), (2, 0));
    let stored = store
        .live_plan(&coach("i"), date("2024-05-10"))
        .unwrap()
        .unwrap();
    assert_eq!(stored.edited_at, edited.edited_at);
    assert_eq!(stored.author, edited.author);
    let again = store.import_plans(&batch).unwrap();
    assert_eq!((again.imported, again.already_present), (0, 2));

    // A conflicting record fails the whole batch, including the new record before it.
    let conflicting = vec![
        new_plan("s", "2024-05-10", "new"),
        new_plan("d", "2024-05-10", "different"),
    ];
    match store.import_plans(&conflicting) {
        Err(StoreError::ImportConflict { coach: c, date: d }) => {
            assert_eq!((c, d), (coach("d"), date("2024-05-10")))
        }
        other => panic!("expected an import conflict, got {other:?}"),
    }
    assert_eq!(
        store.live_plan(&coach("s"), date("2024-05-10")).unwrap(),
        None,
        "nothing was imported"
    );
    assert_eq!(store.stats().unwrap().live_plans, 2);
}

/// Text in any script, with emoji and newlines, reads back unchanged.
pub fn unicode_text_survives_a_round_trip(store: &dyn PlanStore) {
    let text = "CPI Wednesday — “no hero trades” 📉 日本株 \u{202e}rtl\u{202c} e\u{301}";
    let mut plan = new_plan("n", "2024-05-13", text);
    plan.author = user(5, "Nöra 🗞");
    let created = store.create_plan(plan).unwrap();
    let read = store.plan(created.id).unwrap().unwrap();
    assert_eq!(read.text, PlanText::parse(text).unwrap());
    assert_eq!(read.author.name, "Nöra 🗞");
}

/// Every pending chart a store offers, as `(plan, position, attempts)`.
fn offered(store: &dyn PlanStore) -> Vec<(coach_plans_model::PlanId, u32, u32)> {
    store
        .charts_to_archive(1000)
        .unwrap()
        .iter()
        .map(|c| (c.plan_id, c.position, c.attempts))
        .collect()
}

/// Every way of reading `plan` back gives the same plan, charts and archive state included.
fn reads_back_everywhere(store: &dyn PlanStore, plan: &Plan) {
    assert_eq!(store.plan(plan.id).unwrap().as_ref(), Some(plan));
    assert_eq!(
        store.live_plan(&plan.coach, plan.date).unwrap().as_ref(),
        Some(plan)
    );
    assert_eq!(store.plans_for(&plan.coach, plan.date).unwrap()[0], *plan);
    let listed = store.list_plans(&PlanQuery::on(plan.date, 100)).unwrap();
    assert!(listed.contains(plan), "listed with its charts' state");
}

/// A new plan's charts are pending, with no attempts, and offered oldest first.
pub fn new_charts_are_pending_and_offered_oldest_first(store: &dyn PlanStore) {
    let a = store.create_plan(new_plan("d", "2024-05-10", "a")).unwrap();
    let b = store.create_plan(new_plan("i", "2024-05-09", "b")).unwrap();
    for chart in a.charts.iter().chain(&b.charts) {
        assert_eq!(chart.archive(), &ChartArchive::pending());
    }
    let stored = store.plan(a.id).unwrap().unwrap();
    assert!(stored.charts.iter().all(|c| c.archive().is_new()));
    assert_eq!(
        offered(store),
        [(a.id, 0, 0), (a.id, 1, 0), (b.id, 0, 0), (b.id, 1, 0)]
    );
    let first: Vec<ChartRef> = store.charts_to_archive(3).unwrap();
    assert_eq!(first.len(), 3);
    assert_eq!(first[0].url, a.charts[0].url());
    assert_eq!(first[2].url, b.charts[0].url());
    let ids: std::collections::HashSet<ChartId> = first.iter().map(|c| c.id).collect();
    assert_eq!(ids.len(), 3, "each chart has its own id");
}

/// A chart recorded as archived reads back so with its plan, by every read, and is no longer
/// offered; the other chart stays pending.
pub fn an_archived_chart_reads_back_with_its_plan(store: &dyn PlanStore) {
    let plan = store.create_plan(new_plan("d", "2024-05-10", "a")).unwrap();
    let first = store.charts_to_archive(1).unwrap().remove(0);
    let sha = sha256_of(b"\x89PNG\r\n\x1a\nchart a");
    let at = ts("2024-05-10T12:00:05.000000+00:00");
    store
        .record_chart_archived(first.id, &sha, 4321, ImageKind::Png, at.clone())
        .unwrap();
    let stored = store.plan(plan.id).unwrap().unwrap();
    let archive = stored.charts[0].archive();
    assert_eq!(archive.status, ChartStatus::Archived);
    assert_eq!(archive.sha256, Some(sha));
    assert_eq!(archive.stored_size, Some(4321));
    assert_eq!(archive.image, Some(ImageKind::Png));
    assert_eq!(archive.archived_at, Some(at));
    assert_eq!(archive.reason, None);
    assert_eq!(stored.charts[1].archive().status, ChartStatus::Pending);
    assert_eq!(stored.charts[0].url(), plan.charts[0].url());
    reads_back_everywhere(store, &stored);
    assert_eq!(offered(store), [(plan.id, 1, 0)]);

    // An edit keeping the charts keeps their state; the history keeps the state each had.
    let edited = store
        .revise_plan(
            plan.id,
            revision(HistoryAction::Edit, "a2", None, "2024-05-10T13:00:00Z"),
        )
        .unwrap();
    assert_eq!(edited.charts, stored.charts);
    assert_eq!(store.plan(plan.id).unwrap().unwrap().charts, stored.charts);
    let history = store.history(plan.id).unwrap();
    assert_eq!(history[0].charts.as_deref(), Some(stored.charts.as_slice()));
}

/// A failed attempt keeps the chart pending with its attempts and reason, and it is offered
/// again; the last attempt fails it for good.
pub fn failures_count_attempts_and_the_last_one_fails_the_chart(store: &dyn PlanStore) {
    let plan = store.create_plan(new_plan("d", "2024-05-10", "a")).unwrap();
    let first = store.charts_to_archive(1).unwrap().remove(0);
    store
        .record_chart_failure(first.id, "HTTP 503 from the CDN", 1, false)
        .unwrap();
    let archive = store.plan(plan.id).unwrap().unwrap().charts[0]
        .archive()
        .clone();
    assert_eq!(
        (archive.status, archive.attempts, archive.reason.as_deref()),
        (ChartStatus::Pending, 1, Some("HTTP 503 from the CDN"))
    );
    assert_eq!(offered(store), [(plan.id, 0, 1), (plan.id, 1, 0)]);
    store
        .record_chart_failure(first.id, "404 This content is no longer available", 5, true)
        .unwrap();
    let stored = store.plan(plan.id).unwrap().unwrap();
    let archive = stored.charts[0].archive();
    assert_eq!(archive.status, ChartStatus::Failed);
    assert_eq!(archive.attempts, 5);
    assert_eq!(
        archive.reason.as_deref(),
        Some("404 This content is no longer available")
    );
    assert_eq!(archive.sha256, None);
    reads_back_everywhere(store, &stored);
    assert_eq!(offered(store), [(plan.id, 1, 0)]);
}

/// A refreshed link reads back with the plan and is what the chart is offered with.
pub fn a_refreshed_link_reads_back_and_is_offered(store: &dyn PlanStore) {
    let plan = store.create_plan(new_plan("d", "2024-05-10", "a")).unwrap();
    let second = store.charts_to_archive(2).unwrap().remove(1);
    let fresh = "https://cdn.discordapp.com/attachments/1/2/b.png?ex=fresh&is=1&hm=2";
    store.record_chart_url(second.id, fresh).unwrap();
    let stored = store.plan(plan.id).unwrap().unwrap();
    assert_eq!(stored.charts[1].url(), fresh);
    assert_eq!(stored.charts[1].filename(), Some("b.png"));
    assert_eq!(stored.charts[0].url(), plan.charts[0].url());
    reads_back_everywhere(store, &stored);
    assert_eq!(store.charts_to_archive(2).unwrap()[1].url, fresh);
    assert!(matches!(
        store.record_chart_url(second.id, "not a link"),
        Err(StoreError::InvalidChartUrl(_))
    ));
    assert_eq!(store.plan(plan.id).unwrap().unwrap().charts[1].url(), fresh);
    // Importing the plan again finds it unchanged: a refreshed link is the same attachment.
    let mut again = new_plan("d", "2024-05-10", "a");
    again.charts = plan.charts.clone();
    assert_eq!(store.import_plans(&[again]).unwrap().already_present, 1);
}

/// A deleted plan's charts are not offered; a plan posted again has its own.
pub fn a_deleted_plans_charts_are_not_offered(store: &dyn PlanStore) {
    let gone = store.create_plan(new_plan("d", "2024-05-10", "a")).unwrap();
    let kept = store.create_plan(new_plan("i", "2024-05-10", "b")).unwrap();
    store
        .delete_plan(gone.id, user(42, "dana"), ts("2024-05-10T13:00:00Z"))
        .unwrap();
    assert_eq!(offered(store), [(kept.id, 0, 0), (kept.id, 1, 0)]);
    let again = store
        .create_plan(new_plan("d", "2024-05-10", "again"))
        .unwrap();
    assert_eq!(
        offered(store),
        [
            (kept.id, 0, 0),
            (kept.id, 1, 0),
            (again.id, 0, 0),
            (again.id, 1, 0)
        ]
    );
}

/// An edit that brings new charts gives them new ids: a record for a replaced chart finds
/// nothing and changes nothing; the new charts are pending.
pub fn a_chart_replaced_by_an_edit_is_not_found(store: &dyn PlanStore) {
    let plan = store.create_plan(new_plan("d", "2024-05-10", "a")).unwrap();
    let old = store.charts_to_archive(10).unwrap();
    store
        .revise_plan(
            plan.id,
            revision(
                HistoryAction::Replace,
                "a2",
                Some(vec![chart("c.png", 0)]),
                "2024-05-10T13:00:00Z",
            ),
        )
        .unwrap();
    let sha = sha256_of(b"old chart");
    let at = ts("2024-05-10T13:00:01Z");
    assert!(matches!(
        store.record_chart_archived(old[0].id, &sha, 9, ImageKind::Png, at),
        Err(StoreError::ChartNotFound(id)) if id == old[0].id
    ));
    assert!(matches!(
        store.record_chart_failure(old[1].id, "x", 1, true),
        Err(StoreError::ChartNotFound(_))
    ));
    assert!(matches!(
        store.record_chart_url(old[1].id, "https://example.com/x.png"),
        Err(StoreError::ChartNotFound(_))
    ));
    let now = store.charts_to_archive(10).unwrap();
    assert_eq!(now.len(), 1);
    assert!(now[0].url.contains("c.png"));
    assert!(
        !old.iter().any(|c| c.id == now[0].id),
        "new charts, new ids"
    );
    let stored = store.plan(plan.id).unwrap().unwrap();
    assert_eq!(stored.charts[0].archive(), &ChartArchive::pending());
}

/// Counts of live plans' charts follow archiving, failures, edits and deletions.
pub fn chart_counts_follow_archiving_edits_and_deletions(store: &dyn PlanStore) {
    let counts = |s: &dyn PlanStore| {
        let c: ChartCounts = s.chart_counts().unwrap();
        (c.pending, c.archived, c.failed)
    };
    assert_eq!(counts(store), (0, 0, 0));
    let a = store.create_plan(new_plan("d", "2024-05-10", "a")).unwrap();
    let b = store.create_plan(new_plan("i", "2024-05-10", "b")).unwrap();
    assert_eq!(counts(store), (4, 0, 0));
    let refs = store.charts_to_archive(10).unwrap();
    let at = ts("2024-05-10T12:00:05Z");
    store
        .record_chart_archived(refs[0].id, &sha256_of(b"a0"), 2, ImageKind::Gif, at.clone())
        .unwrap();
    store
        .record_chart_failure(refs[1].id, "not an image", 1, true)
        .unwrap();
    store
        .record_chart_failure(refs[2].id, "timed out", 1, false)
        .unwrap();
    assert_eq!(counts(store), (2, 1, 1));
    // Recording the same state again counts once.
    store
        .record_chart_archived(refs[0].id, &sha256_of(b"a0"), 2, ImageKind::Gif, at)
        .unwrap();
    assert_eq!(counts(store), (2, 1, 1));
    // Plan a's archived and failed charts give way to one new, pending chart.
    store
        .revise_plan(
            a.id,
            revision(
                HistoryAction::Replace,
                "a2",
                Some(vec![chart("c.png", 0)]),
                "2024-05-10T13:00:00Z",
            ),
        )
        .unwrap();
    assert_eq!(counts(store), (3, 0, 0));
    store
        .delete_plan(b.id, user(42, "dana"), ts("2024-05-10T14:00:00Z"))
        .unwrap();
    assert_eq!(counts(store), (1, 0, 0));
    assert_eq!(store.stats().unwrap().live_charts, 1);
}

/// Every chart archived as a blob found damaged goes back to pending, its archive fields
/// cleared, with the reason; charts archived as other blobs stay archived.
pub fn charts_of_a_damaged_blob_go_back_in_the_queue(store: &dyn PlanStore) {
    let one = store.create_plan(new_plan("d", "2024-05-10", "a")).unwrap();
    let two = store.create_plan(new_plan("i", "2024-05-10", "b")).unwrap();
    let refs = store.charts_to_archive(10).unwrap();
    assert_eq!(refs.len(), 4, "{refs:?}");
    let (damaged, fine) = (sha256_of(b"damaged"), sha256_of(b"fine"));
    for (chart, sha) in refs.iter().zip([&damaged, &fine, &damaged, &fine]) {
        store
            .record_chart_archived(chart.id, sha, 7, ImageKind::Png, ts("2024-05-10T13:00:00Z"))
            .unwrap();
    }
    assert_eq!(
        store
            .requeue_charts_of_blob(&damaged, "the archived copy was damaged")
            .unwrap(),
        2
    );
    for plan in [&one, &two] {
        let charts = store.plan(plan.id).unwrap().unwrap().charts;
        let first = charts[0].archive();
        assert_eq!(first.status, ChartStatus::Pending);
        assert_eq!(
            (first.sha256, first.stored_size, first.attempts),
            (None, None, 0)
        );
        assert_eq!(
            first.reason.as_deref(),
            Some("the archived copy was damaged")
        );
        assert_eq!(charts[1].archive().status, ChartStatus::Archived);
    }
    assert_eq!(offered(store), [(one.id, 0, 0), (two.id, 0, 0)]);
    let counts = store.chart_counts().unwrap();
    assert_eq!((counts.pending, counts.archived, counts.failed), (2, 2, 0));
    assert_eq!(store.requeue_charts_of_blob(&damaged, "again").unwrap(), 0);
}

/// Failed charts of live plans go back to pending with no attempts (the last reason kept), are
/// offered again and counted as pending; archived charts and deleted plans' charts stay as
/// they are.
pub fn failed_charts_can_be_put_back_in_the_queue(store: &dyn PlanStore) {
    let plan = store.create_plan(new_plan("d", "2024-05-10", "a")).unwrap();
    let gone = store.create_plan(new_plan("i", "2024-05-10", "b")).unwrap();
    let refs = store.charts_to_archive(10).unwrap();
    assert_eq!(refs.len(), 4, "{refs:?}");
    store
        .record_chart_failure(refs[0].id, "not an allowed host", 5, true)
        .unwrap();
    store
        .record_chart_archived(
            refs[1].id,
            &sha256_of(b"image"),
            5,
            ImageKind::Png,
            ts("2024-05-10T13:00:00Z"),
        )
        .unwrap();
    store
        .record_chart_failure(refs[2].id, "gone", 5, true)
        .unwrap();
    store
        .delete_plan(gone.id, user(42, "dana"), ts("2024-05-10T14:00:00Z"))
        .unwrap();
    assert_eq!(store.chart_counts().unwrap().failed, 1);

    assert_eq!(store.requeue_failed_charts().unwrap(), 1);
    let archive = store.plan(plan.id).unwrap().unwrap().charts[0]
        .archive()
        .clone();
    assert_eq!(
        (archive.status, archive.attempts, archive.reason.as_deref()),
        (ChartStatus::Pending, 0, Some("not an allowed host"))
    );
    assert_eq!(
        store.plan(plan.id).unwrap().unwrap().charts[1]
            .archive()
            .status,
        ChartStatus::Archived
    );
    assert_eq!(offered(store), [(plan.id, 0, 0)]);
    let counts = store.chart_counts().unwrap();
    assert_eq!((counts.pending, counts.archived, counts.failed), (1, 1, 0));
    assert_eq!(store.requeue_failed_charts().unwrap(), 0);
}
