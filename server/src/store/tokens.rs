//! API tokens (stored as hashes) and idempotency records.

use super::{Page, Result, Store, Tx};
use crate::ids::{CarrierId, DoorId, DriverId, ResidentId, SiteId, TokenId, UnitId};

/// The roles an API token can have.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the server: creates sites, carriers, manager and carrier tokens.
    Operator,
    /// Manages one site.
    Manager,
    /// A carrier organisation.
    Carrier,
    /// One driver of a carrier.
    Driver,
    /// One resident of a unit.
    Resident,
    /// A door controller's uplink.
    Device,
}

impl Role {
    /// The role's name (as stored and on the wire).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Manager => "manager",
            Role::Carrier => "carrier",
            Role::Driver => "driver",
            Role::Resident => "resident",
            Role::Device => "device",
        }
    }
    /// The role named `s`.
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "operator" => Role::Operator,
            "manager" => Role::Manager,
            "carrier" => Role::Carrier,
            "driver" => Role::Driver,
            "resident" => Role::Resident,
            "device" => Role::Device,
            _ => return None,
        })
    }
}

impl TryFrom<String> for Role {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        Role::parse(&s).ok_or_else(|| format!("unknown token role {s:?} in the database"))
    }
}

super::stored_as_text!(Role);

/// An API token (the secret itself is never stored, only its hash).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TokenRow {
    /// SHA-256 of the token, hex.
    pub hash: String,
    /// Public id.
    pub id: TokenId,
    /// Role.
    pub role: Role,
    /// Scope: site.
    pub site_id: Option<SiteId>,
    /// Scope: carrier.
    pub carrier_id: Option<CarrierId>,
    /// Scope: driver.
    pub driver_id: Option<DriverId>,
    /// Scope: unit.
    pub unit_id: Option<UnitId>,
    /// Scope: resident.
    pub resident_id: Option<ResidentId>,
    /// Scope: door.
    pub door_id: Option<DoorId>,
    /// Label.
    pub label: String,
    /// Creation time.
    pub created_at: i64,
    /// When it stops working (None: never; only operator tokens made by the CLI).
    pub expires_at: Option<i64>,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
    /// The token that made it (None for the CLI's operator tokens).
    pub created_by: Option<TokenId>,
}

impl TokenRow {
    /// A token of `role` with every other field empty, to be filled in by its maker.
    pub fn of_role(role: Role) -> TokenRow {
        TokenRow {
            hash: String::new(),
            id: TokenId::default(),
            role,
            site_id: None,
            carrier_id: None,
            driver_id: None,
            unit_id: None,
            resident_id: None,
            door_id: None,
            label: String::new(),
            created_at: 0,
            expires_at: None,
            revoked_at: None,
            created_by: None,
        }
    }
}

/// What holds an idempotency key.
#[derive(Clone, Debug)]
pub enum Reservation {
    /// The key was free and is now reserved for this request.
    Reserved,
    /// Another request holds it: its answer (status >= 1) or its reservation (status 0).
    Taken(IdemRow),
}

/// A stored idempotent response.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct IdemRow {
    /// SHA-256 of the request's method, path and body: what the key is bound to.
    pub request_hash: String,
    /// 0: a request holding the key is in flight; 1: the answer held a secret and was not
    /// kept (`body` is `withheld:<id>`); otherwise the HTTP status of the stored answer.
    pub status: i64,
    /// Response body.
    pub body: String,
}

