//! Sites.

use super::{Page, Result, Store};
use crate::ids::SiteId;

/// A building.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SiteRow {
    /// Public id.
    pub id: SiteId,
    /// The protocol's site number.
    pub site_number: i64,
    /// Display name.
    pub name: String,
    /// The site root public key, hex.
    pub root_key: String,
    /// Time zone, a canonical POSIX TZ rule.
    pub zone: String,
    /// Creation time.
    pub created_at: i64,
    /// The site's log key (X25519 public key, hex) that door enrolments name, if made yet.
    pub log_key: Option<String>,
    /// Its secret seed: sealed (`enc1:`) when an issuer key secret is configured, else hex.
    pub log_secret: Option<String>,
}

impl Store {
    /// Inserts a site.
    pub async fn insert_site(&self, r: &SiteRow) -> Result<()> {
        exec!(
            &self.pool,
            "INSERT INTO sites (id, site_number, name, root_key, zone, created_at, log_key,
             log_secret) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
            r.id.clone(),
            r.site_number,
            r.name.clone(),
            r.root_key.clone(),
            r.zone.clone(),
            r.created_at,
            r.log_key.clone(),
            r.log_secret.clone()
        )?;
        Ok(())
    }

    /// Gives a site made before log keys its pair; false if it had one already.
    pub async fn set_site_log_key(&self, id: &SiteId, key: &str, secret: &str) -> Result<bool> {
        let n = exec!(
            &self.pool,
            "UPDATE sites SET log_key = $2, log_secret = $3 WHERE id = $1 AND log_key IS NULL",
            id.clone(),
            key.to_string(),
            secret.to_string()
        )?;
        Ok(n == 1)
    }

    /// A site by id.
    pub async fn site(&self, id: &SiteId) -> Result<Option<SiteRow>> {
        one!(self.read(), SiteRow, "SELECT * FROM sites WHERE id = $1", id.clone())
    }

    /// A page of sites, all or only `only`.
    pub async fn sites(&self, only: Option<&SiteId>, page: &Page) -> Result<Vec<SiteRow>> {
        match only {
            Some(id) => all!(
                self.read(),
                SiteRow,
                "SELECT * FROM sites WHERE id = $1 AND id > $2 ORDER BY id LIMIT $3",
                id.clone(),
                page.after.clone(),
                page.limit
            ),
            None => all!(
                self.read(),
                SiteRow,
                "SELECT * FROM sites WHERE id > $1 ORDER BY id LIMIT $2",
                page.after.clone(),
                page.limit
            ),
        }
    }
}
