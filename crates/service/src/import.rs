//! Importing the Python version's memory export (`coach-plans import-legacy`).

use coach_plans_model::wire::{LegacyExport, LegacyRecord, legacy_key, parse_legacy_key};
use coach_plans_model::{Author, Channel, Chart, PlanText, Timestamp};
use coach_plans_storage::{ImportReport, NewPlan, StoreError};

use crate::{PlanService, ServiceError};

/// Why an import did nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A record of the file is not valid; nothing was imported.
    #[error("record '{key}' is invalid: {reason}; nothing was imported")]
    InvalidRecord {
        /// The record's key in the file.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A different live plan is already stored for a record's coach and date; nothing was
    /// imported.
    #[error(
        "record '{key}' conflicts with a different plan already stored for that coach and date; nothing was imported"
    )]
    Conflict {
        /// The record's key.
        key: String,
    },
    /// A record did not read back identically after writing; the import was rolled back.
    #[error("record '{key}' did not read back identically ({detail}); the import was rolled back")]
    Mismatch {
        /// The record's key.
        key: String,
        /// What differed.
        detail: String,
    },
    /// The import could not run.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// What an import would do, without doing it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportPreview {
    /// Keys of records that would be written.
    pub new: Vec<String>,
    /// Keys of records identical to a plan already stored.
    pub already_present: Vec<String>,
    /// Keys of records that conflict with a different stored plan (the import would fail).
    pub conflicts: Vec<String>,
}

impl PlanService {
    /// Checks every record of a legacy export and turns it into plans to store, in key order.
    pub fn legacy_plans(&self, export: &LegacyExport) -> Result<Vec<NewPlan>, ImportError> {
        export
            .iter()
            .map(|(key, record)| self.legacy_plan(key, record))
            .collect()
    }

    /// Imports a legacy export in one transaction: every record or none. Records identical to a
    /// stored plan are skipped, so importing the same file twice is harmless.
    pub async fn import_legacy(&self, export: &LegacyExport) -> Result<ImportReport, ImportError> {
        let plans = self.legacy_plans(export)?;
        let report = self
            .blocking(move |store| store.import_plans(&plans))
            .await
            .map_err(|error| match error {
                StoreError::ImportConflict { coach, date } => ImportError::Conflict {
                    key: legacy_key(&coach, date),
                },
                StoreError::ImportMismatch {
                    coach,
                    date,
                    detail,
                } => ImportError::Mismatch {
                    key: legacy_key(&coach, date),
                    detail,
                },
                other => ImportError::Service(other.into()),
            })?;
        if report.imported > 0 {
            self.changed();
        }
        log::info!(
            "legacy import: {} imported, {} already present",
            report.imported,
            report.already_present
        );
        Ok(report)
    }

    /// What [`PlanService::import_legacy`] would do, changing nothing.
    pub async fn preview_legacy_import(
        &self,
        export: &LegacyExport,
    ) -> Result<ImportPreview, ImportError> {
        let mut preview = ImportPreview::default();
        for plan in self.legacy_plans(export)? {
            let key = legacy_key(&plan.coach, plan.date);
            match self.plan(&plan.coach, plan.date).await? {
                None => preview.new.push(key),
                Some(stored) if plan.holds_same_content_as(&stored) => {
                    preview.already_present.push(key)
                }
                Some(_) => preview.conflicts.push(key),
            }
        }
        Ok(preview)
    }

    fn legacy_plan(&self, key: &str, record: &LegacyRecord) -> Result<NewPlan, ImportError> {
        let invalid = |reason: String| ImportError::InvalidRecord {
            key: key.to_owned(),
            reason,
        };
        let (coach, date) = parse_legacy_key(key)
            .ok_or_else(|| invalid("the key is not coach_<id>_<YYYY-MM-DD>".to_owned()))?;
        self.coach_on_roster(&coach)
            .map_err(|e| invalid(e.to_string()))?;
        let text = PlanText::parse(&record.plan).map_err(|e| invalid(e.to_string()))?;
        let author = record.author.trim();
        if author.is_empty() {
            return Err(invalid("the author is empty".to_owned()));
        }
        let created_at = Timestamp::parse(&record.timestamp).map_err(|e| invalid(e.to_string()))?;
        let charts = record
            .charts
            .iter()
            .enumerate()
            .map(|(position, url)| {
                let position = u32::try_from(position).unwrap_or(u32::MAX);
                Chart::from_stored(url, filename_of(url), None, None, position)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(e.to_string()))?;
        if charts.len() > self.settings().max_chart_attachments {
            return Err(invalid(format!(
                "{} charts; at most {} are allowed",
                charts.len(),
                self.settings().max_chart_attachments
            )));
        }
        Ok(NewPlan {
            coach,
            date,
            text,
            author: Author::legacy(author),
            channel: Channel {
                id: None,
                name: record.channel.clone(),
            },
            message_id: None,
            created_at,
            edited_at: None,
            charts,
        })
    }
}

/// The file name at the end of a URL's path, if there is one.
fn filename_of(url: &str) -> Option<String> {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let (_host, path) = without_scheme.split_once('/')?;
    let path = path.split(['?', '#']).next().unwrap_or_default();
    path.rsplit('/')
        .next()
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::filename_of;

    #[test]
    fn chart_file_names_come_from_the_url_path() {
        assert_eq!(
            filename_of("https://cdn.x/a/b/spy.png?ex=1&is=2").as_deref(),
            Some("spy.png")
        );
        assert_eq!(filename_of("https://cdn.x/a/"), None);
        assert_eq!(filename_of("https://cdn.x"), None);
    }
}
