//! The store layer: every SQL statement of the server, and nothing else.
//!
//! One schema (`migrations/`) for both backends, reached through sqlx's `Any` driver: SQLite in
//! a data directory (WAL, `synchronous=FULL`, one writer connection so that writers never race,
//! and read-only connections beside it so that reads never queue behind a write) for
//! one building, PostgreSQL for several server processes behind a load balancer. The SQL here
//! is the common dialect of both: `$n` parameters, `BIGINT` and `TEXT` only, `RETURNING`.

use std::borrow::Cow;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Any, AnyPool, Executor, Row};

/// A store error: the database failed or refused a statement. Never shown to API clients.
pub type StoreError = sqlx::Error;
/// A result of a store call.
pub type Result<T> = std::result::Result<T, StoreError>;
/// An open transaction.
pub type Tx = sqlx::Transaction<'static, Any>;

/// Which database the store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The schema, applied in order at start. Versions are never edited once released.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/0001_init.sql")),
    (2, "delivery_grant_bound", include_str!("../../migrations/0002_delivery_grant_bound.sql")),
    (3, "site_zone", include_str!("../../migrations/0003_site_zone.sql")),
    (
        202_611_291_630,
        "audit_evidence",
        include_str!("../../migrations/202611291630_audit_evidence.sql"),
    ),
    (
        202_611_291_700,
        "token_lifecycle",
        include_str!("../../migrations/202611291700_token_lifecycle.sql"),
    ),
    (
        202_611_291_800,
        "site_log_key",
        include_str!("../../migrations/202611291800_site_log_key.sql"),
    ),
    (
        202_612_070_400,
        "portal_accounts",
        include_str!("../../migrations/202612070400_portal_accounts.sql"),
    ),
    (
        202_612_070_700,
        "portalsim_account_lang",
        include_str!("../../migrations/202612070700_portalsim_account_lang.sql"),
    ),
    (
        202_612_070_710,
        "portalsim_sign_in_attempts",
        include_str!("../../migrations/202612070710_portalsim_sign_in_attempts.sql"),
    ),
];

/// Migrations whose SQL differs by backend (triggers, functions), applied in version order with
/// the others: (version, name, SQLite's, PostgreSQL's).
const BACKEND_MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        202_612_070_720,
        "perf_site_versions",
        include_str!("../../migrations/202612070720_perf_site_versions.sqlite.sql"),
        include_str!("../../migrations/202612070720_perf_site_versions.postgres.sql"),
    ),
    (
        202_612_071_600,
        "grant_group_function",
        include_str!("../../migrations/202612071600_grant_group_function.sqlite.sql"),
        include_str!("../../migrations/202612071600_grant_group_function.postgres.sql"),
    ),
];

/// The connection pools and the backend they talk to.
#[derive(Clone, Debug)]
pub struct Store {
    /// Writes and transactions (on SQLite: the one writer connection).
    pool: AnyPool,
    /// One-statement reads. On SQLite, read-only connections beside the writer: WAL lets them
    /// read the last committed state while the writer's transaction runs, so a read never
    /// queues behind a write. On PostgreSQL, the same pool as `pool`.
    readers: AnyPool,
    backend: Backend,
}

/// Read-only SQLite connections beside the writer.
const SQLITE_READERS: u32 = 4;

/// How long sqlx keeps a pooled connection (its defaults, kept for file and PostgreSQL
/// databases, where a fresh connection reaches the same data).
const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);

pub use failover::is_transient;

/// Whether an error is a unique-constraint violation (a duplicate insert).
pub fn is_unique_violation(e: &StoreError) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

