//! Units, residents and residents' notifications.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{i, s, Backend, Page, Result, Store, Tx};
use crate::ids::{NotificationId, ResidentId, SiteId, UnitId};

/// A unit (flat, office) of a site.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UnitRow {
    /// Public id.
    pub id: UnitId,
    /// Site id.
    pub site_id: SiteId,
    /// Label ("4B").
    pub label: String,
    /// Creation time.
    pub created_at: i64,
}

/// A resident of a unit.
#[derive(Clone, Debug)]
pub struct ResidentRow {
    /// Public id.
    pub id: ResidentId,
    /// Unit id.
    pub unit_id: UnitId,
    /// Name for the manager's list.
    pub display_name: String,
    /// Whether the resident refuses in-building delivery.
    pub opted_out: bool,
    /// Creation time.
    pub created_at: i64,
}

/// Mapped by hand: the opt-out flag is a BIGINT (0/1) on both backends, and `bool` does
/// not decode from an integer through the `Any` driver.
impl<'r> sqlx::FromRow<'r, AnyRow> for ResidentRow {
    fn from_row(row: &'r AnyRow) -> Result<ResidentRow> {
        Ok(ResidentRow {
            id: row.try_get("id")?,
            unit_id: row.try_get("unit_id")?,
            display_name: s(row, "display_name")?,
            opted_out: i(row, "opted_out")? != 0,
            created_at: i(row, "created_at")?,
        })
    }
}

/// What happened, as residents' notifications and site webhooks name it (the webhook body's
/// `type`); stored as its dotted name, parsed once where the row is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub enum EventKind {
    /// A carrier announced a delivery to a unit.
    #[serde(rename = "delivery.announced")]
    DeliveryAnnounced,
    /// A delivery's driver entered the building.
    #[serde(rename = "delivery.entered")]
    DeliveryEntered,
    /// An alarm was raised at the site (webhooks only, for the manager's systems).
    #[serde(rename = "alarm.raised")]
    AlarmRaised,
}

impl EventKind {
    /// The stored (and wire) name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::DeliveryAnnounced => "delivery.announced",
            EventKind::DeliveryEntered => "delivery.entered",
            EventKind::AlarmRaised => "alarm.raised",
        }
    }
}

impl TryFrom<String> for EventKind {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        [EventKind::DeliveryAnnounced, EventKind::DeliveryEntered, EventKind::AlarmRaised]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown event kind {s:?} in the database"))
    }
}

super::stored_as_text!(EventKind);

/// A resident's notification.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct NotificationRow {
    /// Public id.
    pub id: NotificationId,
    /// Event kind.
    pub kind: EventKind,
    /// JSON body.
    pub body: String,
    /// Creation time.
    pub created_at: i64,
}

impl Store {
    /// Inserts a unit.
    pub async fn insert_unit(&self, r: &UnitRow) -> Result<()> {
        exec!(
            &self.pool,
            "INSERT INTO units (id, site_id, label, created_at) VALUES ($1,$2,$3,$4)",
            r.id.clone(),
            r.site_id.clone(),
            r.label.clone(),
            r.created_at
        )?;
        Ok(())
    }

    /// A unit by id.
    pub async fn unit(&self, id: &UnitId) -> Result<Option<UnitRow>> {
        one!(self.read(), UnitRow, "SELECT * FROM units WHERE id = $1", id.clone())
    }

    /// A unit by site and label.
    pub async fn unit_by_label(&self, site_id: &SiteId, label: &str) -> Result<Option<UnitRow>> {
        one!(
            self.read(),
            UnitRow,
            "SELECT * FROM units WHERE site_id = $1 AND label = $2",
            site_id.clone(),
            label.to_string()
        )
    }

    /// A page of a site's units.
    pub async fn units(&self, site_id: &SiteId, page: &Page) -> Result<Vec<UnitRow>> {
        all!(
            self.read(),
            UnitRow,
            "SELECT * FROM units WHERE site_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            site_id.clone(),
            page.after.clone(),
            page.limit
        )
    }

    /// Inserts a resident unless the unit already has `max`: false when it has.
    pub async fn insert_resident_within(&self, r: &ResidentRow, max: i64) -> Result<bool> {
        let mut tx = self.begin().await?;
        if self.backend == Backend::Postgres {
            // Two concurrent additions would each count the other's row as absent.
            exec!(&mut *tx, "SELECT id FROM units WHERE id = $1 FOR UPDATE", r.unit_id.clone())?;
        }
        let n = exec!(
            &mut *tx,
            "INSERT INTO residents (id, unit_id, display_name, opted_out, created_at)
             SELECT $1, $2, $3, $4, $5
             WHERE (SELECT COUNT(*) FROM residents WHERE unit_id = $2) < $6",
            r.id.clone(),
            r.unit_id.clone(),
            r.display_name.clone(),
            i64::from(r.opted_out),
            r.created_at,
            max
        )?;
        tx.commit().await?;
        Ok(n == 1)
    }

    /// A resident by id.
    pub async fn resident(&self, id: &ResidentId) -> Result<Option<ResidentRow>> {
        one!(self.read(), ResidentRow, "SELECT * FROM residents WHERE id = $1", id.clone())
    }

    /// Every resident of a unit.
    pub async fn residents(&self, unit_id: &UnitId) -> Result<Vec<ResidentRow>> {
        all!(
            self.read(),
            ResidentRow,
            "SELECT * FROM residents WHERE unit_id = $1 ORDER BY id",
            unit_id.clone()
        )
    }

    /// Sets a resident's opt-out.
    pub async fn set_opt_out(&self, id: &ResidentId, opted_out: bool) -> Result<()> {
        exec!(
            &self.pool,
            "UPDATE residents SET opted_out = $1 WHERE id = $2",
            i64::from(opted_out),
            id.clone()
        )?;
        Ok(())
    }

    /// Residents of a unit, inside a transaction.
    pub async fn residents_tx(tx: &mut Tx, unit_id: &UnitId) -> Result<Vec<ResidentRow>> {
        all!(
            &mut **tx,
            ResidentRow,
            "SELECT * FROM residents WHERE unit_id = $1 ORDER BY id",
            unit_id.clone()
        )
    }

    /// Queues a notification for a resident.
    pub async fn insert_notification(
        tx: &mut Tx,
        id: &NotificationId,
        resident_id: &ResidentId,
        kind: EventKind,
        body: &str,
        now: i64,
    ) -> Result<()> {
        exec!(
            &mut **tx,
            "INSERT INTO notifications (id, resident_id, kind, body, created_at)
             VALUES ($1,$2,$3,$4,$5)",
            id.clone(),
            resident_id.clone(),
            kind.as_str(),
            body.to_string(),
            now
        )?;
        Ok(())
    }

    /// A page of a resident's notifications.
    pub async fn notifications(
        &self,
        resident_id: &ResidentId,
        page: &Page,
    ) -> Result<Vec<NotificationRow>> {
        all!(
            self.read(),
            NotificationRow,
            "SELECT * FROM notifications WHERE resident_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            resident_id.clone(),
            page.after.clone(),
            page.limit
        )
    }
}

impl Store {
    /// Deletes a resident and their notifications.
    pub async fn delete_resident(tx: &mut Tx, id: &ResidentId) -> Result<()> {
        exec!(&mut **tx, "DELETE FROM notifications WHERE resident_id = $1", id.clone())?;
        exec!(&mut **tx, "DELETE FROM residents WHERE id = $1", id.clone())?;
        Ok(())
    }
}
