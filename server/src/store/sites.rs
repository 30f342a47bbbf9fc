//! Sites.

use super::{Page, Result, Store};

/// A building.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SiteRow {
    /// Public id.
    pub id: String,
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
}

impl Store {
    /// Inserts a site.
    pub async fn insert_site(&self, r: &SiteRow) -> Result<()> {
        exec!(
            &self.pool,
            "INSERT INTO sites (id, site_number, name, root_key, zone, created_at)
             VALUES ($1,$2,$3,$4,$5,$6)",
            r.id.clone(),
            r.site_number,
            r.name.clone(),
            r.root_key.clone(),
            r.zone.clone(),
            r.created_at
        )?;
        Ok(())
    }

    /// A site by id.
    pub async fn site(&self, id: &str) -> Result<Option<SiteRow>> {
        one!(&self.pool, SiteRow, "SELECT * FROM sites WHERE id = $1", id.to_string())
    }

    /// A page of sites, all or only `only`.
    pub async fn sites(&self, only: Option<&str>, page: &Page) -> Result<Vec<SiteRow>> {
        match only {
            Some(id) => all!(
                &self.pool,
                SiteRow,
                "SELECT * FROM sites WHERE id = $1 AND id > $2 ORDER BY id LIMIT $3",
                id.to_string(),
                page.after.clone(),
                page.limit
            ),
            None => all!(
                &self.pool,
                SiteRow,
                "SELECT * FROM sites WHERE id > $1 ORDER BY id LIMIT $2",
                page.after.clone(),
                page.limit
            ),
        }
    }
}
