//! Names for files written beside a database or in the fallback's state directory: backups,
//! refused changes. Every store names them alike, and never over an earlier file.

use std::path::{Path, PathBuf};

/// `<dir>/<name>.<label>-<UTC time><extension>`, numbered `-2`, `-3`, ... when a file of that
/// name exists already (two in the same second), so an earlier file is never overwritten.
pub fn stamped_path(dir: &Path, name: &str, label: &str, extension: &str) -> PathBuf {
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let mut path = dir.join(format!("{name}.{label}-{stamp}{extension}"));
    let mut n = 1;
    while path.exists() {
        n += 1;
        path = dir.join(format!("{name}.{label}-{stamp}-{n}{extension}"));
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_taken_in_the_same_second_gets_a_number() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let first = stamped_path(dir.path(), "plans.db", "backup", "");
        std::fs::write(&first, "x").unwrap_or_else(|e| panic!("{e}"));
        let second = stamped_path(dir.path(), "plans.db", "backup", "");
        assert_ne!(first, second);
        let name = second.file_name().map(|n| n.to_string_lossy().into_owned());
        assert!(name.is_some_and(|n| n.starts_with("plans.db.backup-") && n.ends_with("-2")));
    }
}
