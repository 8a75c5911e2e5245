//! One module per command.

use coach_plans_config::{Config, LoadOptions};

use crate::cli::{Cli, Command};
use crate::exit::Exit;

mod archive_charts;
mod check_config;
mod copy;
mod import_legacy;
mod migrate;
mod serve;
mod simulate;

/// Prints a one-line error for the person at the terminal.
macro_rules! fail {
    ($($arg:tt)*) => {{
        #[allow(clippy::print_stderr)]
        {
            eprintln!("coach-plans: {}", format_args!($($arg)*));
        }
    }};
}
pub(crate) use fail;

/// Prints a line of a command's result on standard output.
macro_rules! say {
    ($($arg:tt)*) => {{
        #[allow(clippy::print_stdout)]
        {
            println!($($arg)*);
        }
    }};
}
pub(crate) use say;

pub(crate) fn run(cli: Cli) -> Exit {
    let config = match Config::load(&LoadOptions {
        file: cli.config.clone(),
        env_files: cli.env_files.clone(),
        mock: cli.mock(),
        offline: matches!(
            cli.command,
            Some(
                Command::Migrate { .. }
                    | Command::ImportLegacy { .. }
                    | Command::Simulate { .. }
                    | Command::ArchiveCharts { .. }
                    | Command::Copy { .. }
            )
        ),
    }) {
        Ok(config) => config,
        Err(error) => {
            fail!("configuration error: {error}");
            return Exit::Config;
        }
    };
    match cli.command {
        Some(Command::CheckConfig { .. }) => check_config::run(&config),
        Some(Command::Migrate { dry_run }) => migrate::run(&config, dry_run),
        Some(Command::ImportLegacy { file, dry_run }) => {
            import_legacy::run(&config, &file, dry_run)
        }
        Some(Command::ArchiveCharts { dry_run }) => archive_charts::run(&config, dry_run),
        Some(Command::Copy { from, to }) => copy::run(&config, &from, &to),
        Some(Command::Simulate {
            date,
            days,
            coaches,
        }) => simulate::run(&config, date, days, &coaches),
        Some(Command::Serve { .. }) | None => serve::run(config),
    }
}
