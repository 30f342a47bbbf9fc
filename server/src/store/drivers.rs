//! Drivers.

use sqlx::any::AnyRow;

use super::{i, oi, s, Page, Result, Store};

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
}
