//! Surviving a PostgreSQL failover: which store errors are transient, and a pool that only
//! ever hands out connections to a writable primary.
//!
//! Under Patroni (deploy/ha/) the primary can die or be demoted at any moment. The pool then
//! holds connections to a server that is gone or read-only. Three rules keep the server
//! correct and available across the switch:
//!
//! * a pooled connection is pinged before use when it has sat idle for half a second, or when
//!   it was last used before this process last saw the database fail ([`saw_transient_error`]):
//!   a dead one is dropped and replaced instead of failing a request. A connection in steady
//!   use is not pinged (under load a ping per use was a second round trip per statement); if
//!   its server died since, the first request to find out answers 503 like any request in
//!   flight during a failover, and every connection older than that failure is pinged;
//! * a new connection is checked to be read-write (`SHOW transaction_read_only`, what libpq's
//!   `target_session_attrs=read-write` checks): a standby or a demoted primary is refused and
//!   the pool keeps trying, until the proxy in front routes to the new primary;
//! * an error that says "the database is away or no longer the primary" is transient
//!   ([`is_transient`]): the request answers `503 database_unavailable` with `Retry-After`,
//!   never a silent loss. A statement that failed this way is never re-run here, because a
//!   failed COMMIT may or may not have committed; the client retries with its Idempotency-Key,
//!   which yields the first answer if it had.

use std::future::Future;
use std::io::ErrorKind;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sqlx::any::AnyPoolOptions;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Connection, Row};

use super::{Result, StoreError, Tx};

/// How long acquiring a connection may take before the request answers 503. A Patroni
/// failover with the settings of deploy/ha takes a few seconds; a request waits out most of
/// one rather than failing, but never holds its client for longer than this.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(8);

/// A pooled connection idle this long is pinged before it is handed out (see [`postgres_pool`]).
const PING_AFTER_IDLE: Duration = Duration::from_millis(500);

/// When this process last saw a transient store error, in microseconds after [`epoch`] (0:
/// never). Process-wide rather than per pool: a failover reaches every pool to the same
/// database, and a stray mark costs each other pool one ping per connection.
static LAST_TROUBLE_MICROS: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn micros_since_epoch(at: Instant) -> u64 {
    // +1: a mark taken at the epoch itself is still a mark.
    u64::try_from(at.saturating_duration_since(epoch()).as_micros()).unwrap_or(u64::MAX - 1) + 1
}

/// Records that a statement just failed with a transient error ([`is_transient`]): every pooled
/// connection last used before now is pinged before it is handed out again, so a request after
/// the failure never gets a connection that died with the old primary.
pub fn saw_transient_error() {
    LAST_TROUBLE_MICROS.fetch_max(micros_since_epoch(Instant::now()), Ordering::Relaxed);
}

/// Whether a pooled connection idle for `idle_for` must be pinged before use: it sat idle long
/// enough that its server may have gone, or it was last used before a failure was seen.
fn needs_ping(idle_for: Duration, now: Instant) -> bool {
    if idle_for >= PING_AFTER_IDLE {
        return true;
    }
    let trouble = LAST_TROUBLE_MICROS.load(Ordering::Relaxed);
    let last_used = micros_since_epoch(now.checked_sub(idle_for).unwrap_or(now));
    trouble != 0 && last_used <= trouble
}

/// PostgreSQL SQLSTATEs after which the same request may succeed when sent again.
const TRANSIENT_SQLSTATES: &[&str] = &[
    // The primary was demoted (or a standby was reached): writes are refused.
    "25006", // read_only_sql_transaction
    // The server is shutting down, crashed or restarting (a failover in progress).
    "57P01", // admin_shutdown
    "57P02", // crash_shutdown
    "57P03", // cannot_connect_now
    // Too many clients for the moment.
    "53300", // too_many_connections
    // Concurrency outcomes that a retry resolves.
    "40001", // serialization_failure
    "40P01", // deadlock_detected
];

/// Whether `e` leaves the database unreachable or not writable for now, so that retrying the
/// request later (after a failover) may succeed: the connection was lost or refused, the
/// server is shutting down or restarting, the server is a read-only standby, or the pool had
/// no connection in time.
pub fn is_transient(e: &StoreError) -> bool {
    match e {
        sqlx::Error::Io(io) => is_transient_io(io.kind()),
        sqlx::Error::Database(d) => d.code().is_some_and(|c| is_transient_sqlstate(&c)),
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        _ => false,
    }
}

/// Whether a SQLSTATE is one of [`TRANSIENT_SQLSTATES`] or a connection exception (class 08).
pub fn is_transient_sqlstate(code: &str) -> bool {
    code.starts_with("08") || TRANSIENT_SQLSTATES.contains(&code)
}

