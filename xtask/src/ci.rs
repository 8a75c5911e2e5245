//! `cargo xtask ci`: what CI runs, in the order that fails fastest.

use crate::{cargo, cargo_output};

/// Crates the client library must never pull in (SPEC 2): a downstream trading system that
/// imports the client should not compile a web server, SQLite or a Discord stack.
const FORBIDDEN_IN_CLIENT: &[&str] =
    &["actix", "rusqlite", "libsqlite3-sys", "twilight", "openssl"];

pub(crate) fn run() -> Result<(), String> {
    cargo(&["fmt", "--all", "--", "--check"], &[])?;
    check_client_dependencies()?;
    cargo(
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    // The end-to-end tests run the server binary; build it before the tests that need it.
    cargo(
        &[
            "build",
            "--package",
            "coach-plans-server",
            "--bin",
            "coach-plans",
        ],
        &[],
    )?;
    cargo(
        &["test", "--workspace", "--all-features", "--no-fail-fast"],
        &[],
    )?;
    cargo(
        &["doc", "--workspace", "--no-deps", "--all-features"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    eprintln!("xtask ci: all checks passed");
    Ok(())
}

/// Fails when the client's normal dependency tree (with every feature) holds a forbidden crate.
fn check_client_dependencies() -> Result<(), String> {
    let tree = cargo_output(&[
        "tree",
        "--package",
        "coach-plans-client",
        "--edges",
        "normal",
        "--all-features",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ])?;
    let offenders: Vec<&str> = tree
        .lines()
        .filter(|line| {
            let name = line.split_whitespace().next().unwrap_or_default();
            FORBIDDEN_IN_CLIENT
                .iter()
                .any(|bad| match bad.strip_suffix('*') {
                    Some(prefix) => name.starts_with(prefix),
                    None => name == *bad,
                })
        })
        .collect();
    if offenders.is_empty() {
        eprintln!("client dependency tree: no actix, rusqlite, twilight or openssl");
        Ok(())
    } else {
        Err(format!(
            "coach-plans-client must not depend on: {}",
            offenders.join(", ")
        ))
    }
}
