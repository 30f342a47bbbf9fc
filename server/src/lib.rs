//! # porter-server
//!
//! The Porter server: issues grants for real deliveries, keeps the key hierarchy's public half,
//! carries revocations to doors through signed door state, ingests and verifies door audit
//! logs, and notifies residents. Layered `http` -> `service` -> `store`, each layer one module per
//! resource (sites, doors, issuers, carriers, drivers, units, deliveries, grants, revocations,
//! audit, webhooks, tokens):
//!
//! * [`http`]: axum handlers; authentication, rate limits, idempotency keys, `{code, message}`
//!   errors, the OpenAPI document.
//! * [`service`]: the rules (who may do what, when a grant may exist); no SQL, no HTTP.
//! * [`store`]: sqlx over SQLite (embedded) or PostgreSQL, one schema through migrations.
//!
//! Beside them: [`portal`] (the web portal for managers and residents), [`bench`] (`porter bench`,
//! the load generator), [`outbox`] (webhook delivery, signed per [`standard_webhooks`]),
//! [`mod@serve`] (the process), [`config`], [`metrics`] and the one HTTP [`client`]. The site root's offline tool is its own crate,
//! `porter-root` (`root/`): it never links the server.

#![forbid(unsafe_code)]

pub mod bench;
pub mod client;
pub mod config;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod http;
pub mod ids;
pub mod metrics;
pub mod outbox;
pub mod portal;
pub mod serve;
pub mod service;
pub mod standard_webhooks;
pub mod store;

// The public interface is:
pub use crate::config::Config;
pub use crate::serve::serve;
pub use crate::service::{Principal, Role, Service};
pub use crate::store::Store;
