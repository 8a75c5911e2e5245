//! The durable journal of changes held while the database is unavailable.
//!
//! Each held change is one JSON line appended to `<state dir>/<database file>.journal` and
//! synced to disk before the change is acknowledged, so a ✅ survives `kill -9` and power loss
//! even while the database cannot be written. At start the journal is read back and written
//! through; the file is removed once every change in it has reached the database.
//!
//! A crash can tear the last line (it was never acknowledged: its sync never returned). Such a
//! line is dropped when read. A damaged line anywhere else is an error: the file is kept for a
//! person to look at rather than silently losing what follows it.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};

use coach_plans_model::{Author, Plan, PlanId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::{NewPlan, Revision};

/// One held change, as journaled and as written through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Op {
    /// A new plan, under a provisional id.
    Create {
        /// The provisional id it was acknowledged with.
        id: PlanId,
        /// The plan.
        plan: NewPlan,
    },
    /// A revision of a live plan (by database or provisional id).
    Revise {
        /// The plan.
        id: PlanId,
        /// The change.
        revision: Revision,
        /// The version the change was decided against.
        before: Plan,
    },
    /// A deletion.
    Delete {
        /// The plan.
        id: PlanId,
        /// Who deleted it.
        by: Author,
        /// When.
        at: Timestamp,
        /// The version the deletion was decided against.
        before: Plan,
    },
}

impl Op {
    /// The plan the change is about: its database or provisional id.
    pub(crate) fn plan_id(&self) -> PlanId {
        match self {
            Self::Create { id, .. } | Self::Revise { id, .. } | Self::Delete { id, .. } => *id,
        }
    }

    /// The version of the plan the change was decided against; for a new plan, the plan.
    pub(crate) fn decided_against(&self) -> Plan {
        match self {
            Self::Create { id, plan } => plan.clone().into_plan(*id),
            Self::Revise { before, .. } | Self::Delete { before, .. } => before.clone(),
        }
    }
}

/// The journal file, open for appending.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Opens (creating it, and syncing its directory so the new name is durable too) the
    /// journal at `path` for appending.
    pub(crate) fn open(path: &Path) -> io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let existed = path.exists();
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        if !existed {
            sync_dir(path)?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Appends `op` and waits until it is on disk.
    pub(crate) fn append(&mut self, op: &Op) -> io::Result<()> {
        let mut line = serde_json::to_vec(op).map_err(io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.sync_data()
    }

    /// Where the journal is.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the journal file: everything in it is in the database.
    pub(crate) fn remove(self) -> io::Result<()> {
        std::fs::remove_file(&self.path)?;
        sync_dir(&self.path)
    }
}

/// The changes journaled at `path`, oldest first; none when there is no file.
pub(crate) fn read(path: &Path) -> io::Result<Vec<Op>> {
    let file = match File::open(path) {
        Ok(file) => file,
        // No such file, or its directory is not a directory: nothing was ever journaled there.
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(Vec::new());
        }
        Err(error) => return Err(error),
    };
    let mut ops = Vec::new();
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(ops);
        }
        number += 1;
        let complete = line.last() == Some(&b'\n');
        match serde_json::from_slice::<Op>(&line) {
            Ok(op) => ops.push(op),
            // A torn last line: its write never completed, so it was never acknowledged.
            Err(_) if !complete => {
                log::warn!(
                    "{}: dropping an incomplete last line (a write cut short by a crash; it was never acknowledged)",
                    path.display()
                );
                return Ok(ops);
            }
            Err(error) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("line {number} cannot be read ({error}); the file was left as it is"),
                ));
            }
        }
    }
}

/// Syncs the directory holding `path`, so a created or removed name survives a power loss.
fn sync_dir(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => File::open(dir)?.sync_all(),
        _ => File::open(".")?.sync_all(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coach_plans_model::{Channel, CoachId, PlanDate, PlanText, UserId};

    fn op(n: i64) -> Op {
        Op::Create {
            id: PlanId::new(n).unwrap_or(PlanId::MIN),
            plan: NewPlan {
                coach: CoachId::parse("d").unwrap_or_else(|e| panic!("{e}")),
                date: PlanDate::parse("2024-05-10").unwrap_or_else(|e| panic!("{e}")),
                text: PlanText::parse("held\nover two lines").unwrap_or_else(|e| panic!("{e}")),
                author: Author::new(UserId::new(7).unwrap_or_else(|| panic!("non-zero")), "dana"),
                channel: Channel::default(),
                message_id: None,
                created_at: Timestamp::parse("2024-05-10T12:00:00.000000+00:00")
                    .unwrap_or_else(|e| panic!("{e}")),
                edited_at: None,
                charts: vec![],
            },
        }
    }

    #[test]
    fn appended_changes_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("plans.db.journal");
        let mut journal = Journal::open(&path).unwrap_or_else(|e| panic!("{e}"));
        journal.append(&op(1)).unwrap_or_else(|e| panic!("{e}"));
        journal.append(&op(2)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read(&path).unwrap_or_default(), vec![op(1), op(2)]);
        journal.remove().unwrap_or_else(|e| panic!("{e}"));
        assert!(!path.exists());
        assert_eq!(read(&path).unwrap_or_default(), vec![]);
    }

    #[test]
    fn a_torn_last_line_is_dropped_but_damage_before_it_is_an_error() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("j");
        let mut journal = Journal::open(&path).unwrap_or_else(|e| panic!("{e}"));
        journal.append(&op(1)).unwrap_or_else(|e| panic!("{e}"));
        drop(journal);
        let mut bytes = std::fs::read(&path).unwrap_or_default();
        bytes.extend_from_slice(br#"{"create":{"id":2,"pl"#);
        std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read(&path).unwrap_or_default(), vec![op(1)]);

        bytes.extend_from_slice(b"\n");
        std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{e}"));
        let error = read(&path).map(|_| ()).unwrap_err().to_string();
        assert!(error.contains("line 2 cannot be read"), "{error}");
    }
}
