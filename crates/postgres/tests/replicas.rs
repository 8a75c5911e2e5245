//! Replicas on one database (SPEC 16), against a real server: the election of the one that
//! holds the Discord gateway, and word of each change for the others' caches.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use coach_plans_postgres::testing::TestDatabase;
use coach_plans_postgres::{
    Coordinator, ElectionSettings, PostgresStore, elect_leader, listen_for_changes,
};
use coach_plans_storage::PlanStore;
use coach_plans_storage::testing::new_plan;

/// Quick settings, so the tests do not wait for production's retries.
const QUICK: ElectionSettings = ElectionSettings {
    retry: Duration::from_millis(100),
    check: Duration::from_millis(50),
    grace: Duration::from_millis(300),
    unheard: Duration::from_millis(50),
};

/// Replicas' elections, the events they reported (replica, leads) and how many lead at once.
struct Replicas {
    elections: Vec<Option<Coordinator>>,
    events: mpsc::Receiver<(usize, bool)>,
    leading_now: Arc<AtomicI32>,
    most_leading: Arc<AtomicI32>,
}

impl Replicas {
    fn start(db: &TestDatabase, count: usize) -> Self {
        let (tx, events) = mpsc::channel();
        let leading_now = Arc::new(AtomicI32::new(0));
        let most_leading = Arc::new(AtomicI32::new(0));
        let elections = (0..count)
            .map(|replica| {
                let (tx, now, most) = (tx.clone(), leading_now.clone(), most_leading.clone());
                let election = elect_leader(&db.config(), QUICK, move |leads| {
                    if leads {
                        let leading = now.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(leading, Ordering::SeqCst);
                    } else {
                        now.fetch_sub(1, Ordering::SeqCst);
                    }
                    let _ = tx.send((replica, leads));
                });
                Some(election.unwrap())
            })
            .collect();
        Self {
            elections,
            events,
            leading_now,
            most_leading,
        }
    }

    /// The next event, within `seconds`.
    fn next(&self, seconds: u64) -> (usize, bool) {
        self.events
            .recv_timeout(Duration::from_secs(seconds))
            .unwrap_or_else(|_| panic!("no election event within {seconds} s"))
    }

    fn stop(&mut self, replica: usize) {
        if let Some(election) = self.elections[replica].take() {
            election.stop();
        }
    }
}

#[test]
fn one_of_three_replicas_leads_and_another_takes_over_when_it_stops() {
    let db = TestDatabase::create();
    drop(PostgresStore::open(&db.config()).unwrap());
    let mut replicas = Replicas::start(&db, 3);

    let (leader, leads) = replicas.next(10);
    assert!(leads);
    // The others keep trying and fail while it holds the lock.
    assert!(
        replicas
            .events
            .recv_timeout(QUICK.retry * 5 + QUICK.grace)
            .is_err()
    );

    replicas.stop(leader);
    assert_eq!(replicas.next(5), (leader, false));
    let started = Instant::now();
    let (next, leads) = replicas.next(10);
    assert!(leads && next != leader, "{next} {leads}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(replicas.most_leading.load(Ordering::SeqCst), 1);
}

#[test]
fn a_leader_whose_lock_connection_is_killed_stops_leading_before_another_starts() {
    let db = TestDatabase::create();
    drop(PostgresStore::open(&db.config()).unwrap());
    let replicas = Replicas::start(&db, 2);
    let (first, leads) = replicas.next(10);
    assert!(leads);

    for round in 0..3 {
        let killed = Instant::now();
        assert_eq!(db.terminate_gateway_lock_holder(), 1, "round {round}");
        // The holder hears of it at once, before anyone can lead again.
        let (lost, leads) = replicas.next(5);
        assert!(!leads, "round {round}: {lost}");
        assert!(
            killed.elapsed() < Duration::from_secs(1),
            "{:?}",
            killed.elapsed()
        );
        let (again, leads) = replicas.next(10);
        assert!(leads, "round {round}: {again}");
        assert_eq!(replicas.leading_now.load(Ordering::SeqCst), 1);
    }
    assert_eq!(
        replicas.most_leading.load(Ordering::SeqCst),
        1,
        "first was {first}"
    );
}

#[test]
fn a_leader_lets_go_when_its_election_stops_and_replicas_of_other_schemas_elect_apart() {
    let db = TestDatabase::create();
    let other = TestDatabase::create();
    drop(PostgresStore::open(&db.config()).unwrap());
    drop(PostgresStore::open(&other.config()).unwrap());
    let mut here = Replicas::start(&db, 1);
    let there = Replicas::start(&other, 1);
    assert_eq!(here.next(10), (0, true));
    assert_eq!(there.next(10), (0, true));
    here.stop(0);
    assert_eq!(here.next(5), (0, false));
}

#[test]
fn the_election_waits_out_an_unreachable_database() {
    let db = TestDatabase::create();
    let mut config = db.config();
    let unreachable = db.url_through(&format!("127.0.0.1:{}", free_port()));
    config.url = Some(coach_plans_config::DatabaseUrl::new(unreachable));
    let (tx, rx) = mpsc::channel();
    let election = elect_leader(&config, QUICK, move |leads| {
        let _ = tx.send(leads);
    })
    .unwrap();
    assert!(rx.recv_timeout(Duration::from_millis(500)).is_err());
    election.stop();
}

#[test]
fn a_change_on_one_replica_is_heard_on_another_within_a_second() {
    let db = TestDatabase::create();
    let other = TestDatabase::create();
    let (store, _) = PostgresStore::open(&db.config()).unwrap();
    let (elsewhere, _) = PostgresStore::open(&other.config()).unwrap();
    // Connected, it reports once for what it could not hear before.
    let (listener, heard) = listening(&db);
    let before = heard.load(Ordering::SeqCst);

    // A change in another schema of the same database is not ours.
    elsewhere
        .create_plan(new_plan("d", "2024-05-10", "elsewhere"))
        .unwrap();
    std::thread::sleep(QUICK.unheard * 4);
    assert_eq!(heard.load(Ordering::SeqCst), before);

    let written = Instant::now();
    store
        .create_plan(new_plan("d", "2024-05-10", "SPY above 520"))
        .unwrap();
    eventually(1, "the change heard", || {
        heard.load(Ordering::SeqCst) > before
    });
    assert!(written.elapsed() < Duration::from_secs(1));
    listener.stop();
}

#[test]
fn while_the_listener_cannot_listen_it_reports_changes_it_may_have_missed() {
    let db = TestDatabase::create();
    drop(PostgresStore::open(&db.config()).unwrap());
    let (listener, heard) = listening(&db);
    let before = heard.load(Ordering::SeqCst);
    assert_eq!(db.terminate_sessions_of("change listener"), 1);
    // Cut off, it reports a change every `unheard` until it listens again.
    eventually(5, "changes reported while deaf", || {
        heard.load(Ordering::SeqCst) >= before + 2
    });
    listener.stop();
}

/// A change listener on `db` counting what it reports, once it has reported its first (it
/// listens then).
fn listening(db: &TestDatabase) -> (Coordinator, Arc<AtomicU64>) {
    let heard = Arc::new(AtomicU64::new(0));
    let counter = heard.clone();
    let listener = listen_for_changes(&db.config(), QUICK, move || {
        counter.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    eventually(5, "the listener listening", || {
        heard.load(Ordering::SeqCst) >= 1
    });
    (listener, heard)
}

/// Polls `condition` until it holds, failing after `seconds`.
fn eventually(seconds: u64, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !condition() {
        assert!(Instant::now() < deadline, "{what}: not within {seconds} s");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A port nothing listens on (just released by us).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
