//! The audit's reading side: alarms and the access log.

use crate::ids::SiteId;
use serde::Serialize;
use utoipa::ToSchema;

use super::{Error, Paged, Principal, Result, Role, Service};
use crate::store::{AlarmKind, Page};

/// An entry through a door, as residents see it: carrier, door and time only.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct EntryView {
    /// Door id.
    pub door_id: String,
    /// Log sequence.
    pub sequence: i64,
    /// Carrier name, if the entry matched a grant.
    pub carrier: Option<String>,
    /// Whether it matched an issued grant.
    pub matched: bool,
    /// Door time.
    pub at: i64,
}

/// An alarm.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AlarmView {
    /// Id.
    pub id: String,
    /// Door id.
    pub door_id: Option<String>,
    /// What the alarm is about.
    pub kind: AlarmKind,
    /// What was seen.
    pub detail: String,
    /// When.
    pub created_at: i64,
}

impl Service {
    /// A site's alarms (manager).
    pub async fn list_alarms(
        &self,
        p: &Principal,
        site_id: &SiteId,
        page: &Page,
    ) -> Result<Paged<AlarmView>> {
        self.managed_site(p, site_id, "list alarms").await?;
        let rows = self.store.alarms(site_id, page).await?;
        let items = rows
            .into_iter()
            .map(|a| AlarmView {
                id: a.id,
                door_id: a.door_id.map(String::from),
                kind: a.kind,
                detail: a.detail,
                created_at: a.created_at,
            })
            .collect();
        Ok(Paged::of(items, page, |a: &AlarmView| a.id.clone()))
    }

    /// Every entry into the building: carrier, door and time (manager and residents).
    pub async fn list_entries(
        &self,
        p: &Principal,
        site_id: &SiteId,
        page: &Page,
    ) -> Result<Paged<EntryView>> {
        if !matches!(p.role(), Role::Manager | Role::Resident | Role::Operator) {
            return Err(Error::forbidden("read the access log"));
        }
        let site = self.site_for(p, site_id).await?;
        let rows = self.store.admissions(&site.id, page).await?;
        let mut items = Vec::with_capacity(rows.len());
        for a in rows {
            let carrier = match &a.carrier_id {
                Some(c) => self.store.carrier(c).await?.map(|c| c.name),
                None => None,
            };
            items.push(EntryView {
                door_id: a.door_id.into(),
                sequence: a.sequence,
                matched: a.grant_id.is_some(),
                carrier,
                at: a.at,
            });
        }
        Ok(Paged::of(items, page, |e: &EntryView| format!("{}:{}", e.door_id, e.sequence)))
    }
}
