//! `coach-plans import-legacy FILE [--dry-run]`: the Python version's memory export (or a spill
//! file) loaded into the configured database: backup first, one transaction, every record
//! verified, nothing changed when any record is wrong.

use std::path::Path;
use std::sync::Arc;

use coach_plans_config::Config;
use coach_plans_model::wire::{LegacyExport, LegacyRecord, legacy_key};
use coach_plans_service::PlanService;
use coach_plans_storage::{PlanStore, SqliteStore};

use super::{fail, say};
use crate::exit::Exit;
use crate::wiring;

pub(crate) fn run(config: &Config, file: &Path, dry_run: bool) -> Exit {
    let export = match read_export(file) {
        Ok(export) => export,
        Err((exit, message)) => {
            fail!("{message}");
            return exit;
        }
    };
    say!("{}: {} record(s)", file.display(), export.len());
    let store = match wiring::open_sqlite(&config.database) {
        Ok(store) => store,
        Err(exit) => return exit,
    };
    let service = match wiring::service(config, store.clone()) {
        Ok(service) => service,
        Err(exit) => return exit,
    };
    let runtime = match wiring::runtime(false) {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    let result = if dry_run {
        runtime.block_on(preview(&service, &export))
    } else {
        runtime.block_on(import(&service, &store, &export))
    };
    match result {
        Ok(()) => Exit::Ok,
        Err(message) => {
            fail!("{message}");
            Exit::Failure
        }
    }
}

/// Reads and parses the file, naming the record at fault when one is malformed.
fn read_export(file: &Path) -> Result<LegacyExport, (Exit, String)> {
    let bytes = std::fs::read(file)
        .map_err(|e| (Exit::Config, format!("cannot read {}: {e}", file.display())))?;
    let records: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&bytes)
        .map_err(|e| {
            (
                Exit::Failure,
                format!(
                    "{} is not a legacy export (a JSON object of coach_<id>_<date> records): {e}; nothing was imported",
                    file.display()
                ),
            )
        })?;
    records
        .into_iter()
        .map(
            |(key, value)| match serde_json::from_value::<LegacyRecord>(value) {
                Ok(record) => Ok((key, record)),
                Err(e) => Err((
                    Exit::Failure,
                    format!("record '{key}' is invalid: {e}; nothing was imported"),
                )),
            },
        )
        .collect()
}

async fn preview(service: &PlanService, export: &LegacyExport) -> Result<(), String> {
    let preview = service
        .preview_legacy_import(export)
        .await
        .map_err(|e| e.to_string())?;
    say!("would import: {}", preview.new.len());
    say!(
        "already present (identical): {}",
        preview.already_present.len()
    );
    for key in &preview.conflicts {
        say!("conflict: {key} differs from the plan stored for that coach and date");
    }
    say!("dry run: nothing was changed");
    if preview.conflicts.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} record(s) conflict with stored plans; the import would change nothing",
            preview.conflicts.len()
        ))
    }
}

async fn import(
    service: &PlanService,
    store: &Arc<SqliteStore>,
    export: &LegacyExport,
) -> Result<(), String> {
    // Every record is checked before the database is touched.
    let plans = service.legacy_plans(export).map_err(|e| e.to_string())?;
    let backup = store
        .backup_beside("before-import")
        .map_err(|e| format!("cannot back up the database first: {e}; nothing was imported"))?;
    say!("backup: {}", backup.display());
    let report = service
        .import_legacy(export)
        .await
        .map_err(|e| e.to_string())?;
    say!("imported: {}", report.imported);
    say!("already present (identical): {}", report.already_present);
    // Read every record back from the committed database.
    for plan in &plans {
        let stored = store
            .live_plan(&plan.coach, plan.date)
            .map_err(|e| format!("verification could not read the database: {e}"))?;
        if !stored.is_some_and(|stored| plan.holds_same_content_as(&stored)) {
            return Err(format!(
                "verification failed: record '{}' does not read back identically; restore the backup {} before retrying",
                legacy_key(&plan.coach, plan.date),
                backup.display()
            ));
        }
    }
    say!(
        "verified: all {} record(s) read back identically",
        plans.len()
    );
    Ok(())
}
