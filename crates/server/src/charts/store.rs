//! The chart store `charts.backend` selects, opened when it first can be: a chart directory
//! that cannot be created at start (a full or read-only disk, a file in its place), or a
//! PostgreSQL database that is down, must not stop the server, any more than an unreadable
//! database does (SPEC 5.1). Until it opens, every call fails with the reason, so archiving
//! attempts fail and are retried, and chart requests answer errors; the first call after the
//! cause is fixed opens it.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use coach_plans_config::{ChartBackend, Config, DatabaseConfig};
use coach_plans_model::Sha256;
use coach_plans_postgres::PostgresChartStore;
use coach_plans_service::{
    BlobStats, BlobWriter, ChartStore, ChartStoreError, DirChartStore, StoredBlob,
};

/// Opens a chart store, or says why it cannot yet.
type Opener = Box<dyn Fn() -> Result<Arc<dyn ChartStore>, ChartStoreError> + Send + Sync>;

/// A chart store opened at the first call that can open it.
pub(crate) struct LazyChartStore {
    /// How messages name it: the directory or the database, and the setting.
    name: String,
    open: Opener,
    opened: OnceLock<Arc<dyn ChartStore>>,
}

impl std::fmt::Debug for LazyChartStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyChartStore")
            .field("name", &self.name)
            .field("opened", &self.opened.get().is_some())
            .finish_non_exhaustive()
    }
}

impl LazyChartStore {
    /// The store `charts.backend` selects for this configuration (see
    /// [`ChartsConfig::backend_in_use`](coach_plans_config::ChartsConfig::backend_in_use)),
    /// tried at once: the error says why it cannot be used yet.
    pub(crate) fn configured(config: &Config) -> (Self, Option<ChartStoreError>) {
        match config.charts.backend_in_use(&config.database) {
            ChartBackend::Database => Self::database(&config.database),
            ChartBackend::Directory | ChartBackend::Auto => Self::directory(&config.charts.store),
        }
    }

    /// A [`DirChartStore`] on `dir`, tried at once.
    pub(crate) fn directory(dir: impl Into<PathBuf>) -> (Self, Option<ChartStoreError>) {
        let dir = dir.into();
        let name = format!(
            "the chart directory {} (charts.store, CHART_STORE)",
            dir.display()
        );
        Self::tried(
            name,
            Box::new(move || Ok(Arc::new(DirChartStore::open(&dir)?) as Arc<dyn ChartStore>)),
        )
    }

    /// A [`PostgresChartStore`] on the database of `database.url`, tried at once.
    pub(crate) fn database(config: &DatabaseConfig) -> (Self, Option<ChartStoreError>) {
        let shown = config
            .url
            .as_ref()
            .map_or_else(|| "no database".to_owned(), |url| url.masked());
        let config = config.clone();
        Self::tried(
            format!("the chart store in {shown} (charts.backend, CHART_BACKEND)"),
            Box::new(move || {
                Ok(Arc::new(PostgresChartStore::open(&config)?) as Arc<dyn ChartStore>)
            }),
        )
    }

    fn tried(name: String, open: Opener) -> (Self, Option<ChartStoreError>) {
        let store = Self {
            name,
            open,
            opened: OnceLock::new(),
        };
        let error = store.store().err();
        (store, error)
    }

    /// How messages name it: `the chart directory ./data/charts (charts.store, CHART_STORE)`.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    fn store(&self) -> Result<&Arc<dyn ChartStore>, ChartStoreError> {
        if let Some(store) = self.opened.get() {
            return Ok(store);
        }
        let store = (self.open)()?;
        Ok(self.opened.get_or_init(|| store))
    }
}

impl ChartStore for LazyChartStore {
    fn writer(&self) -> Result<Box<dyn BlobWriter>, ChartStoreError> {
        self.store()?.writer()
    }

    fn get(&self, sha256: &Sha256) -> Result<Option<Vec<u8>>, ChartStoreError> {
        self.store()?.get(sha256)
    }

