//! `coach-plans serve` against the fake Discord (`coach-plans-fake-discord`): posts arrive
//! through the real twilight shard and are readable through the API, survive SIGKILL once
//! acknowledged, and are held in memory (then written through or spilled) while the database is
//! locked.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use coach_plans_e2e::discord::{CHANNEL, DANA, Discord};
use coach_plans_e2e::{Server, base_env, wait_for};
use coach_plans_fake_discord::FakeMessage;
use coach_plans_sqlite::testing::Locker;
use rusqlite::Connection;

/// A fake Discord and a server on `dir` whose bot has connected to it.
fn connected(dir: &Path) -> (Discord, Server) {
    let discord = Discord::start();
    let server = Server::start(dir, &[], &discord.env(dir));
    discord.wait_until_connected(1);
    (discord, server)
}

/// A server on the same files in mock mode (no Discord): reads back what the last one stored.
fn restart_offline(dir: &Path) -> Server {
    let mut env = base_env(dir);
    env.push(("MOCK_MODE".into(), "true".into()));
    Server::start(dir, &[], &env)
}

fn plan_text(server: &Server, coach: &str, date: &str) -> String {
    let reply = server.get(&format!("/api/coach-plans/?coach={coach}&date={date}"));
    reply.json()["plan"].as_str().unwrap().to_owned()
}

#[test]
fn a_plan_posted_in_discord_is_readable_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let discord = Discord::start();
    let mut env = discord.env(dir.path());
    env.push(("API_AUTH_TOKEN".into(), "api-token-do-not-log".into()));
    let server = Server::start(dir.path(), &[], &env);
    discord.wait_until_connected(1);
    wait_for("/health to show the bot connected", 30, || {
        let health = server.get("/health").json();
        (health["components"]["discord_bot"]["status"] == "connected").then_some(())
    });

    let id = discord.say("!plan d 2024-05-10 NVDA above 950, stop 920");
    let reply = discord.reply_to(id);
    assert!(reply.starts_with('✅'), "{reply}");
    let unauthorized = server.get("/api/coach-plans/?coach=d&date=2024-05-10");
    assert_eq!(unauthorized.status, 401, "the API token is enforced");
    let plan = authorized_get(
        &server,
        "/api/coach-plans/?coach=d&date=2024-05-10",
        "api-token-do-not-log",
    );
    assert_eq!(plan["plan"], "NVDA above 950, stop 920");
    assert_eq!(plan["author"], "dana");
    assert_eq!(server.stop(), Some(0));

    // No log line anywhere carries either secret.
    let logs = all_logs(&dir.path().join("logs"));
    assert!(
        logs.contains("GET /api/coach-plans/"),
        "access lines are logged"
    );
    assert!(!logs.contains(discord.fake.token()), "the bot token leaked");
    assert!(
        !logs.contains("api-token-do-not-log"),
        "the API token leaked"
    );
}

fn authorized_get(server: &Server, path: &str, token: &str) -> serde_json::Value {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(server.address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let response = coach_plans_e2e::parse_response(&raw);
    assert_eq!(response.status, 200, "{}", response.body);
    response.json()
}

fn all_logs(dir: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default());
    }
    text
}

#[test]
fn every_acknowledged_plan_survives_sigkill_during_a_burst() {
    let dir = tempfile::tempdir().unwrap();
    let (discord, server) = connected(dir.path());

    let days: Vec<String> = (1..=28).map(|d| format!("2024-02-{d:02}")).collect();
    let ids: Vec<(u64, &String)> = days
        .iter()
        .map(|day| {
            (
                discord.say(&format!("!plan s {day} burst plan for {day}")),
                day,
            )
        })
        .collect();
    discord.wait_for_acknowledged(5);
    server.signal("KILL");
    assert_eq!(server.wait(), None, "killed by the signal");
    let acknowledged = discord.acknowledged();

    // Read back in mock-free offline mode: a fresh server on the same database.
    let again = restart_offline(dir.path());
    for (id, day) in &ids {
        if acknowledged.contains(id) {
            assert_eq!(
                plan_text(&again, "s", day),
                format!("burst plan for {day}"),
                "acknowledged plan for {day} lost"
            );
        }
    }
    assert!(acknowledged.len() >= 5);
}

