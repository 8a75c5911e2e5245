#![doc = include_str!("../README.md")]

mod archive;
mod clock;
mod error;
mod import;
mod service;

pub use archive::{
    ArchiveEvent, ArchivePolicy, ArchiveSummary, ArchiverHandle, BoxFuture, ChartArchiver,
    ChartSource, FetchFailure, REFRESH_BATCH,
};
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{Action, Allowed, Forbidden, InvalidRequest, Missing, ServiceError};
pub use import::{ImportError, ImportPreview};
pub use service::{
    Actor, HeldChangeCheck, NewPost, Page, PlanEdit, PlanRef, PlanService, PlanWithHistory, Saved,
    ServiceSettings, Skipped, format_timestamp,
};

/// Storage types that appear in the service's signatures, re-exported so callers need not
/// depend on the storage crate.
pub use coach_plans_storage::{
    AuthorFilter, BlobStats, BlobWriter, ChartCounts, ChartRef, ChartStore, ChartStoreError,
    DirChartStore, ImportReport, MemoryChartStore, PlanQuery, RefusedAction, RefusedChange,
    StoreHealth, StoreStats, StoredBlob,
};
