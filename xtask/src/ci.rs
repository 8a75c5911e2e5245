//! `cargo xtask ci`: what CI runs, in the order that fails fastest.

use crate::{cargo, cargo_output};

pub(crate) fn run() -> Result<(), String> {
    // The PostgreSQL suites need a server: found, or CI fails (at once), or a loud SKIPPED.
    let postgres = crate::postgres::Suites::detect()?;
    cargo(&["fmt", "--all", "--", "--check"], &[])?;
    check_dependency_rules()?;
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
    // In the workspace build the server turns the bot's `gateway` feature on for every crate;
    // lint the command layer alone, as mock compiles it, so it never comes to need twilight.
    cargo(
        &[
            "clippy",
            "--package",
            "coach-plans-bot",
            "--package",
            "coach-plans-mock",
            "--no-default-features",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    // The end-to-end tests run the server binary and the client README's example; build them
    // before the tests that need them.
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
        &[
            "build",
            "--package",
            "coach-plans-client",
            "--example",
            "fetch_plan",
        ],
        &[],
    )?;
    crate::browser::check()?;
    let mut test = vec!["test", "--workspace", "--all-features", "--no-fail-fast"];
    test.extend(postgres.excluded());
    cargo(&test, postgres.env())?;
    // SPEC 17: the served OpenAPI document against the running mock server.
    crate::schemathesis::run()?;
    cargo(
        &["doc", "--workspace", "--no-deps", "--all-features"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    postgres.report();
    eprintln!("xtask ci: all checks passed");
    Ok(())
}

/// A family of crates that SPEC 2 keeps out of some dependency trees.
#[derive(Debug)]
struct Family {
    /// What the family is, for messages.
    what: &'static str,
    /// Crate names: exact, or a prefix ending in `*` (`actix-*` matches `actix-web`).
    crates: &'static [&'static str],
}

impl Family {
    fn holds(&self, name: &str) -> bool {
        self.crates
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == *pattern,
            })
    }
}

const WEB_SERVER: Family = Family {
    what: "the web server (actix)",
    crates: &["actix", "actix-*"],
};
const DISCORD: Family = Family {
    what: "Discord (twilight)",
    crates: &["twilight", "twilight-*"],
};
const DISCORD_CONNECTION: Family = Family {
    what: "a Discord connection (twilight-gateway, twilight-http)",
    crates: &[
        "twilight-gateway",
        "twilight-gateway-*",
        "twilight-http",
        "twilight-http-*",
    ],
};
const DATABASE_DRIVER: Family = Family {
    what: "a database driver",
    crates: &[
        "rusqlite",
        "libsqlite3-sys",
        "r2d2_sqlite",
        "postgres",
        "postgres-protocol",
        "tokio-postgres",
        "tokio-postgres-rustls",
        "r2d2_postgres",
        "sqlx",
        "sqlx-*",
        "diesel",
        "diesel-*",
    ],
};
/// Not `openssl-*`: `openssl-probe` (through rustls-native-certs) only looks for certificate
/// files and links nothing.
const OPENSSL: Family = Family {
    what: "OpenSSL (TLS is rustls everywhere)",
    crates: &[
        "openssl",
        "openssl-sys",
        "openssl-src",
        "native-tls",
        "tokio-native-tls",
        "hyper-tls",
    ],
};
/// The model's optional `openapi` feature: the API's document generator, never the client's.
const OPENAPI_GENERATION: Family = Family {
    what: "OpenAPI generation (utoipa)",
    crates: &["utoipa", "utoipa-*"],
};
const SERVER_CRATES: Family = Family {
    what: "a server crate",
    crates: &[
        "coach-plans-config",
        "coach-plans-storage",
        "coach-plans-sqlite",
        "coach-plans-postgres",
        "coach-plans-service",
        "coach-plans-bot",
        "coach-plans-api",
        "coach-plans-mock",
        "coach-plans-server",
    ],
};

/// One constraint of SPEC 2 on a crate's normal dependency tree (every feature, every target).
#[derive(Debug)]
struct TreeRule {
    package: &'static str,
    forbidden: &'static [Family],
    /// `false` while the workspace cannot satisfy the rule yet: it is checked and reported, and
    /// does not fail CI. Switch it on when the split it waits for lands.
    enforced: bool,
    /// What an unenforced rule waits for.
    pending: &'static str,
}

