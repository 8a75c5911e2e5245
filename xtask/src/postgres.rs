//! The PostgreSQL suites of `cargo xtask ci` (SPEC 16): they run against a real server, the one
//! `COACH_PLANS_TEST_POSTGRES_URL` names or the machine's own on 127.0.0.1:5432. Without one,
//! CI (`CI=true`) fails with the command that installs and starts one; elsewhere the suites are
//! skipped with a loud line naming them and that command, so the README's test command still
//! passes on a fresh machine.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// The variable naming the test server (as the postgres crate's `testing` module reads it).
const SERVER_VARIABLE: &str = "COACH_PLANS_TEST_POSTGRES_URL";

/// The server the tests use without it.
const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// What the end-to-end PostgreSQL tests read to return early; only set here, after the loud
/// SKIPPED line.
const SKIP_VARIABLE: &str = "COACH_PLANS_POSTGRES_SKIP";

/// The suites that need the server, as the summary names them.
const SUITES: &[&str] = &[
    "coach-plans-postgres: the store contract on PostgreSQL, alone and behind the fallback (tests/contract.rs)",
    "coach-plans-postgres: faults: server down at start, killed sessions, statement timeout, newer schema, refused password (tests/faults.rs)",
    "coach-plans-postgres: the Discord delivery log on PostgreSQL: its contract, reopening, upgrade, concurrent records (tests/delivery.rs)",
    "coach-plans-postgres: chart images in PostgreSQL: the chart store contract, two replicas, concurrent writers, database down (tests/charts.rs)",
    "coach-plans-server: the backfill after a restart on PostgreSQL, with the real twilight shard (tests/app/backfill.rs)",
    "coach-plans-server: charts on PostgreSQL: archived through one server, served by another; a chart directory moved in; a database down at start, used once up (tests/app/charts_postgres.rs, src/charts/store.rs)",
    "coach-plans-e2e: the binary on PostgreSQL: copy round trip, migrate, check-config, exit 3, serve (tests/tests/postgres.rs)",
    "coach-plans-e2e: archive-charts on PostgreSQL: images in the database, or the directory when chosen (tests/tests/charts_postgres.rs)",
    "coach-plans-postgres: replicas: the gateway election (takeover, a killed lock session, schemas apart) and the change listener (tests/replicas.rs)",
    "coach-plans-postgres: faults: a server restarted under load loses no acknowledged plan (tests/faults.rs)",
    "coach-plans-e2e: two replicas with the fake Discord: one IDENTIFY, the follower serves the leader's plans and edits within 1 s, a killed lock session, takeover after SIGKILL (tests/tests/replicas.rs)",
];

/// The one command that gets a test server on a Debian or Ubuntu machine (what .ci/run does):
/// the package, a cluster started, and local logins trusted as the tests expect.
pub(crate) const INSTALL: &str = "sudo .ci/postgres";

/// Whether the PostgreSQL suites run, and where.
#[derive(Debug)]
pub(crate) enum Suites {
    /// Against this server (shown without a password).
    Run(String),
    /// Skipped, outside CI, for this reason.
    Skipped(String),
}

impl Suites {
    /// Looks for the test server: `Err` under `CI=true` when there is none.
    pub(crate) fn detect() -> Result<Self, String> {
        let url = std::env::var(SERVER_VARIABLE)
            .ok()
            .filter(|url| !url.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_SERVER.to_owned());
        let shown = masked(&url);
        match reachable(&url) {
            Ok(()) => Ok(Self::Run(shown)),
            Err(why) => {
                let why = format!("no PostgreSQL server at {shown} ({why})");
                if crate::in_ci() {
                    Err(format!(
                        "{why}: the PostgreSQL suites cannot run. Install and start one with `{INSTALL}`, \
                         or point {SERVER_VARIABLE} at a server (trust or password authentication; \
                         each test run creates and drops databases of its own)"
                    ))
                } else {
                    let skipped = Self::Skipped(why);
                    skipped.shout();
                    Ok(skipped)
                }
            }
        }
    }

