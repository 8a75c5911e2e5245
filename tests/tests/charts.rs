//! `coach-plans archive-charts` through the built binary: legacy plans imported with links that
//! have expired are archived from the fake Discord's CDN after refreshing their links; a dry
//! run changes nothing; a second run has nothing to do; a chart that cannot be archived is
//! reported with its reason and exit code 4, and tried again by the next run.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Output;

use coach_plans_e2e::discord::Discord;
use coach_plans_e2e::{base_env, pairs};

const CHANNEL: u64 = 1_100_000_000_000_000_001;

/// A real 1x1 PNG.
const PNG: &[u8] = coach_plans_fake_discord::TINY_PNG;

/// A legacy export (the Python version's format) with one plan carrying `charts`.
fn write_export(dir: &Path, charts: &[String]) -> PathBuf {
    let export = serde_json::json!({
        "coach_d_2024-05-10": {
            "plan": "SPY holding the 520 shelf. Longs above 521.50.",
            "charts": charts,
            "author": "coach_dana",
            "timestamp": "2024-05-10T08:41:12.503211",
            "channel": "day-trading"
        }
    });
    let file = dir.join("export.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&export).unwrap()).unwrap();
    file
}

fn run(dir: &Path, args: &[&str], env: &[(String, String)]) -> (Option<i32>, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = coach_plans_e2e::run(dir, args, &pairs(env));
    (
        status.code(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// Every file under `dir`, by content.
fn stored_files(dir: &Path) -> Vec<Vec<u8>> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(stored_files(&path));
        } else {
            found.push(std::fs::read(&path).unwrap());
        }
    }
    found
}

#[test]
fn expired_legacy_links_are_refreshed_and_archived_once() {
    let discord = Discord::start();
    let fake = &discord.fake;
    let dir = tempfile::tempdir().unwrap();
    let second: Vec<u8> = [PNG, b"second chart".as_slice()].concat();
    let links = vec![
        fake.host_file(CHANNEL, "spy_daily.png", PNG),
        fake.host_file(CHANNEL, "spy_tpo.png", second.clone()),
    ];
    let export = write_export(dir.path(), &links);
    fake.expire_links();

    let store = dir.path().join("charts");
    let mut env = base_env(dir.path());
    env.extend([
        ("CHART_ALLOWED_HOSTS".into(), fake.api_addr().to_string()),
        ("CHART_STORE".into(), store.display().to_string()),
    ]);
    let (code, out, err) = run(
        dir.path(),
        &["import-legacy", export.to_str().unwrap()],
        &env,
    );
    assert_eq!(code, Some(0), "{out}{err}");

    let (code, out, err) = run(dir.path(), &["archive-charts", "--dry-run"], &env);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("would archive: 2 chart(s)"), "{out}");
    assert!(out.contains("d 2024-05-10"), "{out}");
    assert!(out.contains("/spy_daily.png"), "{out}");
    assert!(
        !out.contains("hm="),
        "links are shown without signature: {out}"
    );
    assert!(out.contains("dry run: nothing was changed"), "{out}");
    assert!(stored_files(&store).is_empty());
    assert!(fake.seen().requests.is_empty(), "a dry run asks nothing");

    env.extend([
        ("DISCORD_BOT_TOKEN".into(), fake.token().to_owned()),
        ("DISCORD_API_URL".into(), fake.api_url()),
    ]);
    let (code, out, err) = run(dir.path(), &["archive-charts"], &env);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("archived 2, refreshed 2, failed 0"), "{out}");
    assert!(!out.contains(fake.token()) && !err.contains(fake.token()));
    let seen = fake.seen();
    let refreshes = seen.refresh_requests();
    assert_eq!(refreshes.len(), 1, "{refreshes:?}");
    assert!(refreshes[0].authorized, "asked with the bot token");
    let mut stored = stored_files(&store);
    stored.sort();
    let mut expected = vec![PNG.to_vec(), second];
    expected.sort();
    assert_eq!(stored, expected);

    let (code, out, err) = run(dir.path(), &["archive-charts"], &env);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("nothing to do"), "{out}");
}

#[test]
fn a_chart_that_cannot_be_archived_is_reported_with_its_reason_and_exit_code_4() {
    let dir = tempfile::tempdir().unwrap();
    let export = write_export(
        dir.path(),
        &["https://cdn.example.com/attachments/1/2/levels.png?ex=1&is=2&hm=secret".to_owned()],
    );
    let mut env = base_env(dir.path());
    env.extend([
        ("CHART_ALLOWED_HOSTS".into(), "127.0.0.1:9".into()),
        (
            "CHART_STORE".into(),
            dir.path().join("charts").display().to_string(),
        ),
    ]);
    let (code, out, err) = run(
        dir.path(),
        &["import-legacy", export.to_str().unwrap()],
        &env,
    );
    assert_eq!(code, Some(0), "{out}{err}");

    let (code, out, err) = run(dir.path(), &["archive-charts"], &env);
    assert_eq!(code, Some(4), "{out}{err}");
    assert!(out.contains("archived 0, refreshed 0, failed 1"), "{out}");
    assert!(out.contains("no Discord bot token"), "{out}");
    let failed = out
        .lines()
        .find(|line| line.starts_with("failed: chart"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(failed.contains("d 2024-05-10"), "{failed}");
    assert!(failed.contains("not an allowed chart host"), "{failed}");
    assert!(
        !out.contains("secret") && !err.contains("secret"),
        "{out}{err}"
    );
    assert!(err.contains("1 chart(s) could not be archived"), "{err}");

    // A dry run counts the failed chart; a real run tries it again.
    let (code, out, err) = run(dir.path(), &["archive-charts", "--dry-run"], &env);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("would archive: 0 chart(s)"), "{out}");
    assert!(out.contains("would try again: 1 chart(s)"), "{out}");
    let (code, out, err) = run(dir.path(), &["archive-charts"], &env);
    assert_eq!(code, Some(4), "{out}{err}");
    assert!(out.contains("trying again: 1 chart(s)"), "{out}");
    assert!(out.contains("archived 0, refreshed 0, failed 1"), "{out}");
}
