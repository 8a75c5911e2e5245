//! Charts that outlive Discord's CDN (SPEC 14): downloading chart images safely, for the
//! service's archiver.

mod fetch;
mod source;
mod store;

pub(crate) use fetch::{ChartFetcher, FetchError, redact};
pub(crate) use source::{NetworkChartSource, Refresher};
pub(crate) use store::LazyDirChartStore;
