//! The YAML file: `${VAR}` interpolation, then strict parsing (unknown keys are errors that name
//! their path).

use std::collections::HashMap;
use std::path::PathBuf;

use coach_plans_model::{ChannelId, RoleId, UserId};
use serde::Deserialize;

use crate::error::ConfigError;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    pub(crate) discord: Option<FileDiscord>,
    pub(crate) database: Option<FileDatabase>,
    pub(crate) api: Option<FileApi>,
    pub(crate) logging: Option<FileLogging>,
    pub(crate) cache: Option<FileCache>,
    pub(crate) mock: Option<FileMock>,
    pub(crate) plans: Option<FilePlans>,
    pub(crate) coaches: Option<Vec<FileCoach>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileDiscord {
    pub(crate) bot_token: Option<String>,
    pub(crate) command_prefix: Option<String>,
    pub(crate) reconnect_attempts: Option<u32>,
    pub(crate) reconnect_delay_seconds: Option<f64>,
    pub(crate) channels: Option<Vec<ChannelId>>,
    pub(crate) admin_user_ids: Option<Vec<UserId>>,
    pub(crate) admin_role_ids: Option<Vec<RoleId>>,
    pub(crate) gateway_url: Option<String>,
    pub(crate) api_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileDatabase {
    pub(crate) path: Option<PathBuf>,
    pub(crate) connection_timeout: Option<f64>,
    pub(crate) pool_size: Option<u32>,
    pub(crate) retry_max_delay: Option<f64>,
    pub(crate) state_dir: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileApi {
    pub(crate) host: Option<String>,
    pub(crate) port: Option<u16>,
    pub(crate) cors_origins: Option<Vec<String>>,
    pub(crate) auth_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileLogging {
    pub(crate) level: Option<String>,
    pub(crate) file: Option<PathBuf>,
    pub(crate) max_size_mb: Option<f64>,
    pub(crate) backup_count: Option<u32>,
    pub(crate) format: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileCache {
    pub(crate) ttl_seconds: Option<u64>,
    pub(crate) max_size: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileMock {
    pub(crate) enabled: Option<bool>,
    pub(crate) seed_days: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FilePlans {
    pub(crate) timezone: Option<String>,
    pub(crate) max_chart_attachments: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileCoach {
    pub(crate) id: String,
    pub(crate) display_name: String,
    #[serde(default)]
    pub(crate) description: String,
    #[serde(default)]
    pub(crate) poster_user_ids: Vec<UserId>,
    #[serde(default)]
    pub(crate) poster_role_ids: Vec<RoleId>,
}

/// Keys whose values are secrets: a type error there must not echo the value.
const SECRET_KEYS: [&str; 2] = ["discord.bot_token", "api.auth_token"];

/// Parses a configuration file and interpolates `${VAR}` in its values.
pub(crate) fn parse(
    file: &str,
    text: &str,
    env: &HashMap<String, String>,
) -> Result<FileConfig, ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut value: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| ConfigError::File {
            file: file.to_owned(),
            message: format!("not valid YAML: {e}"),
        })?;
    if value.is_null() {
        // An empty file (or only comments) means "all defaults".
        return Ok(FileConfig::default());
    }
    interpolate_tree(file, "", &mut value, env)?;
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.inner().to_string();
        let message = if SECRET_KEYS.contains(&path.as_str()) {
            format!("{path}: expected a string")
        } else if path == "." {
            format!("the top level must be a mapping of sections: {inner}")
        } else {
            format!("{path}: {inner}")
        };
        ConfigError::File {
            file: file.to_owned(),
            message,
        }
    })
}

/// Interpolates every string value of the tree, in place. Interpolating parsed values rather
/// than the raw text leaves comments alone and keeps a value's characters from changing the
/// document's structure. A value that was a reference is read again as a YAML scalar, so
/// `port: ${API_PORT}` becomes a number.
fn interpolate_tree(
    file: &str,
    path: &str,
    value: &mut serde_yaml::Value,
    env: &HashMap<String, String>,
) -> Result<(), ConfigError> {
    use serde_yaml::Value;
    match value {
        Value::String(text) if text.contains('$') => {
            let replaced = interpolate(text, env).map_err(|problem| match problem {
                Problem::Undefined(name) => ConfigError::UndefinedVariable {
                    file: file.to_owned(),
                    key: path.to_owned(),
                    name,
                },
                Problem::Unterminated => ConfigError::File {
                    file: file.to_owned(),
                    message: format!("{path}: unterminated ${{ (write $${{ for a literal ${{)"),
                },
            })?;
            let reread = serde_yaml::from_str::<Value>(&replaced).ok().filter(|v| {
                matches!(v, Value::Bool(_) | Value::Number(_))
                    && text.trim_start().starts_with("${")
            });
            *value = reread.unwrap_or(Value::String(replaced));
        }
        Value::Mapping(map) => {
            for (key, item) in map.iter_mut() {
                let name = key
                    .as_str()
                    .map_or_else(|| format!("{key:?}"), str::to_owned);
                let child = if path.is_empty() {
                    name
                } else {
                    format!("{path}.{name}")
                };
                interpolate_tree(file, &child, item, env)?;
            }
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate_tree(file, &format!("{path}[{i}]"), item, env)?;
            }
        }
        Value::Tagged(tagged) => interpolate_tree(file, path, &mut tagged.value, env)?,
        _ => {}
    }
    Ok(())
}

enum Problem {
    Undefined(String),
    Unterminated,
}

/// Replaces `${NAME}` with the environment's value; `$${` stands for a literal `${`.
fn interpolate(text: &str, env: &HashMap<String, String>) -> Result<String, Problem> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        if let Some(literal) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = literal;
        } else if let Some(reference) = after.strip_prefix("${") {
            let end = reference.find('}').ok_or(Problem::Unterminated)?;
            let name = &reference[..end];
            out.push_str(
                env.get(name)
                    .ok_or_else(|| Problem::Undefined(name.to_owned()))?,
            );
            rest = &reference[end + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn references_are_replaced_and_escapes_kept() {
        let out = interpolate(
            "${A} and $${A}, $5 and ${B}x",
            &env(&[("A", "1"), ("B", "2")]),
        )
        .ok()
        .unwrap();
        assert_eq!(out, "1 and ${A}, $5 and 2x");
        assert!(
            matches!(interpolate("${NOPE}", &env(&[])), Err(Problem::Undefined(name)) if name == "NOPE")
        );
        assert!(matches!(
            interpolate("${UNCLOSED", &env(&[])),
            Err(Problem::Unterminated)
        ));
    }
}
