//! API tokens (stored as hashes) and idempotency records.

use super::{Result, Store, Tx};

/// An API token (the secret itself is never stored, only its hash).
#[derive(Clone, Debug, Default, sqlx::FromRow)]
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
            TokenRow,
            "SELECT * FROM api_tokens WHERE hash = $1 AND revoked_at IS NULL",
            hash.to_string()
        )
    }

    /// A stored response for (token, key), or a reservation in flight (status 0).
    pub async fn idempotent(&self, token_id: &str, key: &str) -> Result<Option<IdemRow>> {
        one!(
            &self.pool,
            IdemRow,
            "SELECT request_hash, status, body FROM idempotency WHERE token_id = $1 AND idem_key = $2",
            token_id.to_string(),
            key.to_string()
        )
    }

    /// Forgets (token, key) if its answer is older than `ttl` seconds, or if it is a
    /// reservation older than `in_flight` seconds (its request died).
    pub async fn expire_idempotent(
        &self,
        token_id: &str,
        key: &str,
        now: i64,
        ttl: i64,
        in_flight: i64,
    ) -> Result<()> {
        exec!(
            &self.pool,
            "DELETE FROM idempotency WHERE token_id = $1 AND idem_key = $2
             AND (created_at < $3 OR (status = 0 AND created_at < $4))",
            token_id.to_string(),
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
        token_id: &str,
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
            token_id.to_string(),
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
    pub async fn finish_idempotent(&self, token_id: &str, key: &str, row: &IdemRow) -> Result<()> {
        exec!(
            &self.pool,
            "UPDATE idempotency SET status = $1, body = $2 WHERE token_id = $3 AND idem_key = $4",
            row.status,
            row.body.clone(),
            token_id.to_string(),
            key.to_string()
        )?;
        Ok(())
    }

    /// Frees a reservation whose request failed, so that the client may retry with the key.
    pub async fn release_idempotent(&self, token_id: &str, key: &str) -> Result<()> {
        exec!(
            &self.pool,
            "DELETE FROM idempotency WHERE token_id = $1 AND idem_key = $2 AND status = 0",
            token_id.to_string(),
            key.to_string()
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
}
