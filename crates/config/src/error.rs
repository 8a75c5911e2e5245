//! Configuration errors: one line each, naming the setting and its environment variable
//! (`invalid api.port (API_PORT): ...`), and never a secret's value.

use std::fmt;
use std::path::PathBuf;

use crate::settings::variable_for;

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
    /// A file named by `--env-file` could not be read.
    #[error("cannot read the environment file {}: {source}", path.display())]
    ReadEnvFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A line of an environment file is not `KEY=VALUE` (systemd's `EnvironmentFile=` syntax).
    #[error("{file}:{line}: {message}")]
    EnvFile {
        /// The file.
        file: String,
        /// The line (from 1) where the assignment starts.
        line: usize,
        /// What is wrong; never the value, which may be a secret.
        message: String,
    },
    /// The file references `${NAME}` where leaving the value out means nothing (inside longer
    /// text, in a list), and the environment has no such variable.
    #[error(
        "{file}: {key}: ${{{name}}} is not set in the environment (write ${{{name}:-default}} to give a default)"
    )]
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
        /// What is wrong, naming the key path and its variable (e.g. `api.port (API_PORT)`).
        message: String,
    },
    /// A setting's value, from the file or the environment, is not allowed.
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
    #[error("{}", MissingToken(unset_reference.as_deref()))]
    MissingToken {
        /// The variable the file's `discord.bot_token: ${VAR}` names, when that is what left
        /// the token unset.
        unset_reference: Option<String>,
    },
}

impl ConfigError {
    /// `invalid KEY (VAR): message`, the variable looked up in the one table of settings.
    pub(crate) fn invalid(key: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            key,
            env: variable_for(key),
            message: message.into(),
        }
    }
}

/// Something in the configuration that works but should change. Loading happens before
/// logging starts, so [`crate::Config::warnings`] keeps these for the server to log at WARN.
/// `Display` gives the line to log, naming the setting and what to use instead.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigWarning {
    /// A deprecated setting is set (in the file or the environment); nothing reads it.
    Deprecated {
        /// The setting.
        key: &'static str,
        /// Its environment variable, when it has one.
        env: Option<&'static str>,
        /// What to use instead.
        instead: &'static str,
    },
}

struct MissingToken<'a>(Option<&'a str>);

impl fmt::Display for MissingToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("discord.bot_token is required unless mock mode is on: ")?;
        if let Some(var) = self.0 {
            write!(
                f,
                "the configuration file sets it to ${{{var}}}, which is not set; set {var} or \
                 DISCORD_BOT_TOKEN"
            )?;
        } else {
            f.write_str("set DISCORD_BOT_TOKEN (or discord.bot_token in the configuration file)")?;
        }
        f.write_str(", or run with --mock or MOCK_MODE=true")
    }
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Deprecated { key, env, instead } => {
                f.write_str(key)?;
                if let Some(var) = env {
                    write!(f, " ({var})")?;
                }
                write!(f, " is deprecated and has no effect; {instead}")
            }
        }
    }
}
