//! The documentation, checked against the product: examples compile and list their
//! dependencies, quoted commands exist, quoted output and error messages are what the binary
//! prints.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use coach_plans_e2e::{Server, base_env, workspace};

/// A fenced code block of a Markdown file.
#[derive(Debug)]
struct Block {
    /// The info string: `rust,no_run`, `sh`, `json`...
    info: String,
    /// The lines between the fences, without the fence's indentation.
    body: String,
    /// Where it starts, for messages (`docs/api.md:12`).
    at: String,
}

fn blocks(file: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
    let name = file.strip_prefix(workspace()).unwrap_or(file).display();
    let mut found = Vec::new();
    let mut open: Option<(usize, usize, String, Vec<&str>)> = None;
    for (n, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    open = Some((n + 1, indent, info.trim().to_owned(), Vec::new()));
                }
            }
            Some((start, fence_indent, info, body)) => {
                if trimmed == "```" {
                    found.push(Block {
                        info: std::mem::take(info),
                        body: body.join("\n"),
                        at: format!("{name}:{start}"),
                    });
                    open = None;
                } else {
                    body.push(line.get(*fence_indent..).unwrap_or(line.trim_start()));
                }
            }
        }
    }
    found
}

/// The Rust examples of a file. A crate README is crate documentation, where rustdoc takes a
/// block with no language (or only doctest attributes) as Rust; elsewhere only `rust` is.
fn rust_blocks(file: &Path) -> Vec<Block> {
    let readme = file.ends_with("README.md");
    blocks(file)
        .into_iter()
        .filter(|block| {
            let first = block.info.split(',').next().unwrap_or_default().trim();
            first == "rust"
                || (readme
                    && ["", "no_run", "ignore", "should_panic", "compile_fail"].contains(&first))
        })
        .collect()
}

/// Every crate README and every page of docs/.
fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![workspace().join("README.md")];
    for dir in ["crates", "docs"] {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(workspace().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for entry in entries {
            if entry.is_dir() {
                let readme = entry.join("README.md");
                if readme.exists() {
                    files.push(readme);
                }
            } else if entry.extension().is_some_and(|e| e == "md") {
                files.push(entry);
            }
        }
    }
    files
}

