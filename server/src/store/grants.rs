//! Issued grants.

use super::{DoorList, Page, Result, Store, Tx};
use crate::ids::{CarrierId, DeliveryId, DriverId, GrantId, IssuerId, SiteId};

/// An issued grant.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct GrantRow {
    /// Public id.
    pub id: GrantId,
    /// Site id.
    pub site_id: SiteId,
    /// Delivery id.
    pub delivery_id: DeliveryId,
    /// Driver id.
    pub driver_id: DriverId,
    /// Carrier id.
    pub carrier_id: CarrierId,
    /// Issuer id.
    pub issuer_id: IssuerId,
    /// First eight issuer key bytes, hex.
    pub issuer_key_id: String,
    /// First serial.
    pub serial: i64,
    /// Entries.
    pub uses: i64,
    /// Door numbers, comma separated.
    pub doors: DoorList,
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

impl Store {
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
            r.doors.to_text(),
            r.not_before,
            r.not_after,
            r.grant_bytes.clone(),
            r.issued_at
        )?;
        Ok(())
    }

    /// A grant by id.
    pub async fn grant(&self, id: &GrantId) -> Result<Option<GrantRow>> {
        one!(self.read(), GrantRow, "SELECT * FROM grants WHERE id = $1", id.clone())
    }

    /// The grant an admission names: its issuer key id and first serial at the site.
    pub async fn grant_by_serial(
        &self,
        site_id: &SiteId,
        issuer_key_id: &str,
        serial: i64,
    ) -> Result<Option<GrantRow>> {
        one!(
            self.read(),
            GrantRow,
            "SELECT * FROM grants WHERE site_id = $1 AND issuer_key_id = $2 AND serial = $3",
            site_id.clone(),
            issuer_key_id.to_string(),
            serial
        )
    }

    /// A page of a site's grants.
    pub async fn grants_of_site(&self, site_id: &SiteId, page: &Page) -> Result<Vec<GrantRow>> {
        all!(
            self.read(),
            GrantRow,
            "SELECT * FROM grants WHERE site_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            site_id.clone(),
            page.after.clone(),
            page.limit
        )
    }

    /// A page of grants of a delivery.
    pub async fn grants_of_delivery(&self, delivery_id: &DeliveryId) -> Result<Vec<GrantRow>> {
        all!(
            self.read(),
            GrantRow,
            "SELECT * FROM grants WHERE delivery_id = $1 ORDER BY id",
            delivery_id.clone()
        )
    }

    /// Every grant serial range of an issuer (for tests and audits).
    pub async fn all_grants(&self) -> Result<Vec<GrantRow>> {
        all!(self.read(), GrantRow, "SELECT * FROM grants ORDER BY id")
    }
}
