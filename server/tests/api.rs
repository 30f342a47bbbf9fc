//! The server's one integration-test binary. Every scenario runs against SQLite and, when
//! `PORTER_TEST_POSTGRES` names an admin URL (as `server/ci.sh` sets it), against PostgreSQL.

#[path = "api/harness.rs"]
mod harness;

#[path = "api/audit.rs"]
mod audit;
#[path = "api/authz.rs"]
mod authz;
#[path = "api/evidence.rs"]
mod evidence;
#[path = "api/fuzz_hook.rs"]
mod fuzz_hook;
#[path = "api/grants.rs"]
mod grants;
#[path = "api/group_commit.rs"]
mod group_commit;
#[path = "api/holes.rs"]
mod holes;
#[path = "api/hostile.rs"]
mod hostile;
#[path = "api/load.rs"]
mod load;
#[path = "api/processes.rs"]
mod processes;
#[path = "api/registration.rs"]
mod registration;
#[path = "api/tokens.rs"]
mod tokens;
#[path = "api/webhook_endpoints.rs"]
mod webhook_endpoints;
#[path = "api/webhooks.rs"]
mod webhooks;
#[path = "api/webhooks_https.rs"]
mod webhooks_https;
