//! Doors: enrolment under the site root.

use crate::ids::{DoorId, SiteId};
use crate::service::Code;
use porter_protocol::{Enrolment, MAX_ENROLMENT_LEN};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    client_key, hex_bytes, new_id, now, protocol, stored_key, text, Error, Paged, Principal,
    Result, Service,
};
use crate::store::{self, Page};

/// A door.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DoorView {
    /// Id.
    pub id: DoorId,
    /// Site id.
    pub site_id: SiteId,
    /// Door number.
    pub door_number: u16,
    /// Name.
    pub name: String,
    /// Device key, hex.
    pub device_key: String,
}

impl From<store::DoorRow> for DoorView {
    fn from(r: store::DoorRow) -> Self {
        DoorView {
            id: r.id,
            site_id: r.site_id,
            door_number: r.door_number as u16,
            name: r.name,
            device_key: r.device_key,
        }
    }
}

/// Enrol a door.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDoor {
    /// Name.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: String,
    /// The root-signed enrolment from `porter-root enroll-device`, hex.
    #[schema(min_length = 2, max_length = 320, pattern = r"^([0-9a-fA-F]{2})+$")]
    pub enrolment: String,
}

impl Service {
    /// Enrols a door from a root-signed enrolment (manager).
    pub async fn add_door(
        &self,
        p: &Principal,
        site_id: &SiteId,
        req: NewDoor,
    ) -> Result<DoorView> {
        let site = self.managed_site(p, site_id, "enrol doors").await?;
        text("name", &req.name, 200)?;
        let bytes = hex_bytes("enrolment", &req.enrolment, MAX_ENROLMENT_LEN)?;
        let root = stored_key(&site.root_key)?;
        let enrolment = Enrolment::decode_verified(&bytes, &root)
            .map_err(|e| protocol(Code::InvalidEnrolment, "enrolment", e))?;
        if i64::from(enrolment.site.0) != site.site_number {
            return Err(Error::invalid(Code::WrongSite, "the enrolment names another site"));
        }
        client_key("enrolment device key", &hex::encode(enrolment.device.0))?;
        if let Some(log_key) = enrolment.log_key {
            if site.log_key.as_deref() != Some(hex::encode(log_key.0).as_str()) {
                return Err(Error::invalid(
                    Code::WrongLogKey,
                    "the enrolment names a log key that is not this site's, so the server could                      not read the door's log: enrol again with the log_key of GET /v1/sites/{id}",
                ));
            }
        }
        let row = store::DoorRow {
            id: new_id("door"),
            site_id: site.id,
            door_number: i64::from(enrolment.door.0),
            name: req.name,
            device_key: hex::encode(enrolment.device.0),
            enrolment: hex::encode(&bytes),
            created_at: now(),
        };
        self.store.insert_door(&row).await?;
        Ok(row.into())
    }

    /// Lists a site's doors (manager).
    pub async fn list_doors(
        &self,
        p: &Principal,
        site_id: &SiteId,
        page: &Page,
    ) -> Result<Paged<DoorView>> {
        self.managed_site(p, site_id, "list doors").await?;
        let rows = self.store.doors(site_id, page).await?;
        Ok(Paged::of(rows.into_iter().map(DoorView::from).collect(), page, |d| d.id.clone()))
    }
}
