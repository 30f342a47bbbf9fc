//! Carriers and approvals.

use super::{DoorList, Page, Result, Store};
use crate::ids::{ApprovalId, CarrierId, IssuerId, SiteId};

/// A carrier organisation.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct CarrierRow {
    /// Public id.
    pub id: CarrierId,
    /// Name shown to residents.
    pub name: String,
    /// Creation time.
    pub created_at: i64,
}

/// A carrier's approval at a site.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ApprovalRow {
    /// Public id.
    pub id: ApprovalId,
    /// Site id.
    pub site_id: SiteId,
    /// Carrier id.
    pub carrier_id: CarrierId,
    /// The issuer that signs this carrier's grants at this site.
    pub issuer_id: IssuerId,
    /// Allowed door numbers, comma separated.
    pub doors: DoorList,
    /// The most entries per grant.
    pub max_uses: i64,
    /// The longest grant, minutes.
    pub max_lifetime_minutes: i64,
    /// When it was withdrawn.
    pub revoked_at: Option<i64>,
    /// Creation time.
    pub created_at: i64,
}

impl Store {
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
    pub async fn carrier(&self, id: &CarrierId) -> Result<Option<CarrierRow>> {
        one!(self.read(), CarrierRow, "SELECT * FROM carriers WHERE id = $1", id.clone())
    }

    /// A page of carriers, all or only `only`.
    pub async fn carriers(&self, only: Option<&CarrierId>, page: &Page) -> Result<Vec<CarrierRow>> {
        all!(
            self.read(),
            CarrierRow,
            "SELECT * FROM carriers WHERE ($1 = '' OR id = $1) AND id > $2 ORDER BY id LIMIT $3",
            only.map_or("", CarrierId::as_str).to_string(),
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
            r.doors.to_text(),
            r.max_uses,
            r.max_lifetime_minutes,
            r.created_at
        )?;
        Ok(())
    }

    /// The approval of a carrier at a site.
    pub async fn approval(
        &self,
        site_id: &SiteId,
        carrier_id: &CarrierId,
    ) -> Result<Option<ApprovalRow>> {
        one!(
            self.read(),
            ApprovalRow,
            "SELECT * FROM approvals WHERE site_id = $1 AND carrier_id = $2",
            site_id.clone(),
            carrier_id.clone()
        )
    }

    /// A page of a site's approvals.
    pub async fn approvals(&self, site_id: &SiteId, page: &Page) -> Result<Vec<ApprovalRow>> {
        all!(
            self.read(),
            ApprovalRow,
            "SELECT * FROM approvals WHERE site_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            site_id.clone(),
            page.after.clone(),
            page.limit
        )
    }

    /// One approval of a site, withdrawn or not.
    pub async fn approval_by_id(
        &self,
        site_id: &SiteId,
        id: &ApprovalId,
    ) -> Result<Option<ApprovalRow>> {
        one!(
            self.read(),
            ApprovalRow,
            "SELECT * FROM approvals WHERE site_id = $1 AND id = $2",
            site_id.clone(),
            id.clone()
        )
    }

    /// Withdraws an approval.
    pub async fn revoke_approval(&self, id: &ApprovalId, now: i64) -> Result<u64> {
        exec!(
            &self.pool,
            "UPDATE approvals SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            now,
            id.clone()
        )
    }
}
