//! Test support (feature `testing`): an empty database of its own for each test (a schema in a
//! database the process's tests share, dropped by the last of them), on the server named by
//! `COACH_PLANS_TEST_POSTGRES_URL` or, without it, `postgres://postgres@127.0.0.1:5432` (user
//! postgres, trust authentication).

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError, mpsc};

use coach_plans_config::{DatabaseConfig, DatabaseUrl};

/// The variable naming the server tests use.
pub const SERVER_VARIABLE: &str = "COACH_PLANS_TEST_POSTGRES_URL";

/// The server tests use when [`SERVER_VARIABLE`] is unset.
pub const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable";

/// The variable `cargo xtask ci` sets, after its loud SKIPPED line, when there is no server
/// and it is not CI: the end-to-end tests then return at once (see [`skipped`]).
pub const SKIP_VARIABLE: &str = "COACH_PLANS_POSTGRES_SKIP";

/// Whether this run was told to skip the PostgreSQL tests (`COACH_PLANS_POSTGRES_SKIP=1`, set by
/// `cargo xtask ci` outside CI when no server is reachable); says so on standard error. A
/// test without a server and without this fails, naming the server it could not reach.
pub fn skipped(test: &str) -> bool {
    let skip = std::env::var(SKIP_VARIABLE).is_ok_and(|v| v == "1");
    if skip {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("SKIPPED {test}: no PostgreSQL server ({SKIP_VARIABLE}=1)");
        }
    }
    skip
}

/// The URL of the server tests use (of its maintenance database).
pub fn server_url() -> String {
    std::env::var(SERVER_VARIABLE)
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SERVER.to_owned())
}

/// Whether the test server answers; `Err` says why not, with the URL's password masked.
pub fn server_reachable() -> Result<(), String> {
    admin().map(drop)
}

fn admin() -> Result<postgres::Client, String> {
    connect(&server_url())
}

/// A connection made as the stores make theirs (TLS as the URL says).
fn connect(url: &str) -> Result<postgres::Client, String> {
    let session = crate::connect::Session {
        connect_timeout: std::time::Duration::from_secs(5),
        statement_timeout: std::time::Duration::from_secs(60),
    };
    let target = crate::connect::target(url, session).map_err(|e| e.to_string())?;
    target.config.connect(target.tls).map_err(|e| {
        format!(
            "cannot reach the test PostgreSQL server {}: {e}",
            target.shown
        )
    })
}

/// The database this process's tests share while any of them runs, each in a schema of its
/// own: creating a database takes the server most of a second, a schema a few milliseconds.
#[derive(Debug, Default)]
struct Shared {
    name: Option<String>,
    users: usize,
}

static SHARED: Mutex<Shared> = Mutex::new(Shared {
    name: None,
    users: 0,
});

fn shared() -> std::sync::MutexGuard<'static, Shared> {
    SHARED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An empty database of its own for one test: a schema, alone on the search path of every
/// session made through [`TestDatabase::url`], in a database with a name no other run uses
/// (created by the first test of the process that needs it, dropped by the last one to end).
/// Dropping this drops the schema, ending its sessions first.
#[derive(Debug)]
pub struct TestDatabase {
    database: String,
    schema: String,
    url: String,
}

