//! A fake Discord on its own runtime, for tests that run the binary against it.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use coach_plans_fake_discord::{FakeDiscord, FakeMessage, Seen};

use crate::base_env;

/// The channel the fake's messages are posted in.
pub const CHANNEL: u64 = 500_000_000_000_000_001;
/// Dana, a coach allowed to post for coach `d`.
pub const DANA: u64 = 400_000_000_000_000_042;

/// The fake Discord, with a runtime of its own so the test thread can block.
pub struct Discord {
    /// The runtime the fake runs on (block on the fake's waits with it).
    pub runtime: tokio::runtime::Runtime,
    /// The fake.
    pub fake: FakeDiscord,
}

impl Discord {
    /// Starts a fake Discord whose waits give up after 30 s.
    pub fn start() -> Self {
        Self::with_wait_timeout(Duration::from_secs(30))
    }

    /// Starts a fake Discord whose waits give up after `timeout`.
    pub fn with_wait_timeout(timeout: Duration) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let fake = runtime
            .block_on(FakeDiscord::builder().wait_timeout(timeout).start())
            .unwrap();
        Self { runtime, fake }
    }

    /// The server's environment: files under `dir`, Discord pointed at the fake.
    pub fn env(&self, dir: &Path) -> Vec<(String, String)> {
        let mut env = base_env(dir);
        env.extend([
            ("DISCORD_BOT_TOKEN".into(), self.fake.token().to_owned()),
            ("DISCORD_GATEWAY_URL".into(), self.fake.gateway_url()),
            ("DISCORD_API_URL".into(), self.fake.api_url()),
        ]);
        env
    }

    /// Waits until the fake has sent `sessions` READY events in all (identifies accepted).
    pub fn wait_until_connected(&self, sessions: usize) {
        self.runtime
            .block_on(self.fake.wait_for_ready(sessions))
            .unwrap();
    }

    /// Sends a message as Dana and returns its id.
    pub fn say(&self, content: &str) -> u64 {
        self.fake
            .send_message(FakeMessage::new(CHANNEL, DANA, "dana", content))
    }

    /// The bot's reply to message `id`, waiting for it.
    pub fn reply_to(&self, id: u64) -> String {
        self.runtime
            .block_on(self.fake.wait_until(&format!("a reply to {id}"), |seen| {
                seen.messages
                    .iter()
                    .find(|m| m.reply_to == Some(id))
                    .map(|m| m.content.clone())
            }))
            .unwrap()
    }

    /// Ids of the messages the bot acknowledged with ✅ so far.
    pub fn acknowledged(&self) -> Vec<u64> {
        acknowledged_in(&self.fake.seen())
    }

    /// Waits until the bot has acknowledged at least `count` messages (woken by each post).
    pub fn wait_for_acknowledged(&self, count: usize) {
        self.runtime
            .block_on(
                self.fake
                    .wait_until(&format!("{count} acknowledgements"), |seen| {
                        (acknowledged_in(seen).len() >= count).then_some(())
                    }),
            )
            .unwrap();
    }
}

/// Ids of the messages the bot acknowledged with ✅ in what the fake saw.
pub fn acknowledged_in(seen: &Seen) -> Vec<u64> {
    seen.messages
        .iter()
        .filter(|m| m.content.starts_with('✅'))
        .filter_map(|m| m.reply_to)
        .collect()
}