const RULES: &[TreeRule] = &[
    TreeRule {
        package: "coach-plans-client",
        forbidden: &[
            WEB_SERVER,
            DISCORD,
            DATABASE_DRIVER,
            OPENSSL,
            SERVER_CRATES,
            OPENAPI_GENERATION,
        ],
        enforced: true,
        pending: "",
    },
    // The storage traits stay apart from the drivers (SQLite is coach-plans-sqlite), so what
    // uses the traits never compiles a database.
    TreeRule {
        package: "coach-plans-storage",
        forbidden: &[DATABASE_DRIVER],
        enforced: true,
        pending: "",
    },
    TreeRule {
        package: "coach-plans-service",
        forbidden: &[DATABASE_DRIVER],
        enforced: true,
        pending: "",
    },
    TreeRule {
        package: "coach-plans-bot",
        forbidden: &[DATABASE_DRIVER],
        enforced: true,
        pending: "",
    },
    TreeRule {
        package: "coach-plans-api",
        forbidden: &[DATABASE_DRIVER],
        enforced: true,
        pending: "",
    },
    TreeRule {
        package: "coach-plans-mock",
        forbidden: &[DATABASE_DRIVER],
        enforced: true,
        pending: "",
    },
    // PostgreSQL's TLS is rustls (tokio-postgres-rustls), never OpenSSL.
    TreeRule {
        package: "coach-plans-postgres",
        forbidden: &[OPENSSL],
        enforced: true,
        pending: "",
    },
    TreeRule {
        package: "coach-plans-mock",
        forbidden: &[DISCORD_CONNECTION],
        enforced: true,
        pending: "",
    },
];

/// A forbidden crate found in a tree.
#[derive(Debug, PartialEq, Eq)]
struct Violation {
    /// `name version`, as `cargo tree` prints it.
    krate: String,
    family: &'static str,
}

/// The crates of `tree` (the output of `cargo tree --prefix none --format {p}`: one
/// `name vX.Y.Z [(path)] [(*)]` per line) that belong to a forbidden family, each once.
fn violations(tree: &str, forbidden: &[Family]) -> Vec<Violation> {
    let mut found: Vec<Violation> = Vec::new();
    for line in tree.lines() {
        let mut words = line.split_whitespace();
        let (Some(name), version) = (words.next(), words.next().unwrap_or_default()) else {
            continue;
        };
        let Some(family) = forbidden.iter().find(|family| family.holds(name)) else {
            continue;
        };
        let krate = format!("{name} {version}").trim_end().to_owned();
        if !found.iter().any(|v| v.krate == krate) {
            found.push(Violation {
                krate,
                family: family.what,
            });
        }
    }
    found
}

/// Checks every rule against the trees `tree_of(package)` returns: the report lines, or the
/// failure when an enforced rule is broken.
fn judge(
    rules: &[TreeRule],
    mut tree_of: impl FnMut(&str) -> Result<String, String>,
) -> Result<Vec<String>, String> {
    let mut report = Vec::new();
    let mut broken = Vec::new();
    for rule in rules {
        let tree = tree_of(rule.package)?;
        let found = violations(&tree, rule.forbidden);
        let families: Vec<&str> = rule.forbidden.iter().map(|f| f.what).collect();
        // Grouped by family: "a database driver: rusqlite v0.40.2, libsqlite3-sys v0.38.2".
        let listed = rule
            .forbidden
            .iter()
            .filter_map(|family| {
                let crates: Vec<&str> = found
                    .iter()
                    .filter(|v| v.family == family.what)
                    .map(|v| v.krate.as_str())
                    .collect();
                (!crates.is_empty()).then(|| format!("{}: {}", family.what, crates.join(", ")))
            })
            .collect::<Vec<_>>()
            .join("; ");
        let line = match (found.is_empty(), rule.enforced) {
            (true, true) => format!("ok       {}: none of {}", rule.package, families.join("; ")),
            (true, false) => format!(
                "pending  {}: none of {} already; switch the rule on (`enforced: true` in xtask/src/ci.rs)",
                rule.package,
                families.join("; ")
            ),
            (false, false) => format!(
                "pending  {}: pulls {listed}\n           (not enforced yet: {})",
                rule.package, rule.pending
            ),
            (false, true) => {
                broken.push(format!("{} must not depend on {listed}", rule.package));
                format!("FAILED   {}: pulls {listed}", rule.package)
            }
        };
        report.push(line);
    }
    if broken.is_empty() {
        Ok(report)
    } else {
        Err(format!(
            "dependency rules (SPEC 2) broken:\n{}\n{}",
            report.join("\n"),
            broken.join("\n")
        ))
    }
}

