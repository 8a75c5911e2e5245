//! Charts that outlive Discord's CDN (SPEC 14): downloading chart images safely. The archiver
//! that queues downloads and stores the blobs comes next (issue 12 step 2).

mod fetch;

pub(crate) use fetch::{ChartFetcher, FetchError, FetchOptions, Fetched, redact};