impl TestDatabase {
    /// Creates an empty database. Panics when the test server cannot be reached: a test of
    /// PostgreSQL without one can say nothing (`cargo xtask ci` checks for a server first and
    /// says how to get one).
    pub fn create() -> Self {
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let number = COUNT.fetch_add(1, Ordering::Relaxed);
        let database = {
            let mut shared = shared();
            let name = match &shared.name {
                Some(name) => name.clone(),
                None => {
                    let name = format!(
                        "coach_plans_test_{}_{}_{number}",
                        std::process::id(),
                        jiff::Timestamp::now().as_millisecond()
                    );
                    admin()
                        .and_then(|mut admin| {
                            admin
                                .batch_execute(&format!("CREATE DATABASE {name}"))
                                .map_err(|e| format!("cannot create the test database {name}: {e}"))
                        })
                        .unwrap_or_else(|e| panic!("{e}"));
                    shared.name = Some(name.clone());
                    name
                }
            };
            shared.users += 1;
            name
        };
        let schema = format!("test_{number}");
        let base = with_database(&server_url(), &database);
        let this = Self {
            url: format!(
                "{base}{}options=-c%20search_path%3D{schema}&application_name=coach_plans_{schema}",
                if base.contains('?') { '&' } else { '?' }
            ),
            database,
            schema,
        };
        connect(&base)
            .and_then(|mut conn| {
                conn.batch_execute(&format!("CREATE SCHEMA {}", this.schema))
                    .map_err(|e| e.to_string())
            })
            .unwrap_or_else(|e| panic!("cannot create the test schema {}: {e}", this.schema));
        this
    }

