//! The store layer: every SQL statement of the server, and nothing else.
//!
//! One schema (`migrations/`) for both backends, reached through sqlx's `Any` driver: SQLite in
//! a data directory (WAL, `synchronous=FULL`, one connection so that writers never race) for
//! one building, PostgreSQL for several server processes behind a load balancer. The SQL here
//! is the common dialect of both: `$n` parameters, `BIGINT` and `TEXT` only, `RETURNING`.

use std::borrow::Cow;

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
const MIGRATIONS: &[(i64, &str, &str)] =
    &[(1, "init", include_str!("../migrations/0001_init.sql"))];

/// The connection pool and the backend it talks to.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

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
        let pool = match backend {
            Backend::Sqlite => {
                let url =
                    if url.contains('?') { url.to_string() } else { format!("{url}?mode=rwc") };
                AnyPoolOptions::new()
                    // One connection: SQLite has one writer anyway, and a single connection
                    // means no transaction ever fails on a lock upgrade.
                    .max_connections(1)
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
                    .await?
            }
            Backend::Postgres => AnyPoolOptions::new().max_connections(16).connect(url).await?,
        };
        let store = Store { pool, backend };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let migrations: Vec<Migration> = MIGRATIONS
            .iter()
            .map(|(version, name, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(name),
                    MigrationType::Simple,
                    Cow::Borrowed(sql),
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

    /// Starts a transaction.
    pub async fn begin(&self) -> Result<Tx> {
        self.pool.begin().await
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await
    }

    /// The pool, for one-statement reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

// ---------------------------------------------------------------------------------------------
// Row helpers.

fn s(row: &AnyRow, col: &str) -> Result<String> {
    row.try_get::<String, _>(col)
}
fn i(row: &AnyRow, col: &str) -> Result<i64> {
    row.try_get::<i64, _>(col)
}
fn os(row: &AnyRow, col: &str) -> Result<Option<String>> {
    row.try_get::<Option<String>, _>(col)
}
fn oi(row: &AnyRow, col: &str) -> Result<Option<i64>> {
    row.try_get::<Option<i64>, _>(col)
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
// Rows.

/// A building.
#[derive(Clone, Debug)]
pub struct SiteRow {
    /// Public id.
    pub id: String,
    /// The protocol's site number.
    pub site_number: i64,
    /// Display name.
    pub name: String,
    /// The site root public key, hex.
    pub root_key: String,
    /// Offset from UTC in minutes.
    pub utc_offset_minutes: i64,
    /// Creation time.
    pub created_at: i64,
}

fn site(row: &AnyRow) -> Result<SiteRow> {
    Ok(SiteRow {
        id: s(row, "id")?,
        site_number: i(row, "site_number")?,
        name: s(row, "name")?,
        root_key: s(row, "root_key")?,
        utc_offset_minutes: i(row, "utc_offset_minutes")?,
        created_at: i(row, "created_at")?,
    })
}

/// An enrolled door.
#[derive(Clone, Debug)]
pub struct DoorRow {
    /// Public id.
    pub id: String,
    /// Site id.
    pub site_id: String,
    /// The protocol's door number.
    pub door_number: i64,
    /// Display name.
    pub name: String,
    /// The device public key, hex.
    pub device_key: String,
    /// The root-signed enrolment, hex.
    pub enrolment: String,
    /// Creation time.
    pub created_at: i64,
}

fn door(row: &AnyRow) -> Result<DoorRow> {
    Ok(DoorRow {
        id: s(row, "id")?,
        site_id: s(row, "site_id")?,
        door_number: i(row, "door_number")?,
        name: s(row, "name")?,
        device_key: s(row, "device_key")?,
        enrolment: s(row, "enrolment")?,
        created_at: i(row, "created_at")?,
    })
}

/// An issuer key of a site.
#[derive(Clone, Debug)]
pub struct IssuerRow {
    /// Public id.
    pub id: String,
    /// Site id.
    pub site_id: String,
    /// Public key, hex.
    pub public_key: String,
    /// First eight key bytes, hex: what audit records name.
    pub key_id: String,
    /// The private seed, hex. Never leaves the store layer except to sign a grant.
    pub secret_seed: String,
    /// The root-signed certificate, hex, once uploaded.
    pub certificate: Option<String>,
    /// Certificate epoch.
    pub epoch: Option<i64>,
    /// Certificate validity start.
    pub not_before: Option<i64>,
    /// Certificate validity end.
    pub not_after: Option<i64>,
    /// The next free serial.
    pub next_serial: i64,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
    /// Creation time.
    pub created_at: i64,
}

fn issuer(row: &AnyRow) -> Result<IssuerRow> {
    Ok(IssuerRow {
        id: s(row, "id")?,
        site_id: s(row, "site_id")?,
        public_key: s(row, "public_key")?,
        key_id: s(row, "key_id")?,
        secret_seed: s(row, "secret_seed")?,
        certificate: os(row, "certificate")?,
        epoch: oi(row, "epoch")?,
        not_before: oi(row, "not_before")?,
        not_after: oi(row, "not_after")?,
        next_serial: i(row, "next_serial")?,
        revoked_at: oi(row, "revoked_at")?,
        created_at: i(row, "created_at")?,
    })
}

/// A carrier organisation.
#[derive(Clone, Debug)]
pub struct CarrierRow {
    /// Public id.
    pub id: String,
    /// Name shown to residents.
    pub name: String,
    /// Creation time.
    pub created_at: i64,
}

fn carrier(row: &AnyRow) -> Result<CarrierRow> {
    Ok(CarrierRow { id: s(row, "id")?, name: s(row, "name")?, created_at: i(row, "created_at")? })
}

/// A carrier's approval at a site.
#[derive(Clone, Debug)]
pub struct ApprovalRow {
    /// Public id.
    pub id: String,
    /// Site id.
    pub site_id: String,
    /// Carrier id.
    pub carrier_id: String,
    /// The issuer that signs this carrier's grants at this site.
    pub issuer_id: String,
    /// Allowed door numbers, comma separated.
    pub doors: String,
    /// The most entries per grant.
    pub max_uses: i64,
    /// The longest grant, minutes.
    pub max_lifetime_minutes: i64,
    /// When it was withdrawn.
    pub revoked_at: Option<i64>,
    /// Creation time.
    pub created_at: i64,
}

fn approval(row: &AnyRow) -> Result<ApprovalRow> {
    Ok(ApprovalRow {
        id: s(row, "id")?,
        site_id: s(row, "site_id")?,
        carrier_id: s(row, "carrier_id")?,
        issuer_id: s(row, "issuer_id")?,
        doors: s(row, "doors")?,
        max_uses: i(row, "max_uses")?,
        max_lifetime_minutes: i(row, "max_lifetime_minutes")?,
        revoked_at: oi(row, "revoked_at")?,
        created_at: i(row, "created_at")?,
    })
}

/// A driver of a carrier.
#[derive(Clone, Debug)]
pub struct DriverRow {
    /// Public id.
    pub id: String,
    /// Carrier id.
    pub carrier_id: String,
    /// The phone's holder key, hex.
    pub holder_key: String,
    /// The carrier's own label (pseudonymous to buildings).
    pub label: String,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
    /// Creation time.
    pub created_at: i64,
}

fn driver(row: &AnyRow) -> Result<DriverRow> {
    Ok(DriverRow {
        id: s(row, "id")?,
        carrier_id: s(row, "carrier_id")?,
        holder_key: s(row, "holder_key")?,
        label: s(row, "label")?,
        revoked_at: oi(row, "revoked_at")?,
        created_at: i(row, "created_at")?,
    })
}

/// A unit (flat, office) of a site.
#[derive(Clone, Debug)]
pub struct UnitRow {
    /// Public id.
    pub id: String,
    /// Site id.
    pub site_id: String,
    /// Label ("4B").
    pub label: String,
    /// Creation time.
    pub created_at: i64,
}

fn unit(row: &AnyRow) -> Result<UnitRow> {
    Ok(UnitRow {
        id: s(row, "id")?,
        site_id: s(row, "site_id")?,
        label: s(row, "label")?,
        created_at: i(row, "created_at")?,
    })
}

/// A resident of a unit.
#[derive(Clone, Debug)]
pub struct ResidentRow {
    /// Public id.
    pub id: String,
    /// Unit id.
    pub unit_id: String,
    /// Name for the manager's list.
    pub display_name: String,
    /// Whether the resident refuses in-building delivery.
    pub opted_out: bool,
    /// Creation time.
    pub created_at: i64,
}

fn resident(row: &AnyRow) -> Result<ResidentRow> {
    Ok(ResidentRow {
        id: s(row, "id")?,
        unit_id: s(row, "unit_id")?,
        display_name: s(row, "display_name")?,
        opted_out: i(row, "opted_out")? != 0,
        created_at: i(row, "created_at")?,
    })
}

/// A delivery announced by a carrier.
#[derive(Clone, Debug)]
pub struct DeliveryRow {
    /// Public id.
    pub id: String,
    /// Site id.
    pub site_id: String,
    /// Carrier id.
    pub carrier_id: String,
    /// Unit id.
    pub unit_id: String,
    /// The per-delivery salt, hex.
    pub tracking_salt: String,
    /// The package commitment, hex.
    pub package: String,
    /// Window start.
    pub window_start: i64,
    /// Window end (exclusive).
    pub window_end: i64,
    /// `open`, `cancelled`.
    pub status: String,
    /// First entry through a door for it.
    pub entered_at: Option<i64>,
    /// Creation time.
    pub created_at: i64,
}

fn delivery(row: &AnyRow) -> Result<DeliveryRow> {
    Ok(DeliveryRow {
        id: s(row, "id")?,
        site_id: s(row, "site_id")?,
        carrier_id: s(row, "carrier_id")?,
        unit_id: s(row, "unit_id")?,
        tracking_salt: s(row, "tracking_salt")?,
        package: s(row, "package")?,
        window_start: i(row, "window_start")?,
        window_end: i(row, "window_end")?,
        status: s(row, "status")?,
        entered_at: oi(row, "entered_at")?,
        created_at: i(row, "created_at")?,
    })
}

/// An issued grant.
#[derive(Clone, Debug)]
pub struct GrantRow {
    /// Public id.
    pub id: String,
    /// Site id.
    pub site_id: String,
    /// Delivery id.
    pub delivery_id: String,
    /// Driver id.
    pub driver_id: String,
    /// Carrier id.
    pub carrier_id: String,
    /// Issuer id.
    pub issuer_id: String,
    /// First eight issuer key bytes, hex.
    pub issuer_key_id: String,
    /// First serial.
    pub serial: i64,
    /// Entries.
    pub uses: i64,
    /// Door numbers, comma separated.
    pub doors: String,
    /// Validity start.
    pub not_before: i64,
    /// Validity end.
    pub not_after: i64,
    /// The sealed grant, hex.
    pub grant_bytes: String,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
    /// Issue time.
    pub issued_at: i64,
}

fn grant(row: &AnyRow) -> Result<GrantRow> {
    Ok(GrantRow {
        id: s(row, "id")?,
        site_id: s(row, "site_id")?,
        delivery_id: s(row, "delivery_id")?,
        driver_id: s(row, "driver_id")?,
        carrier_id: s(row, "carrier_id")?,
        issuer_id: s(row, "issuer_id")?,
        issuer_key_id: s(row, "issuer_key_id")?,
        serial: i(row, "serial")?,
        uses: i(row, "uses")?,
        doors: s(row, "doors")?,
        not_before: i(row, "not_before")?,
        not_after: i(row, "not_after")?,
        grant_bytes: s(row, "grant_bytes")?,
        revoked_at: oi(row, "revoked_at")?,
        issued_at: i(row, "issued_at")?,
    })
}

/// A revocation the next door state must carry.
#[derive(Clone, Debug)]
pub struct RevocationRow {
    /// Public id.
    pub id: String,
    /// Site id.
    pub site_id: String,
    /// `issuer`, `driver` or `grant`.
    pub kind: String,
    /// The revoked object's id.
    pub target_id: String,
    /// The deny-list subject, hex (8 bytes).
    pub subject: String,
    /// When the entry may be pruned.
    pub until: i64,
    /// For issuers, the certificate epoch.
    pub epoch: Option<i64>,
    /// Creation time.
    pub created_at: i64,
}

fn revocation(row: &AnyRow) -> Result<RevocationRow> {
    Ok(RevocationRow {
        id: s(row, "id")?,
        site_id: s(row, "site_id")?,
        kind: s(row, "kind")?,
        target_id: s(row, "target_id")?,
        subject: s(row, "subject")?,
        until: i(row, "until")?,
        epoch: oi(row, "epoch")?,
        created_at: i(row, "created_at")?,
    })
}

/// A root-signed door state.
#[derive(Clone, Debug)]
pub struct DoorStateRow {
    /// Site id.
    pub site_id: String,
    /// Sequence number.
    pub sequence: i64,
    /// The signed state, hex.
    pub state: String,
    /// Signing time.
    pub issued_at: i64,
    /// Grant fence.
    pub grant_fence: i64,
    /// Certificate epoch fence.
    pub cert_epoch_fence: i64,
}

fn door_state(row: &AnyRow) -> Result<DoorStateRow> {
    Ok(DoorStateRow {
        site_id: s(row, "site_id")?,
        sequence: i(row, "sequence")?,
        state: s(row, "state")?,
        issued_at: i(row, "issued_at")?,
        grant_fence: i(row, "grant_fence")?,
        cert_epoch_fence: i(row, "cert_epoch_fence")?,
    })
}

/// An API token (the secret itself is never stored, only its hash).
#[derive(Clone, Debug, Default)]
pub struct TokenRow {
    /// SHA-256 of the token, hex.
    pub hash: String,
    /// Public id.
    pub id: String,
    /// Role name.
    pub role: String,
    /// Scope: site.
    pub site_id: Option<String>,
    /// Scope: carrier.
    pub carrier_id: Option<String>,
    /// Scope: driver.
    pub driver_id: Option<String>,
    /// Scope: unit.
    pub unit_id: Option<String>,
    /// Scope: resident.
    pub resident_id: Option<String>,
    /// Scope: door.
    pub door_id: Option<String>,
    /// Label.
    pub label: String,
    /// Creation time.
    pub created_at: i64,
}

fn token(row: &AnyRow) -> Result<TokenRow> {
    Ok(TokenRow {
        hash: s(row, "hash")?,
        id: s(row, "id")?,
        role: s(row, "role")?,
        site_id: os(row, "site_id")?,
        carrier_id: os(row, "carrier_id")?,
        driver_id: os(row, "driver_id")?,
        unit_id: os(row, "unit_id")?,
        resident_id: os(row, "resident_id")?,
        door_id: os(row, "door_id")?,
        label: s(row, "label")?,
        created_at: i(row, "created_at")?,
    })
}

/// Where the server stands in a door's log.
#[derive(Clone, Debug)]
pub struct ChainRow {
    /// Next expected sequence.
    pub next_sequence: i64,
    /// Hash of the last record, hex.
    pub previous: String,
}

/// A webhook endpoint of a site.
#[derive(Clone, Debug)]
pub struct WebhookRow {
    /// Public id.
    pub id: String,
    /// Site id.
    pub site_id: String,
    /// Target URL.
    pub url: String,
    /// HMAC secret.
    pub secret: String,
}

/// A pending or delivered webhook message.
#[derive(Clone, Debug)]
pub struct OutboxRow {
    /// Public id (also the event id the receiver deduplicates on).
    pub id: String,
    /// Webhook id.
    pub webhook_id: String,
    /// Event name.
    pub event: String,
    /// JSON body.
    pub body: String,
    /// Attempts so far.
    pub attempts: i64,
    /// Next attempt time.
    pub next_attempt_at: i64,
    /// Target URL.
    pub url: String,
    /// HMAC secret.
    pub secret: String,
}

/// A resident's notification.
#[derive(Clone, Debug)]
pub struct NotificationRow {
    /// Public id.
    pub id: String,
    /// Event kind.
    pub kind: String,
    /// JSON body.
    pub body: String,
    /// Creation time.
    pub created_at: i64,
}

/// An alarm.
#[derive(Clone, Debug)]
pub struct AlarmRow {
    /// Public id.
    pub id: String,
    /// Site id.
    pub site_id: String,
    /// Door id, if any.
    pub door_id: Option<String>,
    /// Kind.
    pub kind: String,
    /// What was seen.
    pub detail: String,
    /// Creation time.
    pub created_at: i64,
}

/// An admission the server learnt of.
#[derive(Clone, Debug)]
pub struct AdmissionRow {
    /// Door id.
    pub door_id: String,
    /// Log sequence.
    pub sequence: i64,
    /// Matched grant, if any.
    pub grant_id: Option<String>,
    /// Carrier of the matched grant.
    pub carrier_id: Option<String>,
    /// Door time.
    pub at: i64,
}

/// A stored idempotent response.
#[derive(Clone, Debug)]
pub struct IdemRow {
    /// Hash of the request body.
    pub request_hash: String,
    /// HTTP status.
    pub status: i64,
    /// Response body.
    pub body: String,
}

// ---------------------------------------------------------------------------------------------
// Queries. Reads take the pool or a transaction; writes that must be atomic take a transaction.

macro_rules! one {
    ($ex:expr, $map:ident, $sql:expr $(, $arg:expr)*) => {{
        let row = sqlx::query($sql)$(.bind($arg))*.fetch_optional($ex).await?;
        row.as_ref().map($map).transpose()
    }};
}
macro_rules! all {
    ($ex:expr, $map:ident, $sql:expr $(, $arg:expr)*) => {{
        let rows = sqlx::query($sql)$(.bind($arg))*.fetch_all($ex).await?;
        rows.iter().map($map).collect::<Result<Vec<_>>>()
    }};
}
macro_rules! exec {
    ($ex:expr, $sql:expr $(, $arg:expr)*) => {{
        sqlx::query($sql)$(.bind($arg))*.execute($ex).await.map(|r| r.rows_affected())
    }};
}

impl Store {
    // --- tokens ---

    /// Inserts a token.
    pub async fn insert_token(&self, t: &TokenRow) -> Result<()> {
        exec!(
            &self.pool,
            "INSERT INTO api_tokens (hash, id, role, site_id, carrier_id, driver_id, unit_id,
             resident_id, door_id, label, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
            t.hash.clone(),
            t.id.clone(),
            t.role.clone(),
            t.site_id.clone(),
            t.carrier_id.clone(),
            t.driver_id.clone(),
            t.unit_id.clone(),
            t.resident_id.clone(),
            t.door_id.clone(),
            t.label.clone(),
            t.created_at
        )?;
        Ok(())
    }

    /// The live token with this hash.
    pub async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRow>> {
        one!(
            &self.pool,
            token,
            "SELECT * FROM api_tokens WHERE hash = $1 AND revoked_at IS NULL",
            hash.to_string()
        )
    }

    // --- idempotency ---

    /// A stored response for (token, key).
    pub async fn idempotent(&self, token_id: &str, key: &str) -> Result<Option<IdemRow>> {
        let row = sqlx::query(
            "SELECT request_hash, status, body FROM idempotency WHERE token_id = $1 AND idem_key = $2",
        )
        .bind(token_id.to_string())
        .bind(key.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(IdemRow {
                request_hash: s(&r, "request_hash")?,
                status: i(&r, "status")?,
                body: s(&r, "body")?,
            })
        })
        .transpose()
    }

    /// Stores a response for (token, key); a concurrent duplicate keeps the first.
    pub async fn save_idempotent(
        &self,
        token_id: &str,
        key: &str,
        row: &IdemRow,
        now: i64,
    ) -> Result<()> {
        exec!(
            &self.pool,
            "INSERT INTO idempotency (token_id, idem_key, request_hash, status, body, created_at)
             VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (token_id, idem_key) DO NOTHING",
            token_id.to_string(),
            key.to_string(),
            row.request_hash.clone(),
            row.status,
            row.body.clone(),
            now
        )?;
        Ok(())
    }

    /// Stores a response for (token, key) inside a transaction; false if the key is taken.
    pub async fn save_idempotent_tx(
        tx: &mut Tx,
        token_id: &str,
        key: &str,
        row: &IdemRow,
        now: i64,
    ) -> Result<bool> {
        let n = exec!(
            &mut **tx,
            "INSERT INTO idempotency (token_id, idem_key, request_hash, status, body, created_at)
             VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (token_id, idem_key) DO NOTHING",
            token_id.to_string(),
            key.to_string(),
            row.request_hash.clone(),
            row.status,
            row.body.clone(),
            now
        )?;
        Ok(n == 1)
    }

    // --- sites ---

    /// Inserts a site.
    pub async fn insert_site(&self, r: &SiteRow) -> Result<()> {
        exec!(
            &self.pool,
            "INSERT INTO sites (id, site_number, name, root_key, utc_offset_minutes, created_at)
             VALUES ($1,$2,$3,$4,$5,$6)",
            r.id.clone(),
            r.site_number,
            r.name.clone(),
            r.root_key.clone(),
            r.utc_offset_minutes,
            r.created_at
        )?;
        Ok(())
    }

    /// A site by id.
    pub async fn site(&self, id: &str) -> Result<Option<SiteRow>> {
        one!(&self.pool, site, "SELECT * FROM sites WHERE id = $1", id.to_string())
    }

    /// A page of sites, all or only `only`.
    pub async fn sites(&self, only: Option<&str>, page: &Page) -> Result<Vec<SiteRow>> {
        match only {
            Some(id) => all!(
                &self.pool,
                site,
                "SELECT * FROM sites WHERE id = $1 AND id > $2 ORDER BY id LIMIT $3",
                id.to_string(),
                page.after.clone(),
                page.limit
            ),
            None => all!(
                &self.pool,
                site,
                "SELECT * FROM sites WHERE id > $1 ORDER BY id LIMIT $2",
                page.after.clone(),
                page.limit
            ),
        }
    }

    // --- doors ---

    /// Inserts a door.
    pub async fn insert_door(&self, r: &DoorRow) -> Result<()> {
        exec!(
            &self.pool,
            "INSERT INTO doors (id, site_id, door_number, name, device_key, enrolment, created_at)
             VALUES ($1,$2,$3,$4,$5,$6,$7)",
            r.id.clone(),
            r.site_id.clone(),
            r.door_number,
            r.name.clone(),
            r.device_key.clone(),
            r.enrolment.clone(),
            r.created_at
        )?;
        Ok(())
    }

    /// A door by id.
    pub async fn door(&self, id: &str) -> Result<Option<DoorRow>> {
        one!(&self.pool, door, "SELECT * FROM doors WHERE id = $1", id.to_string())
    }

    /// A door by site and number.
    pub async fn door_by_number(&self, site_id: &str, number: i64) -> Result<Option<DoorRow>> {
        one!(
            &self.pool,
            door,
            "SELECT * FROM doors WHERE site_id = $1 AND door_number = $2",
            site_id.to_string(),
            number
        )
    }

    /// A page of a site's doors.
    pub async fn doors(&self, site_id: &str, page: &Page) -> Result<Vec<DoorRow>> {
        all!(
            &self.pool,
            door,
            "SELECT * FROM doors WHERE site_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            site_id.to_string(),
            page.after.clone(),
            page.limit
        )
    }

    // --- issuers ---

    /// Inserts an issuer key.
    pub async fn insert_issuer(&self, r: &IssuerRow) -> Result<()> {
        exec!(
            &self.pool,
            "INSERT INTO issuers (id, site_id, public_key, key_id, secret_seed, next_serial,
             created_at) VALUES ($1,$2,$3,$4,$5,$6,$7)",
            r.id.clone(),
            r.site_id.clone(),
            r.public_key.clone(),
            r.key_id.clone(),
            r.secret_seed.clone(),
            r.next_serial,
            r.created_at
        )?;
        Ok(())
    }

    /// An issuer by id.
    pub async fn issuer(&self, id: &str) -> Result<Option<IssuerRow>> {
        one!(&self.pool, issuer, "SELECT * FROM issuers WHERE id = $1", id.to_string())
    }

    /// A page of a site's issuers.
    pub async fn issuers(&self, site_id: &str, page: &Page) -> Result<Vec<IssuerRow>> {
        all!(
            &self.pool,
            issuer,
            "SELECT * FROM issuers WHERE site_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            site_id.to_string(),
            page.after.clone(),
            page.limit
        )
    }

    /// Stores a verified certificate.
    pub async fn set_certificate(
        &self,
        id: &str,
        cert: &str,
        epoch: i64,
        not_before: i64,
        not_after: i64,
    ) -> Result<()> {
        exec!(
            &self.pool,
            "UPDATE issuers SET certificate = $1, epoch = $2, not_before = $3, not_after = $4
             WHERE id = $5",
            cert.to_string(),
            epoch,
            not_before,
            not_after,
            id.to_string()
        )?;
        Ok(())
    }

    /// Takes `uses` serials from an issuer, atomically: the row lock (PostgreSQL) or the single
    /// writer (SQLite) orders concurrent issuers. Returns the first serial taken.
    pub async fn take_serials(tx: &mut Tx, issuer_id: &str, uses: i64) -> Result<i64> {
        let row = sqlx::query(
            "UPDATE issuers SET next_serial = next_serial + $1 WHERE id = $2 RETURNING next_serial",
        )
        .bind(uses)
        .bind(issuer_id.to_string())
        .fetch_one(&mut **tx)
        .await?;
        Ok(i(&row, "next_serial")? - uses)
    }

    // --- carriers, approvals, drivers ---

    /// Inserts a carrier.
    pub async fn insert_carrier(&self, r: &CarrierRow) -> Result<()> {
        exec!(
            &self.pool,
            "INSERT INTO carriers (id, name, created_at) VALUES ($1,$2,$3)",
            r.id.clone(),
            r.name.clone(),
            r.created_at
        )?;
        Ok(())
    }

    /// A carrier by id.
    pub async fn carrier(&self, id: &str) -> Result<Option<CarrierRow>> {
        one!(&self.pool, carrier, "SELECT * FROM carriers WHERE id = $1", id.to_string())
    }

    /// A page of carriers, all or only `only`.
    pub async fn carriers(&self, only: Option<&str>, page: &Page) -> Result<Vec<CarrierRow>> {
        all!(
            &self.pool,
            carrier,
            "SELECT * FROM carriers WHERE ($1 = '' OR id = $1) AND id > $2 ORDER BY id LIMIT $3",
            only.unwrap_or("").to_string(),
            page.after.clone(),
            page.limit
        )
    }

    /// Inserts an approval.
    pub async fn insert_approval(&self, r: &ApprovalRow) -> Result<()> {
        exec!(
            &self.pool,
            "INSERT INTO approvals (id, site_id, carrier_id, issuer_id, doors, max_uses,
             max_lifetime_minutes, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
            r.id.clone(),
            r.site_id.clone(),
            r.carrier_id.clone(),
            r.issuer_id.clone(),
            r.doors.clone(),
            r.max_uses,
            r.max_lifetime_minutes,
            r.created_at
        )?;
        Ok(())
    }

    /// The approval of a carrier at a site.
    pub async fn approval(&self, site_id: &str, carrier_id: &str) -> Result<Option<ApprovalRow>> {
        one!(
            &self.pool,
            approval,
            "SELECT * FROM approvals WHERE site_id = $1 AND carrier_id = $2",
            site_id.to_string(),
            carrier_id.to_string()
        )
    }

    /// A page of a site's approvals.
    pub async fn approvals(&self, site_id: &str, page: &Page) -> Result<Vec<ApprovalRow>> {
        all!(
            &self.pool,
            approval,
            "SELECT * FROM approvals WHERE site_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            site_id.to_string(),
            page.after.clone(),
            page.limit
        )
    }

    /// Withdraws an approval.
    pub async fn revoke_approval(&self, id: &str, now: i64) -> Result<u64> {
        exec!(
            &self.pool,
            "UPDATE approvals SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            now,
            id.to_string()
        )
    }

    /// Inserts a driver.
    pub async fn insert_driver(&self, r: &DriverRow) -> Result<()> {
        exec!(
            &self.pool,
            "INSERT INTO drivers (id, carrier_id, holder_key, label, created_at)
             VALUES ($1,$2,$3,$4,$5)",
            r.id.clone(),
            r.carrier_id.clone(),
            r.holder_key.clone(),
            r.label.clone(),
            r.created_at
        )?;
        Ok(())
    }

    /// A driver by id.
    pub async fn driver(&self, id: &str) -> Result<Option<DriverRow>> {
        one!(&self.pool, driver, "SELECT * FROM drivers WHERE id = $1", id.to_string())
    }

    /// A page of a carrier's drivers.
    pub async fn drivers(&self, carrier_id: &str, page: &Page) -> Result<Vec<DriverRow>> {
        all!(
            &self.pool,
            driver,
            "SELECT * FROM drivers WHERE carrier_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            carrier_id.to_string(),
            page.after.clone(),
            page.limit
        )
    }

    /// Retires a driver.
    pub async fn retire_driver(&self, id: &str, now: i64) -> Result<()> {
        exec!(
            &self.pool,
            "UPDATE drivers SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            now,
            id.to_string()
        )?;
        Ok(())
    }

    // --- units and residents ---

    /// Inserts a unit.
    pub async fn insert_unit(&self, r: &UnitRow) -> Result<()> {
        exec!(
            &self.pool,
            "INSERT INTO units (id, site_id, label, created_at) VALUES ($1,$2,$3,$4)",
            r.id.clone(),
            r.site_id.clone(),
            r.label.clone(),
            r.created_at
        )?;
        Ok(())
    }

    /// A unit by id.
    pub async fn unit(&self, id: &str) -> Result<Option<UnitRow>> {
        one!(&self.pool, unit, "SELECT * FROM units WHERE id = $1", id.to_string())
    }

    /// A unit by site and label.
    pub async fn unit_by_label(&self, site_id: &str, label: &str) -> Result<Option<UnitRow>> {
        one!(
            &self.pool,
            unit,
            "SELECT * FROM units WHERE site_id = $1 AND label = $2",
            site_id.to_string(),
            label.to_string()
        )
    }

    /// A page of a site's units.
    pub async fn units(&self, site_id: &str, page: &Page) -> Result<Vec<UnitRow>> {
        all!(
            &self.pool,
            unit,
            "SELECT * FROM units WHERE site_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            site_id.to_string(),
            page.after.clone(),
            page.limit
        )
    }

    /// Inserts a resident.
    pub async fn insert_resident(&self, r: &ResidentRow) -> Result<()> {
        exec!(
            &self.pool,
            "INSERT INTO residents (id, unit_id, display_name, opted_out, created_at)
             VALUES ($1,$2,$3,$4,$5)",
            r.id.clone(),
            r.unit_id.clone(),
            r.display_name.clone(),
            i64::from(r.opted_out),
            r.created_at
        )?;
        Ok(())
    }

    /// A resident by id.
    pub async fn resident(&self, id: &str) -> Result<Option<ResidentRow>> {
        one!(&self.pool, resident, "SELECT * FROM residents WHERE id = $1", id.to_string())
    }

    /// Every resident of a unit.
    pub async fn residents(&self, unit_id: &str) -> Result<Vec<ResidentRow>> {
        all!(
            &self.pool,
            resident,
            "SELECT * FROM residents WHERE unit_id = $1 ORDER BY id",
            unit_id.to_string()
        )
    }

    /// Sets a resident's opt-out.
    pub async fn set_opt_out(&self, id: &str, opted_out: bool) -> Result<()> {
        exec!(
            &self.pool,
            "UPDATE residents SET opted_out = $1 WHERE id = $2",
            i64::from(opted_out),
            id.to_string()
        )?;
        Ok(())
    }

    // --- deliveries ---

    /// Inserts a delivery (in the transaction that also queues its notifications).
    pub async fn insert_delivery(tx: &mut Tx, r: &DeliveryRow) -> Result<()> {
        exec!(
            &mut **tx,
            "INSERT INTO deliveries (id, site_id, carrier_id, unit_id, tracking_salt, package,
             window_start, window_end, status, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
            r.id.clone(),
            r.site_id.clone(),
            r.carrier_id.clone(),
            r.unit_id.clone(),
            r.tracking_salt.clone(),
            r.package.clone(),
            r.window_start,
            r.window_end,
            r.status.clone(),
            r.created_at
        )?;
        Ok(())
    }

    /// A delivery by id.
    pub async fn delivery(&self, id: &str) -> Result<Option<DeliveryRow>> {
        one!(&self.pool, delivery, "SELECT * FROM deliveries WHERE id = $1", id.to_string())
    }

    /// A page of deliveries of a carrier (`by_carrier`) or to a unit.
    pub async fn deliveries(
        &self,
        carrier_id: Option<&str>,
        unit_id: Option<&str>,
        page: &Page,
    ) -> Result<Vec<DeliveryRow>> {
        all!(
            &self.pool,
            delivery,
            "SELECT * FROM deliveries WHERE ($1 = '' OR carrier_id = $1) AND ($2 = '' OR unit_id = $2)
             AND id > $3 ORDER BY id LIMIT $4",
            carrier_id.unwrap_or("").to_string(),
            unit_id.unwrap_or("").to_string(),
            page.after.clone(),
            page.limit
        )
    }

    /// Sets a delivery's status.
    pub async fn set_delivery_status(&self, id: &str, status: &str) -> Result<()> {
        exec!(
            &self.pool,
            "UPDATE deliveries SET status = $1 WHERE id = $2",
            status.to_string(),
            id.to_string()
        )?;
        Ok(())
    }

    // --- grants ---

    /// Inserts a grant.
    pub async fn insert_grant(tx: &mut Tx, r: &GrantRow) -> Result<()> {
        exec!(
            &mut **tx,
            "INSERT INTO grants (id, site_id, delivery_id, driver_id, carrier_id, issuer_id,
             issuer_key_id, serial, uses, doors, not_before, not_after, grant_bytes, issued_at)
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)",
            r.id.clone(),
            r.site_id.clone(),
            r.delivery_id.clone(),
            r.driver_id.clone(),
            r.carrier_id.clone(),
            r.issuer_id.clone(),
            r.issuer_key_id.clone(),
            r.serial,
            r.uses,
            r.doors.clone(),
            r.not_before,
            r.not_after,
            r.grant_bytes.clone(),
            r.issued_at
        )?;
        Ok(())
    }

    /// A grant by id.
    pub async fn grant(&self, id: &str) -> Result<Option<GrantRow>> {
        one!(&self.pool, grant, "SELECT * FROM grants WHERE id = $1", id.to_string())
    }

    /// The grant an admission names: its issuer key id and first serial at the site.
    pub async fn grant_by_serial(
        &self,
        site_id: &str,
        issuer_key_id: &str,
        serial: i64,
    ) -> Result<Option<GrantRow>> {
        one!(
            &self.pool,
            grant,
            "SELECT * FROM grants WHERE site_id = $1 AND issuer_key_id = $2 AND serial = $3",
            site_id.to_string(),
            issuer_key_id.to_string(),
            serial
        )
    }

    /// A page of a site's grants.
    pub async fn grants_of_site(&self, site_id: &str, page: &Page) -> Result<Vec<GrantRow>> {
        all!(
            &self.pool,
            grant,
            "SELECT * FROM grants WHERE site_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            site_id.to_string(),
            page.after.clone(),
            page.limit
        )
    }

    /// A page of grants of a delivery.
    pub async fn grants_of_delivery(&self, delivery_id: &str) -> Result<Vec<GrantRow>> {
        all!(
            &self.pool,
            grant,
            "SELECT * FROM grants WHERE delivery_id = $1 ORDER BY id",
            delivery_id.to_string()
        )
    }

    /// Every grant serial range of an issuer (for tests and audits).
    pub async fn all_grants(&self) -> Result<Vec<GrantRow>> {
        all!(&self.pool, grant, "SELECT * FROM grants ORDER BY id")
    }

    // --- revocations ---

    /// Records a revocation and marks the revoked object.
    pub async fn insert_revocation(&self, r: &RevocationRow) -> Result<()> {
        let mut tx = self.begin().await?;
        exec!(
            &mut *tx,
            "INSERT INTO revocations (id, site_id, kind, target_id, subject, until, epoch, created_at)
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
            r.id.clone(),
            r.site_id.clone(),
            r.kind.clone(),
            r.target_id.clone(),
            r.subject.clone(),
            r.until,
            r.epoch,
            r.created_at
        )?;
        // Issuers and grants belong to one site: mark them. A driver serves many sites, so a
        // site's revocation of a driver lives in this table only (see `is_revoked`).
        let table = match r.kind.as_str() {
            "issuer" => Some("issuers"),
            "grant" => Some("grants"),
            _ => None,
        };
        if let Some(table) = table {
            exec!(
                &mut *tx,
                &format!("UPDATE {table} SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"),
                r.created_at,
                r.target_id.clone()
            )?;
        }
        tx.commit().await
    }

    /// Whether `kind`/`target_id` is revoked at a site.
    pub async fn is_revoked(&self, site_id: &str, kind: &str, target_id: &str) -> Result<bool> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM revocations WHERE site_id = $1 AND kind = $2 AND target_id = $3",
        )
        .bind(site_id.to_string())
        .bind(kind.to_string())
        .bind(target_id.to_string())
        .fetch_one(&self.pool)
        .await?;
        Ok(i(&row, "n")? > 0)
    }

    /// Every revocation of a site.
    pub async fn revocations(&self, site_id: &str) -> Result<Vec<RevocationRow>> {
        all!(
            &self.pool,
            revocation,
            "SELECT * FROM revocations WHERE site_id = $1 ORDER BY id",
            site_id.to_string()
        )
    }

    // --- door states ---

    /// Inserts a door state; fails on a duplicate sequence.
    pub async fn insert_door_state(&self, r: &DoorStateRow, now: i64) -> Result<()> {
        exec!(
            &self.pool,
            "INSERT INTO door_states (site_id, sequence, state, issued_at, grant_fence,
             cert_epoch_fence, uploaded_at) VALUES ($1,$2,$3,$4,$5,$6,$7)",
            r.site_id.clone(),
            r.sequence,
            r.state.clone(),
            r.issued_at,
            r.grant_fence,
            r.cert_epoch_fence,
            now
        )?;
        Ok(())
    }

    /// The newest door state of a site.
    pub async fn latest_door_state(&self, site_id: &str) -> Result<Option<DoorStateRow>> {
        one!(
            &self.pool,
            door_state,
            "SELECT * FROM door_states WHERE site_id = $1 ORDER BY sequence DESC LIMIT 1",
            site_id.to_string()
        )
    }

    // --- audit ---

    /// Where the server stands in a door's log.
    pub async fn chain(&self, door_id: &str) -> Result<Option<ChainRow>> {
        let row =
            sqlx::query("SELECT next_sequence, previous FROM audit_chains WHERE door_id = $1")
                .bind(door_id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            Ok(ChainRow { next_sequence: i(&r, "next_sequence")?, previous: s(&r, "previous")? })
        })
        .transpose()
    }

    /// A stored record's bytes and chain hash.
    pub async fn audit_record(&self, door_id: &str, seq: i64) -> Result<Option<(String, String)>> {
        let row = sqlx::query(
            "SELECT record, chain_hash FROM audit_records WHERE door_id = $1 AND sequence = $2",
        )
        .bind(door_id.to_string())
        .bind(seq)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((s(&r, "record")?, s(&r, "chain_hash")?))).transpose()
    }

    /// Moves a door's chain from `old` (None: no chain yet) to `new`; false if another batch
    /// moved it first.
    pub async fn advance_chain(
        tx: &mut Tx,
        door_id: &str,
        old: Option<&ChainRow>,
        new: &ChainRow,
        now: i64,
    ) -> Result<bool> {
        let n = match old {
            None => exec!(
                &mut **tx,
                "INSERT INTO audit_chains (door_id, next_sequence, previous, updated_at)
                 VALUES ($1,$2,$3,$4) ON CONFLICT (door_id) DO NOTHING",
                door_id.to_string(),
                new.next_sequence,
                new.previous.clone(),
                now
            )?,
            Some(old) => exec!(
                &mut **tx,
                "UPDATE audit_chains SET next_sequence = $1, previous = $2, updated_at = $3
                 WHERE door_id = $4 AND next_sequence = $5",
                new.next_sequence,
                new.previous.clone(),
                now,
                door_id.to_string(),
                old.next_sequence
            )?,
        };
        Ok(n == 1)
    }

    /// Inserts a verified audit record.
    pub async fn insert_audit_record(
        tx: &mut Tx,
        door_id: &str,
        seq: i64,
        record: &str,
        chain_hash: &str,
        at: i64,
        now: i64,
    ) -> Result<()> {
        exec!(
            &mut **tx,
            "INSERT INTO audit_records (door_id, sequence, record, chain_hash, at, received_at)
             VALUES ($1,$2,$3,$4,$5,$6)",
            door_id.to_string(),
            seq,
            record.to_string(),
            chain_hash.to_string(),
            at,
            now
        )?;
        Ok(())
    }

    /// Records an admission; false if it was already known (by receipt or earlier batch).
    #[allow(clippy::too_many_arguments)] // one column each; a struct would only rename them
    pub async fn insert_admission(
        tx: &mut Tx,
        door_id: &str,
        seq: i64,
        site_id: &str,
        record: &str,
        grant_id: Option<&str>,
        carrier_id: Option<&str>,
        at: i64,
        now: i64,
    ) -> Result<bool> {
        let n = exec!(
            &mut **tx,
            "INSERT INTO admissions (door_id, sequence, site_id, record, grant_id, carrier_id, at,
             received_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (door_id, sequence) DO NOTHING",
            door_id.to_string(),
            seq,
            site_id.to_string(),
            record.to_string(),
            grant_id.map(str::to_string),
            carrier_id.map(str::to_string),
            at,
            now
        )?;
        Ok(n == 1)
    }

    /// The record bytes of a known admission.
    pub async fn admission_record(&self, door_id: &str, seq: i64) -> Result<Option<String>> {
        let row = sqlx::query("SELECT record FROM admissions WHERE door_id = $1 AND sequence = $2")
            .bind(door_id.to_string())
            .bind(seq)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| s(&r, "record")).transpose()
    }

    /// A page of a site's admissions, newest last.
    /// The cursor is `door_id:sequence` of the last row seen.
    pub async fn admissions(&self, site_id: &str, page: &Page) -> Result<Vec<AdmissionRow>> {
        let (after_door, after_seq) = match page.after.rsplit_once(':') {
            Some((door, seq)) => (door, seq.parse::<i64>().unwrap_or(i64::MAX)),
            None => (page.after.as_str(), -1),
        };
        let rows = sqlx::query(
            "SELECT door_id, sequence, grant_id, carrier_id, at FROM admissions
             WHERE site_id = $1 AND (door_id > $2 OR (door_id = $2 AND sequence > $3))
             ORDER BY door_id, sequence LIMIT $4",
        )
        .bind(site_id.to_string())
        .bind(after_door.to_string())
        .bind(after_seq)
        .bind(page.limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AdmissionRow {
                    door_id: s(r, "door_id")?,
                    sequence: i(r, "sequence")?,
                    grant_id: os(r, "grant_id")?,
                    carrier_id: os(r, "carrier_id")?,
                    at: i(r, "at")?,
                })
            })
            .collect()
    }

    /// Marks a delivery entered (first time only).
    pub async fn mark_entered(tx: &mut Tx, delivery_id: &str, at: i64) -> Result<()> {
        exec!(
            &mut **tx,
            "UPDATE deliveries SET entered_at = $1 WHERE id = $2 AND entered_at IS NULL",
            at,
            delivery_id.to_string()
        )?;
        Ok(())
    }

    /// Raises an alarm inside a transaction.
    pub async fn insert_alarm_tx(tx: &mut Tx, r: &AlarmRow) -> Result<()> {
        exec!(
            &mut **tx,
            "INSERT INTO alarms (id, site_id, door_id, kind, detail, created_at)
             VALUES ($1,$2,$3,$4,$5,$6)",
            r.id.clone(),
            r.site_id.clone(),
            r.door_id.clone(),
            r.kind.clone(),
            r.detail.clone(),
            r.created_at
        )?;
        Ok(())
    }

    /// A page of a site's alarms.
    pub async fn alarms(&self, site_id: &str, page: &Page) -> Result<Vec<AlarmRow>> {
        let rows =
            sqlx::query("SELECT * FROM alarms WHERE site_id = $1 AND id > $2 ORDER BY id LIMIT $3")
                .bind(site_id.to_string())
                .bind(page.after.clone())
                .bind(page.limit)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(AlarmRow {
                    id: s(r, "id")?,
                    site_id: s(r, "site_id")?,
                    door_id: os(r, "door_id")?,
                    kind: s(r, "kind")?,
                    detail: s(r, "detail")?,
                    created_at: i(r, "created_at")?,
                })
            })
            .collect()
    }

    // --- notifications and webhooks ---

    /// Inserts a webhook endpoint.
    pub async fn insert_webhook(&self, r: &WebhookRow, now: i64) -> Result<()> {
        exec!(
            &self.pool,
            "INSERT INTO webhooks (id, site_id, url, secret, created_at) VALUES ($1,$2,$3,$4,$5)",
            r.id.clone(),
            r.site_id.clone(),
            r.url.clone(),
            r.secret.clone(),
            now
        )?;
        Ok(())
    }

    /// Every webhook of a site.
    pub async fn webhooks(tx: &mut Tx, site_id: &str) -> Result<Vec<WebhookRow>> {
        let rows = sqlx::query("SELECT * FROM webhooks WHERE site_id = $1 ORDER BY id")
            .bind(site_id.to_string())
            .fetch_all(&mut **tx)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(WebhookRow {
                    id: s(r, "id")?,
                    site_id: s(r, "site_id")?,
                    url: s(r, "url")?,
                    secret: s(r, "secret")?,
                })
            })
            .collect()
    }

    /// Residents of a unit, inside a transaction.
    pub async fn residents_tx(tx: &mut Tx, unit_id: &str) -> Result<Vec<ResidentRow>> {
        all!(
            &mut **tx,
            resident,
            "SELECT * FROM residents WHERE unit_id = $1 ORDER BY id",
            unit_id.to_string()
        )
    }

    /// Queues a notification for a resident.
    pub async fn insert_notification(
        tx: &mut Tx,
        id: &str,
        resident_id: &str,
        kind: &str,
        body: &str,
        now: i64,
    ) -> Result<()> {
        exec!(
            &mut **tx,
            "INSERT INTO notifications (id, resident_id, kind, body, created_at)
             VALUES ($1,$2,$3,$4,$5)",
            id.to_string(),
            resident_id.to_string(),
            kind.to_string(),
            body.to_string(),
            now
        )?;
        Ok(())
    }

    /// Queues a webhook message.
    pub async fn insert_outbox(
        tx: &mut Tx,
        id: &str,
        webhook_id: &str,
        event: &str,
        body: &str,
        now: i64,
    ) -> Result<()> {
        exec!(
            &mut **tx,
            "INSERT INTO outbox (id, webhook_id, event, body, attempts, next_attempt_at, created_at)
             VALUES ($1,$2,$3,$4,0,$5,$5)",
            id.to_string(),
            webhook_id.to_string(),
            event.to_string(),
            body.to_string(),
            now
        )?;
        Ok(())
    }

    /// A page of a resident's notifications.
    pub async fn notifications(
        &self,
        resident_id: &str,
        page: &Page,
    ) -> Result<Vec<NotificationRow>> {
        let rows = sqlx::query(
            "SELECT * FROM notifications WHERE resident_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(resident_id.to_string())
        .bind(page.after.clone())
        .bind(page.limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(NotificationRow {
                    id: s(r, "id")?,
                    kind: s(r, "kind")?,
                    body: s(r, "body")?,
                    created_at: i(r, "created_at")?,
                })
            })
            .collect()
    }

    /// Outbox messages due at `now`, oldest first.
    pub async fn due_outbox(&self, now: i64, limit: i64) -> Result<Vec<OutboxRow>> {
        let rows = sqlx::query(
            "SELECT o.id, o.webhook_id, o.event, o.body, o.attempts, o.next_attempt_at, w.url,
                    w.secret
             FROM outbox o JOIN webhooks w ON w.id = o.webhook_id
             WHERE o.delivered_at IS NULL AND o.next_attempt_at <= $1 ORDER BY o.id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OutboxRow {
                    id: s(r, "id")?,
                    webhook_id: s(r, "webhook_id")?,
                    event: s(r, "event")?,
                    body: s(r, "body")?,
                    attempts: i(r, "attempts")?,
                    next_attempt_at: i(r, "next_attempt_at")?,
                    url: s(r, "url")?,
                    secret: s(r, "secret")?,
                })
            })
            .collect()
    }

    /// Leases a due message until `lease_until`, so that one process sends it at a time;
    /// false if another process leased it first.
    pub async fn lease_outbox(&self, id: &str, seen_next: i64, lease_until: i64) -> Result<bool> {
        let n = exec!(
            &self.pool,
            "UPDATE outbox SET next_attempt_at = $1
             WHERE id = $2 AND next_attempt_at = $3 AND delivered_at IS NULL",
            lease_until,
            id.to_string(),
            seen_next
        )?;
        Ok(n == 1)
    }

    /// Marks a message delivered.
    pub async fn outbox_delivered(&self, id: &str, now: i64) -> Result<()> {
        exec!(
            &self.pool,
            "UPDATE outbox SET delivered_at = $1, attempts = attempts + 1 WHERE id = $2",
            now,
            id.to_string()
        )?;
        Ok(())
    }

    /// Records a failed attempt and when to try again.
    pub async fn outbox_failed(&self, id: &str, next: i64, error: &str) -> Result<()> {
        exec!(
            &self.pool,
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2
             WHERE id = $3",
            next,
            error.to_string(),
            id.to_string()
        )?;
        Ok(())
    }

    /// Messages not yet delivered.
    pub async fn outbox_pending(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM outbox WHERE delivered_at IS NULL")
            .fetch_one(&self.pool)
            .await?;
        i(&row, "n")
    }
}
