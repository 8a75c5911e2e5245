//! What lets several replicas share one database (SPEC 16): an election of the one replica
//! that holds the Discord gateway, and word of every change so each replica's read caches
//! drop what another replica's write made old.
//!
//! Both run on a thread of their own, each with a connection of its own outside the pool, and
//! report through a callback; neither stops the server when the database is away (they try
//! again every few seconds).
//!
//! **The leader** holds a session-level advisory lock ([`GATEWAY_LOCK`]) on its own connection.
//! The lock goes with the session: when the holder's process dies the server sees the socket
//! close and frees the lock at once; when the holder's machine or network dies the server
//! notices through its TCP keepalives (set for this session: about 11 s). The holder watches
//! its connection: one the server closes (`pg_terminate_backend`, a server restart) is seen at
//! once, and one that leads nowhere fails a check within about 5 s (its own keepalives); either
//! way it reports that it no longer leads before anything else. A replica that takes the lock
//! waits [`ElectionSettings::grace`] (1 s) before it leads. So the old holder has stopped before
//! the new one starts, and two replicas never both lead. Followers try to take the lock every
//! [`ElectionSettings::retry`].
//!
//! **Changes**: migration 4's triggers `NOTIFY coach_plans_changes` in every transaction that
//! changes plans, history or charts; PostgreSQL delivers the notification when the transaction
//! commits. A listener on each replica reports each one. While its connection is down it cannot
//! hear them, so it reports a change every [`ElectionSettings::unheard`] instead, until it
//! listens again (then once more): read caches then hold nothing older than that.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use coach_plans_config::DatabaseConfig;
use coach_plans_storage::StoreError;
use fallible_iterator::FallibleIterator as _;

use crate::connect::Target;
use crate::errors::sql_error;
use crate::store::target_of;

/// The advisory lock of the Discord gateway is this number and a hash of the schema the tables
/// are in (`current_schema()`), so two deployments in two schemas of one database elect apart.
pub const GATEWAY_LOCK: i32 = 0x6368_6777;

/// The channel migration 3's triggers notify, with the changed table's schema as the payload
/// (a listener hears every schema's changes and keeps its own).
pub const CHANGES_CHANNEL: &str = "coach_plans_changes";

/// How often, and how patiently, replicas coordinate.
#[derive(Debug, Clone, Copy)]
pub struct ElectionSettings {
    /// How often a follower tries to take the lock, and how long a lost connection waits
    /// before connecting again.
    pub retry: Duration,
    /// How often the leader asks the server over its lock connection (a connection the server
    /// closes is noticed at once, whatever this is).
    pub check: Duration,
    /// How long a replica that took the lock waits before it leads.
    pub grace: Duration,
    /// How often a change is reported while the change listener cannot listen.
    pub unheard: Duration,
}

impl Default for ElectionSettings {
    /// Takeover within 15 s of a holder's death (SPEC 16): the server frees a dead holder's
    /// lock within about 11 s, and a follower tries every 2 s.
    fn default() -> Self {
        Self {
            retry: Duration::from_secs(2),
            check: Duration::from_millis(250),
            grace: Duration::from_secs(1),
            unheard: Duration::from_millis(250),
        }
    }
}

/// A thread coordinating with the other replicas; stopped (and joined) when dropped.
#[derive(Debug)]
pub struct Coordinator {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Coordinator {
    fn spawn(name: &str, run: impl FnOnce(&mpsc::Receiver<()>) + Send + 'static) -> Self {
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || run(&stopped))
            .ok();
        if thread.is_none() {
            log::error!("cannot start the thread {name}; this replica does not coordinate");
        }
        Self {
            stop: Some(stop),
            thread,
        }
    }

