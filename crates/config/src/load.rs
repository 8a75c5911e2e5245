//! Loading: the file's value tree, the environment laid over it from the table of settings,
//! one typed deserialization, then the checks.

use std::collections::HashMap;
use std::path::PathBuf;

use serde_yaml::{Mapping, Value};

use crate::env_file::parse_env_file;
use crate::error::{ConfigError, ConfigWarning};
use crate::settings::{Read, SETTINGS, Setting, describe, is_section, setting, unprintable};
use crate::yaml::{self, get, put, take};
use crate::{ChartBackend, Config};

/// Where to load the configuration from.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// A YAML file (`--config`); defaults and the environment alone when `None`.
    pub file: Option<PathBuf>,
    /// Environment files (`--env-file`, systemd `EnvironmentFile=` syntax), read in order;
    /// their assignments override the process environment, as systemd's `EnvironmentFile=`
    /// overrides `Environment=`, and a later file overrides an earlier one.
    pub env_files: Vec<PathBuf>,
    /// The `--mock` flag: mock mode on whatever the file and environment say.
    pub mock: bool,
    /// The command does not connect to Discord (`migrate`, `import-legacy`, `simulate`), so
    /// the bot token is not required.
    pub offline: bool,
}

impl Config {
    /// Loads defaults < the file < the process environment (with the environment files
    /// applied over it), and validates the result.
    pub fn load(options: &LoadOptions) -> Result<Self, ConfigError> {
        let text = match &options.file {
            Some(path) => {
                Some(
                    std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
                        path: path.clone(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        let label = options
            .file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        // vars_os, not vars: one non-UTF-8 variable anywhere must not stop the server.
        let mut env: HashMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        for path in &options.env_files {
            let text =
                std::fs::read_to_string(path).map_err(|source| ConfigError::ReadEnvFile {
                    path: path.clone(),
                    source,
                })?;
            env.extend(parse_env_file(&path.display().to_string(), &text)?);
        }
        Self::build(
            text.as_deref().map(|t| (label.as_str(), t)),
            env,
            options.mock,
            !options.offline,
        )
    }

    /// Builds the configuration from a file's text (with a label for messages), environment
    /// pairs and the `--mock` flag. Tests use this instead of the process environment.
    pub fn from_sources(
        file: Option<(&str, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
        mock: bool,
    ) -> Result<Self, ConfigError> {
        Self::build(file, env, mock, true)
    }

    fn build(
        file: Option<(&str, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
        mock: bool,
        connects: bool,
    ) -> Result<Self, ConfigError> {
        let env: HashMap<String, String> = env.into_iter().collect();
        let label = file.map_or("", |(label, _)| label);
        let mut unset_references = Vec::new();
        let mut tree = match file {
            Some((label, text)) => yaml::read(label, text, &env, &mut unset_references)?,
            None => Value::Mapping(Mapping::new()),
        };
        // A section written with nothing under it (`api:`) is an empty one.
        if let Value::Mapping(sections) = &mut tree {
            sections
                .retain(|name, value| !(value.is_null() && name.as_str().is_some_and(is_section)));
        }
        // The raw text of each setting the environment gave, for messages about it.
        let mut from_env = HashMap::new();
        let mut warnings = Vec::new();
        for setting in SETTINGS {
            let mut value = take(&mut tree, setting.key);
            if let Some(var) = setting.env
                && let Some(raw) = env.get(var).filter(|raw| !raw.trim().is_empty())
                && let Some(given) = setting
                    .read
                    .parse_env(raw)
                    .map_err(|m| invalid(setting, m))?
            {
                from_env.insert(setting.key, raw.as_str());
                value = Some(given);
            }
            let Some(value) = value else { continue };
            let Some(value) = setting
                .read
                .normalize(value)
                .map_err(|m| invalid(setting, m))?
            else {
                continue;
            };
            if let Some(instead) = setting.deprecated {
                warnings.push(ConfigWarning::Deprecated {
                    key: setting.key,
                    env: setting.env,
                    instead,
                });
            }
            put(&mut tree, setting.key, value);
        }
        let mut config: Self = serde_path_to_error::deserialize(&tree)
            .map_err(|error| type_error(label, &error, &from_env))?;
        config.mock.enabled |= mock;
        config.warnings = warnings;
        if connects {
            check_bot_token(&config, &unset_references)?;
        }
        for setting in SETTINGS {
            if let (Some(check), Some(value)) = (setting.check, get(&tree, setting.key)) {
                check(value).map_err(|m| invalid(setting, m))?;
            }
        }
        check_chart_backend(&config)?;
        Ok(config)
    }
}

/// Commands that talk to Discord need a token Discord could have issued.
fn check_bot_token(
    config: &Config,
    unset_references: &[(String, String)],
) -> Result<(), ConfigError> {
    let Some(token) = &config.discord.bot_token else {
        if config.mock.enabled {
            return Ok(());
        }
        return Err(ConfigError::MissingToken {
            unset_reference: unset_references
                .iter()
                .find(|(key, var)| key == "discord.bot_token" && var != "DISCORD_BOT_TOKEN")
                .map(|(_, var)| var.clone()),
        });
    };
    // Discord's tokens are printable ASCII; a line break or space pasted in would otherwise be
    // sent in the Authorization header, fail there, and read as "cannot reach Discord".
    let bare = token
        .expose()
        .strip_prefix("Bot ")
        .unwrap_or(token.expose());
    match unprintable(bare, false) {
        Some(problem) => Err(ConfigError::invalid(
            "discord.bot_token",
            format!(
                "{problem}; a bot token is printable ASCII without spaces or line breaks \
                 (copy it again from the Developer Portal: Bot -> Reset Token)"
            ),
        )),
        None => Ok(()),
    }
}

/// Charts kept in the database need a database that can keep them: PostgreSQL's.
fn check_chart_backend(config: &Config) -> Result<(), ConfigError> {
    if config.charts.backend == ChartBackend::Database && config.database.url.is_none() {
        return Err(ConfigError::invalid(
            "charts.backend",
            "'database' keeps chart images in PostgreSQL, but database.url (DATABASE_URL) is \
             not set; set it, or use 'directory' (or 'auto') to keep them in charts.store \
             (CHART_STORE)",
        ));
    }
    Ok(())
}

fn invalid(setting: &Setting, message: String) -> ConfigError {
    ConfigError::Invalid {
        key: setting.key,
        env: setting.env,
        message,
    }
}

/// A value serde refused, named by its key and variable. A value the environment gave is
/// described by its text, as the variable was written; a secret's value is never echoed.
fn type_error(
    file: &str,
    error: &serde_path_to_error::Error<serde_yaml::Error>,
    from_env: &HashMap<&str, &str>,
) -> ConfigError {
    let path = error.path().to_string();
    let setting = setting(&path);
    if let Some(setting) = setting
        && let Some(raw) = from_env.get(setting.key)
    {
        return invalid(setting, setting.read.not_expected(raw));
    }
    let message = if setting.is_some_and(|s| matches!(s.read, Read::Secret)) {
        format!("{}: expected a string", describe(&path))
    } else if path == "." {
        format!(
            "the top level must be a mapping of sections: {}",
            error.inner()
        )
    } else {
        format!("{}: {}", describe(&path), error.inner())
    };
    ConfigError::File {
        file: file.to_owned(),
        message,
    }
}