impl Store {
    /// Connects to `url` (`sqlite://path` or `postgres://...`) and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(sqlx::Error::Configuration(
                format!(
                    "unsupported database URL scheme in {:?}: use sqlite:// or postgres://",
                    url.split(':').next().unwrap_or("")
                )
                .into(),
            ));
        };
        let (pool, readers) = match backend {
            Backend::Sqlite => {
                let url =
                    if url.contains('?') { url.to_string() } else { format!("{url}?mode=rwc") };
                let in_memory = url.contains(":memory:");
                let retire_after = |limit: Duration| Some(limit).filter(|_| !in_memory);
                let pool = AnyPoolOptions::new()
                    // One connection: SQLite has one writer anyway, and a single connection
                    // means no transaction ever fails on a lock upgrade.
                    .max_connections(1)
                    // An in-memory database lives and dies with its one connection: sqlx's
                    // default retirement (after 30 minutes, or 10 idle) swapped it for an empty
                    // one, and every request after that failed ("no such table", answered 503).
                    .max_lifetime(retire_after(DEFAULT_MAX_LIFETIME))
                    .idle_timeout(retire_after(DEFAULT_IDLE_TIMEOUT))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA synchronous = FULL").await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            conn.execute("PRAGMA busy_timeout = 5000").await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?;
                // The writer made the file and set WAL (persistent): the readers only read. An
                // in-memory database exists only on the writer's connection: read there.
                if in_memory {
                    (pool.clone(), pool)
                } else {
                    let readers = AnyPoolOptions::new()
                        .max_connections(SQLITE_READERS)
                        .after_connect(|conn, _| {
                            Box::pin(async move {
                                conn.execute("PRAGMA query_only = ON").await?;
                                conn.execute("PRAGMA busy_timeout = 5000").await?;
                                Ok(())
                            })
                        })
                        .connect_lazy(&url)?;
                    (pool, readers)
                }
            }
            Backend::Postgres => {
                let pool = failover::postgres_pool(url).await?;
                (pool.clone(), pool)
            }
        };
        let store = Store { pool, readers, backend };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let by_backend = BACKEND_MIGRATIONS.iter().map(|(version, name, sqlite, postgres)| {
            let sql = match self.backend {
                Backend::Sqlite => sqlite,
                Backend::Postgres => postgres,
            };
            (version, name, sql)
        });
        let mut ordered: Vec<(&i64, &&str, &&str)> =
            MIGRATIONS.iter().map(|(v, n, s)| (v, n, s)).chain(by_backend).collect();
        ordered.sort_by_key(|(version, _, _)| **version);
        // sqlx keys applied migrations by version: a second file with the same version would
        // be skipped silently on a database that has the first.
        if let Some(pair) = ordered.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            return Err(sqlx::Error::Configuration(
                format!(
                    "migrations {} and {} share version {}: give the newer file a later timestamp",
                    pair[0].1, pair[1].1, pair[0].0
                )
                .into(),
            ));
        }
        let migrations: Vec<Migration> = ordered
            .into_iter()
            .map(|(version, name, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*name),
                    MigrationType::Simple,
                    Cow::Borrowed(*sql),
                    false,
                )
            })
            .collect();
        let migrator = Migrator { migrations: Cow::Owned(migrations), ..Migrator::DEFAULT };
        migrator.run(&self.pool).await.map_err(|e| sqlx::Error::Migrate(Box::new(e)))
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a transaction, waiting out a failover for a few seconds (see [`failover`]).
    pub async fn begin(&self) -> Result<Tx> {
        failover::begin(&self.pool).await
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.readers.close().await;
        self.pool.close().await
    }

    /// The pool for one-statement reads of committed data.
    pub(crate) fn read(&self) -> &AnyPool {
        &self.readers
    }

    /// The pool, for one-statement reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

// ---------------------------------------------------------------------------------------------
// Row helpers.

pub(crate) fn s(row: &AnyRow, col: &str) -> Result<String> {
    row.try_get::<String, _>(col)
}
pub(crate) fn i(row: &AnyRow, col: &str) -> Result<i64> {
    row.try_get::<i64, _>(col)
}

/// A page request: rows with ids after `after`, at most `limit` of them.
#[derive(Clone, Debug)]
pub struct Page {
    /// Exclusive lower bound on the id (ids are time-ordered).
    pub after: String,
    /// The most rows to return.
    pub limit: i64,
}

// ---------------------------------------------------------------------------------------------
// Queries. Reads take the pool or a transaction; writes that must be atomic take a transaction.

