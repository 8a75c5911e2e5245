//! The browser suite's precondition (SPEC 17): the dashboard's browser test
//! (`crates/server/tests/app/dashboard.rs`) drives a real Chromium through chromedriver. It runs
//! with the workspace tests; this check says beforehand whether it can. Without the browser,
//! outside CI, a loud SKIPPED line names the suite and the install command (the test itself
//! then skips); with `CI=true` it is a failure, so CI never passes without the suite.

use std::path::PathBuf;

const SUITE: &str =
    "browser suite (the dashboard in Chromium, crates/server/tests/app/dashboard.rs)";
const INSTALL: &str = "apt-get install -y chromium chromium-driver";

/// What to do about the browser suite.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Runs,
    Skipped,
    Fails,
}

fn verdict(found: bool, ci: bool) -> Verdict {
    match (found, ci) {
        (true, _) => Verdict::Runs,
        (false, false) => Verdict::Skipped,
        (false, true) => Verdict::Fails,
    }
}

/// `CHROMIUM` / `CHROMEDRIVER`, or Debian's paths (as the test looks for them).
fn binary(var: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from);
    path.is_file().then_some(path)
}

/// Reports whether the browser suite will run; an error under `CI=true` without the browser.
pub(crate) fn check() -> Result<(), String> {
    let found = binary("CHROMIUM", "/usr/bin/chromium")
        .zip(binary("CHROMEDRIVER", "/usr/bin/chromedriver"));
    match verdict(found.is_some(), crate::in_ci()) {
        Verdict::Runs => {
            if let Some((chromium, driver)) = found {
                eprintln!(
                    "{SUITE}: runs with the tests ({} and {}); screenshots go to target/screenshots/",
                    chromium.display(),
                    driver.display()
                );
            }
            Ok(())
        }
        Verdict::Skipped => {
            let rule = "!".repeat(78);
            eprintln!(
                "{rule}\nSKIPPED {SUITE}: chromium or chromedriver not found.\nInstall them with `{INSTALL}` to run it.\n{rule}"
            );
            Ok(())
        }
        Verdict::Fails => Err(format!(
            "{SUITE}: chromium or chromedriver not found and CI=true; install them with `{INSTALL}` (.ci/run does)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::{Verdict, verdict};

    #[test]
    fn without_a_browser_ci_fails_and_a_workstation_skips() {
        assert_eq!(verdict(true, true), Verdict::Runs);
        assert_eq!(verdict(true, false), Verdict::Runs);
        assert_eq!(verdict(false, false), Verdict::Skipped);
        assert_eq!(verdict(false, true), Verdict::Fails);
    }
}
