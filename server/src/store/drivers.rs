//! Drivers.

use super::{s, Page, Result, Store};
use crate::ids::{CarrierId, DriverId};

/// A driver of a carrier.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DriverRow {
    /// Public id.
    pub id: DriverId,
    /// Carrier id.
    pub carrier_id: CarrierId,
    /// The phone's holder key, hex.
    pub holder_key: String,
    /// The carrier's own label (pseudonymous to buildings).
    pub label: String,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
    /// Creation time.
    pub created_at: i64,
}

impl Store {
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
    pub async fn driver(&self, id: &DriverId) -> Result<Option<DriverRow>> {
        one!(self.read(), DriverRow, "SELECT * FROM drivers WHERE id = $1", id.clone())
    }

    /// A page of a carrier's drivers.
    pub async fn drivers(&self, carrier_id: &CarrierId, page: &Page) -> Result<Vec<DriverRow>> {
        all!(
            self.read(),
            DriverRow,
            "SELECT * FROM drivers WHERE carrier_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            carrier_id.clone(),
            page.after.clone(),
            page.limit
        )
    }

    /// Retires a driver.
    pub async fn retire_driver(&self, id: &DriverId, now: i64) -> Result<()> {
        exec!(
            &self.pool,
            "UPDATE drivers SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            now,
            id.clone()
        )?;
        Ok(())
    }
}

impl Store {
    /// Stores a driver-registration challenge for a carrier.
    pub async fn insert_driver_challenge(
        &self,
        challenge: &str,
        carrier_id: &CarrierId,
        expires_at: i64,
        now: i64,
    ) -> Result<()> {
        exec!(
            &self.pool,
            "INSERT INTO driver_challenges (challenge, carrier_id, expires_at, created_at)
             VALUES ($1,$2,$3,$4)",
            challenge.to_string(),
            carrier_id.clone(),
            expires_at,
            now
        )?;
        // Expired ones are of no use to anyone.
        exec!(&self.pool, "DELETE FROM driver_challenges WHERE expires_at <= $1", now)?;
        Ok(())
    }

    /// Consumes a live challenge of this carrier; false if there is none.
    pub async fn take_driver_challenge(
        &self,
        challenge: &str,
        carrier_id: &CarrierId,
        now: i64,
    ) -> Result<bool> {
        let n = exec!(
            &self.pool,
            "DELETE FROM driver_challenges WHERE challenge = $1 AND carrier_id = $2
             AND expires_at > $3",
            challenge.to_string(),
            carrier_id.clone(),
            now
        )?;
        Ok(n == 1)
    }

    /// Every driver's (id, holder key), for the deny-subject check at registration.
    pub async fn all_driver_keys(&self) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT id, holder_key FROM drivers").fetch_all(self.read()).await?;
        rows.iter().map(|r| Ok((s(r, "id")?, s(r, "holder_key")?))).collect()
    }

    /// Every issuer's (id, public key), for the deny-subject check at registration.
    pub async fn all_issuer_keys(&self) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT id, public_key FROM issuers").fetch_all(self.read()).await?;
        rows.iter().map(|r| Ok((s(r, "id")?, s(r, "public_key")?))).collect()
    }
}