/// One row of type `$row` (mapped by its `sqlx::FromRow`), or None.
macro_rules! one {
    ($ex:expr, $row:ty, $sql:expr $(, $arg:expr)*) => {{
        sqlx::query_as::<_, $row>($sql)$(.bind($arg))*.fetch_optional($ex).await
    }};
}
/// Every row of type `$row` (mapped by its `sqlx::FromRow`).
macro_rules! all {
    ($ex:expr, $row:ty, $sql:expr $(, $arg:expr)*) => {{
        sqlx::query_as::<_, $row>($sql)$(.bind($arg))*.fetch_all($ex).await
    }};
}
macro_rules! exec {
    ($ex:expr, $sql:expr $(, $arg:expr)*) => {{
        sqlx::query($sql)$(.bind($arg))*.execute($ex).await.map(|r| r.rows_affected())
    }};
}

/// Reads an enum stored as text through its `TryFrom<String>` (the parse happens once, where
/// the row is read; an unknown value is a decode error, never a silent default).
macro_rules! stored_as_text {
    ($t:ty) => {
        impl sqlx::Type<sqlx::Any> for $t {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <String as sqlx::Type<sqlx::Any>>::type_info()
            }
            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <String as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $t {
            fn decode(
                value: sqlx::any::AnyValueRef<'r>,
            ) -> std::result::Result<Self, sqlx::error::BoxDynError> {
                let text = <String as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
                Ok(<$t>::try_from(text)?)
            }
        }
    };
}
use stored_as_text;

mod audit;
mod carriers;
mod deliveries;
mod door_list;
mod doors;
mod drivers;
pub mod failover;
mod grant_batch;
mod grants;
mod grants_snapshot;
mod issuers;
mod placeholders;
mod revocations;
mod sites;
mod tokens;
mod units;
mod webhooks;

pub use audit::*;
pub use carriers::*;
pub use deliveries::*;
pub use door_list::DoorList;
pub use doors::*;
pub use drivers::*;
pub use grant_batch::{GroupGrant, GroupOutcome};
pub use grants::*;
pub use issuers::*;
pub use revocations::*;
pub use sites::*;
pub use tokens::*;
pub use units::*;
pub use webhooks::*;

#[cfg(test)]
mod connect_tests {
    use super::*;

    #[tokio::test]
    async fn every_migration_has_its_own_version() {
        // Connecting migrates: a duplicated version is refused there, before any schema change.
        Store::connect("sqlite::memory:").await.expect("the schema applies on a fresh database");
        let mut versions: Vec<i64> =
            MIGRATIONS.iter().map(|m| m.0).chain(BACKEND_MIGRATIONS.iter().map(|m| m.0)).collect();
        versions.sort_unstable();
        let count = versions.len();
        versions.dedup();
        assert_eq!(versions.len(), count, "two migrations share a version");
    }
    /// Found by the `server_portal` fuzzer (run 5): after 30 minutes in one process every page
    /// answered 503, because the pool had retired the in-memory database's only connection.
    #[tokio::test]
    async fn an_in_memory_database_keeps_its_one_connection_for_good() {
        let store = Store::connect("sqlite::memory:").await.expect("an in-memory store");
        let options = store.pool.options();
        assert_eq!(options.get_max_connections(), 1);
        assert_eq!(
            options.get_max_lifetime(),
            None,
            "retiring the connection empties the database"
        );
        assert_eq!(
            options.get_idle_timeout(),
            None,
            "closing an idle connection empties the database"
        );
        assert!(
            std::ptr::eq(store.readers.options(), options),
            "readers share the writer's connection"
        );
    }

    #[tokio::test]
    async fn a_database_file_keeps_sqlx_connection_retirement() {
        let dir = std::env::temp_dir().join(format!("porter-pool-{:x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let url = format!("sqlite://{}", dir.join("porter.db").display());
        let store = Store::connect(&url).await.expect("a file store");
        assert_eq!(store.pool.options().get_max_lifetime(), Some(DEFAULT_MAX_LIFETIME));
        assert_eq!(store.pool.options().get_idle_timeout(), Some(DEFAULT_IDLE_TIMEOUT));
        store.pool.close().await;
        std::fs::remove_dir_all(&dir).expect("the temporary directory removed");
    }
}
