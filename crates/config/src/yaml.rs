//! The YAML file as a value tree, with `${VAR}` and `${VAR:-default}` interpolated in its
//! values, and settings found in the tree by their dotted keys (`api.port`).

use std::collections::HashMap;

use serde_yaml::{Mapping, Value};

use crate::error::ConfigError;
use crate::settings::{is_variable_name, variable_for};

/// Reads a configuration file into a value tree and interpolates `${VAR}` in its values.
/// Settings whose whole value was an unset `${VAR}` become null (not set) and are listed in
/// `unset` as `(key, VAR)`.
pub(crate) fn read(
    file: &str,
    text: &str,
    env: &HashMap<String, String>,
    unset: &mut Vec<(String, String)>,
) -> Result<Value, ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut value: Value = serde_yaml::from_str(text).map_err(|e| ConfigError::File {
        file: file.to_owned(),
        message: format!("not valid YAML: {e}"),
    })?;
    if value.is_null() {
        // An empty file (or only comments) means "all defaults".
        return Ok(Value::Mapping(Mapping::new()));
    }
    interpolate_tree(file, "", &mut value, env, unset)?;
    Ok(value)
}

/// The value at a dotted key, if there is one.
pub(crate) fn get<'a>(tree: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.').try_fold(tree, |value, name| value.get(name))
}

/// Removes and returns the value at a dotted key; a null one counts as not set.
pub(crate) fn take(tree: &mut Value, key: &str) -> Option<Value> {
    let (parent, name) = match key.rsplit_once('.') {
        Some((section, name)) => (tree.get_mut(section)?, name),
        None => (tree, key),
    };
    parent
        .as_mapping_mut()?
        .shift_remove(name)
        .filter(|value| !value.is_null())
}

/// Sets the value at a dotted key, making its section if needed. Where the file has something
/// other than a mapping (`api: 5`), nothing is set: serde reports the file's mistake.
pub(crate) fn put(tree: &mut Value, key: &str, value: Value) {
    let (parent, name) = match key.rsplit_once('.') {
        Some((section, name)) => match tree.as_mapping_mut() {
            Some(sections) => (
                sections
                    .entry(Value::String(section.to_owned()))
                    .or_insert_with(|| Value::Mapping(Mapping::new())),
                name,
            ),
            None => return,
        },
        None => (tree, key),
    };
    if let Some(fields) = parent.as_mapping_mut() {
        fields.insert(Value::String(name.to_owned()), value);
    }
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
    value: &mut Value,
    env: &HashMap<String, String>,
    unset: &mut Vec<(String, String)>,
) -> Result<(), ConfigError> {
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