fn is_transient_io(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::ConnectionRefused
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::NotConnected
            | ErrorKind::BrokenPipe
            | ErrorKind::UnexpectedEof
            | ErrorKind::TimedOut
            | ErrorKind::Interrupted
    )
}

/// The PostgreSQL pool: connections checked before use, new ones only to a writable server.
pub(super) async fn postgres_pool(url: &str) -> Result<AnyPool> {
    AnyPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // Ping a pooled connection before handing it out when it sat idle or predates a
        // failure: one left over from a primary that died or was demoted fails the ping and is
        // replaced, not given to a request. One in steady use is handed out unpinged: under
        // load every connection is busy, and a ping on each acquire was a second loopback
        // round trip per statement.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if needs_ping(meta.idle_for, Instant::now()) {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .after_connect(|conn, _| {
            Box::pin(async move {
                let read_only: String = sqlx::query("SHOW transaction_read_only")
                    .fetch_one(&mut *conn)
                    .await?
                    .try_get(0)?;
                if read_only == "on" {
                    // The pool closes this connection and tries again until ACQUIRE_TIMEOUT.
                    return Err(sqlx::Error::Protocol(
                        "connected to a read-only PostgreSQL (a standby, or a primary being \
                         demoted): waiting for the primary"
                            .into(),
                    ));
                }
                Ok(())
            })
        })
        .connect(url)
        .await
}

/// Starts a transaction, waiting out a failover: if no connection can be had because the
/// database is away, tries again until [`ACQUIRE_TIMEOUT`] has passed. Nothing has been sent
/// yet, so trying again is always safe.
pub(super) async fn begin(pool: &AnyPool) -> Result<Tx> {
    waiting_out_failover(|| pool.begin()).await
}

/// A connection for a statement that commits by itself (autocommit), waiting out a failover as
/// [`begin`] does: nothing has been sent on it yet.
pub(super) async fn acquire(pool: &AnyPool) -> Result<PoolConnection<Any>> {
    waiting_out_failover(|| pool.acquire()).await
}

/// `start()` again while it fails with a transient error, until [`ACQUIRE_TIMEOUT`] has passed.
async fn waiting_out_failover<T, F: Future<Output = Result<T>>>(
    mut start: impl FnMut() -> F,
) -> Result<T> {
    let deadline = Instant::now() + ACQUIRE_TIMEOUT;
    let mut pause = Duration::from_millis(50);
    loop {
        match start().await {
            Err(e) if is_transient(&e) && Instant::now() + pause < deadline => {
                tracing::warn!(error = %e, "no database connection; trying again");
                saw_transient_error();
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failover_sqlstates_are_transient() {
        for code in ["25006", "57P01", "57P02", "57P03", "08006", "08001", "08P01", "40001"] {
            assert!(is_transient_sqlstate(code), "{code}");
        }
    }

    #[test]
    fn refusals_and_bugs_are_not_transient() {
        // unique_violation, foreign_key_violation, syntax error, undefined table, check
        // violation, data exception: retrying cannot help, and must not hide them.
        for code in ["23505", "23503", "42601", "42P01", "23514", "22001", "XX000"] {
            assert!(!is_transient_sqlstate(code), "{code}");
        }
    }

    #[test]
    fn a_connection_is_pinged_when_idle_or_older_than_the_last_failure() {
        let now = Instant::now();
        let busy = Duration::from_millis(5);
        // Other tests in this binary may mark failures: compare against a fresh mark.
        saw_transient_error();
        assert!(needs_ping(busy, now), "used before the failure just seen");
        assert!(needs_ping(PING_AFTER_IDLE, now), "idle long enough");
        let later = now + Duration::from_secs(1);
        assert!(!needs_ping(busy, later), "used after the failure, and busy");
        assert!(needs_ping(Duration::from_millis(1500), later), "used before the failure");
    }

    #[test]
    fn lost_connections_are_transient_other_errors_are_not() {
        let io = |kind| sqlx::Error::Io(std::io::Error::new(kind, "x"));
        for kind in
            [ErrorKind::ConnectionRefused, ErrorKind::ConnectionReset, ErrorKind::UnexpectedEof]
        {
            assert!(is_transient(&io(kind)), "{kind:?}");
        }
        assert!(is_transient(&sqlx::Error::PoolTimedOut));
        assert!(!is_transient(&io(ErrorKind::PermissionDenied)));
        assert!(!is_transient(&sqlx::Error::RowNotFound));
        assert!(!is_transient(&sqlx::Error::ColumnNotFound("serial".into())));
        assert!(!is_transient(&sqlx::Error::Configuration("bad url".into())));
    }
}
