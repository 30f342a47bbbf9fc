//! The service layer: who may do what, and the rules of the domain. No SQL, no HTTP types.
//!
//! Every method takes the caller's [`Principal`] and checks it first. An object outside the
//! caller's scope (another site, carrier or unit) is reported as not found, never as forbidden,
//! so that its existence does not leak.

mod alarms;
mod audit;
mod carriers;
mod code;
mod decoded;
mod deliveries;
mod doors;
mod drivers;
mod grant_writer;
mod grants;
mod issuance;
mod issuance_cache;
mod issuance_rows;
mod issuers;
mod keywrap;
mod notify;
mod principal;
mod revocations;
mod sites;
mod tokens;
mod units;
mod webhooks;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use porter_protocol::PublicKey;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::client::{Targets, TrustedRoots};
use crate::ids::TokenId;
use crate::metrics::Metrics;
use crate::store::{self, Page, Store, StoreError};

pub use alarms::*;
pub use audit::{
    AuditBatch, BatchOutcome, ReceiptOutcome, ReceiptUpload, BATCH_MAX_BODY_BYTES,
    BATCH_MAX_RECORDS,
};
pub use carriers::*;
pub use code::Code;
pub use deliveries::*;
pub use doors::*;
pub use drivers::*;
pub use grants::{
    GrantRequest, GrantView, Idempotency, IssuedGrant, IDEMPOTENCY_IN_FLIGHT_TIMEOUT,
    IDEMPOTENCY_TTL, MAX_GRANTS_PER_DELIVERY,
};
pub use issuers::*;
pub use keywrap::KeyWrap;
pub use principal::{Principal, Role};
pub use revocations::*;
pub use sites::*;
pub use tokens::*;
pub use units::*;
pub use webhooks::*;

/// What kind of failure an [`Error`] is; the HTTP layer maps it to a status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The request is malformed or a field is out of range (the client's fault).
    Invalid,
    /// No valid API token.
    Unauthenticated,
    /// The token's role may not do this.
    Forbidden,
    /// No such object in the caller's scope.
    NotFound,
    /// The request conflicts with the current state (a duplicate, a stale version).
    Conflict,
    /// A domain rule refuses the request (a grant refusal, say).
    Refused,
    /// Too many requests for this token.
    RateLimited,
    /// The server or its database failed; retry later. Details are logged, never returned.
    Internal,
}

/// A failure with a stable machine code and a message for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// The kind (maps to the HTTP status).
    pub kind: Kind,
    /// A stable machine code.
    pub code: Code,
    /// What went wrong and what to do.
    pub message: String,
}

impl Error {
    /// A new error.
    pub fn new(kind: Kind, code: Code, message: impl Into<String>) -> Error {
        Error { kind, code, message: message.into() }
    }
    /// A malformed request.
    pub fn invalid(code: Code, message: impl Into<String>) -> Error {
        Error::new(Kind::Invalid, code, message)
    }
    /// A rule refusal.
    pub fn refused(code: Code, message: impl Into<String>) -> Error {
        Error::new(Kind::Refused, code, message)
    }
    /// An object that does not exist for this caller.
    pub fn not_found(what: &str) -> Error {
        Error::new(Kind::NotFound, Code::NotFound, format!("no such {what} in your scope"))
    }
    /// A role that may not call this.
    pub fn forbidden(what: &str) -> Error {
        Error::new(Kind::Forbidden, Code::Forbidden, format!("your token's role may not {what}"))
    }
    /// A conflict with the current state.
    pub fn conflict(code: Code, message: impl Into<String>) -> Error {
        Error::new(Kind::Conflict, code, message)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        if store::is_unique_violation(&e) {
            return Error::conflict(
                Code::AlreadyExists,
                "an object with the same unique value already exists; use the existing one",
            );
        }
        if store::is_transient(&e) {
            // A failover or an outage, not a bug: the client's retry (with its
            // Idempotency-Key) completes the request once the primary is back.
            tracing::warn!(error = %e, "database unavailable");
            // Connections used before now may have died with it: check them before reuse.
            store::failover::saw_transient_error();
            return Error::new(
                Kind::Internal,
                Code::DatabaseUnavailable,
                "the database is unavailable (a failover may be under way): retry in a moment \
                 with the same Idempotency-Key",
            );
        }
        if matches!(e, sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_)) {
            // A stored value outside its type (an unknown role or event kind): retrying reads
            // the same row, so the answer says who can fix it.
            tracing::error!(error = %e, "stored value the server cannot read");
            return Error::new(
                Kind::Internal,
                Code::Internal,
                "the server holds a record it cannot read: ask the operator (the server log \
                 names the value)",
            );
        }
        tracing::error!(error = %e, "store failure");
        Error::new(
            Kind::Internal,
            Code::Internal,
            "the server could not complete the request; retry",
        )
    }
}

