//! Doors.

use super::{Page, Result, Store};
use crate::ids::{DoorId, SiteId};

/// An enrolled door.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DoorRow {
    /// Public id.
    pub id: DoorId,
    /// Site id.
    pub site_id: SiteId,
    /// The protocol's door number.
    pub door_number: i64,
    /// Display name.
    pub name: String,
    /// The device public key, hex.
    pub device_key: String,
    /// The root-signed enrolment, hex.
    pub enrolment: String,
    /// Creation time.
    pub created_at: i64,
}

impl Store {
    /// Inserts a door.
    pub async fn insert_door(&self, r: &DoorRow) -> Result<()> {
        exec!(
            &self.pool,
            "INSERT INTO doors (id, site_id, door_number, name, device_key, enrolment, created_at)
             VALUES ($1,$2,$3,$4,$5,$6,$7)",
            r.id.clone(),
            r.site_id.clone(),
            r.door_number,
            r.name.clone(),
            r.device_key.clone(),
            r.enrolment.clone(),
            r.created_at
        )?;
        Ok(())
    }

    /// A door by id.
    pub async fn door(&self, id: &DoorId) -> Result<Option<DoorRow>> {
        one!(self.read(), DoorRow, "SELECT * FROM doors WHERE id = $1", id.clone())
    }

    /// A door by site and number.
    pub async fn door_by_number(&self, site_id: &SiteId, number: i64) -> Result<Option<DoorRow>> {
        one!(
            self.read(),
            DoorRow,
            "SELECT * FROM doors WHERE site_id = $1 AND door_number = $2",
            site_id.clone(),
            number
        )
    }

    /// A page of a site's doors.
    pub async fn doors(&self, site_id: &SiteId, page: &Page) -> Result<Vec<DoorRow>> {
        all!(
            self.read(),
            DoorRow,
            "SELECT * FROM doors WHERE site_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            site_id.clone(),
            page.after.clone(),
            page.limit
        )
    }
}
