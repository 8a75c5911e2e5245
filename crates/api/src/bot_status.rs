//! The Discord bot's state as the health endpoints see it. The API does not depend on the bot
//! crate; the server adapts the bot's state to this trait.

use coach_plans_model::wire::{BotHealth, BotStatus, Role, STANDBY_REASON};

/// Something that knows the Discord bot's state. Called on every health request: keep it cheap.
pub trait BotStatusSource: Send + Sync + 'static {
    /// The bot's state now.
    fn bot_health(&self) -> BotHealth;
}

/// A bot state that never changes, for tests and for servers without a bot.
#[derive(Debug, Clone)]
pub struct StaticBotStatus(pub BotHealth);

impl StaticBotStatus {
    /// Mock mode.
    pub fn mock() -> Self {
        Self(BotHealth {
            status: BotStatus::Mock,
            role: None,
            last_event_at: None,
            reason: None,
            backfill: None,
        })
    }

    /// Connected.
    pub fn connected() -> Self {
        Self(BotHealth {
            status: BotStatus::Connected,
            role: None,
            last_event_at: None,
            reason: None,
            backfill: None,
        })
    }

    /// A follower replica: another replica holds the gateway.
    pub fn standby() -> Self {
        Self(BotHealth {
            status: BotStatus::Standby,
            role: Some(Role::Follower),
            last_event_at: None,
            reason: Some(STANDBY_REASON.to_owned()),
            backfill: None,
        })
    }

    /// Disconnected, for this reason.
    pub fn disconnected(reason: impl Into<String>) -> Self {
        Self(BotHealth {
            status: BotStatus::Disconnected,
            role: None,
            last_event_at: None,
            reason: Some(reason.into()),
            backfill: None,
        })
    }
}

impl BotStatusSource for StaticBotStatus {
    fn bot_health(&self) -> BotHealth {
        self.0.clone()
    }
}

impl<F> BotStatusSource for F
where
    F: Fn() -> BotHealth + Send + Sync + 'static,
{
    fn bot_health(&self) -> BotHealth {
        self()
    }
}
