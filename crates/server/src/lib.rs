#![doc = include_str!("../README.md")]

use std::process::ExitCode;

mod application;
mod charts;
mod cli;
mod commands;
mod exit;
mod logging;
mod replicas;
mod wiring;

pub use application::Application;
pub use cli::{Cli, Command};
pub use exit::Exit;

/// Runs the `coach-plans` command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::parse_args() {
        Ok(cli) => cli,
        Err(error) => {
            // clap exits 2 for usage errors and 0 for --help and --version, as SPEC 11 wants.
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    commands::run(cli).into()
}
