//! Units and their residents: opt-out and notifications.

use crate::ids::{NotificationId, ResidentId, SiteId, UnitId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{new_id, now, text, Code, Error, Paged, Principal, Result, Role, Service};
use crate::store::{self, EventKind, Page, Store, TokenOwner};

/// The most residents one unit may have: each delivery and each entry to the unit notifies
/// every one of them, and the manager's residents page shows them all, so the number bounds
/// the work one manager can cause per event (a household, even a shared flat, is far fewer).
pub const MAX_RESIDENTS_PER_UNIT: i64 = 16;

/// A unit.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UnitView {
    /// Id.
    pub id: UnitId,
    /// Site id.
    pub site_id: SiteId,
    /// Label.
    pub label: String,
}

/// A resident.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ResidentView {
    /// Id.
    pub id: ResidentId,
    /// Unit id.
    pub unit_id: UnitId,
    /// Name.
    pub display_name: String,
    /// Whether in-building delivery is refused.
    pub opted_out: bool,
}

impl From<store::UnitRow> for UnitView {
    fn from(u: store::UnitRow) -> Self {
        UnitView { id: u.id, site_id: u.site_id, label: u.label }
    }
}

impl From<store::ResidentRow> for ResidentView {
    fn from(r: store::ResidentRow) -> Self {
        ResidentView {
            id: r.id,
            unit_id: r.unit_id,
            display_name: r.display_name,
            opted_out: r.opted_out,
        }
    }
}

/// A notification.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct NotificationView {
    /// Id.
    pub id: NotificationId,
    /// What happened.
    pub kind: EventKind,
    /// Details.
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
    /// When.
    pub created_at: i64,
}

/// Create a unit.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUnit {
    /// Label ("4B").
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub label: String,
}

/// Add a resident.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewResident {
    /// Name.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub display_name: String,
}

/// Set the opt-out.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptOut {
    /// Whether in-building delivery is refused.
    pub opted_out: bool,
}

impl Service {
    /// Creates a unit (manager).
    pub async fn create_unit(
        &self,
        p: &Principal,
        site_id: &SiteId,
        req: NewUnit,
    ) -> Result<UnitView> {
        let site = self.managed_site(p, site_id, "create units").await?;
        text("label", &req.label, 64)?;
        let row = store::UnitRow {
            id: new_id("unit"),
            site_id: site.id,
            label: req.label,
            created_at: now(),
        };
        self.store.insert_unit(&row).await?;
        Ok(UnitView::from(row))
    }

    /// Lists a site's units (manager).
    pub async fn list_units(
        &self,
        p: &Principal,
        site_id: &SiteId,
        page: &Page,
    ) -> Result<Paged<UnitView>> {
        self.managed_site(p, site_id, "list units").await?;
        let rows = self.store.units(site_id, page).await?;
        let items = rows.into_iter().map(UnitView::from);
        Ok(Paged::of(items.collect(), page, |u: &UnitView| u.id.clone()))
    }

    /// Adds a resident to a unit (manager).
    pub async fn add_resident(
        &self,
        p: &Principal,
        site_id: &SiteId,
        unit_id: &UnitId,
        req: NewResident,
    ) -> Result<ResidentView> {
        let site = self.managed_site(p, site_id, "add residents").await?;
        let unit = self.store.unit(unit_id).await?.filter(|u| u.site_id == site.id);
        let unit = unit.ok_or_else(|| Error::not_found("unit"))?;
        text("display_name", &req.display_name, 200)?;
        let row = store::ResidentRow {
            id: new_id("res"),
            unit_id: unit.id,
            display_name: req.display_name,
            opted_out: false,
            created_at: now(),
        };
        if !self.store.insert_resident_within(&row, MAX_RESIDENTS_PER_UNIT).await? {
            return Err(Error::conflict(
                Code::TooManyResidents,
                format!(
                    "a unit has at most {MAX_RESIDENTS_PER_UNIT} residents: remove one who moved \
                     out first"
                ),
            ));
        }
        Ok(row.into())
    }

    /// Removes a resident (manager): their tokens are revoked, their notifications deleted,
    /// and they are told of nothing more.
    pub async fn remove_resident(
        &self,
        p: &Principal,
        resident_id: &ResidentId,
    ) -> Result<ResidentView> {
        if p.role() != Role::Manager {
            return Err(Error::forbidden("remove residents"));
        }
        let resident = self.store.resident(resident_id).await?;
        let resident = resident.ok_or_else(|| Error::not_found("resident"))?;
        let unit = self.store.unit(&resident.unit_id).await?.filter(|u| p.manages(&u.site_id));
        unit.ok_or_else(|| Error::not_found("resident"))?;
        let mut tx = self.store.begin().await?;
        Store::revoke_tokens_of(&mut tx, TokenOwner::Resident(&resident.id), now()).await?;
        Store::delete_resident(&mut tx, &resident.id).await?;
        tx.commit().await?;
        Ok(resident.into())
    }

    /// The calling resident.
    pub async fn me(&self, p: &Principal) -> Result<ResidentView> {
        let Principal::Resident { resident, .. } = p else {
            return Err(Error::forbidden("read a resident profile"));
        };
        let r = self.store.resident(resident).await?;
        Ok(r.ok_or_else(|| Error::not_found("resident"))?.into())
    }

    /// Sets the calling resident's opt-out from in-building delivery.
    pub async fn set_opt_out(&self, p: &Principal, req: OptOut) -> Result<ResidentView> {
        let Principal::Resident { resident, .. } = p else {
            return Err(Error::forbidden("set an opt-out"));
        };
        self.store.set_opt_out(resident, req.opted_out).await?;
        self.me(p).await
    }

    /// The calling resident's notifications.
    pub async fn my_notifications(
        &self,
        p: &Principal,
        page: &Page,
    ) -> Result<Paged<NotificationView>> {
        let Principal::Resident { resident, .. } = p else {
            return Err(Error::forbidden("read notifications"));
        };
        let rows = self.store.notifications(resident, page).await?;
        let items = rows
            .into_iter()
            .map(|n| NotificationView {
                id: n.id,
                kind: n.kind,
                body: serde_json::from_str(&n.body).unwrap_or(serde_json::Value::Null),
                created_at: n.created_at,
            })
            .collect();
        Ok(Paged::of(items, page, |n: &NotificationView| n.id.clone()))
    }
}
