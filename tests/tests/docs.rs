//! The documentation, checked against the product: examples compile and list their
//! dependencies, quoted commands exist, quoted output and error messages are what the binary
//! prints.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

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
        for (name, features) in required_features(&manifest) {
            for feature in features.iter().filter(|_| name == example) {
                if !given.split(',').any(|g| g == feature) {
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
