//! API tokens (stored as hashes) and idempotency records.

use sqlx::any::AnyRow;

use super::{i, os, s, Result, Store, Tx};

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
            token,
            "SELECT * FROM api_tokens WHERE hash = $1 AND revoked_at IS NULL",
            hash.to_string()
        )
    }

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
}