fn stored_texts(db: &Path) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT plan FROM coach_plans WHERE is_deleted = 0 ORDER BY id")
        .unwrap();
    stmt.query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_locked_database_holds_posts_then_writes_them_through_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/plans.db");
    let (discord, server) = connected(dir.path());
    let first = discord.say("!plan d 2024-05-09 before the lock");
    assert!(discord.reply_to(first).starts_with('✅'));

    let locker = Locker::lock(&db);
    let texts = ["held one", "held two", "held three"];
    for (n, text) in texts.iter().enumerate() {
        let id = discord.say(&format!("!plan {} 2024-05-10 {text}", ["d", "i", "s"][n]));
        let reply = discord.reply_to(id);
        assert!(
            reply.starts_with('✅'),
            "acknowledged while locked: {reply}"
        );
    }
    let health = server.get("/health");
    assert_eq!(health.status, 503, "{}", health.body);
    let health = health.json();
    assert_eq!(health["components"]["database"]["status"], "down");
    assert_eq!(health["components"]["database"]["pending_writes"], 3);
    assert_eq!(
        plan_text(&server, "i", "2024-05-10"),
        "held two",
        "served from memory"
    );

    drop(locker);
    wait_for("/health to recover", 30, || {
        (server.get("/health").status == 200).then_some(())
    });
    assert_eq!(
        stored_texts(&db),
        ["before the lock", "held one", "held two", "held three"],
        "written through in order"
    );
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn stopping_while_locked_keeps_held_plans_in_the_journal_and_the_next_start_writes_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/plans.db");
    let (discord, server) = connected(dir.path());

    let locker = Locker::lock(&db);
    for coach in ["d", "n"] {
        let id = discord.say(&format!("!plan {coach} 2024-05-10 held plan for {coach}"));
        assert!(discord.reply_to(id).starts_with('✅'));
    }
    server.signal("TERM");
    let said = wait_for("the held-changes line", 30, || {
        let out = server.stdout();
        out.contains("written through when coach-plans next starts")
            .then_some(out)
    });
    assert_eq!(server.wait(), Some(0));
    let journal = dir.path().join("data/plans.db.journal");
    assert!(
        said.contains(&journal.display().to_string()),
        "kept beside the database: {said}"
    );
    assert!(stored_texts(&db).is_empty(), "nothing reached the database");
    drop(locker);

    let again = restart_offline(dir.path());
    assert_eq!(
        stored_texts(&db)[..2],
        ["held plan for d", "held plan for n"],
        "written through at start, before mock mode seeds today"
    );
    assert!(!dir.path().join("data/plans.db.journal").exists());
    assert_eq!(again.stop(), Some(0));
}

#[test]
fn a_plan_acknowledged_while_the_database_is_locked_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/plans.db");
    let (discord, server) = connected(dir.path());

    let locker = Locker::lock(&db);
    let id = discord.say("!plan d 2024-05-10 acknowledged while locked");
    assert!(discord.reply_to(id).starts_with('✅'));
    server.signal("KILL");
    assert_eq!(server.wait(), None, "killed by the signal");
    drop(locker);

    let again = restart_offline(dir.path());
    assert_eq!(
        plan_text(&again, "d", "2024-05-10"),
        "acknowledged while locked"
    );
    assert_eq!(again.stop(), Some(0));
}

const MALLORY: u64 = 400_000_000_000_000_066;

