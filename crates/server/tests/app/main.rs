//! The whole application in-process (zero2prod's `spawn_app`): built on port 0 from a
//! configuration, driven over HTTP through the client library and through a fake Discord, and
//! stopped with a shutdown signal. What needs a real process (signals, exit codes, the command
//! line, SIGKILL) is tested on the binary in `tests/`.
#![allow(clippy::unwrap_used)]

mod helpers;

mod backfill;
mod charts;
mod charts_postgres;
mod dashboard;
mod discord;
mod mock;
mod slash;
