//! Issuer keys and their serial counters.

use super::{i, Page, Result, Store, Tx};
use crate::ids::{IssuerId, SiteId};

/// An issuer key of a site.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct IssuerRow {
    /// Public id.
    pub id: IssuerId,
    /// Site id.
    pub site_id: SiteId,
    /// Public key, hex.
    pub public_key: String,
    /// First eight key bytes, hex: what audit records name.
    pub key_id: String,
    /// The private seed, hex. Never leaves the store layer except to sign a grant.
    pub secret_seed: String,
    /// The root-signed certificate, hex, once uploaded.
    pub certificate: Option<String>,
    /// Certificate epoch.
    pub epoch: Option<i64>,
    /// Certificate validity start.
    pub not_before: Option<i64>,
    /// Certificate validity end.
    pub not_after: Option<i64>,
    /// The next free serial.
    pub next_serial: i64,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
    /// Creation time.
    pub created_at: i64,
}

impl Store {
    /// Inserts an issuer key.
    pub async fn insert_issuer(&self, r: &IssuerRow) -> Result<()> {
        exec!(
            &self.pool,
            "INSERT INTO issuers (id, site_id, public_key, key_id, secret_seed, next_serial,
             created_at) VALUES ($1,$2,$3,$4,$5,$6,$7)",
            r.id.clone(),
            r.site_id.clone(),
            r.public_key.clone(),
            r.key_id.clone(),
            r.secret_seed.clone(),
            r.next_serial,
            r.created_at
        )?;
        Ok(())
    }

    /// An issuer by id.
    pub async fn issuer(&self, id: &IssuerId) -> Result<Option<IssuerRow>> {
        one!(self.read(), IssuerRow, "SELECT * FROM issuers WHERE id = $1", id.clone())
    }

    /// A page of a site's issuers.
    pub async fn issuers(&self, site_id: &SiteId, page: &Page) -> Result<Vec<IssuerRow>> {
        all!(
            self.read(),
            IssuerRow,
            "SELECT * FROM issuers WHERE site_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            site_id.clone(),
            page.after.clone(),
            page.limit
        )
    }

    /// Stores a verified certificate.
    pub async fn set_certificate(
        &self,
        id: &IssuerId,
        cert: &str,
        epoch: i64,
        not_before: i64,
        not_after: i64,
    ) -> Result<()> {
        exec!(
            &self.pool,
            "UPDATE issuers SET certificate = $1, epoch = $2, not_before = $3, not_after = $4
             WHERE id = $5",
            cert.to_string(),
            epoch,
            not_before,
            not_after,
            id.to_string()
        )?;
        Ok(())
    }

    /// Takes `uses` serials from an issuer, atomically: the row lock (PostgreSQL) or the single
    /// writer (SQLite) orders concurrent issuers. Returns the first serial taken.
    pub async fn take_serials(tx: &mut Tx, issuer_id: &IssuerId, uses: i64) -> Result<i64> {
        let row = sqlx::query(
            "UPDATE issuers SET next_serial = next_serial + $1 WHERE id = $2 RETURNING next_serial",
        )
        .bind(uses)
        .bind(issuer_id.clone())
        .fetch_one(&mut **tx)
        .await?;
        Ok(i(&row, "next_serial")? - uses)
    }
}
