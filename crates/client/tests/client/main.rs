//! The client against the real API served on 127.0.0.1:0, and against canned servers that
//! fail on purpose.
#![allow(clippy::unwrap_used)]

mod against_api;
#[cfg(feature = "blocking")]
mod blocking;
mod canned;
mod charts;
mod failures;
