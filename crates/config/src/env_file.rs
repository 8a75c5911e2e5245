//! Environment files in systemd's `EnvironmentFile=` syntax, so that
//! `coach-plans --env-file /etc/coach-plans/env check-config` sees what the service will see.
//!
//! The rules are systemd's (`src/basic/env-file.c`): `KEY=VALUE` lines; blank lines and lines
//! starting with `#` or `;` are skipped (a `#` later in a line is part of the value); spaces
//! around the key and the value are dropped; `'...'` keeps everything literally; `"..."` keeps
//! everything but unescapes `\"`, `\\`, `` \` `` and `\$`; outside quotes a backslash takes the
//! next character literally and a backslash at the end of a line continues the value on the
//! next; quoted parts and plain parts join up (`A="x"'y'` is `xy`); quotes may span lines; the
//! last assignment of a name wins. Where systemd silently skips a line (no `=`, a name that is
//! not a variable name) or runs to the end of the file (an unclosed quote), this is an error
//! naming the line, so a check never passes on a file the service reads differently than meant.
//! No message ever contains a value: the file holds secrets.

use crate::error::ConfigError;
use crate::settings::is_variable_name;

#[derive(Clone, Copy)]
enum State {
    PreKey,
    Key,
    PreValue,
    Value,
    ValueEscape,
    SingleQuoted,
    DoubleQuoted,
    DoubleQuotedEscape,
    Comment,
}

fn is_newline(c: char) -> bool {
    matches!(c, '\n' | '\r')
}

fn is_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Keeps `space` at the start of the run of whitespace that ends the text so far (`len`
/// characters long before `c`), so that trailing whitespace can be dropped.
fn note_space(c: char, len: usize, space: &mut Option<usize>) {
    if !is_whitespace(c) {
        *space = None;
    } else if space.is_none() {
        *space = Some(len);
    }
}

/// The assignments of an environment file, in order (a later one of the same name wins).
/// `file` labels messages.
pub fn parse_env_file(file: &str, text: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let error = |line: usize, message: &str| ConfigError::EnvFile {
        file: file.to_owned(),
        line,
        message: message.to_owned(),
    };
    let mut pairs = Vec::new();
    let mut state = State::PreKey;
    let (mut key, mut value) = (String::new(), String::new());
    // Where trailing whitespace of the key or of an unquoted value starts, to drop it.
    let (mut key_space, mut value_space): (Option<usize>, Option<usize>) = (None, None);
    let (mut line, mut start) = (1, 1);
    let mut push = |key: &mut String,
                    value: &mut String,
                    key_space: Option<usize>,
                    start: usize|
     -> Result<(), ConfigError> {
        if let Some(at) = key_space {
            key.truncate(at);
        }
        if !is_variable_name(key) {
            return Err(error(
                start,
                "the name before '=' is not a variable name (letters, digits and _, not starting with a digit)",
            ));
        }
        pairs.push((std::mem::take(key), std::mem::take(value)));
        Ok(())
    };
    for c in text.chars() {
        state = match state {
            State::PreKey if c == '#' || c == ';' => State::Comment,
            State::PreKey if is_whitespace(c) => {
                line += usize::from(c == '\n');
                State::PreKey
            }
            State::PreKey => {
                key.clear();
                key.push(c);
                key_space = None;
                start = line;
                State::Key
            }
            State::Key if is_newline(c) => {
                return Err(error(start, "not a KEY=VALUE assignment (no '=')"));
            }
            State::Key if c == '=' => {
                value.clear();
                value_space = None;
                State::PreValue
            }
            State::Key => {
                note_space(c, key.len(), &mut key_space);
                key.push(c);
                State::Key
            }
            State::PreValue | State::Value if is_newline(c) => {
                if let (State::Value, Some(at)) = (state, value_space) {
                    value.truncate(at);
                }
                push(&mut key, &mut value, key_space, start)?;
                line += usize::from(c == '\n');
                State::PreKey
            }
            State::PreValue if c == '\'' => State::SingleQuoted,
            State::PreValue if c == '"' => State::DoubleQuoted,
            State::PreValue | State::Value if c == '\\' => {
                value_space = None;
                State::ValueEscape
            }
            State::PreValue if is_whitespace(c) => State::PreValue,
            State::PreValue | State::Value => {
                note_space(c, value.len(), &mut value_space);
                value.push(c);
                State::Value
            }
            State::ValueEscape => {
                // An escaped line break continues the value on the next line.
                if is_newline(c) {
                    line += usize::from(c == '\n');
                } else {
                    value.push(c);
                }
                State::Value
            }
            State::SingleQuoted if c == '\'' => State::PreValue,
            State::DoubleQuoted if c == '"' => State::PreValue,
            State::DoubleQuoted if c == '\\' => State::DoubleQuotedEscape,
            State::SingleQuoted | State::DoubleQuoted => {
                line += usize::from(c == '\n');
                value.push(c);
                state
            }
            State::DoubleQuotedEscape => {
                if matches!(c, '"' | '\\' | '`' | '$') {
                    value.push(c);
                } else if c == '\n' {
                    line += 1;
                } else {
                    value.push('\\');
                    value.push(c);
                }
                State::DoubleQuoted
            }
            State::Comment => {
                if is_newline(c) {
                    line += usize::from(c == '\n');
                    State::PreKey
                } else {
                    State::Comment
                }
            }
        };
    }
    match state {
        State::PreKey | State::Comment => {}
        State::Key => return Err(error(start, "not a KEY=VALUE assignment (no '=')")),
        State::PreValue | State::Value | State::ValueEscape => {
            if let (State::Value, Some(at)) = (state, value_space) {
                value.truncate(at);
            }
            push(&mut key, &mut value, key_space, start)?;
        }
        State::SingleQuoted | State::DoubleQuoted | State::DoubleQuotedEscape => {
            return Err(error(start, "a quoted value is never closed"));
        }
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse_env_file("env", text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn windows_line_ends_and_a_missing_last_newline_are_fine() {
        assert_eq!(
            pairs("A=1\r\nB = two words \r\nC='x'"),
            [
                ("A".to_owned(), "1".to_owned()),
                ("B".to_owned(), "two words".to_owned()),
                ("C".to_owned(), "x".to_owned())
            ]
        );
    }

    #[test]
    fn escapes_follow_systemd() {
        assert_eq!(pairs(r#"A=a\ b\\c"#)[0].1, r"a b\c");
        assert_eq!(pairs(r#"A="\n\$x""#)[0].1, r"\n$x");
        assert_eq!(pairs("A='it''s'")[0].1, "its");
        assert_eq!(pairs("A=  \n")[0].1, "");
    }

    #[test]
    fn errors_name_the_line_where_the_assignment_starts() {
        let message = parse_env_file("env", "A=1\n\nB='open\nstill open\n")
            .unwrap_err()
            .to_string();
        assert_eq!(message, "env:3: a quoted value is never closed");
    }
}
