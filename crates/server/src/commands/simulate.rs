//! `coach-plans simulate [--date D] [--days N] [--coach C]...`: mock plans written into the
//! configured database through the mock bot, without starting the server.

use coach_plans_bot::{CommandHandler, CommandSettings};
use coach_plans_config::Config;
use coach_plans_mock::MockBot;
use coach_plans_model::{CoachId, PlanDate};

use super::{fail, say};
use crate::exit::Exit;
use crate::wiring;

pub(crate) fn run(config: &Config, date: Option<PlanDate>, days: u32, coaches: &[String]) -> Exit {
    let store = match wiring::open_direct(&config.database) {
        Ok(store) => store,
        Err(exit) => return exit,
    };
    let service = match wiring::service(config, store) {
        Ok(service) => service,
        Err(exit) => return exit,
    };
    let coaches: Vec<CoachId> = match coaches
        .iter()
        .map(|input| service.roster().resolve(input).map(|c| c.id.clone()))
        .collect()
    {
        Ok(coaches) => coaches,
        Err(unknown) => {
            fail!(
                "unknown coach '{}'; valid coaches: {}",
                unknown.input,
                unknown.valid
            );
            return Exit::Config;
        }
    };
    let runtime = match wiring::runtime(false) {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    let date = date.unwrap_or_else(|| service.today());
    let handler = CommandHandler::new(
        service.clone(),
        CommandSettings::from_config(&config.discord),
    );
    let report = runtime.block_on(MockBot::new(handler).seed_coaches(date, days, &coaches));
    for (coach, day) in &report.posted {
        say!("posted: {coach} {day}");
    }
    say!(
        "simulate: {} posted, {} already present, {} refused ({})",
        report.posted.len(),
        report.already_present,
        report.refused.len(),
        wiring::database_name(&config.database)
    );
    for refused in &report.refused {
        say!("refused: {refused}");
    }
    if report.refused.is_empty() {
        Exit::Ok
    } else {
        Exit::Failure
    }
}
