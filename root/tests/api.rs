//! porter-root's tests: the binary as a property manager runs it, offline.

#[path = "api/cli.rs"]
mod cli;
