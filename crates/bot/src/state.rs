//! The bot's connection state, shared with the health endpoint.

use std::sync::Arc;

use coach_plans_model::wire::{BackfillHealth, BotHealth, BotStatus, Role, STANDBY_REASON};
use tokio::sync::watch;

#[derive(Debug, Clone)]
struct Inner {
    status: BotStatus,
    /// Set once the replica takes part in an election (PostgreSQL).
    role: Option<Role>,
    reason: Option<String>,
    last_event_at: Option<jiff::Timestamp>,
    backfill: Option<Backfills>,
}

/// What the backfills so far did.
#[derive(Debug, Clone, Copy)]
struct Backfills {
    last_at: jiff::Timestamp,
    count: u64,
    recovered: u64,
    skipped: u64,
}

/// The bot's connection state: connected, disconnected (with a reason for the operator) or mock,
/// and when the last gateway event arrived. Cheap to clone; clones share the state.
#[derive(Debug, Clone)]
pub struct BotState {
    inner: Arc<watch::Sender<Inner>>,
}

impl Default for BotState {
    fn default() -> Self {
        Self::new()
    }
}

impl BotState {
    /// A bot that has not connected yet.
    pub fn new() -> Self {
        Self::with(
            BotStatus::Disconnected,
            Some("not connected yet".to_owned()),
        )
    }

    /// The state of a mock bot: no Discord connection, by design.
    pub fn mock() -> Self {
        Self::with(BotStatus::Mock, None)
    }

    fn with(status: BotStatus, reason: Option<String>) -> Self {
        let (tx, _) = watch::channel(Inner {
            status,
            role: None,
            reason,
            last_event_at: None,
            backfill: None,
        });
        Self {
            inner: Arc::new(tx),
        }
    }

    /// The state as the health report shows it.
    pub fn snapshot(&self) -> BotHealth {
        let inner = self.inner.borrow();
        BotHealth {
            status: inner.status,
            role: inner.role,
            last_event_at: inner
                .last_event_at
                .map(|at| coach_plans_service::format_timestamp(at).to_string()),
            reason: inner.reason.clone(),
            backfill: inner.backfill.map(|b| BackfillHealth {
                last_backfill_at: coach_plans_service::format_timestamp(b.last_at).to_string(),
                backfills: b.count,
                messages_recovered: b.recovered,
                channels_skipped: b.skipped,
            }),
        }
    }

    /// This replica leaves the gateway to another one on the same database (a follower), or
    /// is about to hold it (the leader, connecting).
    pub fn set_role(&self, role: Role) {
        self.inner.send_modify(|inner| {
            inner.role = Some(role);
            match role {
                Role::Follower => {
                    inner.status = BotStatus::Standby;
                    inner.reason = Some(STANDBY_REASON.to_owned());
                }
                Role::Leader => {
                    inner.status = BotStatus::Disconnected;
                    inner.reason =
                        Some("connecting: this replica took the gateway over".to_owned());
                }
            }
        });
    }

    /// The connection status alone.
    pub fn status(&self) -> BotStatus {
        self.inner.borrow().status
    }

    /// Waits until the state satisfies `condition` (checked at once, then on every change of
    /// status or reason, and after every backfill).
    pub async fn wait_until(&self, mut condition: impl FnMut(&BotHealth) -> bool) {
        let mut rx = self.inner.subscribe();
        loop {
            if condition(&self.snapshot()) {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    #[cfg(feature = "gateway")]
    pub(crate) fn set_connected(&self) {
        self.inner.send_if_modified(|inner| {
            let changed = inner.status != BotStatus::Connected || inner.reason.is_some();
            inner.status = BotStatus::Connected;
            inner.reason = None;
            changed
        });
    }

    #[cfg(feature = "gateway")]
    pub(crate) fn set_disconnected(&self, reason: impl Into<String>) {
        let reason = reason.into();
        self.inner.send_modify(|inner| {
            inner.status = BotStatus::Disconnected;
            inner.reason = Some(reason);
        });
    }

    /// Records a finished backfill: `recovered` commands handled late, `skipped` channels
    /// whose history could not be read. Waiters are woken.
    #[cfg(feature = "gateway")]
    pub(crate) fn backfilled(&self, recovered: u64, skipped: u64) {
        let now = jiff::Timestamp::now();
        self.inner.send_modify(|inner| {
            let (count, total) = inner.backfill.map_or((0, 0), |b| (b.count, b.recovered));
            inner.backfill = Some(Backfills {
                last_at: now,
                count: count + 1,
                recovered: total + recovered,
                skipped,
            });
        });
    }

    /// Records that a gateway event arrived now.
    #[cfg(feature = "gateway")]
    pub(crate) fn touch(&self) {
        let now = jiff::Timestamp::now();
        // Not a change waiters care about: no wake-up.
        self.inner.send_if_modified(|inner| {
            inner.last_event_at = Some(now);
            false
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mock_bot_says_so_and_a_new_one_is_disconnected() {
        assert_eq!(BotState::mock().status(), BotStatus::Mock);
        assert_eq!(BotState::new().status(), BotStatus::Disconnected);
    }

    #[cfg(feature = "gateway")]
    #[test]
    fn a_new_bot_is_disconnected_until_it_connects() {
        let state = BotState::new();
        assert_eq!(state.status(), BotStatus::Disconnected);
        let shared = state.clone();
        shared.set_connected();
        shared.touch();
        let health = state.snapshot();
        assert_eq!(health.status, BotStatus::Connected);
        assert_eq!(health.reason, None);
        let at = health.last_event_at.unwrap();
        assert!(
            at.ends_with("+00:00") && at.len() == "2025-11-09T20:36:52.274074+00:00".len(),
            "{at}"
        );
        state.set_disconnected("gone");
        assert_eq!(shared.snapshot().reason.as_deref(), Some("gone"));
    }
}
