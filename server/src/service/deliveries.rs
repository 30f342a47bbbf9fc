//! Deliveries: announced by carriers, seen by their drivers and the unit's residents.

use crate::ids::{CarrierId, DeliveryId, SiteId, UnitId};
use crate::service::Code;
use porter_protocol::PackageCommitment;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{new_id, now, Error, Paged, Principal, Result, Role, Service};
use crate::store::{self, DeliveryStatus, EventKind, Page, Store};

/// A delivery. The tracking number is not in it: the server never kept it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// Id.
    pub id: DeliveryId,
    /// Site id.
    pub site_id: SiteId,
    /// Carrier id.
    pub carrier_id: CarrierId,
    /// Unit id.
    pub unit_id: UnitId,
    /// The package commitment carried by grants, hex.
    pub package: String,
    /// Window start.
    pub window_start: i64,
    /// Window end.
    pub window_end: i64,
    /// Open or cancelled.
    pub status: DeliveryStatus,
    /// When a door first opened for it.
    pub entered_at: Option<i64>,
}

impl From<store::DeliveryRow> for DeliveryView {
    fn from(r: store::DeliveryRow) -> Self {
        DeliveryView {
            id: r.id,
            site_id: r.site_id,
            carrier_id: r.carrier_id,
            unit_id: r.unit_id,
            package: r.package,
            window_start: r.window_start,
            window_end: r.window_end,
            status: r.status,
            entered_at: r.entered_at,
        }
    }
}

/// Announce a delivery.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDelivery {
    /// Site id.
    pub site_id: SiteId,
    /// Unit label at that site.
    pub unit: String,
    /// The tracking number: hashed with a fresh salt, then forgotten.
    #[schema(min_length = 1, max_length = 64)]
    pub tracking_number: String,
    /// Window start.
    pub window_start: i64,
    /// Window end.
    pub window_end: i64,
}

impl Service {
    /// Announces a delivery (carrier approved at the site). The tracking number is hashed with
    /// a fresh salt into the package commitment and never stored. Residents are told in the
    /// same transaction.
    pub async fn announce(&self, p: &Principal, req: NewDelivery) -> Result<DeliveryView> {
        let Principal::Carrier { carrier, .. } = p else {
            return Err(Error::forbidden("announce deliveries"));
        };
        let site = self.site_for(p, &req.site_id).await?;
        let unit = self.store.unit_by_label(&site.id, &req.unit).await?;
        let unit = unit.ok_or_else(|| Error::not_found("unit"))?;
        let length = req.tracking_number.chars().count();
        if length == 0 || length > 64 {
            return Err(Error::invalid(
                Code::InvalidTracking,
                "tracking_number must be 1..=64 characters",
            ));
        }
        if req.window_end <= req.window_start
            || req.window_end.saturating_sub(req.window_start) > 7 * 86_400
        {
            return Err(Error::invalid(
                Code::InvalidWindow,
                "window_end must be after window_start, and the window at most 7 days",
            ));
        }
        if req.window_end <= now() {
            return Err(Error::invalid(Code::InvalidWindow, "the delivery window is already over"));
        }
        let salt: [u8; 16] = rand::random();
        let package = PackageCommitment::new(&salt, req.tracking_number.as_bytes());
        let row = store::DeliveryRow {
            id: new_id("dlv"),
            site_id: site.id.clone(),
            carrier_id: carrier.clone(),
            unit_id: unit.id.clone(),
            tracking_salt: hex::encode(salt),
            package: hex::encode(package.0),
            window_start: req.window_start,
            window_end: req.window_end,
            status: DeliveryStatus::Open,
            entered_at: None,
            grants_issued: 0,
            created_at: now(),
        };
        let carrier_name = self.store.carrier(&row.carrier_id).await?.map(|c| c.name);
        let mut tx = self.store.begin().await?;
        Store::insert_delivery(&mut tx, &row).await?;
        let body = serde_json::json!({
            "delivery_id": row.id,
            "unit_id": row.unit_id,
            "carrier": carrier_name,
            "window_start": row.window_start,
            "window_end": row.window_end,
        });
        self.notify(&mut tx, &site.id, &unit.id, EventKind::DeliveryAnnounced, body).await?;
        tx.commit().await?;
        // The driver's first grant for it then needs no read of the row (a grant's commit
        // claims the delivery under its row lock whatever this process remembers).
        self.issuing.rows.deliveries.keep(row.id.clone(), row.clone());
        Ok(row.into())
    }

    async fn delivery_for(&self, p: &Principal, id: &DeliveryId) -> Result<store::DeliveryRow> {
        let d = self.store.delivery(id).await?.ok_or_else(|| Error::not_found("delivery"))?;
        let visible = match p {
            Principal::Carrier { carrier, .. } | Principal::Driver { carrier, .. } => {
                *carrier == d.carrier_id
            }
            Principal::Resident { unit, .. } => *unit == d.unit_id,
            Principal::Manager { site, .. } => *site == d.site_id,
            Principal::Operator { .. } | Principal::Device { .. } => false,
        };
        if !visible {
            return Err(Error::not_found("delivery"));
        }
        Ok(d)
    }

    /// One delivery (its carrier, driver, resident or site manager).
    pub async fn get_delivery(&self, p: &Principal, id: &DeliveryId) -> Result<DeliveryView> {
        Ok(self.delivery_for(p, id).await?.into())
    }

    /// Lists deliveries: a carrier's own, or a resident's unit's.
    pub async fn list_deliveries(&self, p: &Principal, page: &Page) -> Result<Paged<DeliveryView>> {
        let rows = match p {
            Principal::Carrier { carrier, .. } | Principal::Driver { carrier, .. } => {
                self.store.deliveries(Some(carrier), None, page).await?
            }
            Principal::Resident { unit, .. } => {
                self.store.deliveries(None, Some(unit), page).await?
            }
            _ => return Err(Error::forbidden("list deliveries")),
        };
        Ok(Paged::of(rows.into_iter().map(DeliveryView::from).collect(), page, |d| d.id.clone()))
    }

    /// Cancels a delivery (its carrier): no further grants.
    pub async fn cancel_delivery(&self, p: &Principal, id: &DeliveryId) -> Result<DeliveryView> {
        if p.role() != Role::Carrier {
            return Err(Error::forbidden("cancel deliveries"));
        }
        let d = self.delivery_for(p, id).await?;
        self.store.set_delivery_status(&d.id, DeliveryStatus::Cancelled).await?;
        self.get_delivery(p, id).await
    }
}