/// A result of a service call.
pub type Result<T> = std::result::Result<T, Error>;

/// The server's rules over a store.
#[derive(Clone, Debug)]
pub struct Service {
    store: Store,
    metrics: Arc<Metrics>,
    wrap: Option<Arc<KeyWrap>>,
    webhook_targets: Arc<Targets>,
    webhook_roots: Arc<TrustedRoots>,
    /// The grant writer, serial leases and decode caches of this process.
    issuing: Arc<grant_writer::Issuing>,
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// A new time-ordered id: `prefix_` + 12 hex digits of milliseconds + 8 random hex digits.
pub fn new_id<Id: From<String>>(prefix: &str) -> Id {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    Id::from(format!("{prefix}_{:012x}{:08x}", ms & 0xffff_ffff_ffff, rand::random::<u32>()))
}

/// SHA-256, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Parses a hex field of exactly `N` bytes.
fn hex_array<const N: usize>(field: &str, s: &str) -> Result<[u8; N]> {
    let bytes = hex::decode(s).map_err(|_| {
        Error::invalid(Code::InvalidHex, format!("{field} must be lowercase hex ({N} bytes)"))
    })?;
    bytes.try_into().map_err(|_| {
        Error::invalid(
            Code::InvalidLength,
            format!("{field} must be exactly {N} bytes ({} hex digits)", N * 2),
        )
    })
}

/// Parses a hex field of at most `max` bytes.
fn hex_bytes(field: &str, s: &str, max: usize) -> Result<Vec<u8>> {
    if s.len() > max * 2 {
        return Err(Error::invalid(Code::TooLarge, format!("{field} is longer than {max} bytes")));
    }
    hex::decode(s).map_err(|_| Error::invalid(Code::InvalidHex, format!("{field} must be hex")))
}

/// A public key from stored hex (the store only holds validated keys).
fn stored_key(s: &str) -> Result<PublicKey> {
    hex_array::<32>("stored key", s).map(PublicKey)
}

// Helpers.

/// Parses a stored door list: empty string = every door.
fn text(field: &str, s: &str, max: usize) -> Result<()> {
    // Characters, not bytes: the OpenAPI document's `maxLength` counts them.
    if s.trim().is_empty() || s.chars().count() > max || s.chars().any(char::is_control) {
        return Err(Error::invalid(
            Code::InvalidText,
            format!("{field} must be 1..={max} characters of printable text"),
        ));
    }
    Ok(())
}

/// Validates a public key given by a client: 32 bytes, canonical, not of small order.
pub(crate) fn client_key(field: &str, s: &str) -> Result<PublicKey> {
    let key = PublicKey(hex_array::<32>(field, s)?);
    key.validate().map_err(|e| {
        Error::invalid(
            Code::WeakKey,
            format!("{field} is not a usable Ed25519 public key ({e:?}): generate a fresh key"),
        )
    })?;
    Ok(key)
}

fn protocol(code: Code, what: &str, e: porter_protocol::Error) -> Error {
    Error::invalid(code, format!("{what} refused: {} ({})", e.message(), e.name()))
}

/// A page request from a cursor and limit given by a client.
pub fn page(after: Option<String>, limit: Option<i64>) -> Result<Page> {
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::invalid(Code::InvalidLimit, "limit must be between 1 and 200"));
    }
    Ok(Page { after: after.unwrap_or_default(), limit })
}

/// One page of results and the cursor for the next (None at the end).
#[derive(Clone, Debug, Serialize)]
pub struct Paged<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