    /// The name of its schema (what the stores see as their database).
    pub fn name(&self) -> &str {
        &self.schema
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its URL with another `host:port`, such as a proxy's in front of the server.
    pub fn url_through(&self, address: &str) -> String {
        let (scheme, rest) = self
            .url
            .split_once("://")
            .unwrap_or(("postgres", &self.url));
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        match authority.rsplit_once('@') {
            Some((user, _)) => format!("{scheme}://{user}@{address}{tail}"),
            None => format!("{scheme}://{address}{tail}"),
        }
    }

    /// A configuration naming it, with short timeouts for tests.
    pub fn config(&self) -> DatabaseConfig {
        DatabaseConfig {
            url: Some(DatabaseUrl::new(self.url.clone())),
            pool_size: 4,
            connection_timeout: std::time::Duration::from_secs(5),
            ..DatabaseConfig::default()
        }
    }

    /// A connection of its own to the database (to set up a fault, or look at rows).
    pub fn client(&self) -> postgres::Client {
        connect(&self.url).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs SQL on the database, panicking on failure (test setup).
    pub fn execute(&self, sql: &str) {
        self.client()
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Ends every session connected through [`TestDatabase::url`], as an administrator or a
    /// restart would (`pg_terminate_backend`); returns how many were ended.
    pub fn terminate_connections(&self) -> i64 {
        self.terminate_where("")
    }

    /// Ends the sessions connected through [`TestDatabase::url`] whose application name ends
    /// with ` role` (the replicas' `gateway lock` or `change listener`); returns how many.
    pub fn terminate_sessions_of(&self, role: &str) -> i64 {
        self.terminate_where(role)
    }

    /// Ends the session holding this database's Discord gateway lock (the leading replica's),
    /// leaving the followers' sessions alone; returns how many were ended (0 or 1).
    pub fn terminate_gateway_lock_holder(&self) -> i64 {
        let mut admin = admin().unwrap_or_else(|e| panic!("{e}"));
        admin
            .query_one(
                "SELECT COUNT(pg_terminate_backend(a.pid))
                 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                   AND l.classid = $3::int::oid AND a.datname = $1
                   AND a.application_name LIKE $2 || ' %'",
                &[
                    &self.database,
                    &format!("coach_plans_{}", self.schema),
                    &crate::GATEWAY_LOCK,
                ],
            )
            .and_then(|row| row.try_get(0))
            .unwrap_or_else(|e| panic!("cannot end the lock holder of {}: {e}", self.schema))
    }

    fn terminate_where(&self, role: &str) -> i64 {
        let mut admin = admin().unwrap_or_else(|e| panic!("{e}"));
        admin
            .query_one(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE datname = $1 AND pid <> pg_backend_pid()
                   AND (application_name = $2 OR application_name LIKE $2 || ' %')
                   AND ($3 = '' OR application_name LIKE '% ' || $3)",
                &[
                    &self.database,
                    &format!("coach_plans_{}", self.schema),
                    &role,
                ],
            )
            .and_then(|row| row.try_get(0))
            .unwrap_or_else(|e| panic!("cannot end the sessions of {}: {e}", self.schema))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let base = with_database(&server_url(), &self.database);
        self.terminate_connections();
        if let Err(error) = connect(&base).and_then(|mut conn| {
            conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema))
                .map_err(|e| e.to_string())
        }) {
            log::warn!("cannot drop the test schema {}: {error}", self.schema);
        }
        let mut shared = shared();
        shared.users = shared.users.saturating_sub(1);
        if shared.users == 0
            && let Some(name) = shared.name.take()
        {
            let dropped = admin().and_then(|mut admin| {
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .map_err(|e| e.to_string())
            });
            if let Err(error) = dropped {
                log::warn!("cannot drop the test database {name}: {error}");
            }
        }
    }
}

/// `url` naming the database `name` instead of its own.
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let query = tail.split_once('?').map(|(_, q)| q);
    match query {
        Some(query) => format!("{scheme}://{authority}/{name}?{query}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

/// A server on 127.0.0.1 (its port is returned) speaking just enough of PostgreSQL's protocol
/// to ask for a password in clear text and refuse it as a real one does (SQLSTATE 28P01): the
/// test server trusts every local login, so it cannot refuse a password itself. Sends each
/// password it received on the channel returned.
pub fn refusing_server() -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("{e}"))
        .port();
    let (sent, received) = mpsc::channel();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut len = [0u8; 4];
            if conn.read_exact(&mut len).is_err() {
                continue;
            }
            let mut startup = vec![0u8; (u32::from_be_bytes(len) as usize).saturating_sub(4)];
            let _ = conn.read_exact(&mut startup);
            // AuthenticationCleartextPassword.
            let _ = conn.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3]);
            let mut tag = [0u8; 1];
            if conn.read_exact(&mut tag).is_err() || conn.read_exact(&mut len).is_err() {
                continue;
            }
            let mut password = vec![0u8; (u32::from_be_bytes(len) as usize).saturating_sub(4)];
            let _ = conn.read_exact(&mut password);
            let _ = sent.send(
                String::from_utf8_lossy(&password)
                    .trim_end_matches('\0')
                    .to_owned(),
            );
            let mut fields = Vec::new();
            for (code, value) in [
                (b'S', "FATAL"),
                (b'V', "FATAL"),
                (b'C', "28P01"),
                (b'M', "password authentication failed for user \"coach\""),
            ] {
                fields.push(code);
                fields.extend_from_slice(value.as_bytes());
                fields.push(0);
            }
            fields.push(0);
            let mut message = vec![b'E'];
            message.extend_from_slice(
                &(u32::try_from(fields.len() + 4).unwrap_or(u32::MAX)).to_be_bytes(),
            );
            message.extend_from_slice(&fields);
            let _ = conn.write_all(&message);
        }
    });
    (port, received)
}

/// The host and port of the test server ([`server_url`]).
pub fn server_address() -> (String, u16) {
    let url = server_url();
    let config: postgres::Config = url
        .parse()
        .unwrap_or_else(|e| panic!("the test server's URL does not parse: {e}"));
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(host)) => host.clone(),
        other => panic!("the test server must be reached over TCP, not {other:?}"),
    };
    (host, config.get_ports().first().copied().unwrap_or(5432))
}

/// Forwards every connection made to `127.0.0.1:port` to the test server, from now on, on
/// threads of its own: the server "coming back" at the address a store was given while nothing
/// listened there (see [`TestDatabase::url_through`]).
pub fn forward_to_server(port: u16) {
    use std::net::{Shutdown, TcpStream};
    let (host, server_port) = server_address();
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap_or_else(|e| panic!("{e}"));
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect((host.as_str(), server_port)) else {
                continue;
            };
            let (Ok(client_copy), Ok(server_copy)) = (client.try_clone(), server.try_clone())
            else {
                continue;
            };
            for (mut from, mut into) in [(client_copy, server_copy), (server, client)] {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut into);
                    let _ = into.shutdown(Shutdown::Write);
                });
            }
        }
    });
}
