//! `coach-plans import-legacy FILE [--dry-run]`: the Python version's memory export (or a spill
//! file) loaded into the configured database: every record checked and compared with the
//! database first (a bad or conflicting record changes nothing and leaves no backup), a backup
//! only when something will be written, one transaction, every record verified.

use std::path::Path;
use std::sync::Arc;

use coach_plans_config::Config;
use coach_plans_model::wire::{LegacyExport, LegacyRecord};
use coach_plans_service::{ImportPreview, PlanService};
use coach_plans_sqlite::SqliteStore;

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
    let preview = compare(service, export).await?;
    say!("would import: {}", preview.new.len());
    say!(
        "already present (identical): {}",
        preview.already_present.len()
    );
    say!("dry run: nothing was changed");
    refuse_conflicts(&preview, "the import would change nothing")
}

/// Every record checked and compared with what is stored, touching nothing; each conflict
/// is named on standard output.
async fn compare(service: &PlanService, export: &LegacyExport) -> Result<ImportPreview, String> {
    let preview = service
        .preview_legacy_import(export)
        .await
        .map_err(|e| e.to_string())?;
    for key in &preview.conflicts {
        say!("conflict: {key} differs from the plan stored for that coach and date");
    }
    Ok(preview)
}

fn refuse_conflicts(preview: &ImportPreview, outcome: &str) -> Result<(), String> {
    match preview.conflicts.as_slice() {
        [] => Ok(()),
        [key] => Err(format!(
            "record '{key}' conflicts with a different plan already stored for that coach and date; {outcome}"
        )),
        [first, rest @ ..] => Err(format!(
            "{} records conflict with different plans already stored for their coach and date ('{first}' and {} more); {outcome}",
            rest.len() + 1,
            rest.len()
        )),
    }
}

async fn import(
    service: &PlanService,
    store: &Arc<SqliteStore>,
    export: &LegacyExport,
) -> Result<(), String> {
    // Every record is checked and compared with the database before anything is written, so a
    // refused import or a file already imported leaves no backup behind.
    let plans = service.legacy_plans(export).map_err(|e| e.to_string())?;
    let preview = compare(service, export).await?;
    refuse_conflicts(&preview, "nothing was imported")?;
    if preview.new.is_empty() {
        say!("imported: 0");
        say!(
            "already present (identical): {}",
            preview.already_present.len()
        );
        say!("nothing to write: no backup made");
    } else {
        let backup = store
            .backup_beside("before-import")
            .map_err(|e| format!("cannot back up the database first: {e}; nothing was imported"))?;
        say!("backup: {}", backup.display());
        // The import checks again inside its transaction: a plan stored meanwhile still
        // stops it with nothing changed.
        let report = service.import_legacy(export).await.map_err(|e| {
            format!(
                "{e} (the backup {} is of the unchanged database)",
                backup.display()
            )
        })?;
        say!("imported: {}", report.imported);
        say!("already present (identical): {}", report.already_present);
    }
    // The import read every record back inside its transaction (and would have rolled back
    // on any difference); records already present were compared above.
    say!(
        "verified: all {} record(s) read back identically",
        plans.len()
    );
    Ok(())
}
