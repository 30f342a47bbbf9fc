//! Drivers: a carrier's phones, by holder key.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{client_key, new_id, now, text, Error, Paged, Principal, Result, Role, Service};
use crate::store::{self, Page};

/// A driver.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DriverView {
    /// Id.
    pub id: String,
    /// Carrier id.
    pub carrier_id: String,
    /// Holder key, hex.
    pub holder_key: String,
    /// Label.
    pub label: String,
    /// Whether the carrier revoked it.
    pub revoked: bool,
}

impl From<store::DriverRow> for DriverView {
    fn from(r: store::DriverRow) -> Self {
        DriverView {
            id: r.id,
            carrier_id: r.carrier_id,
            holder_key: r.holder_key,
            label: r.label,
            revoked: r.revoked_at.is_some(),
        }
    }
}

/// Register a driver.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDriver {
    /// The phone's Ed25519 public key, hex.
    pub holder_key: String,
    /// The carrier's label.
    pub label: String,
}

impl Service {
    /// Registers a driver's holder key (carrier). Small-order and non-canonical keys are refused.
    pub async fn register_driver(&self, p: &Principal, req: NewDriver) -> Result<DriverView> {
        if !p.is(Role::Carrier) {
            return Err(Error::forbidden("register drivers"));
        }
        let carrier = Principal::field(&p.carrier_id)?;
        client_key("holder_key", &req.holder_key)?;
        text("label", &req.label, 200)?;
        let row = store::DriverRow {
            id: new_id("drv"),
            carrier_id: carrier.into(),
            holder_key: req.holder_key.to_lowercase(),
            label: req.label,
            revoked_at: None,
            created_at: now(),
        };
        self.store.insert_driver(&row).await?;
        Ok(row.into())
    }

    /// Lists a carrier's drivers (carrier).
    pub async fn list_drivers(&self, p: &Principal, page: &Page) -> Result<Paged<DriverView>> {
        if !p.is(Role::Carrier) {
            return Err(Error::forbidden("list drivers"));
        }
        let rows = self.store.drivers(Principal::field(&p.carrier_id)?, page).await?;
        Ok(Paged::of(rows.into_iter().map(DriverView::from).collect(), page, |d| d.id.clone()))
    }

    /// Retires a driver everywhere (carrier): no further grants; existing ones expire within
    /// minutes. Sites that must stop them sooner revoke the driver in their door state.
    pub async fn retire_driver(&self, p: &Principal, id: &str) -> Result<DriverView> {
        if !p.is(Role::Carrier) {
            return Err(Error::forbidden("retire drivers"));
        }
        let d =
            self.store.driver(id).await?.filter(|d| p.carrier_id.as_deref() == Some(&d.carrier_id));
        let d = d.ok_or_else(|| Error::not_found("driver"))?;
        self.store.retire_driver(&d.id, now()).await?;
        let d = self.store.driver(id).await?.ok_or_else(|| Error::not_found("driver"))?;
        Ok(d.into())
    }
}