    /// Stops the thread and waits for it: a leader lets its lock go (its connection closes).
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Coordinator {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Waits `pause`, or less when asked to stop; says whether to go on.
fn pause(stop: &mpsc::Receiver<()>, pause: Duration) -> bool {
    matches!(stop.recv_timeout(pause), Err(RecvTimeoutError::Timeout))
}

/// A connection for coordination: its peer's death noticed within seconds on both sides.
fn connect(target: &Target) -> Result<postgres::Client, StoreError> {
    let mut config = target.config.clone();
    // Ours: a dead server (or network) fails this connection's next call within about 5 s.
    config
        .keepalives_idle(Duration::from_secs(2))
        .keepalives_interval(Duration::from_secs(1))
        .keepalives_retries(3)
        .tcp_user_timeout(Duration::from_secs(5));
    let mut client = crate::connect::connect_within(&Target {
        config,
        tls: target.tls.clone(),
        shown: target.shown.clone(),
    })?;
    // The server's: a dead holder's session (and its lock) ends within about 11 s.
    client
        .batch_execute(
            "SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; \
             SET tcp_keepalives_count = 3; SET tcp_user_timeout = 10000",
        )
        .map_err(|e| sql_error(&target.shown, e))?;
    Ok(client)
}

/// `target` whose sessions say what they are for in `pg_stat_activity`: the URL's application
/// name (`coach-plans` by default) and `role`.
fn named(mut target: Target, role: &str) -> Target {
    let base = target
        .config
        .get_application_name()
        .unwrap_or("coach-plans")
        .to_owned();
    target.config.application_name(&format!("{base} {role}"));
    target
}

/// Starts the election of the replica that holds the Discord gateway: `on_change(true)` when
/// this replica takes the lock, `on_change(false)` when it loses it (its connection failed or
/// was killed) and when the election stops while leading. Errors only when `config` names no
/// usable PostgreSQL URL; an unreachable database is retried.
pub fn elect_leader(
    config: &DatabaseConfig,
    settings: ElectionSettings,
    on_change: impl Fn(bool) + Send + 'static,
) -> Result<Coordinator, StoreError> {
    let target = named(target_of(config)?, "gateway lock");
    Ok(Coordinator::spawn("coach-plans-leader", move |stop| {
        run_election(&target, settings, &on_change, stop);
    }))
}

fn run_election(
    target: &Target,
    settings: ElectionSettings,
    on_change: &dyn Fn(bool),
    stop: &mpsc::Receiver<()>,
) {
    let mut client: Option<postgres::Client> = None;
    let mut leading = false;
    let mut outage = Outage::default();
    loop {
        let wait = match client.as_mut() {
            None => match connect(target) {
                Ok(connected) => {
                    outage.over("the gateway lock");
                    client = Some(connected);
                    Duration::ZERO
                }
                Err(error) => {
                    outage.failed("the gateway lock", &error);
                    settings.retry
                }
            },
            Some(held) if leading => match still_held(held, settings.check) {
                Ok(()) => Duration::ZERO,
                Err(error) => {
                    leading = false;
                    on_change(false);
                    log::warn!(
                        "lost the connection holding the Discord gateway lock ({}); the gateway is stopped and another replica may take over",
                        sql_error(&target.shown, error)
                    );
                    client = None;
                    settings.retry
                }
            },
            Some(free) => match take(free, settings.grace, stop) {
                Ok(true) => {
                    leading = true;
                    log::info!("this replica leads: it holds the Discord gateway lock");
                    on_change(true);
                    Duration::ZERO
                }
                Ok(false) => settings.retry,
                Err(error) => {
                    outage.failed("the gateway lock", &sql_error(&target.shown, error));
                    client = None;
                    settings.retry
                }
            },
        };
        if !pause(stop, wait) {
            break;
        }
    }
    // Closing the connection frees the lock for the next replica.
    drop(client);
    if leading {
        on_change(false);
    }
}

/// Tries to take the lock; having taken it, waits `grace` and checks the connection again
/// before saying so, so that a holder whose connection was just killed has noticed and stopped
/// (it notices within milliseconds, as the connection closes).
fn take(
    client: &mut postgres::Client,
    grace: Duration,
    stop: &mpsc::Receiver<()>,
) -> Result<bool, postgres::Error> {
    let row = client.query_one(
        "SELECT pg_try_advisory_lock($1, hashtext(current_schema()))",
        &[&GATEWAY_LOCK],
    )?;
    // NULL (no schema on the search path) takes nothing.
    if row.try_get::<_, Option<bool>>(0)? != Some(true) {
        return Ok(false);
    }
    if !pause(stop, grace) {
        return Ok(false);
    }
    client.simple_query("SELECT 1")?;
    Ok(true)
}

/// Waits up to `check` on the lock connection, returning early with an error when it closes
/// (a killed connection is seen at once), then asks the server something: a connection that
/// is open but leads nowhere (a dead network) fails that within about 5 s.
fn still_held(client: &mut postgres::Client, check: Duration) -> Result<(), postgres::Error> {
    {
        let mut notifications = client.notifications();
        let mut waiting = notifications.timeout_iter(check);
        while waiting.next()?.is_some() {}
    }
    client.simple_query("SELECT 1").map(drop)
}

/// Starts listening for changes made by any replica (this one's included): `on_change()` for
/// each committed change, and every [`ElectionSettings::unheard`] while the listener cannot
/// listen. Errors only when `config` names no usable PostgreSQL URL.
pub fn listen_for_changes(
    config: &DatabaseConfig,
    settings: ElectionSettings,
    on_change: impl Fn() + Send + 'static,
) -> Result<Coordinator, StoreError> {
    let target = named(target_of(config)?, "change listener");
    Ok(Coordinator::spawn("coach-plans-changes", move |stop| {
        run_listener(&target, settings, &on_change, stop);
    }))
}

fn run_listener(
    target: &Target,
    settings: ElectionSettings,
    on_change: &dyn Fn(),
    stop: &mpsc::Receiver<()>,
) {
    let mut outage = Outage::default();
    loop {
        let listening = connect(target).and_then(|mut client| {
            let schema = client
                .batch_execute(&format!("LISTEN {CHANGES_CHANNEL}"))
                .and_then(|()| client.query_one("SELECT current_schema()::text", &[]))
                .and_then(|row| row.try_get::<_, Option<String>>(0))
                .map_err(|e| sql_error(&target.shown, e))?;
            Ok((client, schema.unwrap_or_default()))
        });
        match listening {
            Ok((mut client, schema)) => {
                outage.over("the change listener");
                // Changes committed while nobody listened.
                on_change();
                if let Err(error) = listen(&mut client, &schema, settings, on_change, stop) {
                    outage.failed("the change listener", &sql_error(&target.shown, error));
                } else if client.is_closed() {
                    outage.failed(
                        "the change listener",
                        &StoreError::Other("the server closed the connection".into()),
                    );
                } else {
                    return;
                }
            }
            Err(error) => outage.failed("the change listener", &error),
        }
        // Not listening: nothing cached may be trusted for longer than `unheard`.
        let retry_at = std::time::Instant::now() + settings.retry;
        loop {
            on_change();
            if !pause(stop, settings.unheard) {
                return;
            }
            if std::time::Instant::now() >= retry_at {
                break;
            }
        }
    }
}

/// Reports each notification of a change in `schema` until the connection fails (`Err`, or `Ok` with the client
/// closed) or the listener is stopped (`Ok`).
fn listen(
    client: &mut postgres::Client,
    schema: &str,
    settings: ElectionSettings,
    on_change: &dyn Fn(),
    stop: &mpsc::Receiver<()>,
) -> Result<(), postgres::Error> {
    loop {
        // The driver's wait starts again at each notification: a busy channel (every schema
        // of the server shares it) must not keep the stop from being seen.
        let until = std::time::Instant::now() + settings.unheard;
        {
            let mut notifications = client.notifications();
            let mut heard = notifications.timeout_iter(settings.unheard);
            while let Some(notification) = heard.next()? {
                if notification.payload() == schema {
                    on_change();
                }
                if std::time::Instant::now() >= until {
                    break;
                }
            }
        }
        if client.is_closed() || !pause(stop, Duration::ZERO) {
            return Ok(());
        }
    }
}

/// Logs an outage of a coordination connection once, and its end.
#[derive(Debug, Default)]
struct Outage {
    logged: bool,
}

impl Outage {
    fn failed(&mut self, what: &str, error: &StoreError) {
        if !self.logged {
            log::warn!(
                "{what} cannot reach the database ({error}); trying again every few seconds"
            );
            self.logged = true;
        }
    }

    fn over(&mut self, what: &str) {
        if std::mem::take(&mut self.logged) {
            log::info!("{what} reaches the database again");
        }
    }
}
