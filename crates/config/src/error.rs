//! Configuration errors: one line each, naming the setting and its environment variable, and
//! never a secret's value.

use std::path::PathBuf;

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named by `--config` could not be read.
    #[error("cannot read the configuration file {}: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file references `${NAME}` and the environment has no such variable.
    #[error("{file}: {key}: ${{{name}}} is not set in the environment")]
    UndefinedVariable {
        /// The file.
        file: String,
        /// The key whose value references it.
        key: String,
        /// The variable.
        name: String,
    },
    /// The file is not valid YAML, or a key is unknown or has a value of the wrong type.
    #[error("{file}: {message}")]
    File {
        /// The file.
        file: String,
        /// What is wrong, naming the key path (e.g. `api.port`).
        message: String,
    },
    /// An environment variable holds a value its setting cannot take.
    #[error("invalid {var} ({key}): {message}")]
    Env {
        /// The environment variable.
        var: &'static str,
        /// The setting it overrides.
        key: &'static str,
        /// What was expected.
        message: String,
    },
    /// A setting's final value is not allowed.
    #[error("invalid {key}{}: {message}", env.map(|var| format!(" ({var})")).unwrap_or_default())]
    Invalid {
        /// The setting.
        key: &'static str,
        /// Its environment variable, when it has one.
        env: Option<&'static str>,
        /// What is wrong.
        message: String,
    },
    /// No bot token outside mock mode.
    #[error(
        "discord.bot_token is required unless mock mode is on: set DISCORD_BOT_TOKEN (or discord.bot_token in \
         the configuration file), or run with --mock or MOCK_MODE=true"
    )]
    MissingToken,
}
