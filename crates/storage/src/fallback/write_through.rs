//! Writing held changes through once the database is back: in order, each checked against what
//! the database now holds, refused changes kept in a file and told.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError};

use coach_plans_model::wire::{LegacyExport, LegacyRecord, legacy_key};
use coach_plans_model::{HistoryAction, Plan, PlanId};

use super::held::Held;
use super::journal::Op;
use super::{HeldChangeRules, ProtectedStore, RefusedAction, RefusedChange, Shared};
use crate::{Revision, StoreError, files};

impl<S: ProtectedStore> Shared<S> {
    /// Opens the database if needed and writes the journal through in order, checking each
    /// change against what the database holds.
    ///
    /// Whether the database takes writes again is probed first, without the state lock: while
    /// another process still holds its lock, each attempt waits (SQLite: its busy timeout),
    /// and reads and held writes must not wait with it. The journal is then written under the
    /// state lock, so no reader sees it half written.
    pub(super) fn recover(&self) -> bool {
        let _replaying = self
            .replaying
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if self.read().held.is_none() {
            return true;
        }
        let Some(db) = self.database() else {
            return false;
        };
        if let Err(error) = db.check_writable() {
            if let Some(held) = self.write().held.as_mut() {
                held.error = error.to_string();
            }
            return false;
        }
        let mut state = self.write();
        let Some(held) = state.held.as_mut() else {
            return true;
        };
        let total = held.journal.len();
        let mut refused = Vec::new();
        while let Some(op) = held.journal.pop_front() {
            let outcome = match write_through(db.as_ref(), &op, held, self.rules.as_ref()) {
                Err(error) if error.is_unavailable() => {
                    held.error = error.to_string();
                    held.journal.push_front(op);
                    if held.journal.len() < total {
                        held.rebase(db.as_ref());
                    }
                    drop(state);
                    self.report_refused(refused);
                    return false;
                }
                // Anything else the database says no to is refused too, never silently dropped.
                Err(error) => Outcome::Refused(Box::new(refusal(&op, error.to_string()))),
                Ok(outcome) => outcome,
            };
            match outcome {
                Outcome::Written(Some((provisional, real))) => {
                    held.written_ids.insert(provisional, real);
                }
                Outcome::Written(None) => {}
                Outcome::Refused(change) => {
                    if let Op::Create { id, .. } = &op {
                        held.refused_ids.insert(*id);
                    }
                    refused.push(*change);
                }
            }
        }
        let file = held.file.take();
        state.held = None;
        drop(state);
        let written = total - refused.len();
        if total > 0 {
            log::info!(
                "database is back: {written} held change(s) written through in order, {} refused",
                refused.len()
            );
        }
        self.report_refused(refused);
        if let Some(file) = file {
            let path = file.path().to_path_buf();
            if let Err(error) = file.remove() {
                log::error!(
                    "cannot remove the written-through journal {} ({error}); the next start writes it through again, which changes nothing",
                    path.display()
                );
            }
        }
        true
    }

    /// Keeps refused changes in a file, logs them and tells the listener.
    fn report_refused(&self, mut refused: Vec<RefusedChange>) {
        if refused.is_empty() {
            return;
        }
        let mut export = LegacyExport::new();
        for change in refused.iter().filter(|c| c.action != RefusedAction::Delete) {
            export.insert(
                legacy_key(&change.plan.coach, change.plan.date),
                legacy_record(&change.plan),
            );
        }
        let dir = &self.settings.state_dir;
        let kept_in = if export.is_empty() {
            None
        } else {
            match write_legacy_file(
                &files::stamped_path(dir, &self.settings.name, "refused", ".json"),
                &export,
            ) {
                Ok(path) => Some(path),
                Err(error) => {
                    log::error!(
                        "cannot write the refused changes to {}: {error}; they follow in full",
                        dir.display()
                    );
                    for (key, record) in &export {
                        log::error!(
                            "refused change {key}: {}",
                            serde_json::to_string(record).unwrap_or_default()
                        );
                    }
                    None
                }
            }
        };
        let listener = self.listener.read().unwrap_or_else(PoisonError::into_inner);
        for change in &mut refused {
            change.kept_in.clone_from(&kept_in);
            log::error!(
                "held change refused at write-through: {:?} of {} on {} by {} ({}): {}{}",
                change.action,
                change.plan.coach,
                change.plan.date,
                change.by.name,
                change.by.id.map(|id| id.to_string()).unwrap_or_default(),
                change.reason,
                kept_in
                    .as_ref()
                    .map(|p| format!("; kept in {}", p.display()))
                    .unwrap_or_default()
            );
            match listener.as_ref() {
                Some(listener) => listener(change),
                None => self
                    .untold
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(change.clone()),
            }
        }
    }

    /// The database, opening it first when it never opened.
    fn database(&self) -> Option<Arc<S>> {
        if let Some(db) = &self.read().db {
            return Some(Arc::clone(db));
        }
        match (self.opener)() {
            Ok(db) => {
                log::info!("the database opened; held changes are written through next");
                let db = Arc::new(db);
                self.write().db = Some(Arc::clone(&db));
                Some(db)
            }
            Err(error) => {
                if let Some(held) = self.write().held.as_mut() {
                    held.error = error.to_string();
                }
                None
            }
        }
    }
}

