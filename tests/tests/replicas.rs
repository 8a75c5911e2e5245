//! Two `coach-plans serve` on one PostgreSQL database against the fake Discord (SPEC 16): one
//! gateway session between them, the follower serving what the leader stored within a second
//! (edits included: its entity tag changes), a leader whose lock session the server ends
//! closing its gateway session, and the follower taking the gateway over within 15 s of the
//! leader's SIGKILL, then storing new plans.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use coach_plans_e2e::discord::Discord;
use coach_plans_e2e::{Response, Server, wait_for};
use coach_plans_postgres::testing::{TestDatabase, skipped};

/// A replica's environment: its own files under `dir`, the shared database and Discord.
fn replica_env(discord: &Discord, db: &TestDatabase, dir: &Path) -> Vec<(String, String)> {
    let mut env = discord.env(dir);
    env.push(("DATABASE_URL".into(), db.url().to_owned()));
    env
}

/// `leader` or `follower`, as the replica's `/health` says.
fn role(server: &Server) -> String {
    let health = server.get("/health").json();
    health["components"]["discord_bot"]["role"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The entity tag of a response.
fn etag(response: &Response) -> String {
    response
        .head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("etag")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no ETag in {}", response.head))
}

/// Coach d's plan for today as `server` answers it (the compatibility endpoint, cached).
fn plan_of_d(server: &Server) -> Response {
    server.get("/api/coach-plans/?coach=d")
}

/// Waits until `server` answers coach d's plan with `text`, returning the response and how
/// long it took.
fn served_within(server: &Server, text: &str, seconds: u64) -> (Response, Duration) {
    let started = Instant::now();
    let response = wait_for(&format!("the plan {text:?} served"), seconds, || {
        let response = plan_of_d(server);
        (response.status == 200 && response.json()["plan"] == text).then_some(response)
    });
    (response, started.elapsed())
}

#[test]
fn two_replicas_share_one_gateway_serve_each_others_plans_and_fail_over() {
    if skipped("two_replicas_share_one_gateway_serve_each_others_plans_and_fail_over") {
        return;
    }
    let db = TestDatabase::create();
    let discord = Discord::start();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = Server::start(dir_a.path(), &[], &replica_env(&discord, &db, dir_a.path()));
    discord.wait_until_connected(1);
    let second = Server::start(dir_b.path(), &[], &replica_env(&discord, &db, dir_b.path()));
    wait_for("the roles settled", 10, || {
        (role(&first) == "leader" && role(&second) == "follower").then_some(())
    });
    let health = second.get("/health").json();
    assert_eq!(health["status"], "healthy", "{health}");
    assert_eq!(health["components"]["discord_bot"]["status"], "standby");
    assert_eq!(second.get("/health/ready").status, 200);
    let prometheus = second.get("/metrics/prometheus").body;
    assert!(
        prometheus.contains("\ncoach_plans_leader 0\n"),
        "{prometheus}"
    );
    assert_eq!(second.get("/metrics").json()["role"], "follower");

    // The follower answers (and caches: a body is kept from its second request) "no plan
    // yet" before the leader stores one.
    for _ in 0..3 {
        let none = plan_of_d(&second);
        assert!(!none.body.contains("SPY"), "{}", none.body);
    }
    let posted = discord.say("!plan d SPY above 520, stop 515");
    assert!(discord.reply_to(posted).starts_with('✅'));
    let (before, took) = served_within(&second, "SPY above 520, stop 515", 5);
    eprintln!("the follower served the leader's new plan {took:?} after its ✅");
    assert!(
        took < Duration::from_secs(1),
        "the follower served it after {took:?}"
    );

    let edit = discord.say("!edit d SPY above 525, stop 518");
    assert!(discord.reply_to(edit).starts_with('✅'));
    let (after, took) = served_within(&second, "SPY above 525, stop 518", 5);
    assert!(
        took < Duration::from_secs(1),
        "the follower served the edit after {took:?}"
    );
    assert_ne!(etag(&before), etag(&after));
    assert_eq!(etag(&after), etag(&plan_of_d(&first)), "one body, one tag");
    // One gateway session between the two.
    assert_eq!(discord.fake.seen().identifies, 1);

    // The server ends the leader's lock session: it closes its gateway session, and whichever
    // replica takes the lock next opens one.
    assert_eq!(db.terminate_gateway_lock_holder(), 1);
    discord.wait_until_connected(2);
    let first_leads = wait_for("one leader again", 10, || {
        match (role(&first).as_str(), role(&second).as_str()) {
            ("leader", "follower") => Some(true),
            ("follower", "leader") => Some(false),
            _ => None,
        }
    });
    let (leader, follower) = if first_leads {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(discord.fake.seen().identifies, 2);

    leader.signal("KILL");
    let killed = Instant::now();
    discord.wait_until_connected(3);
    let took = killed.elapsed();
    eprintln!("the follower took the gateway over {took:?} after the leader's SIGKILL");
    assert!(took < Duration::from_secs(15), "took over after {took:?}");
    wait_for("the follower leads", 5, || {
        (role(&follower) == "leader").then_some(())
    });
    assert_eq!(discord.fake.seen().identifies, 3);

    let posted = discord.say("!plan d QQQ below 440");
    assert!(discord.reply_to(posted).starts_with('✅'));
    served_within(&follower, "QQQ below 440", 5);
    let stored: i64 = db
        .client()
        .query_one(
            "SELECT COUNT(*) FROM coach_plans WHERE plan = 'QQQ below 440' AND NOT is_deleted",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(stored, 1);
    assert_eq!(follower.stop(), Some(0));
}
