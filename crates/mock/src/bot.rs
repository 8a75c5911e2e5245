//! The mock bot: posts every coach's plan through the bot's own command handler, as if the
//! coaches had typed `!plan` in Discord.

use coach_plans_bot::{CommandHandler, IncomingMessage};
use coach_plans_model::{ChannelId, Coach, CoachId, PlanDate, UserId};

use crate::data::mock_plan;

/// The channel the mock bot "posts" in when no allow-list names one.
const MOCK_CHANNEL: ChannelId = match ChannelId::new(1_000_000_000_000_000_001) {
    Some(id) => id,
    None => panic!("a non-zero constant"),
};
/// Mock coaches' user ids start here (one per roster position).
const MOCK_USER_BASE: u64 = 1_000_000_000_000_000_100;
const FIRST_MOCK_USER: UserId = match UserId::new(MOCK_USER_BASE) {
    Some(id) => id,
    None => panic!("a non-zero constant"),
};

/// Feeds synthesized `!plan` messages, with mock chart attachments, through a
/// [`CommandHandler`]: the very path real Discord messages take.
#[derive(Debug, Clone)]
pub struct MockBot {
    handler: CommandHandler,
}

/// What a seeding run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Plans posted (coach id and date).
    pub posted: Vec<(String, PlanDate)>,
    /// Coach and dates that already had a plan and were left alone.
    pub already_present: usize,
    /// Posts the handler refused, with its reply.
    pub refused: Vec<String>,
}

impl MockBot {
    /// A mock bot posting through this handler.
    pub fn new(handler: CommandHandler) -> Self {
        Self { handler }
    }

    /// Posts a mock plan for every coach for `today` and the `days` days before it, except
    /// where a plan exists already (so restarts never duplicate or overwrite).
    pub async fn seed(&self, today: PlanDate, days: u32) -> SeedReport {
        self.seed_coaches(today, days, &[]).await
    }

    /// Like [`seed`](Self::seed), for the listed coaches only (every coach when empty).
    pub async fn seed_coaches(&self, today: PlanDate, days: u32, only: &[CoachId]) -> SeedReport {
        let mut report = SeedReport::default();
        let service = self.handler.service();
        for back in (0..=i64::from(days)).rev() {
            let Some(date) = today.checked_add_days(-back) else {
                continue;
            };
            for (position, coach) in service.roster().coaches().iter().enumerate() {
                if !only.is_empty() && !only.contains(&coach.id) {
                    continue;
                }
                match service.plan(&coach.id, date).await {
                    Ok(Some(_)) => {
                        report.already_present += 1;
                        continue;
                    }
                    Ok(None) => {}
                    // Never seed over a plan that cannot be seen.
                    Err(error) => {
                        report.refused.push(format!("{} {date}: {error}", coach.id));
                        continue;
                    }
                }
                let replies = self
                    .handler
                    .handle(&self.message(position, coach, date))
                    .await;
                match replies.first() {
                    Some(reply) if reply.starts_with('✅') => {
                        report.posted.push((coach.id.to_string(), date))
                    }
                    other => {
                        let reply = other.cloned().unwrap_or_else(|| "no reply".to_owned());
                        log::warn!(
                            "mock bot: the !plan for {} on {date} was refused: {reply}",
                            coach.id
                        );
                        report.refused.push(reply);
                    }
                }
            }
        }
        // A seeding that posts nothing (every plan present, or the database not readable yet
        // and retried every few seconds) is not worth a line at INFO.
        let level = if report.posted.is_empty() {
            log::Level::Debug
        } else {
            log::Level::Info
        };
        log::log!(
            level,
            "mock bot: posted {} plans ({} already present, {} refused)",
            report.posted.len(),
            report.already_present,
            report.refused.len()
        );
        report
    }

    /// The `!plan` message a coach would send for this date.
    fn message(&self, position: usize, coach: &Coach, date: PlanDate) -> IncomingMessage {
        let settings = self.handler.settings();
        let plan = mock_plan(&coach.id, date);
        let channel = settings.channels.first().copied().unwrap_or(MOCK_CHANNEL);
        // A coach limited to listed posters gets its first listed poster as the mock author.
        let author = coach.poster_user_ids.first().copied().unwrap_or_else(|| {
            UserId::new(MOCK_USER_BASE.saturating_add(position as u64)).unwrap_or(FIRST_MOCK_USER)
        });
        let mut message = IncomingMessage::new(
            channel,
            author,
            format!(
                "mock-{}",
                coach.display_name.to_lowercase().replace(' ', "-")
            ),
            format!("{}plan {} {date} {}", settings.prefix, coach.id, plan.text),
        );
        message.channel_name = Some("mock-plans".to_owned());
        message.role_ids = coach.poster_role_ids.first().copied().into_iter().collect();
        message.attachments = plan.charts;
        message
    }
}