/// Fails when a crate's normal dependency tree (every feature, every target) holds a crate an
/// enforced rule of SPEC 2 forbids; reports the pending rules.
pub(crate) fn check_dependency_rules() -> Result<(), String> {
    let mut trees = std::collections::HashMap::new();
    let report = judge(RULES, |package| {
        if let Some(tree) = trees.get(package) {
            return Ok(String::clone(tree));
        }
        let tree = cargo_output(&[
            "tree",
            "--package",
            package,
            "--edges",
            "normal",
            "--all-features",
            "--target",
            "all",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])?;
        trees.insert(package.to_owned(), tree.clone());
        Ok(tree)
    })?;
    eprintln!("dependency rules (SPEC 2):");
    for line in report {
        eprintln!("  {line}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{DATABASE_DRIVER, RULES, TreeRule, judge, violations};

    /// A client tree as `cargo tree` prints it today, trimmed.
    const CLEAN_CLIENT_TREE: &str = "\
coach-plans-client v0.1.0 (/work/crates/client)
backon v1.5.2
coach-plans-model v0.1.0 (/work/crates/model)
serde v1.0.228
reqwest v0.13.1
rustls v0.23.35
openssl-probe v0.1.6
tokio v1.48.0
serde v1.0.228 (*)
";

    fn client_rule() -> &'static TreeRule {
        RULES
            .iter()
            .find(|rule| rule.package == "coach-plans-client")
            .expect("the client has a rule")
    }

    fn names(tree: &str, rule: &TreeRule) -> Vec<String> {
        violations(tree, rule.forbidden)
            .into_iter()
            .map(|v| v.krate)
            .collect()
    }

    #[test]
    fn a_clean_client_tree_passes() {
        assert_eq!(
            names(CLEAN_CLIENT_TREE, client_rule()),
            Vec::<String>::new()
        );
        assert!(judge(&RULES[..1], |_| Ok(CLEAN_CLIENT_TREE.to_owned())).is_ok());
    }

    #[test]
    fn planted_server_crates_in_the_client_tree_fail_the_check() {
        let planted = format!(
            "{CLEAN_CLIENT_TREE}actix-web v4.11.0\ntwilight-http v0.18.0\nrusqlite v0.40.0\n\
             libsqlite3-sys v0.35.0\nnative-tls v0.2.14\nopenssl-sys v0.9.109\n\
             coach-plans-service v0.1.0 (/work/crates/service)\nactix-web v4.11.0 (*)\n"
        );
        assert_eq!(
            names(&planted, client_rule()),
            [
                "actix-web v4.11.0",
                "twilight-http v0.18.0",
                "rusqlite v0.40.0",
                "libsqlite3-sys v0.35.0",
                "native-tls v0.2.14",
                "openssl-sys v0.9.109",
                "coach-plans-service v0.1.0",
            ]
        );
        let error = judge(&RULES[..1], |_| Ok(planted.clone())).expect_err("the check fails");
        assert!(
            error.contains(
                "coach-plans-client must not depend on the web server (actix): actix-web v4.11.0"
            ),
            "{error}"
        );
    }

    #[test]
    fn families_match_whole_crate_names_not_lookalikes() {
        let tree = "actix v0.13.0\nactix-rt v2.10.0\nactixish v1.0.0\ntwilight v0.1.0\n\
                    openssl v0.10.0\nsqlx-core v0.8.0\n";
        assert_eq!(
            names(tree, client_rule()),
            [
                "actix v0.13.0",
                "actix-rt v2.10.0",
                "twilight v0.1.0",
                "openssl v0.10.0",
                "sqlx-core v0.8.0"
            ]
        );
    }

    #[test]
    fn pending_rules_report_without_failing_and_say_when_they_hold() {
        let rules = &[TreeRule {
            package: "coach-plans-service",
            forbidden: &[DATABASE_DRIVER],
            enforced: false,
            pending: "a split still to come",
        }];
        let report = judge(rules, |_| {
            Ok("coach-plans-service v0.1.0 (/x)\nrusqlite v0.40.0\n".to_owned())
        })
        .expect("a pending rule does not fail");
        assert!(
            report[0].contains("pending") && report[0].contains("rusqlite v0.40.0"),
            "{report:?}"
        );
        let report = judge(
            rules,
            |_| Ok("coach-plans-service v0.1.0 (/x)\n".to_owned()),
        )
        .expect("clean");
        assert!(report[0].contains("enforced: true"), "{report:?}");
    }

    #[test]
    fn a_database_driver_in_the_tree_of_a_crate_that_uses_the_storage_traits_fails_the_check() {
        for package in ["storage", "service", "bot", "api", "mock"] {
            let package = format!("coach-plans-{package}");
            let rules: Vec<_> = RULES
                .iter()
                .filter(|rule| rule.package == package && rule.enforced)
                .collect();
            for driver in [
                "libsqlite3-sys v0.35.0",
                "postgres v0.19.14",
                "tokio-postgres v0.7.18",
            ] {
                let tree = format!("{package} v0.1.0 (/x)\n{driver}\n");
                let failed = rules
                    .iter()
                    .any(|rule| judge(std::slice::from_ref(*rule), |_| Ok(tree.clone())).is_err());
                assert!(failed, "{package}: no enforced rule refuses {driver}");
            }
        }
    }

    #[test]
    fn every_constrained_crate_of_spec_2_has_a_rule_and_pending_ones_say_why() {
        for package in [
            "client", "storage", "service", "bot", "api", "mock", "postgres",
        ] {
            let package = format!("coach-plans-{package}");
            assert!(
                RULES.iter().any(|rule| rule.package == package),
                "{package}"
            );
        }
        for rule in RULES.iter().filter(|rule| !rule.enforced) {
            assert!(!rule.pending.is_empty(), "{}", rule.package);
        }
    }
}