/// The crates a Rust example names (`tokio::main`, `use coach_plans_model::...`), as package
/// names with `-`.
fn crates_named(code: &str) -> BTreeSet<String> {
    let code: Vec<&str> = code
        .lines()
        .map(|line| {
            let line = line.trim_start();
            // Hidden doctest lines are code too; comments are not.
            let line = line.strip_prefix("# ").unwrap_or(line);
            line.split("//").next().unwrap_or_default()
        })
        .collect();
    let code = code.join("\n");
    // Names a `use` brings in (`use coach_plans_client::blocking;`) are not crates.
    let imported: BTreeSet<&str> = code
        .split("use ")
        .skip(1)
        .filter_map(|rest| rest.split(';').next())
        .filter(|path| !path.contains('{'))
        .filter_map(|path| path.rsplit("::").next())
        .collect();
    let mut crates = BTreeSet::new();
    let bytes = code.as_bytes();
    for (at, _) in code.match_indices("::") {
        let start = code[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let name = &code[start..at];
        let after_path = start >= 2 && &bytes[start - 2..start] == b"::";
        if name.is_empty()
            || after_path
            || !name.starts_with(|c: char| c.is_ascii_lowercase())
            || ["std", "core", "alloc", "self", "super", "crate"].contains(&name)
            || imported.contains(name)
        {
            continue;
        }
        crates.insert(name.replace('_', "-"));
    }
    crates
}

/// The dependencies a Markdown file lists in its ```toml blocks: name -> the rest of the line.
fn listed_dependencies(file: &Path) -> Vec<(String, String)> {
    blocks(file)
        .iter()
        .filter(|block| block.info == "toml")
        .flat_map(|block| {
            block
                .body
                .lines()
                .filter(|line| !line.trim_start().starts_with(['[', '#']))
                .filter_map(|line| {
                    let (name, rest) = line.split_once('=')?;
                    let name = name.trim().trim_end_matches(".workspace").trim();
                    Some((name.to_owned(), rest.to_owned()))
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Pages for code outside this workspace (trading systems and their tests): their examples
/// list our crates too, not only the others.
const FOR_DOWNSTREAM: &[&str] = &[
    "crates/client/README.md",
    "crates/mock/README.md",
    "docs/mock-mode.md",
];

#[test]
fn every_rust_example_in_the_docs_lists_the_crates_it_needs() {
    let mut problems = Vec::new();
    let mut examples = 0;
    for file in markdown_files() {
        let listed = listed_dependencies(&file);
        let downstream = FOR_DOWNSTREAM
            .iter()
            .any(|page| file == workspace().join(page));
        for block in &rust_blocks(&file) {
            examples += 1;
            for krate in crates_named(&block.body) {
                if krate.starts_with("coach-plans-") && !downstream {
                    continue;
                }
                let Some((_, spec)) = listed.iter().find(|(name, _)| *name == krate) else {
                    problems.push(format!(
                        "{}: uses {krate}, which no ```toml block of the file lists",
                        block.at
                    ));
                    continue;
                };
                if krate == "tokio" {
                    let mut needs = Vec::new();
                    if block.body.contains("tokio::main") {
                        needs.push("macros");
                        needs.push(if block.body.contains("current_thread") {
                            "rt"
                        } else {
                            "rt-multi-thread"
                        });
                    }
                    if block.body.contains("new_multi_thread") {
                        needs.push("rt-multi-thread");
                    }
                    for feature in needs {
                        if !spec.contains(&format!("\"{feature}\"")) {
                            problems.push(format!(
                                "{}: tokio needs the feature {feature} for this example",
                                block.at
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(examples >= 8, "found only {examples} Rust examples");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The example file without its header (the `//!` description and `#![...]` attributes, which
/// a README example does not need).
fn without_header(source: &str) -> String {
    source
        .lines()
        .skip_while(|line| line.starts_with("//!") || line.starts_with("#![") || line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_client_readme_example_is_the_fetch_plan_example() {
    let readme = workspace().join("crates/client/README.md");
    let rust = rust_blocks(&readme);
    assert_eq!(rust.len(), 1, "one example in the client README");
    let example =
        std::fs::read_to_string(workspace().join("crates/client/examples/fetch_plan.rs")).unwrap();
    assert_eq!(
        rust[0].body.trim(),
        without_header(&example).trim(),
        "crates/client/README.md's example and examples/fetch_plan.rs must stay identical"
    );
}

#[test]
fn the_client_readme_example_finds_todays_plan_on_a_mock_server() {
    let dir = tempfile::tempdir().unwrap();
    let example = coach_plans_e2e::client_readme_example();
    let server = Server::start(dir.path(), &["--mock"], &base_env(dir.path()));
    let out = std::process::Command::new(example)
        .arg(format!("http://{}", server.address))
        .env_clear()
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains(" posted: "), "found a plan: {said}");
    assert!(said.contains("4 coaches posted today"), "{said}");
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn every_rust_example_in_the_docs_is_compiled_as_a_doctest() {
    let sources: Vec<String> = std::fs::read_dir(workspace().join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path().join("src/lib.rs"))
        .filter(|lib| lib.exists())
        .map(|lib| std::fs::read_to_string(lib).unwrap())
        .collect();
    let mut problems = Vec::new();
    for file in markdown_files() {
        if rust_blocks(&file).is_empty() {
            continue;
        }
        let relative = file
            .strip_prefix(workspace())
            .unwrap()
            .display()
            .to_string();
        let included = if let Some(dir) = relative.strip_suffix("/README.md") {
            let lib = workspace().join(dir).join("src/lib.rs");
            std::fs::read_to_string(lib)
                .is_ok_and(|lib| lib.contains("#![doc = include_str!(\"../README.md\")]"))
        } else {
            sources
                .iter()
                .any(|lib| lib.contains(&format!("include_str!(\"../../../{relative}\")")))
        };
        if !included {
            problems.push(format!(
                "{relative} has Rust examples that no crate compiles (#[doc = include_str!(...)])"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The features a crate's manifest turns on by default (`default = ["gateway"]`).
fn default_features(manifest: &str) -> Vec<String> {
    let Some(features) = manifest.split("[features]").nth(1) else {
        return Vec::new();
    };
    let section = features.split("\n[").next().unwrap_or_default();
    section
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("default")?
                .trim()
                .strip_prefix('=')
        })
        .map(|list| {
            list.trim()
                .trim_matches(['[', ']'])
                .split(',')
                .map(|f| f.trim().trim_matches('"').to_owned())
                .filter(|f| !f.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// `[[example]]` sections of a crate's manifest: name -> required features.
fn required_features(manifest: &str) -> Vec<(String, Vec<String>)> {
    let mut found = Vec::new();
    for section in manifest.split("[[example]]").skip(1) {
        let section = section.split("\n[").next().unwrap_or_default();
        let value = |key: &str| {
            section
                .lines()
                .find_map(|line| line.trim().strip_prefix(key)?.trim().strip_prefix('='))
                .map(str::trim)
        };
        let Some(name) = value("name") else { continue };
        let features = value("required-features")
            .unwrap_or("[]")
            .trim_matches(['[', ']'])
            .split(',')
            .map(|f| f.trim().trim_matches('"').to_owned())
            .filter(|f| !f.is_empty())
            .collect();
        found.push((name.trim_matches('"').to_owned(), features));
    }
    found
}

#[test]
fn documented_example_commands_name_real_examples_with_their_features() {
    // Commands in the Markdown files and in the examples' own headers.
    let mut lines: Vec<(String, String)> = Vec::new();
    for file in markdown_files() {
        let name = file
            .strip_prefix(workspace())
            .unwrap()
            .display()
            .to_string();
        for line in std::fs::read_to_string(&file).unwrap().lines() {
            lines.push((name.clone(), line.to_owned()));
        }
    }
    for dir in std::fs::read_dir(workspace().join("crates")).unwrap() {
        let examples = dir.unwrap().path().join("examples");
        for example in std::fs::read_dir(&examples).into_iter().flatten() {
            let example = example.unwrap().path();
            let name = example
                .strip_prefix(workspace())
                .unwrap()
                .display()
                .to_string();
            for line in std::fs::read_to_string(&example).unwrap().lines() {
                lines.push((name.clone(), line.to_owned()));
            }
        }
    }
    let mut problems = Vec::new();
    let mut client_examples_run = BTreeSet::new();
    for (file, line) in &lines {
        let Some(command) = line.split("cargo run").nth(1) else {
            continue;
        };
        let words: Vec<&str> = command
            .split(['`', '#'])
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let after = |flag: &str| {
            words
                .iter()
                .position(|w| *w == flag)
                .and_then(|i| words.get(i + 1))
                .copied()
        };
        let Some(example) = after("--example") else {
            continue;
        };
        let package = after("-p")
            .or_else(|| after("--package"))
            .unwrap_or_default();
        let Some(dir) = package.strip_prefix("coach-plans-") else {
            problems.push(format!("{file}: `{line}` names no coach-plans package"));
            continue;
        };
        let crate_dir = workspace().join("crates").join(dir);
        if !crate_dir
            .join("examples")
            .join(format!("{example}.rs"))
            .exists()
        {
            problems.push(format!("{file}: {package} has no example {example}"));
            continue;
        }
        if file == "crates/client/README.md" {
            client_examples_run.insert(example.to_owned());
        }
        let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
        let given = after("--features").unwrap_or_default();
        // A default feature is on unless the command turns the defaults off.
        let defaults = if words.contains(&"--no-default-features") {
            Vec::new()
        } else {
            default_features(&manifest)
        };
        for (name, features) in required_features(&manifest) {
            for feature in features.iter().filter(|_| name == example) {
                if !given.split(',').any(|g| g == feature) && !defaults.contains(feature) {
                    problems.push(format!(
                        "{file}: `{}` needs --features {feature}",
                        line.trim()
                    ));
                }
            }
        }
    }
    for example in ["fetch_plan", "blocking"] {
        if !client_examples_run.contains(example) {
            problems.push(format!(
                "crates/client/README.md shows no command running its {example} example"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `pattern` as docs quote output: `...` and `<placeholder>` stand for any text; the rest
/// must appear in order within `line`.
fn quote_matches(pattern: &str, line: &str) -> bool {
    let mut parts: Vec<String> = vec![String::new()];
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("...") {
            parts.push(String::new());
            rest = after;
        } else if let Some(end) = rest
            .strip_prefix('<')
            .and_then(|r| r.find('>'))
            .filter(|&end| {
                rest[1..=end]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || " _-".contains(c))
            })
        {
            parts.push(String::new());
            rest = &rest[end + 2..];
        } else {
            parts.last_mut().unwrap().push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    let mut from = 0;
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .all(|part| match line[from..].find(part.as_str()) {
            Some(at) => {
                from += at + part.len();
                true
            }
            None => false,
        })
}

/// The first code span of `text` (`` `a` `` or ``` ``a `b` c`` ```).
fn first_code_span(text: &str) -> Option<&str> {
    let start = text.find('`')?;
    let ticks = text[start..].chars().take_while(|&c| c == '`').count();
    let fence = &text[start..start + ticks];
    let inner = &text[start + ticks..];
    let end = inner.find(fence)?;
    Some(inner[..end].trim())
}

/// What the binary printed in one situation an operator can get into.
struct Outcome {
    situation: &'static str,
    code: Option<i32>,
    stderr: String,
}

/// Runs `coach-plans` into each error the troubleshooting guide names.
fn error_outcomes(dir: &Path) -> Vec<Outcome> {
    let run = |situation, args: &[&str], env: &[(&str, &str)]| {
        let out = coach_plans_e2e::run(dir, args, env);
        Outcome {
            situation,
            code: out.status.code(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    };
    let serve = |situation, env: Vec<(String, String)>| {
        let failed = Server::try_start(dir, &["--mock"], &env)
            .err()
            .unwrap_or_else(|| panic!("{situation}: the server started"));
        Outcome {
            situation,
            code: failed.code,
            stderr: failed.stderr,
        }
    };
    let mut outcomes = vec![
        run("no token outside mock mode", &["check-config"], &[]),
        run(
            "a port that is not a number",
            &["--mock", "check-config"],
            &[("API_PORT", "abc")],
        ),
    ];
    std::fs::write(dir.join("config.yaml"), "api:\n  hots: 0.0.0.0\n").unwrap();
    outcomes.push(run(
        "a typo in the YAML file",
        &["--mock", "--config", "config.yaml", "check-config"],
        &[],
    ));

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let mut env = base_env(dir);
    env.push(("API_PORT".into(), port.clone()));
    let mut outcome = serve("the port is taken", env);
    // The guide quotes the default address.
    outcome.stderr = outcome
        .stderr
        .replace(&format!("127.0.0.1:{port}"), "127.0.0.1:5000");
    outcomes.push(outcome);

    let future = dir.join("future.db");
    std::fs::copy(coach_plans_e2e::fixture("legacy-v1-sample.db"), &future).unwrap();
    rusqlite::Connection::open(&future)
        .unwrap()
        .execute("INSERT INTO schema_version VALUES (99, 'future')", [])
        .unwrap();
    outcomes.push(run(
        "a database from a newer coach-plans",
        &["migrate"],
        &[("DATABASE_PATH", "future.db")],
    ));

    outcomes.push(run(
        "a bot token with a line break",
        &["check-config"],
        &[("DISCORD_BOT_TOKEN", "abc\ndef")],
    ));
    std::fs::write(
        dir.join("config.yaml"),
        "logging:\n  file: ${LOGDIR}/coach-plans.log\n",
    )
    .unwrap();
    outcomes.push(run(
        "a variable missing inside a longer value",
        &["--mock", "--config", "config.yaml", "check-config"],
        &[],
    ));
    outcomes.push(run(
        "an API host that is not a host",
        &["--mock", "check-config"],
        &[("API_HOST", "not a host!")],
    ));
    std::fs::write(
        dir.join("env"),
        "# the unit's file\nLOG_LEVEL=INFO\njust words\n",
    )
    .unwrap();
    outcomes.push(run(
        "an environment file line without =",
        &["--mock", "--env-file", "env", "check-config"],
        &[],
    ));
    std::fs::create_dir_all(dir.join("a-directory")).unwrap();
    outcomes.push(run(
        "a database path naming a directory",
        &["migrate"],
        &[("DATABASE_PATH", "a-directory")],
    ));
    std::fs::write(dir.join("other.db"), "not SQLite at all, just text").unwrap();
    outcomes.push(run(
        "another program's file",
        &["migrate"],
        &[("DATABASE_PATH", "other.db")],
    ));

    // A legacy chart on a host charts.allowed_hosts does not list: refused without a download.
    std::fs::write(
        dir.join("export.json"),
        r#"{"coach_d_2024-05-10": {"plan": "SPY above 520.", "charts": ["https://cdn.example.com/attachments/1/2/spy.png"], "author": "coach_dana", "timestamp": "2024-05-10T08:41:12", "channel": "day-trading"}}"#,
    )
    .unwrap();
    let charts_env = [
        ("DATABASE_PATH", "charts.db"),
        ("CHART_STORE", "charts"),
        ("CHART_ALLOWED_HOSTS", "127.0.0.1:9"),
    ];
    let imported = coach_plans_e2e::run(dir, &["import-legacy", "export.json"], &charts_env);
    assert!(imported.status.success(), "{imported:?}");
    outcomes.push(run(
        "a chart that cannot be archived",
        &["archive-charts"],
        &charts_env,
    ));

    // The default log file, ./logs/discord_bot.log, under a regular file.
    std::fs::write(dir.join("logs"), "not a directory").unwrap();
    let env = base_env(dir)
        .into_iter()
        .filter(|(key, _)| key != "LOG_FILE")
        .collect();
    outcomes.push(serve("the log file cannot be created", env));
    outcomes
}

#[test]
fn the_troubleshooting_guide_quotes_the_errors_the_binary_prints() {
    let guide = workspace().join("docs/troubleshooting.md");
    let text = std::fs::read_to_string(&guide).unwrap();
    // Rows such as: | exit code 2, `message` | cause and fix |
    let quoted: Vec<(i32, &str)> = text
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("| exit code ")?;
            let (code, rest) = rest.split_once(',')?;
            Some((code.trim().parse().ok()?, first_code_span(rest)?))
        })
        .collect();
    assert!(quoted.len() >= 6, "found only {quoted:?}");

    let dir = tempfile::tempdir().unwrap();
    let outcomes = error_outcomes(dir.path());
    let mut problems = Vec::new();
    for (code, quote) in &quoted {
        let printed = outcomes.iter().any(|outcome| {
            outcome.code == Some(*code)
                && outcome
                    .stderr
                    .lines()
                    .any(|line| quote_matches(quote, line))
        });
        if !printed {
            problems.push(format!(
                "docs/troubleshooting.md quotes `{quote}` with exit code {code}, which no \
                 situation in tests/tests/docs.rs prints; fix the quote or add the situation"
            ));
        }
    }
    if !problems.is_empty() {
        for outcome in &outcomes {
            problems.push(format!(
                "  {} -> exit {:?}: {}",
                outcome.situation,
                outcome.code,
                outcome.stderr.trim()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn quoted_output_placeholders_stand_for_any_text() {
    assert!(quote_matches(
        "invalid API_PORT (api.port): ...",
        "coach-plans: configuration error: invalid API_PORT (api.port): 'abc' is not"
    ));
    assert!(quote_matches(
        "the database schema is version <N>, newer than this build supports",
        "coach-plans: the database schema is version 99, newer than this build supports (up to 2)"
    ));
    assert!(!quote_matches(
        "unknown key api.hots",
        "coach-plans: configuration error: config.yaml: api.hots: unknown field `hots`"
    ));
    assert_eq!(first_code_span("x ``a `b` c`` y `z`"), Some("a `b` c"));
}

/// How `documented` differs in shape from `real`: object keys must be the same, scalars of
/// the same JSON type; a documented array may show fewer elements than the answer holds (each
/// compared with the element at its index), and an empty one means empty. Strings, numbers
/// and booleans are not compared: dates, ids and texts change with the day.
fn shape_differences(documented: &Value, real: &Value, at: &str, out: &mut Vec<String>) {
    match (documented, real) {
        (Value::Object(doc), Value::Object(real)) => {
            let doc_keys: BTreeSet<&String> = doc.keys().collect();
            let real_keys: BTreeSet<&String> = real.keys().collect();
            if doc_keys != real_keys {
                out.push(format!(
                    "{at}: keys {doc_keys:?} documented, {real_keys:?} served"
                ));
            }
            for (key, value) in doc {
                if let Some(served) = real.get(key) {
                    shape_differences(value, served, &format!("{at}.{key}"), out);
                }
            }
        }
        (Value::Array(doc), Value::Array(real)) => {
            if doc.len() > real.len() || (doc.is_empty() && !real.is_empty()) {
                out.push(format!(
                    "{at}: {} element(s) documented, {} served",
                    doc.len(),
                    real.len()
                ));
            }
            for (n, (doc, real)) in doc.iter().zip(real).enumerate() {
                shape_differences(doc, real, &format!("{at}[{n}]"), out);
            }
        }
        (doc, real) => {
            let kind = |v: &Value| match v {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                Value::String(_) => "a string",
                Value::Array(_) => "an array",
                Value::Object(_) => "an object",
            };
            if kind(doc) != kind(real) {
                out.push(format!(
                    "{at}: {} documented, {} served ({real})",
                    kind(doc),
                    kind(real)
                ));
            }
        }
    }
}

/// The `curl 'URL'` commands of a text (in code blocks or inline), as paths on the default
/// address `http://127.0.0.1:5000`.
fn curl_paths(text: &str) -> Vec<String> {
    text.split("curl ")
        .skip(1)
        .filter_map(|rest| {
            let rest = rest.trim_start();
            let url = match rest.strip_prefix('\'') {
                Some(quoted) => quoted.split('\'').next()?,
                None => rest.split([' ', '`', '\n']).next()?,
            };
            url.strip_prefix("http://127.0.0.1:5000").map(str::to_owned)
        })
        .collect()
}

#[test]
fn the_api_guides_curl_examples_answer_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = base_env(dir.path());
    // What `coach-plans --mock` does by default: today and the five days before.
    env.retain(|(key, _)| key != "MOCK_SEED_DAYS");
    let server = Server::start(dir.path(), &["--mock"], &env);
    // The examples show archived charts, as a server that has run for a moment has them.
    server.wait_for_charts_archived();

    let mut problems = Vec::new();
    let mut with_output = 0;
    // docs/api.md: each ```sh block of one curl followed by a ```json block is an example with
    // its output.
    let api = workspace().join("docs/api.md");
    let api_blocks = blocks(&api);
    for (n, block) in api_blocks.iter().enumerate() {
        if block.info != "sh" {
            continue;
        }
        let paths = curl_paths(&block.body);
        let output = api_blocks
            .get(n + 1)
            .filter(|next| next.info == "json" && paths.len() == 1);
        for path in &paths {
            let answer = server.get(path);
            match output {
                Some(output) => {
                    with_output += 1;
                    let documented: Value = serde_json::from_str(&output.body)
                        .unwrap_or_else(|e| panic!("{}: not JSON: {e}", output.at));
                    let mut differences = Vec::new();
                    shape_differences(&documented, &answer.json(), "answer", &mut differences);
                    for difference in differences {
                        problems.push(format!("{} (curl {path}): {difference}", block.at));
                    }
                }
                None if answer.status != 200 => problems.push(format!(
                    "{}: curl {path} answers {}: {}",
                    block.at, answer.status, answer.body
                )),
                None => {}
            }
        }
    }
    assert!(
        with_output >= 4,
        "docs/api.md shows {with_output} curl examples with their output"
    );
    // Commands quoted anywhere else in the guide and the README at least answer 200.
    for file in ["README.md", "docs/api.md"] {
        let text = std::fs::read_to_string(workspace().join(file)).unwrap();
        let in_blocks: Vec<String> = blocks(&workspace().join(file))
            .iter()
            .flat_map(|b| curl_paths(&b.body))
            .collect();
        for path in curl_paths(&text) {
            if in_blocks.contains(&path) {
                continue;
            }
            let answer = server.get(&path);
            if answer.status != 200 {
                problems.push(format!("{file}: curl {path} answers {}", answer.status));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(server.stop(), Some(0));
}

/// The arguments of a documented `coach-plans ARGS` or `cargo run -p coach-plans-server --
/// ARGS` command, unless it is a synopsis with placeholders.
fn coach_plans_arguments(command: &str) -> Option<Vec<String>> {
    let command = command.trim().trim_start_matches("$ ");
    let command = command.split(" #").next().unwrap_or_default();
    let command = command.trim().trim_end_matches('&').trim();
    let args = if let Some((_, args)) = command.split_once("cargo run -p coach-plans-server --") {
        args
    } else {
        command
            .strip_prefix("coach-plans ")
            .or_else(|| (command == "coach-plans").then_some(""))?
    };
    if args.contains(['[', '<', '|', '$']) || args.contains("...") || args.contains("ARGS") {
        return None;
    }
    Some(args.split_whitespace().map(str::to_owned).collect())
}

#[test]
fn documented_commands_are_accepted_by_the_binary_and_xtask() {
    let xtask = std::fs::read_to_string(workspace().join("xtask/src/main.rs")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in markdown_files() {
        let name = file
            .strip_prefix(workspace())
            .unwrap()
            .display()
            .to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        // Lines of ```sh blocks and inline code spans.
        let mut commands: Vec<String> = blocks(&file)
            .iter()
            .filter(|b| b.info == "sh")
            .flat_map(|b| b.body.lines().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        commands.extend(
            text.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .filter(|span| !span.contains('\n')),
        );
        for command in &commands {
            if let Some(args) = coach_plans_arguments(command) {
                checked += 1;
                let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
                args.push("--help");
                let out = coach_plans_e2e::run(dir.path(), &args, &[]);
                if out.status.code() != Some(0) {
                    problems.push(format!(
                        "{name}: `{}` is refused: {}",
                        command.trim(),
                        String::from_utf8_lossy(&out.stderr).trim()
                    ));
                }
            }
            if let Some(task) = command
                .split("cargo xtask ")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                && !xtask.contains(&format!("\n  {task} "))
            {
                problems.push(format!("{name}: `cargo xtask {task}` is no task"));
            }
        }
    }
    assert!(checked >= 5, "found only {checked} coach-plans commands");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_readme_says_how_to_run_coach_plans_from_a_checkout() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    assert!(
        readme.contains("cargo run -p coach-plans-server -- --help"),
        "README.md shows `cargo run -p coach-plans-server -- ARGS`"
    );
    // Where a build leaves the binary, as the README says (when the target directory is the
    // workspace's own).
    if let Ok(built) = coach_plans_e2e::binary().strip_prefix(workspace()) {
        let built = built.display().to_string();
        assert!(
            readme.contains(&format!("`{built} --help`")),
            "README.md names {built}"
        );
    }
}
