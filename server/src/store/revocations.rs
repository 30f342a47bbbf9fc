//! Revocations and root-signed door states.

use super::{i, Result, Store};
use crate::ids::SiteId;

/// What a revocation names; stored as its snake_case name.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RevocationKind {
    /// An issuer key of the site (denied by key, and fenced by certificate epoch).
    Issuer,
    /// A driver's holder key, at this site.
    Driver,
    /// One grant, by issuer key and serial.
    Grant,
}

impl RevocationKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationKind::Issuer => "issuer",
            RevocationKind::Driver => "driver",
            RevocationKind::Grant => "grant",
        }
    }
}

impl TryFrom<String> for RevocationKind {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        match s.as_str() {
            "issuer" => Ok(RevocationKind::Issuer),
            "driver" => Ok(RevocationKind::Driver),
            "grant" => Ok(RevocationKind::Grant),
            _ => Err(format!("unknown revocation kind {s:?} in the database")),
        }
    }
}

super::stored_as_text!(RevocationKind);

/// A revocation the next door state must carry.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RevocationRow {
    /// Public id.
    pub id: String,
    /// Site id.
    pub site_id: SiteId,
    /// `issuer`, `driver` or `grant`.
    pub kind: RevocationKind,
    /// The revoked object's id.
    pub target_id: String,
    /// The deny-list subject, hex (8 bytes).
    pub subject: String,
    /// When the entry may be pruned.
    pub until: i64,
    /// For issuers, the certificate epoch.
    pub epoch: Option<i64>,
    /// Creation time.
    pub created_at: i64,
}

/// A root-signed door state.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DoorStateRow {
    /// Site id.
    pub site_id: SiteId,
    /// Sequence number.
    pub sequence: i64,
    /// The signed state, hex.
    pub state: String,
    /// Signing time.
    pub issued_at: i64,
    /// Grant fence.
    pub grant_fence: i64,
    /// Certificate epoch fence.
    pub cert_epoch_fence: i64,
}

impl Store {
    /// Records a revocation and marks the revoked object.
    pub async fn insert_revocation(&self, r: &RevocationRow) -> Result<()> {
        let mut tx = self.begin().await?;
        exec!(
            &mut *tx,
            "INSERT INTO revocations (id, site_id, kind, target_id, subject, until, epoch, created_at)
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
            r.id.clone(),
            r.site_id.clone(),
            r.kind.as_str().to_string(),
            r.target_id.clone(),
            r.subject.clone(),
            r.until,
            r.epoch,
            r.created_at
        )?;
        // Issuers and grants belong to one site: mark them. A driver serves many sites, so a
        // site's revocation of a driver lives in this table only (see `is_revoked`).
        let table = match r.kind {
            RevocationKind::Issuer => Some("issuers"),
            RevocationKind::Grant => Some("grants"),
            RevocationKind::Driver => None,
        };
        if let Some(table) = table {
            exec!(
                &mut *tx,
                &format!("UPDATE {table} SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"),
                r.created_at,
                r.target_id.clone()
            )?;
        }
        tx.commit().await
    }

    /// Whether `kind`/`target_id` is revoked at a site.
    pub async fn is_revoked(
        &self,
        site_id: &SiteId,
        kind: RevocationKind,
        target_id: &str,
    ) -> Result<bool> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM revocations WHERE site_id = $1 AND kind = $2 AND target_id = $3",
        )
        .bind(site_id.clone())
        .bind(kind.as_str().to_string())
        .bind(target_id.to_string())
        .fetch_one(self.read())
        .await?;
        Ok(i(&row, "n")? > 0)
    }

    /// Every revocation of a site.
    pub async fn revocations(&self, site_id: &SiteId) -> Result<Vec<RevocationRow>> {
        all!(
            self.read(),
            RevocationRow,
            "SELECT * FROM revocations WHERE site_id = $1 ORDER BY id",
            site_id.clone()
        )
    }

    /// Inserts a door state; fails on a duplicate sequence.
    pub async fn insert_door_state(&self, r: &DoorStateRow, now: i64) -> Result<()> {
        exec!(
            &self.pool,
            "INSERT INTO door_states (site_id, sequence, state, issued_at, grant_fence,
             cert_epoch_fence, uploaded_at) VALUES ($1,$2,$3,$4,$5,$6,$7)",
            r.site_id.clone(),
            r.sequence,
            r.state.clone(),
            r.issued_at,
            r.grant_fence,
            r.cert_epoch_fence,
            now
        )?;
        Ok(())
    }

    /// The newest door state of a site.
    pub async fn latest_door_state(&self, site_id: &SiteId) -> Result<Option<DoorStateRow>> {
        one!(
            self.read(),
            DoorStateRow,
            "SELECT * FROM door_states WHERE site_id = $1 ORDER BY sequence DESC LIMIT 1",
            site_id.clone()
        )
    }
}
