//! Integration tests of the bot through its public API: the command handler over an in-memory
//! store, and the real twilight shard and HTTP client against the fake Discord.
// Test helpers outside #[test] functions unwrap too: a failed setup should fail the test loudly.
#![allow(clippy::unwrap_used)]

// Backfill and edits against the fake Discord (SPEC 15).
#[cfg(feature = "gateway")]
mod backfill;
mod commands;
// The runner's tests need the `gateway` feature (on by default).
#[cfg(feature = "gateway")]
mod gateway;
mod helpers;
