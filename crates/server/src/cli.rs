//! The command line: `coach-plans [--config FILE] [--mock] [COMMAND]`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// coach-plans: trading coaches' daily plans from Discord, stored and served over HTTP.
#[derive(Debug, Parser)]
#[command(name = "coach-plans", version, about, long_about = None)]
pub struct Cli {
    /// A YAML configuration file; environment variables override it.
    #[arg(long, short = 'c', global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

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
    /// Print the effective configuration, secrets masked, and exit (2 on any error).
    CheckConfig,
    /// Open the configured database, upgrading its schema in place (after a backup).
    Migrate {
        /// Show what would be done without touching the database.
        #[arg(long)]
        dry_run: bool,
    },
}
