//! `coach-plans --mock`: the whole pipeline without Discord, as a newcomer first runs it.
#![allow(clippy::unwrap_used)]

use coach_plans_e2e::{Server, base_env};

#[test]
fn mock_mode_serves_every_coach_with_charts_and_restarts_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = base_env(dir.path());
    env.push(("MOCK_SEED_DAYS".into(), "2".into()));

    let server = Server::start(dir.path(), &["--mock"], &env);
    assert!(
        server.stdout().contains("MOCK MODE"),
        "the banner says so: {}",
        server.stdout()
    );
    let health = server.get("/health");
    assert_eq!(health.status, 200, "{}", health.body);
    let health = health.json();
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["components"]["discord_bot"]["status"], "mock");
    assert_eq!(health["components"]["database"]["plan_count"], 12);

    // The mock charts are generated images, archived in the background and served by the
    // server itself.
    server.wait_for_charts_archived();
    let all = server.get("/api/coach-plans/all").json();
    let coaches: Vec<_> = all.as_object().unwrap().keys().cloned().collect();
    assert_eq!(coaches, ["coach_d", "coach_i", "coach_n", "coach_s"]);
    let base = format!("http://{}", server.address);
    for (coach, plan) in all.as_object().unwrap() {
        assert!(plan["plan"].as_str().unwrap().len() > 40, "{coach}: {plan}");
        let charts = plan["charts"].as_array().unwrap();
        assert!(!charts.is_empty(), "{coach} has charts");
        let link = charts[0].as_str().unwrap();
        let path = link
            .strip_prefix(&base)
            .filter(|path| path.starts_with("/api/v1/charts/"))
            .unwrap_or_else(|| panic!("{coach}: {link} is not an archived chart of ours"));
        let chart = server.get(path);
        assert_eq!(chart.status, 200, "{link}");
        assert!(
            chart
                .head
                .to_ascii_lowercase()
                .contains("content-type: image/png")
        );
        assert!(chart.body.contains("PNG"), "a PNG");
    }
    let first_d = server.get("/api/coach-plans/?coach=d").json();
    let first_address = server.address;
    assert_eq!(server.stop(), Some(0));

    let again = Server::start(dir.path(), &["--mock"], &env);
    let health = again.get("/health").json();
    assert_eq!(
        health["components"]["database"]["plan_count"], 12,
        "no duplicates after a restart"
    );
    // The same plans and charts; the chart links name the port this server listens on.
    let rebased = |value: &serde_json::Value, address: std::net::SocketAddr| {
        value.to_string().replace(&address.to_string(), "SERVER")
    };
    assert_eq!(
        rebased(&again.get("/api/coach-plans/all").json(), again.address),
        rebased(&all, first_address)
    );
    assert_eq!(
        rebased(
            &again.get("/api/coach-plans/?coach=d").json(),
            again.address
        ),
        rebased(&first_d, first_address),
        "not overwritten either"
    );
    let history = again.get("/api/coach-plans/history?coach=d").json();
    assert_eq!(history["history"].as_array().unwrap().len(), 0);
    assert_eq!(again.stop(), Some(0));
}

#[test]
fn simulate_writes_mock_plans_without_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let env = base_env(dir.path());
    let env = coach_plans_e2e::pairs(&env);
    let out = coach_plans_e2e::run(
        dir.path(),
        &[
            "simulate",
            "--date",
            "2024-05-10",
            "--days",
            "1",
            "--coach",
            "D",
            "--coach",
            "coach_s",
        ],
        &env,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("simulate: 4 posted, 0 already present"),
        "{stdout}"
    );
    let again = coach_plans_e2e::run(dir.path(), &["simulate", "--date", "2024-05-10"], &env);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("simulate: 2 posted, 2 already present"),
        "only the missing coaches are posted"
    );
    let bad = coach_plans_e2e::run(dir.path(), &["simulate", "--coach", "zz"], &env);
    assert_eq!(bad.status.code(), Some(2));
}
