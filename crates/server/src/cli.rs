//! The command line: `coach-plans [--config FILE] [--mock] [COMMAND]`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use coach_plans_model::PlanDate;

fn parse_date(input: &str) -> Result<PlanDate, String> {
    PlanDate::parse(input).map_err(|e| e.to_string())
}

/// coach-plans: trading coaches' daily plans from Discord, stored and served over HTTP.
#[derive(Debug, Parser)]
#[command(name = "coach-plans", version, about, long_about = None)]
pub struct Cli {
    /// A YAML configuration file; environment variables override it.
    #[arg(long, short = 'c', global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Read environment variables from FILE, in systemd's EnvironmentFile= syntax (KEY=VALUE
    /// lines, quotes, # comments); they override the process environment. Give the unit's
    /// file to `check-config` to see what the service will use. Repeatable; later files win.
    #[arg(long = "env-file", global = true, value_name = "FILE")]
    pub env_files: Vec<PathBuf>,

    /// Mock mode: no Discord connection, mock plans for every coach (same as MOCK_MODE=true).
    #[arg(long, global = true)]
    pub mock: bool,

    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API and run the Discord bot (or the mock bot) until SIGINT or SIGTERM.
    Serve,
    /// Print the effective configuration, secrets masked, and exit (2 on any error, including
    /// an api.host that does not resolve).
    CheckConfig,
    /// Open the configured database, upgrading its schema in place (after a backup).
    Migrate {
        /// Show what would be done without touching the database.
        #[arg(long)]
        dry_run: bool,
    },
    /// Import the Python version's memory export (or a spill file): backup first, one
    /// transaction, every record verified; a bad record changes nothing.
    ImportLegacy {
        /// The JSON file (`{"coach_d_2024-05-10": {"plan", "charts", "author", "timestamp", "channel"}}`).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Check every record and show what would be imported, changing nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write mock plans into the configured database without starting the server.
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
