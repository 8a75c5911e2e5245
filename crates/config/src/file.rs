//! The YAML file: `${VAR}` and `${VAR:-default}` interpolation, then strict parsing (unknown
//! keys are errors that name their path; a wrong type names the key and its variable).

use std::collections::HashMap;
use std::path::PathBuf;

use coach_plans_model::{ChannelId, RoleId, UserId};
use serde::Deserialize;

use crate::error::ConfigError;
use crate::settings::{describe, is_variable_name, variable_for};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    /// Settings whose whole value was an unset `${VAR}`, so they count as not set:
    /// `(key, VAR)`.
    #[serde(skip)]
    pub(crate) unset_references: Vec<(String, String)>,
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
    let mut unset_references = Vec::new();
    interpolate_tree(file, "", &mut value, env, &mut unset_references)?;
    let mut config: FileConfig = serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.inner().to_string();
        let message = if SECRET_KEYS.contains(&path.as_str()) {
            format!("{}: expected a string", describe(&path))
        } else if path == "." {
            format!("the top level must be a mapping of sections: {inner}")
        } else {
            format!("{}: {inner}", describe(&path))
        };
        ConfigError::File {
            file: file.to_owned(),
            message,
        }
    })?;
    config.unset_references = unset_references;
    Ok(config)
}

/// Interpolates every string value of the tree, in place. Interpolating parsed values rather
/// than the raw text leaves comments alone and keeps a value's characters from changing the
/// document's structure. A value that was a reference is read again as a YAML scalar, so
/// `port: ${API_PORT}` becomes a number. A setting whose whole value is an unset `${VAR}`
/// becomes null: not set, so its default applies and validation decides whether it was
/// required (the bot token is, outside mock mode).
fn interpolate_tree(
    file: &str,
    path: &str,
    value: &mut serde_yaml::Value,
    env: &HashMap<String, String>,
    unset: &mut Vec<(String, String)>,
) -> Result<(), ConfigError> {
    use serde_yaml::Value;
    match value {
        Value::String(text) if text.contains('$') => match interpolate(text, env) {
            Ok(Interpolated::Text(replaced)) => {
                let reread = serde_yaml::from_str::<Value>(&replaced).ok().filter(|v| {
                    matches!(v, Value::Bool(_) | Value::Number(_))
                        && text.trim_start().starts_with("${")
                });
                *value = reread.unwrap_or(Value::String(replaced));
            }
            Ok(Interpolated::Unset(name)) if variable_for(path).is_some() => {
                unset.push((path.to_owned(), name));
                *value = Value::Null;
            }
            Ok(Interpolated::Unset(name)) | Err(Problem::Undefined(name)) => {
                return Err(ConfigError::UndefinedVariable {
                    file: file.to_owned(),
                    key: path.to_owned(),
                    name,
                });
            }
            Err(Problem::Malformed) => {
                return Err(ConfigError::File {
                    file: file.to_owned(),
                    message: format!(
                        "{path}: a ${{ that is not ${{NAME}} or ${{NAME:-default}} (write $${{ for a literal ${{)"
                    ),
                });
            }
        },
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
                interpolate_tree(file, &child, item, env, unset)?;
            }
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate_tree(file, &format!("{path}[{i}]"), item, env, unset)?;
            }
        }
        Value::Tagged(tagged) => interpolate_tree(file, path, &mut tagged.value, env, unset)?,
        _ => {}
    }
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
enum Interpolated {
    /// The text with every reference replaced.
    Text(String),
    /// The text is exactly `${NAME}` and NAME is unset or empty: no value at all.
    Unset(String),
}

#[derive(Debug, PartialEq, Eq)]
enum Problem {
    /// `${NAME}` inside longer text, NAME unset and no default.
    Undefined(String),
    /// An unterminated `${`, or one whose inside is not `NAME` or `NAME:-default`.
    Malformed,
}

/// Replaces `${NAME}` with the environment's value and `${NAME:-default}` with the value, or
/// the default when NAME is unset or empty (as sh does); `$${` stands for a literal `${`.
fn interpolate(text: &str, env: &HashMap<String, String>) -> Result<Interpolated, Problem> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        if let Some(literal) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = literal;
        } else if let Some(reference) = after.strip_prefix("${") {
            let end = reference.find('}').ok_or(Problem::Malformed)?;
            let inside = &reference[..end];
            let (name, default) = match inside.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (inside, None),
            };
            if !is_variable_name(name) {
                return Err(Problem::Malformed);
            }
            let set = env.get(name).filter(|v| !v.is_empty());
            match (set, default) {
                (Some(v), _) => out.push_str(v),
                (None, Some(default)) => out.push_str(default),
                (None, None) if text == format!("${{{name}}}") => {
                    return Ok(Interpolated::Unset(name.to_owned()));
                }
                // Set but empty inside longer text: empty, as in sh.
                (None, None) if env.contains_key(name) => {}
                (None, None) => return Err(Problem::Undefined(name.to_owned())),
            }
            rest = &reference[end + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(Interpolated::Text(out))
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
        let vars = env(&[("A", "1"), ("B", "2"), ("EMPTY", "")]);
        assert_eq!(
            interpolate("${A} and $${A}, $5 and ${B}x", &vars),
            Ok(Interpolated::Text("1 and ${A}, $5 and 2x".to_owned()))
        );
        assert_eq!(
            interpolate("${NOPE:-d} ${EMPTY:-e} ${A:-f} ${EMPTY}|", &vars),
            Ok(Interpolated::Text("d e 1 |".to_owned()))
        );
        assert_eq!(
            interpolate("${NOPE}", &vars),
            Ok(Interpolated::Unset("NOPE".to_owned()))
        );
        assert_eq!(
            interpolate("${EMPTY}", &vars),
            Ok(Interpolated::Unset("EMPTY".to_owned()))
        );
        assert_eq!(
            interpolate("x${NOPE}", &vars),
            Err(Problem::Undefined("NOPE".to_owned()))
        );
        for malformed in ["${UNCLOSED", "${}", "${1A}", "${A B}", "${:-x}"] {
            assert_eq!(
                interpolate(malformed, &vars),
                Err(Problem::Malformed),
                "{malformed}"
            );
        }
    }
}