impl Store {
    /// Inserts a token.
    pub async fn insert_token(&self, t: &TokenRow) -> Result<()> {
        exec!(
            &self.pool,
            "INSERT INTO api_tokens (hash, id, role, site_id, carrier_id, driver_id, unit_id,
             resident_id, door_id, label, created_at, expires_at, created_by)
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
            t.hash.clone(),
            t.id.clone(),
            t.role.as_str(),
            t.site_id.clone(),
            t.carrier_id.clone(),
            t.driver_id.clone(),
            t.unit_id.clone(),
            t.resident_id.clone(),
            t.door_id.clone(),
            t.label.clone(),
            t.created_at,
            t.expires_at,
            t.created_by.clone()
        )?;
        Ok(())
    }

    /// The live token with this hash: not revoked, not expired at `now`.
    pub async fn token_by_hash(&self, hash: &str, now: i64) -> Result<Option<TokenRow>> {
        one!(
            self.read(),
            TokenRow,
            "SELECT * FROM api_tokens WHERE hash = $1 AND revoked_at IS NULL
             AND (expires_at IS NULL OR expires_at > $2)",
            hash.to_string(),
            now
        )
    }

    /// A stored response for (token, key), or a reservation in flight (status 0).
    pub async fn idempotent(&self, token_id: &TokenId, key: &str) -> Result<Option<IdemRow>> {
        one!(
            self.read(),
            IdemRow,
            "SELECT request_hash, status, body FROM idempotency WHERE token_id = $1 AND idem_key = $2",
            token_id.clone(),
            key.to_string()
        )
    }

    /// Forgets (token, key) if its answer is older than `ttl` seconds, or if it is a
    /// reservation older than `in_flight` seconds (its request died).
    pub async fn expire_idempotent(
        &self,
        token_id: &TokenId,
        key: &str,
        now: i64,
        ttl: i64,
        in_flight: i64,
    ) -> Result<()> {
        exec!(
            &self.pool,
            "DELETE FROM idempotency WHERE token_id = $1 AND idem_key = $2
             AND (created_at < $3 OR (status = 0 AND created_at < $4))",
            token_id.clone(),
            key.to_string(),
            now - ttl,
            now - in_flight
        )?;
        Ok(())
    }

    /// Reserves (token, key) for a request with `request_hash` (status 0, "in flight"), or
    /// returns what holds it: an answer, or another request's reservation.
    pub async fn reserve_idempotent(
        &self,
        token_id: &TokenId,
        key: &str,
        request_hash: &str,
        now: i64,
        ttl: i64,
        in_flight: i64,
    ) -> Result<Reservation> {
        self.expire_idempotent(token_id, key, now, ttl, in_flight).await?;
        let n = exec!(
            &self.pool,
            "INSERT INTO idempotency (token_id, idem_key, request_hash, status, body, created_at)
             VALUES ($1,$2,$3,0,'',$4) ON CONFLICT (token_id, idem_key) DO NOTHING",
            token_id.clone(),
            key.to_string(),
            request_hash.to_string(),
            now
        )?;
        if n == 1 {
            return Ok(Reservation::Reserved);
        }
        match self.idempotent(token_id, key).await? {
            Some(row) => Ok(Reservation::Taken(row)),
            // Released between our insert and our read: the caller's retry will find it free.
            None => Ok(Reservation::Taken(IdemRow {
                request_hash: request_hash.to_string(),
                status: 0,
                body: String::new(),
            })),
        }
    }

    /// Stores the answer of a reserved (token, key).
    pub async fn finish_idempotent(
        &self,
        token_id: &TokenId,
        key: &str,
        row: &IdemRow,
    ) -> Result<()> {
        exec!(
            &self.pool,
            "UPDATE idempotency SET status = $1, body = $2 WHERE token_id = $3 AND idem_key = $4",
            row.status,
            row.body.clone(),
            token_id.clone(),
            key.to_string()
        )?;
        Ok(())
    }

    /// Frees a reservation whose request failed, so that the client may retry with the key.
    pub async fn release_idempotent(&self, token_id: &TokenId, key: &str) -> Result<()> {
        exec!(
            &self.pool,
            "DELETE FROM idempotency WHERE token_id = $1 AND idem_key = $2 AND status = 0",
            token_id.clone(),
            key.to_string()
        )?;
        Ok(())
    }

    /// Stores a response for (token, key) inside a transaction; false if the key is taken.
    pub async fn save_idempotent_tx(
        tx: &mut Tx,
        token_id: &TokenId,
        key: &str,
        row: &IdemRow,
        now: i64,
    ) -> Result<bool> {
        let n = exec!(
            &mut **tx,
            "INSERT INTO idempotency (token_id, idem_key, request_hash, status, body, created_at)
             VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (token_id, idem_key) DO NOTHING",
            token_id.clone(),
            key.to_string(),
            row.request_hash.clone(),
            row.status,
            row.body.clone(),
            now
        )?;
        Ok(n == 1)
    }
}

/// Whose tokens a listing covers: the creator's scope.
#[derive(Clone, Copy, Debug)]
pub enum TokenScope<'a> {
    /// The operator's: every manager and carrier token.
    Operator,
    /// A manager's: the resident and device tokens of its site.
    Site(&'a SiteId),
    /// A carrier's: the driver tokens of its drivers.
    Carrier(&'a CarrierId),
}

/// Whose tokens a revocation ends.
#[derive(Clone, Copy, Debug)]
pub enum TokenOwner<'a> {
    /// Every token of a driver.
    Driver(&'a DriverId),
    /// Every token of a resident.
    Resident(&'a ResidentId),
}

impl Store {
    /// A page of the tokens in `scope`, revoked and expired ones included.
    pub async fn tokens_in_scope(
        &self,
        scope: TokenScope<'_>,
        page: &Page,
    ) -> Result<Vec<TokenRow>> {
        match scope {
            TokenScope::Operator => all!(
                self.read(),
                TokenRow,
                "SELECT * FROM api_tokens WHERE role IN ('manager', 'carrier') AND id > $1
                 ORDER BY id LIMIT $2",
                page.after.clone(),
                page.limit
            ),
            TokenScope::Site(site) => all!(
                self.read(),
                TokenRow,
                "SELECT * FROM api_tokens WHERE role IN ('resident', 'device') AND site_id = $1
                 AND id > $2 ORDER BY id LIMIT $3",
                site.clone(),
                page.after.clone(),
                page.limit
            ),
            TokenScope::Carrier(carrier) => all!(
                self.read(),
                TokenRow,
                "SELECT * FROM api_tokens WHERE role = 'driver' AND carrier_id = $1 AND id > $2
                 ORDER BY id LIMIT $3",
                carrier.clone(),
                page.after.clone(),
                page.limit
            ),
        }
    }

    /// A token by its public id.
    pub async fn token(&self, id: &TokenId) -> Result<Option<TokenRow>> {
        one!(self.read(), TokenRow, "SELECT * FROM api_tokens WHERE id = $1", id.clone())
    }

    /// Revokes one token; false if it was already revoked.
    pub async fn revoke_token(&self, id: &TokenId, now: i64) -> Result<bool> {
        let n = exec!(
            &self.pool,
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            now,
            id.clone()
        )?;
        Ok(n == 1)
    }

    /// Revokes every live token of `owner`; returns how many.
    pub async fn revoke_tokens_of(tx: &mut Tx, owner: TokenOwner<'_>, now: i64) -> Result<u64> {
        match owner {
            TokenOwner::Driver(id) => exec!(
                &mut **tx,
                "UPDATE api_tokens SET revoked_at = $1 WHERE driver_id = $2 AND revoked_at IS NULL",
                now,
                id.clone()
            ),
            TokenOwner::Resident(id) => exec!(
                &mut **tx,
                "UPDATE api_tokens SET revoked_at = $1
                 WHERE resident_id = $2 AND revoked_at IS NULL",
                now,
                id.clone()
            ),
        }
    }
}