impl<T> Paged<T> {
    fn of<C: Into<String>>(items: Vec<T>, page: &Page, cursor: impl Fn(&T) -> C) -> Paged<T> {
        let last = items.last().filter(|_| items.len() as i64 == page.limit);
        let next = last.map(|item| cursor(item).into());
        Paged { items, next }
    }
}

impl Service {
    /// A service over `store`, counting into `metrics`.
    pub fn new(store: Store, metrics: Arc<Metrics>) -> Service {
        Service {
            store,
            metrics,
            wrap: None,
            webhook_targets: Arc::new(Targets::public_only()),
            webhook_roots: Arc::default(),
            issuing: Arc::default(),
        }
    }

    /// Lets webhooks reach `targets` (by default public addresses only).
    pub fn with_webhook_targets(mut self, targets: Targets) -> Service {
        self.webhook_targets = Arc::new(targets);
        self
    }

    /// The addresses webhooks may reach.
    pub fn webhook_targets(&self) -> &Targets {
        &self.webhook_targets
    }

    /// Trusts `roots` for `https://` webhook receivers besides the built-in web PKI roots.
    pub fn with_webhook_roots(mut self, roots: TrustedRoots) -> Service {
        self.webhook_roots = Arc::new(roots);
        self
    }

    /// The extra certificate authorities `https://` webhook receivers may be certified by.
    pub fn webhook_roots(&self) -> &TrustedRoots {
        &self.webhook_roots
    }

    /// Seals new issuer keys under `secret` and opens sealed ones with it.
    pub fn with_issuer_key_secret(mut self, secret: [u8; 32]) -> Service {
        self.wrap = Some(Arc::new(KeyWrap::new(secret)));
        self
    }

    /// The stored form of a new issuer seed: sealed when a secret is configured.
    fn store_seed(&self, public_hex: &str, seed: &[u8; 32]) -> Result<String> {
        match &self.wrap {
            None => Ok(hex::encode(seed)),
            Some(wrap) => wrap.seal(public_hex, seed).ok_or_else(|| {
                Error::new(Kind::Internal, Code::Internal, "the issuer key could not be sealed")
            }),
        }
    }

    /// The seed of a stored issuer key.
    fn open_seed(&self, public_hex: &str, stored: &str) -> Result<[u8; 32]> {
        if !KeyWrap::is_sealed(stored) {
            return hex_array::<32>("issuer seed", stored);
        }
        let locked = || {
            tracing::error!(issuer = public_hex, "a sealed issuer key cannot be opened");
            Error::new(
                Kind::Internal,
                Code::IssuerKeyLocked,
                "the server cannot open this site's issuer key: check issuer_key_secret_file",
            )
        };
        let wrap = self.wrap.as_ref().ok_or_else(locked)?;
        wrap.open(public_hex, stored).ok_or_else(locked)
    }

    /// The store (for health checks and the outbox worker).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Resolves a bearer token to its principal.
    pub async fn authenticate(&self, token: &str) -> Result<Principal> {
        let unauthenticated = || {
            Error::new(
                Kind::Unauthenticated,
                Code::Unauthenticated,
                "missing, unknown or revoked API token: send `Authorization: Bearer <token>`",
            )
        };
        if token.len() > 200 {
            return Err(unauthenticated());
        }
        let row = self.store.token_by_hash(&sha256_hex(token.as_bytes()), now()).await?;
        let row = row.ok_or_else(unauthenticated)?;
        Principal::from_token(row)
    }

    /// The principal of a live (unrevoked, unexpired) token by its id: what a portal
    /// session acts as, so that the portal's roles and scopes are the API's.
    pub async fn principal_of_token(&self, token_id: &TokenId) -> Result<Principal> {
        let gone = || {
            Error::new(
                Kind::Unauthenticated,
                Code::Unauthenticated,
                "this account's access was revoked or has expired: ask your manager",
            )
        };
        let row = self.store.token(token_id).await?.ok_or_else(gone)?;
        let live = row.revoked_at.is_none() && row.expires_at.is_none_or(|at| at > now());
        if !live {
            return Err(gone());
        }
        Principal::from_token(row)
    }
}
