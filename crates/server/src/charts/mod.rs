//! Charts that outlive Discord's CDN (SPEC 14): downloading chart images safely, for the
//! service's archiver; the chart store `charts.backend` selects, and moving a chart directory's
//! images into the database.

mod fetch;
mod move_in;
mod source;
mod store;

pub(crate) use fetch::{ChartFetcher, FetchError, redact};
pub(crate) use move_in::MoveInTask;
pub(crate) use source::{NetworkChartSource, Refresher};
pub(crate) use store::LazyChartStore;
