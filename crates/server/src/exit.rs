//! Exit codes (SPEC 11).

use std::process::ExitCode;

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: normal.
    Ok,
    /// 1: a failure at run time.
    Failure,
    /// 2: a configuration or usage error.
    Config,
    /// 3: the database schema is newer than this build.
    IncompatibleDatabase,
    /// 4: `archive-charts` archived what it could, but some charts failed.
    ChartsFailed,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(match exit {
            Exit::Ok => 0,
            Exit::Failure => 1,
            Exit::Config => 2,
            Exit::IncompatibleDatabase => 3,
            Exit::ChartsFailed => 4,
        })
    }
}
