//! Failover. Two parts:
//!
//! * `classify`: against a real PostgreSQL (`PORTER_TEST_POSTGRES`, as `server/ci.sh` sets
//!   it), the errors a failover produces are transient, a read-only server is never handed
//!   to a request, and the API answers `503 database_unavailable` with `Retry-After`;
//! * `under_load`: against the HA stack of `deploy/ha/` (`PORTER_TEST_HA=<stack dir>`, as
//!   `deploy/ha/failover-test.sh` sets it), the primary is killed and then cut off while
//!   clients write, and nothing acknowledged is lost or duplicated.

#[path = "api/harness.rs"]
mod harness;

#[path = "failover/classify.rs"]
mod classify;
#[path = "failover/doorlog.rs"]
mod doorlog;
#[path = "failover/load.rs"]
mod load;
#[path = "failover/stack.rs"]
mod stack;
#[path = "failover/under_load.rs"]
mod under_load;