/// What writing one held change through did.
enum Outcome {
    /// Written (or found already written by an earlier run); a create answers its provisional
    /// and database ids.
    Written(Option<(PlanId, PlanId)>),
    /// Not written: the rules refuse it against what the database holds.
    Refused(Box<RefusedChange>),
}

/// Writes one held change, checking it against the database first. Writing a change twice (a
/// crash after the database took it and before the journal was removed) changes nothing.
fn write_through<S: ProtectedStore>(
    db: &S,
    op: &Op,
    held: &Held,
    rules: &dyn HeldChangeRules,
) -> Result<Outcome, StoreError> {
    let real = |id: &PlanId| held.written_ids.get(id).copied().unwrap_or(*id);
    let refuse = |reason: String| Ok(Outcome::Refused(Box::new(refusal(op, reason))));
    match op {
        Op::Create { id, plan: new } => match db.create_plan(new.clone()) {
            Ok(plan) => Ok(Outcome::Written(Some((*id, plan.id)))),
            // The coach and date have a plan the held view did not know of (the database was
            // never read), or it came meanwhile from elsewhere: the rules decide again.
            Err(StoreError::Conflict { existing, .. }) => {
                let Some(current) = db.plan(existing)? else {
                    return refuse("the plan for this coach and date changed meanwhile".into());
                };
                if current.author == new.author
                    && current.created_at == new.created_at
                    && current.text == new.text
                {
                    return Ok(Outcome::Written(Some((*id, existing))));
                }
                if let Err(reason) = rules.may_change(&current, &new.author) {
                    return refuse(reason);
                }
                db.revise_plan(
                    existing,
                    Revision {
                        action: HistoryAction::Replace,
                        text: new.text.clone(),
                        charts: Some(new.charts.clone()),
                        message_id: new.message_id,
                        by: new.author.clone(),
                        at: new.created_at.clone(),
                    },
                )?;
                Ok(Outcome::Written(Some((*id, existing))))
            }
            Err(error) => Err(error),
        },
        Op::Revise {
            id,
            revision,
            before,
        } => {
            if held.refused_ids.contains(id) {
                return refuse("the post it changes was refused".into());
            }
            let Some(current) = db.plan(real(id))?.filter(|p| !p.deleted) else {
                return refuse("the plan was deleted meanwhile".into());
            };
            if current.edited_at.as_ref() == Some(&revision.at) && current.text == revision.text {
                return Ok(Outcome::Written(None));
            }
            if !same_version(&current, before)
                && let Err(reason) = rules.may_change(&current, &revision.by)
            {
                return refuse(reason);
            }
            db.revise_plan(current.id, revision.clone())?;
            Ok(Outcome::Written(None))
        }
        Op::Delete { id, by, at, before } => {
            if held.refused_ids.contains(id) {
                return refuse("the post it deletes was refused".into());
            }
            let current = match db.plan(real(id))? {
                // Deleted already (by an earlier run of this journal, or by someone else).
                Some(plan) if plan.deleted => return Ok(Outcome::Written(None)),
                Some(plan) => plan,
                None => return refuse("the plan does not exist".into()),
            };
            if !same_version(&current, before)
                && let Err(reason) = rules.may_change(&current, by)
            {
                return refuse(reason);
            }
            db.delete_plan(current.id, by.clone(), at.clone())?;
            Ok(Outcome::Written(None))
        }
    }
}

/// Whether `current` is still the version a change was decided against.
fn same_version(current: &Plan, before: &Plan) -> bool {
    current.author == before.author
        && current.text == before.text
        && current.edited_at == before.edited_at
        && current.created_at == before.created_at
        && current.deleted == before.deleted
}

/// The refusal of `op`: the plan as the change would have left it.
fn refusal(op: &Op, reason: String) -> RefusedChange {
    let (plan, action, by) = match op {
        Op::Create { id, plan } => (
            plan.clone().into_plan(*id),
            RefusedAction::Post,
            plan.author.clone(),
        ),
        Op::Revise {
            revision, before, ..
        } => {
            let mut plan = before.clone();
            revision.apply_to(&mut plan);
            (plan, RefusedAction::Revise, revision.by.clone())
        }
        Op::Delete { by, before, .. } => {
            let mut plan = before.clone();
            plan.deleted = true;
            (plan, RefusedAction::Delete, by.clone())
        }
    };
    RefusedChange {
        plan,
        action,
        by,
        reason,
        kept_in: None,
    }
}

fn legacy_record(plan: &Plan) -> LegacyRecord {
    LegacyRecord {
        plan: plan.text.as_str().to_owned(),
        charts: plan.charts.iter().map(|c| c.url().to_owned()).collect(),
        author: plan.author.name.clone(),
        timestamp: plan.created_at.as_str().to_owned(),
        channel: plan.channel.name.clone(),
    }
}

/// Writes `export` to `path` atomically and durably (temporary file, sync, rename).
fn write_legacy_file(path: &Path, export: &LegacyExport) -> std::io::Result<PathBuf> {
    let json = serde_json::to_vec_pretty(export).map_err(std::io::Error::other)?;
    let partial = path.with_extension("json.partial");
    {
        use std::io::Write as _;
        let mut file = std::fs::File::create(&partial)?;
        file.write_all(&json)?;
        file.sync_all()?;
    }
    std::fs::rename(&partial, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(path.to_path_buf())
}