#[test]
fn nobody_can_post_over_a_plan_in_a_database_the_server_could_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let discord = Discord::start();
    let env = discord.env(dir.path());

    // Dana's plan is in the database.
    let server = Server::start(dir.path(), &[], &env);
    discord.wait_until_connected(1);
    let id = discord.say("!plan d 2024-05-10 dana's real plan");
    assert!(discord.reply_to(id).starts_with('✅'));
    assert_eq!(server.stop(), Some(0));

    // The database cannot be read when the server starts.
    let aside = dir.path().join("data.aside");
    std::fs::rename(&data, &aside).unwrap();
    std::fs::write(&data, "not a directory").unwrap();
    let mut env = env.clone();
    env.push((
        "STATE_DIRECTORY".into(),
        dir.path().join("state").display().to_string(),
    ));
    let server = Server::start(dir.path(), &[], &env);
    discord.wait_until_connected(2);
    let read = server.get("/api/coach-plans/?coach=d&date=2024-05-10");
    assert_eq!(read.status, 503, "not 'No plan available': {}", read.body);
    assert_eq!(
        server.get("/api/coach-plans/all?date=2024-05-10").status,
        503
    );

    let edit = discord.fake.send_message(FakeMessage::new(
        CHANNEL,
        MALLORY,
        "mallory",
        "!edit d 2024-05-10 mallory's edit",
    ));
    let reply = discord.reply_to(edit);
    assert!(reply.starts_with('❌'), "an edit is refused: {reply}");
    let post = discord.fake.send_message(FakeMessage::new(
        CHANNEL,
        MALLORY,
        "mallory",
        "!plan d 2024-05-10 mallory's overwrite",
    ));
    let reply = discord.reply_to(post);
    assert!(
        reply.contains("checked"),
        "the post waits for a check: {reply}"
    );

    // The database comes back: Dana's plan stays, and Mallory is told.
    std::fs::remove_file(&data).unwrap();
    std::fs::rename(&aside, &data).unwrap();
    let refused = discord
        .runtime
        .block_on(discord.fake.wait_until("mallory to be told", |seen| {
            seen.messages
                .iter()
                .find(|m| m.reply_to == Some(post) && m.content.contains("was not saved"))
                .map(|m| m.content.clone())
        }))
        .unwrap();
    assert!(refused.starts_with('❌'), "{refused}");
    wait_for("/health to recover", 30, || {
        (server.get("/health").status == 200).then_some(())
    });
    assert_eq!(plan_text(&server, "d", "2024-05-10"), "dana's real plan");
    let history = server
        .get("/api/coach-plans/history?coach=d&date=2024-05-10")
        .json();
    assert_eq!(history["history"].as_array().unwrap().len(), 0, "{history}");
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn a_username_cannot_forge_log_lines_or_write_escape_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (discord, server) = connected(dir.path());
    let forged =
        "dana\n2026-01-01T00:00:00.000000+00:00 ERROR coach_plans_server [-] FORGED\u{1b}[31m";
    let id = discord.fake.send_message(FakeMessage::new(
        CHANNEL,
        DANA,
        forged,
        "!plan d 2024-05-10 text with\na second line\u{1b}[2J",
    ));
    assert!(discord.reply_to(id).starts_with('✅'));
    assert_eq!(server.stop(), Some(0));
    let logs = all_logs(&dir.path().join("logs"));
    assert!(logs.contains("FORGED"), "the name is logged");
    assert!(
        !logs
            .lines()
            .any(|line| line.starts_with("2026-01-01T00:00:00")),
        "a forged line: {logs}"
    );
    assert!(
        !logs.contains('\u{1b}'),
        "a raw escape byte reached the log"
    );
}

#[test]
fn libraries_write_no_info_lines_at_the_default_level() {
    let dir = tempfile::tempdir().unwrap();
    let (discord, server) = connected(dir.path());
    let id = discord.say("!plan d 2024-05-10 one plan");
    assert!(discord.reply_to(id).starts_with('✅'));
    assert_eq!(server.stop(), Some(0));
    let logs = all_logs(&dir.path().join("logs"));
    let foreign: Vec<&str> = logs
        .lines()
        .filter(|line| {
            let mut fields = line.split(' ');
            let level = fields.nth(1).unwrap_or_default();
            let target = fields.find(|f| !f.is_empty()).unwrap_or_default();
            matches!(level, "INFO" | "DEBUG" | "TRACE") && !target.starts_with("coach_plans")
        })
        .collect();
    assert!(foreign.is_empty(), "{foreign:#?}");
}
