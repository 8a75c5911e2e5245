//! Several `coach-plans serve` on one PostgreSQL database (SPEC 16): every replica serves the
//! API and hears every other's changes; the one elected leader holds the Discord gateway.
//!
//! The election and the change listener are the PostgreSQL store's (`coach_plans_postgres::
//! {elect_leader, listen_for_changes}`); this module connects them to the service's read
//! caches and to the bot. On SQLite there is one server and it leads.

use coach_plans_bot::DiscordBot;
use coach_plans_config::DatabaseConfig;
use coach_plans_model::wire::Role;
use coach_plans_postgres::{Coordinator, ElectionSettings};
use coach_plans_service::PlanService;
use tokio::sync::watch;

/// The replica's coordination threads, stopped together at shutdown.
#[derive(Debug, Default)]
pub(crate) struct Coordination {
    threads: Vec<Coordinator>,
}

impl Coordination {
    /// Starts listening for other replicas' changes when the database is PostgreSQL: each one
    /// makes `service`'s read caches drop what they hold.
    pub(crate) fn listen(&mut self, config: &DatabaseConfig, service: &PlanService) {
        if config.url.is_none() {
            return;
        }
        let service = service.clone();
        match coach_plans_postgres::listen_for_changes(
            config,
            ElectionSettings::default(),
            move || service.note_external_change(),
        ) {
            Ok(listener) => self.threads.push(listener),
            Err(error) => log::error!("cannot listen for other replicas' changes: {error}"),
        }
    }

    /// Whether this replica leads, as it changes: always `true` on SQLite; on PostgreSQL, the
    /// election's word (`false` until this replica takes the gateway lock).
    pub(crate) fn elect(&mut self, config: &DatabaseConfig) -> watch::Receiver<bool> {
        if config.url.is_none() {
            return watch::channel(true).1;
        }
        let (leads, leading) = watch::channel(false);
        match coach_plans_postgres::elect_leader(config, ElectionSettings::default(), move |now| {
            let _ = leads.send(now);
        }) {
            Ok(election) => self.threads.push(election),
            Err(error) => log::error!("cannot take part in the gateway election: {error}"),
        }
        leading
    }

    /// Stops the threads; a leader's lock goes with its connection, so another replica takes
    /// the gateway over at once.
    pub(crate) async fn stop(self) {
        let stopping = tokio::task::spawn_blocking(move || {
            for thread in self.threads {
                thread.stop();
            }
        });
        if let Err(error) = stopping.await {
            log::error!("stopping the replica's coordination failed: {error}");
        }
    }
}

/// Runs `bot` while this replica leads, until `stop` turns `true`: a follower's bot stands by
/// (`/health` says so); a replica that loses the lead closes its gateway session before anything
/// else, and one that takes it over connects (and backfills what was missed meanwhile).
pub(crate) async fn lead(
    bot: DiscordBot,
    mut leads: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
) {
    let state = bot.state();
    loop {
        if !*leads.borrow() {
            state.set_role(Role::Follower);
        }
        tokio::select! {
            led = leads.wait_for(|leads| *leads) => if led.is_err() { return },
            _ = stop.wait_for(|stop| *stop) => return,
        }
        state.set_role(Role::Leader);
        let (mut term_leads, mut term_stop) = (leads.clone(), stop.clone());
        let result = bot
            .clone()
            .run(async move {
                // A closed channel (SQLite's, whose word never changes) ends nothing.
                let lost = async {
                    if term_leads.wait_for(|leads| !*leads).await.is_err() {
                        std::future::pending::<()>().await;
                    }
                };
                // The application's: stop, or gone (which stops the bot too).
                let stopped = async {
                    let _ = term_stop.wait_for(|stop| *stop).await;
                };
                tokio::select! {
                    () = lost => {}
                    () = stopped => {}
                }
            })
            .await;
        if *stop.borrow() || stop.has_changed().is_err() {
            return;
        }
        if result.is_err() {
            // A fatal error (a rejected token, say) is logged and shown; the bot stays down
            // until this replica stops leading (or stops).
            tokio::select! {
                lost = leads.wait_for(|leads| !*leads) => if lost.is_err() { return },
                _ = stop.wait_for(|stop| *stop) => return,
            }
        }
    }
}
