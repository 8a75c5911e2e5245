//! The command line: `coach-plans [--config FILE] [--mock] [COMMAND]`.

use std::path::PathBuf;

use clap::{CommandFactory as _, Parser, Subcommand};
use coach_plans_model::PlanDate;

fn parse_date(input: &str) -> Result<PlanDate, String> {
    PlanDate::parse(input).map_err(|e| e.to_string())
}

/// What `--help` ends with: what no command means, how to run it from a checkout, the exit
/// codes (SPEC 11) and where the documentation is.
const AFTER_HELP: &str = concat!(
    "Without a command, coach-plans serves: `coach-plans --mock` is `coach-plans serve --mock`.\n",
    "From a source checkout: `cargo run -p coach-plans-server -- [ARGS]`.\n",
    "\n",
    "Exit codes:\n",
    "  0  success (serve: stopped by SIGINT or SIGTERM)\n",
    "  1  runtime failure\n",
    "  2  configuration or usage error\n",
    "  3  database incompatible (written by a newer coach-plans; left untouched)\n",
    "  4  archive-charts: some charts could not be archived (each is listed with its reason)\n",
    "\n",
    "Documentation: docs/ in the source tree (",
    env!("CARGO_PKG_REPOSITORY"),
    "/tree/main/docs);\n",
    "start with docs/configuration.md and docs/troubleshooting.md.",
);

/// Stores the trading plans coaches post in Discord and serves them over HTTP.
#[derive(Debug, Parser)]
#[command(name = "coach-plans", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// A YAML configuration file; environment variables override it.
    #[arg(long, short = 'c', global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Read environment variables from FILE, in systemd's EnvironmentFile= syntax (KEY=VALUE
    /// lines, quotes, # comments); they override the process environment. Give the unit's
    /// file to `check-config` to see what the service will use. Repeatable; later files win.
    #[arg(long = "env-file", global = true, value_name = "FILE")]
    pub env_files: Vec<PathBuf>,

    /// Mock mode for serve and check-config: no Discord, mock plans (same as MOCK_MODE=true).
    #[arg(long)]
    pub mock: bool,

    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API and the Discord bot until SIGINT or SIGTERM (the default).
    Serve {
        /// Mock mode: no Discord connection, mock plans for every coach (same as
        /// MOCK_MODE=true).
        #[arg(long)]
        mock: bool,
    },
    /// Print the effective configuration, secrets masked, and exit.
    CheckConfig {
        /// Check it as mock mode would use it: no Discord token needed.
        #[arg(long)]
        mock: bool,
    },
    /// Upgrade the database schema in place, after a backup.
    Migrate {
        /// Show what would be done without touching the database.
        #[arg(long)]
        dry_run: bool,
    },
    /// Import the Python version's JSON export or a spill file.
    ///
    /// Every record is checked and compared with the database first; a bad or conflicting
    /// record changes nothing. When something will be written: a backup, one transaction,
    /// every record read back.
    ImportLegacy {
        /// The JSON file (`{"coach_d_2024-05-10": {"plan", "charts", "author", "timestamp", "channel"}}`).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Check every record and show what would be imported, changing nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Download every chart not archived yet into the chart store (charts.store).
    ///
    /// For charts imported with import-legacy, stored before archiving existed, or that the
    /// server could not archive yet: their Discord links expire, the archived copy does not.
    /// Uses serve's configuration (database, charts.store, charts.allowed_hosts,
    /// charts.max_bytes); with a bot token (DISCORD_BOT_TOKEN) expired links are refreshed
    /// through Discord first. Charts marked failed earlier (5 attempts, by the server or an
    /// earlier run) are tried again, so run it once the cause of a failure is fixed; when
    /// everything is archived it has nothing to do. Ends with a summary; exit code 4 when some
    /// charts failed, each listed with its reason.
    ArchiveCharts {
        /// List the charts that would be archived (plan, coach, date, link without its
        /// signature), changing nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Copy every plan, chart and history entry from one database to another.
    ///
    /// Each database is `sqlite:PATH` or a `postgres://` (`postgresql://`) URL; both are
    /// created or upgraded as `migrate` would. The target must be empty: everything is written
    /// in one transaction, read back and compared before the commit, and compared again
    /// afterwards (counts and a content digest, printed). Ids, deleted plans, history and the
    /// charts' archive state are kept. Stop the server first so nothing changes meanwhile.
    Copy {
        /// The database to copy from (`sqlite:./data/coach_plans.db`, `postgres://…`).
        #[arg(long, value_name = "URL")]
        from: String,
        /// The empty database to copy into.
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// Write mock plans into the database without starting the server.
    Simulate {
        /// The last date to post for (default: today in plans.timezone).
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        date: Option<PlanDate>,
        /// Also post for this many days before it.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=3660))]
        days: u32,
        /// Only these coaches (repeatable; default: every coach).
        #[arg(long = "coach", value_name = "COACH")]
        coaches: Vec<String>,
    },
}

impl Cli {
    /// Parses the process arguments; `--mock` before a command that has no use for it is a
    /// usage error, as it is after one.
    pub fn parse_args() -> Result<Self, clap::Error> {
        let cli = Self::try_parse()?;
        let ignores_mock = match &cli.command {
            Some(Command::Migrate { .. }) => Some("migrate"),
            Some(Command::ImportLegacy { .. }) => Some("import-legacy"),
            Some(Command::Simulate { .. }) => Some("simulate"),
            Some(Command::ArchiveCharts { .. }) => Some("archive-charts"),
            Some(Command::Copy { .. }) => Some("copy"),
            Some(Command::Serve { .. } | Command::CheckConfig { .. }) | None => None,
        };
        match ignores_mock {
            Some(command) if cli.mock => Err(Self::command().error(
                clap::error::ErrorKind::ArgumentConflict,
                format!("--mock applies to serve and check-config, not to {command}"),
            )),
            _ => Ok(cli),
        }
    }

    /// Whether mock mode was asked for, before or after the command.
    pub fn mock(&self) -> bool {
        self.mock
            || matches!(
                self.command,
                Some(Command::Serve { mock: true } | Command::CheckConfig { mock: true })
            )
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::Cli;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
