//! The HTTP API, in process: every endpoint and error case of SPEC 6.
// Helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

mod access;
mod charts;
mod compat;
mod dashboard;
mod helpers;
mod native;
mod openapi;
mod ops;
mod protocol;
