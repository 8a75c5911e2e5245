//! `coach-plans check-config`: the effective configuration, secrets masked.

use coach_plans_config::Config;

use super::say;
use crate::exit::Exit;

pub(crate) fn run(config: &Config) -> Exit {
    say!("{}", config.to_masked_yaml().trim_end());
    say!("# configuration OK");
    Exit::Ok
}
