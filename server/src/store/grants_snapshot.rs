//! The statements behind grant issuance's per-site cache (`service::issuance_cache`) and the
//! group commit's claims (`service::grant_writer`): a site's rarely changing facts read in a
//! few statements, its change counter (`site_versions`, bumped by triggers, see migration
//! 202612070700), and the grant bounds of a whole group claimed in one statement.

use sqlx::Row;

use super::placeholders::Placeholders;
use super::{ApprovalRow, Backend, IssuerRow, Result, Store, Tx};
use crate::ids::{DeliveryId, SiteId, UnitId};

impl Store {
    /// The change counter of a site's grant facts (0 if it never changed since the migration
    /// that made the counter).
    pub async fn site_version(&self, site_id: &SiteId) -> Result<i64> {
        let row = sqlx::query("SELECT version FROM site_versions WHERE site_id = $1")
            .bind(site_id.clone())
            .fetch_optional(self.read())
            .await?;
        row.map(|r| r.try_get::<i64, _>("version")).transpose().map(|v| v.unwrap_or(0))
    }

    /// Every approval at a site, withdrawn ones included.
    pub async fn approvals_of_site(&self, site_id: &SiteId) -> Result<Vec<ApprovalRow>> {
        all!(
            self.read(),
            ApprovalRow,
            "SELECT * FROM approvals WHERE site_id = $1",
            site_id.clone()
        )
    }

    /// Every issuer of a site, revoked ones included.
    pub async fn issuers_of_site(&self, site_id: &SiteId) -> Result<Vec<IssuerRow>> {
        all!(self.read(), IssuerRow, "SELECT * FROM issuers WHERE site_id = $1", site_id.clone())
    }

    /// The (kind, target id) of every revocation a site made.
    pub async fn revoked_targets(&self, site_id: &SiteId) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT kind, target_id FROM revocations WHERE site_id = $1")
            .bind(site_id.clone())
            .fetch_all(self.read())
            .await?;
        rows.iter().map(|r| Ok((r.try_get("kind")?, r.try_get("target_id")?))).collect()
    }

    /// The units of a site where at least one resident refuses in-building delivery.
    pub async fn opted_out_units(&self, site_id: &SiteId) -> Result<Vec<UnitId>> {
        let rows = sqlx::query(
            "SELECT DISTINCT r.unit_id AS unit_id FROM residents r JOIN units u ON u.id = r.unit_id
             WHERE u.site_id = $1 AND r.opted_out <> 0",
        )
        .bind(site_id.clone())
        .fetch_all(self.read())
        .await?;
        rows.iter().map(|r| r.try_get("unit_id")).collect()
    }

    /// The door numbers enrolled at a site.
    pub async fn door_numbers(&self, site_id: &SiteId) -> Result<Vec<i64>> {
        let rows =
            sqlx::query("SELECT door_number FROM doors WHERE site_id = $1 ORDER BY door_number")
                .bind(site_id.clone())
                .fetch_all(self.read())
                .await?;
        rows.iter().map(|r| r.try_get("door_number")).collect()
    }

    /// Claims one more grant of each delivery of `delivery_ids` (distinct), under its row lock,
    /// in one statement; returns the ids whose claim held (open, not entered, below `bound`).
    /// On PostgreSQL, in the first round (`lock_first`), the same statement locks the rows
    /// first in id order, the one order in which every transaction locks deliveries, so two
    /// groups (or a group and an audit upload) never deadlock (the claim then re-checks each
    /// row's newest version, which the lock waited for); SQLite has one writer.
    pub async fn claim_grants(
        &self,
        tx: &mut Tx,
        delivery_ids: &[&DeliveryId],
        bound: i64,
        lock_first: bool,
    ) -> Result<Vec<DeliveryId>> {
        if delivery_ids.is_empty() {
            return Ok(Vec::new());
        }
        let places = Placeholders::of(tx);
        let (in_ids, taken) = places.in_list("id", 1, delivery_ids.len());
        let bound_param = places.list(1 + taken, 1);
        let sql = if lock_first && self.backend() == Backend::Postgres {
            format!(
                "WITH locked AS (SELECT id FROM deliveries WHERE {in_ids} ORDER BY id FOR UPDATE)
                 UPDATE deliveries SET grants_issued = deliveries.grants_issued + 1 FROM locked
                 WHERE deliveries.id = locked.id AND deliveries.status = 'open'
                   AND deliveries.entered_at IS NULL AND deliveries.grants_issued < {bound_param}
                 RETURNING deliveries.id AS id"
            )
        } else {
            format!(
                "UPDATE deliveries SET grants_issued = grants_issued + 1
                 WHERE {in_ids} AND status = 'open' AND entered_at IS NULL
                   AND grants_issued < {bound_param} RETURNING id"
            )
        };
        let ids: Vec<&str> = delivery_ids.iter().map(|d| d.as_str()).collect();
        let query = places.bind_list(sqlx::query(&sql), &ids);
        let rows = query.bind(bound).fetch_all(&mut **tx).await?;
        rows.iter().map(|r| r.try_get("id")).collect()
    }
}