    fn contains(&self, sha256: &Sha256) -> Result<bool, ChartStoreError> {
        self.store()?.contains(sha256)
    }

    fn remove(&self, sha256: &Sha256) -> Result<bool, ChartStoreError> {
        self.store()?.remove(sha256)
    }

    fn stats(&self) -> Result<BlobStats, ChartStoreError> {
        self.store()?.stats()
    }

    fn put(&self, bytes: &[u8]) -> Result<StoredBlob, ChartStoreError> {
        self.store()?.put(bytes)
    }
}

#[cfg(test)]
mod tests {
    use coach_plans_config::DatabaseUrl;

    use super::*;

    #[test]
    fn a_blocked_directory_fails_each_call_until_it_is_freed() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let blocked = dir.path().join("data");
        std::fs::write(&blocked, b"a file where the directory should be")
            .unwrap_or_else(|e| panic!("{e}"));
        let (store, error) = LazyChartStore::directory(blocked.join("charts"));
        assert!(error.is_some(), "the reason is reported at once");
        assert!(matches!(
            store.put(b"\x89PNG\r\n\x1a\n"),
            Err(ChartStoreError::Io { .. })
        ));

        std::fs::remove_file(&blocked).unwrap_or_else(|e| panic!("{e}"));
        let stored = store
            .put(b"\x89PNG\r\n\x1a\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            store.get(&stored.sha256).unwrap_or_else(|e| panic!("{e}")),
            Some(b"\x89PNG\r\n\x1a\n".to_vec())
        );
    }

    #[test]
    fn a_database_that_is_down_fails_each_call_with_the_reason_and_no_password() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .unwrap_or_else(|e| panic!("{e}"))
            .port();
        let mut config = Config::defaults();
        config.database.url = Some(DatabaseUrl::new(format!(
            "postgres://coach:s3cret@127.0.0.1:{port}/plans?sslmode=disable"
        )));
        let (store, error) = LazyChartStore::configured(&config);
        assert!(store.name().contains("postgres://coach:***@"), "{store:?}");
        let error = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("unavailable"), "{error}");
        assert!(!error.contains("s3cret"), "{error}");
        match store.get(&coach_plans_storage::sha256_of(b"x")) {
            Err(ChartStoreError::Io { .. }) => {}
            other => panic!("expected the database's error, got {other:?}"),
        }
    }

    #[test]
    fn a_database_down_at_start_is_used_once_it_answers() {
        if coach_plans_postgres::testing::skipped("the chart store once PostgreSQL is up") {
            return;
        }
        let db = coach_plans_postgres::testing::TestDatabase::create();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .unwrap_or_else(|e| panic!("{e}"))
            .port();
        let config = DatabaseConfig {
            url: Some(DatabaseUrl::new(
                db.url_through(&format!("127.0.0.1:{port}")),
            )),
            ..db.config()
        };
        let (store, error) = LazyChartStore::database(&config);
        assert!(error.is_some(), "down at start");
        assert!(store.put(b"GIF89a while down").is_err());

        coach_plans_postgres::testing::forward_to_server(port);
        let stored = store
            .put(b"GIF89a once up")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(stored.newly_written);
        let direct = PostgresChartStore::open(&db.config()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            direct.get(&stored.sha256).unwrap_or_else(|e| panic!("{e}")),
            Some(b"GIF89a once up".to_vec()),
            "in the database"
        );
    }

    #[test]
    fn the_directory_backend_keeps_charts_in_charts_store_even_with_a_database() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut config = Config::defaults();
        config.charts.store = dir.path().join("charts");
        config.charts.backend = ChartBackend::Directory;
        config.database.url = Some(DatabaseUrl::new("postgres://coach@127.0.0.1:1/x"));
        let (store, error) = LazyChartStore::configured(&config);
        assert!(error.is_none(), "{error:?}");
        assert!(store.name().contains("charts.store"), "{store:?}");
        assert!(store.put(b"GIF89a").is_ok());
        assert!(dir.path().join("charts/tmp").is_dir());
    }
}
