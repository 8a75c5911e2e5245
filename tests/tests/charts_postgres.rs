//! `coach-plans archive-charts` on PostgreSQL through the built binary: plans imported into
//! SQLite and moved with `copy`, then archived with `DATABASE_URL` set, land in the database's
//! chart store (`charts.backend` `auto`), not in `charts.store`; with `CHART_BACKEND=directory`
//! they go to the directory as before.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use coach_plans_e2e::discord::Discord;
use coach_plans_e2e::{base_env, pairs, run};
use coach_plans_postgres::testing::TestDatabase;

const CHANNEL: u64 = 1_100_000_000_000_000_001;

/// A real 1x1 PNG.
const PNG: &[u8] = coach_plans_fake_discord::TINY_PNG;

fn output(dir: &Path, args: &[&str], env: &[(String, String)]) -> (Option<i32>, String) {
    let out = run(dir, args, &pairs(env));
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Files under `dir`, at any depth.
fn files_in(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .map(|entry| entry.unwrap().path())
        .map(|path| if path.is_dir() { files_in(&path) } else { 1 })
        .sum()
}

#[test]
fn archive_charts_on_postgresql_keeps_the_images_in_the_database() {
    if coach_plans_postgres::testing::skipped(
        "archive_charts_on_postgresql_keeps_the_images_in_the_database",
    ) {
        return;
    }
    let discord = Discord::start();
    let fake = &discord.fake;
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::create();
    let second: Vec<u8> = [PNG, b"second chart".as_slice()].concat();
    let links = [
        fake.host_file(CHANNEL, "spy_daily.png", PNG),
        fake.host_file(CHANNEL, "spy_tpo.png", second.clone()),
    ];
    let export = serde_json::json!({
        "coach_d_2024-05-10": {
            "plan": "SPY holding the 520 shelf.",
            "charts": links,
            "author": "coach_dana",
            "timestamp": "2024-05-10T08:41:12.503211",
            "channel": "day-trading"
        }
    });
    let export_file = dir.path().join("export.json");
    std::fs::write(&export_file, serde_json::to_vec(&export).unwrap()).unwrap();

    let store = dir.path().join("charts");
    let mut env = base_env(dir.path());
    env.extend([
        ("CHART_ALLOWED_HOSTS".into(), fake.api_addr().to_string()),
        ("CHART_STORE".into(), store.display().to_string()),
    ]);
    let (code, out) = output(
        dir.path(),
        &["import-legacy", export_file.to_str().unwrap()],
        &env,
    );
    assert_eq!(code, Some(0), "{out}");
    let from = format!("sqlite:{}", dir.path().join("data/plans.db").display());
    let (code, out) = output(
        dir.path(),
        &["copy", "--from", &from, "--to", db.url()],
        &env,
    );
    assert_eq!(code, Some(0), "{out}");

    env.push(("DATABASE_URL".into(), db.url().to_owned()));
    let (code, out) = output(dir.path(), &["archive-charts"], &env);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("archived 2, refreshed 0, failed 0"), "{out}");
    assert_eq!(files_in(&store), 0, "nothing on disk: {out}");
    let mut stored: Vec<Vec<u8>> = db
        .client()
        .query("SELECT bytes FROM chart_blobs", &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    stored.sort();
    let mut expected = vec![PNG.to_vec(), second];
    expected.sort();
    assert_eq!(stored, expected);

    // Chosen explicitly, the directory backend writes there, as with SQLite.
    let requeue = "UPDATE plan_charts SET status = 'pending', sha256 = NULL, stored_size = NULL,
                   image_type = NULL, archived_at = NULL";
    db.execute(requeue);
    env.push(("CHART_BACKEND".into(), "directory".into()));
    let (code, out) = output(dir.path(), &["archive-charts"], &env);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("archived 2"), "{out}");
    assert_eq!(files_in(&store), 2, "{out}");
}
