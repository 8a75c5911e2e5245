//! `coach-plans check-config`: the effective configuration, secrets masked.

use coach_plans_config::Config;

use super::{fail, say};
use crate::exit::Exit;

pub(crate) fn run(config: &Config) -> Exit {
    // What `serve` does first with the address: a host name that does not resolve would stop
    // it, so it stops the check too.
    if let Err(error) = config.api.socket_addrs() {
        fail!("configuration error: {error}");
        return Exit::Config;
    }
    say!("{}", config.to_masked_yaml().trim_end());
    for warning in config.warnings() {
        fail!("warning: {warning}");
    }
    say!("# configuration OK");
    Exit::Ok
}
