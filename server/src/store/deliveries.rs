//! Deliveries.

use super::{Page, Result, Store, Tx};
use crate::ids::{CarrierId, DeliveryId, SiteId, UnitId};

/// Where a delivery stands; stored as its snake_case name, parsed once where the row is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Announced and not cancelled: grants may be issued within its window.
    Open,
    /// Cancelled by its carrier: no more grants.
    Cancelled,
}

impl DeliveryStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Open => "open",
            DeliveryStatus::Cancelled => "cancelled",
        }
    }
}

impl TryFrom<String> for DeliveryStatus {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        match s.as_str() {
            "open" => Ok(DeliveryStatus::Open),
            "cancelled" => Ok(DeliveryStatus::Cancelled),
            _ => Err(format!("unknown delivery status {s:?} in the database")),
        }
    }
}

super::stored_as_text!(DeliveryStatus);

/// A delivery announced by a carrier.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DeliveryRow {
    /// Public id.
    pub id: DeliveryId,
    /// Site id.
    pub site_id: SiteId,
    /// Carrier id.
    pub carrier_id: CarrierId,
    /// Unit id.
    pub unit_id: UnitId,
    /// The per-delivery salt, hex.
    pub tracking_salt: String,
    /// The package commitment, hex.
    pub package: String,
    /// Window start.
    pub window_start: i64,
    /// Window end (exclusive).
    pub window_end: i64,
    /// Open or cancelled.
    pub status: DeliveryStatus,
    /// First entry through a door for it.
    pub entered_at: Option<i64>,
    /// Grants it has yielded.
    pub grants_issued: i64,
    /// Creation time.
    pub created_at: i64,
}

impl Store {
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
            r.status.as_str().to_string(),
            r.created_at
        )?;
        Ok(())
    }

    /// A delivery by id.
    pub async fn delivery(&self, id: &DeliveryId) -> Result<Option<DeliveryRow>> {
        one!(self.read(), DeliveryRow, "SELECT * FROM deliveries WHERE id = $1", id.clone())
    }

    /// A page of deliveries of a carrier (`by_carrier`) or to a unit.
    pub async fn deliveries(
        &self,
        carrier_id: Option<&CarrierId>,
        unit_id: Option<&UnitId>,
        page: &Page,
    ) -> Result<Vec<DeliveryRow>> {
        all!(
            self.read(),
            DeliveryRow,
            "SELECT * FROM deliveries WHERE ($1 = '' OR carrier_id = $1) AND ($2 = '' OR unit_id = $2)
             AND id > $3 ORDER BY id LIMIT $4",
            carrier_id.map_or("", CarrierId::as_str).to_string(),
            unit_id.map_or("", UnitId::as_str).to_string(),
            page.after.clone(),
            page.limit
        )
    }

    /// Sets a delivery's status.
    pub async fn set_delivery_status(&self, id: &DeliveryId, status: DeliveryStatus) -> Result<()> {
        exec!(
            &self.pool,
            "UPDATE deliveries SET status = $1 WHERE id = $2",
            status.as_str().to_string(),
            id.clone()
        )?;
        Ok(())
    }

    /// Marks a delivery entered (first time only).
    pub async fn mark_entered(tx: &mut Tx, delivery_id: &DeliveryId, at: i64) -> Result<()> {
        exec!(
            &mut **tx,
            "UPDATE deliveries SET entered_at = $1 WHERE id = $2 AND entered_at IS NULL",
            at,
            delivery_id.clone()
        )?;
        Ok(())
    }

    /// Counts one more grant for a delivery that is still open and not yet entered, if it has
    /// yielded fewer than `bound`; false otherwise. The row lock (PostgreSQL) or the single
    /// writer (SQLite) makes concurrent requests for one delivery respect the bound.
    pub async fn claim_grant(tx: &mut Tx, delivery_id: &DeliveryId, bound: i64) -> Result<bool> {
        let n = exec!(
            &mut **tx,
            "UPDATE deliveries SET grants_issued = grants_issued + 1
             WHERE id = $1 AND status = 'open' AND entered_at IS NULL AND grants_issued < $2",
            delivery_id.clone(),
            bound
        )?;
        Ok(n == 1)
    }
}