    /// Arguments `cargo test --workspace` takes to leave the suites out, if skipped.
    pub(crate) fn excluded(&self) -> &'static [&'static str] {
        match self {
            Self::Run(_) => &[],
            Self::Skipped(_) => &["--exclude", "coach-plans-postgres"],
        }
    }

    /// Environment of the test run: tells the end-to-end PostgreSQL tests to return early.
    pub(crate) fn env(&self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Run(_) => &[],
            Self::Skipped(_) => &[(SKIP_VARIABLE, "1")],
        }
    }

    /// The lines of the summary.
    pub(crate) fn report(&self) {
        match self {
            Self::Run(server) => {
                eprintln!("PostgreSQL suites ran against {server}:");
                for suite in SUITES {
                    eprintln!("  ran      {suite}");
                }
            }
            Self::Skipped(_) => self.shout(),
        }
    }

    fn shout(&self) {
        if let Self::Skipped(why) = self {
            eprintln!("{}", "!".repeat(78));
            eprintln!("SKIPPED: the PostgreSQL suites: {why}");
            for suite in SUITES {
                eprintln!("  SKIPPED  {suite}");
            }
            eprintln!("Install and start a server with `{INSTALL}` (or set {SERVER_VARIABLE}).");
            eprintln!("Under CI=true this fails instead.");
            eprintln!("{}", "!".repeat(78));
        }
    }
}

/// Whether the test server accepts connections; `Err` says which server and why not.
pub(crate) fn server_reachable() -> Result<(), String> {
    let url = std::env::var(SERVER_VARIABLE)
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SERVER.to_owned());
    reachable(&url).map_err(|why| format!("no PostgreSQL server at {} ({why})", masked(&url)))
}

/// The URL with any password masked (the user info ends at the URL's last `@`, so a password
/// written raw with `/`, `?` or `@` in it is masked whole; the server's own masking,
/// `coach_plans_config::mask_url_password`, does the same: xtask keeps no dependencies).
fn masked(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.rsplit_once('@') {
        Some((user_info, after)) => {
            let user = user_info
                .split_once(':')
                .map_or(user_info, |(user, _)| user);
            let mask = if user_info.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{mask}@{after}")
        }
        None => url.to_owned(),
    }
}

/// The host and port of a `postgres://` URL (5432 when it names none).
fn host_and_port(url: &str) -> Option<(String, u16)> {
    let rest = url.split_once("://")?.1;
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => {
            (host, port.parse().ok()?)
        }
        _ => (host_port, 5432),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((
        if host.is_empty() { "localhost" } else { host }.to_owned(),
        port,
    ))
}

/// Whether something accepts TCP connections at the URL's host and port within 2 s.
fn reachable(url: &str) -> Result<(), String> {
    let (host, port) = host_and_port(url).ok_or("not a postgres:// URL with a host")?;
    let addresses = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| format!("{host}: {e}"))?;
    let mut last = String::from("no address");
    for address in addresses {
        match TcpStream::connect_timeout(&address, Duration::from_secs(2)) {
            Ok(_) => return Ok(()),
            Err(error) => last = format!("{address}: {error}"),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_host_and_port_and_lose_their_password() {
        assert_eq!(
            host_and_port("postgres://postgres@127.0.0.1:5433/x"),
            Some(("127.0.0.1".to_owned(), 5433))
        );
        assert_eq!(
            host_and_port("postgresql://u:p@db.example/x?sslmode=require"),
            Some(("db.example".to_owned(), 5432))
        );
        assert_eq!(
            masked("postgres://u:s3cret@db:5432/x"),
            "postgres://u:***@db:5432/x"
        );
        assert_eq!(masked(DEFAULT_SERVER), DEFAULT_SERVER);
        assert_eq!(
            masked("postgres://u:s3c/r?e@t@db/x"),
            "postgres://u:***@db/x"
        );
    }

    #[test]
    fn a_port_nobody_listens_on_is_unreachable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or(9);
        assert!(reachable(&format!("postgres://postgres@127.0.0.1:{port}/x")).is_err());
    }
}
