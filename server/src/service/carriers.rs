//! Carriers and their approvals at sites.

use crate::ids::{ApprovalId, CarrierId, IssuerId, SiteId};
use crate::service::Code;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{new_id, now, text, Error, Paged, Principal, Result, Role, Service};
use crate::store::{self, Page};

/// A carrier.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CarrierView {
    /// Id.
    pub id: CarrierId,
    /// Name.
    pub name: String,
}

/// A carrier's approval at a site.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ApprovalView {
    /// Id.
    pub id: ApprovalId,
    /// Site id.
    pub site_id: SiteId,
    /// Carrier id.
    pub carrier_id: CarrierId,
    /// Issuer id.
    pub issuer_id: IssuerId,
    /// Allowed door numbers; empty means every door.
    pub doors: Vec<u16>,
    /// Most entries per grant.
    pub max_uses: i64,
    /// Longest grant, minutes.
    pub max_lifetime_minutes: i64,
    /// Whether it was withdrawn.
    pub revoked: bool,
}

impl From<store::ApprovalRow> for ApprovalView {
    fn from(r: store::ApprovalRow) -> Self {
        ApprovalView {
            doors: r.doors.0,
            id: r.id,
            site_id: r.site_id,
            carrier_id: r.carrier_id,
            issuer_id: r.issuer_id,
            max_uses: r.max_uses,
            max_lifetime_minutes: r.max_lifetime_minutes,
            revoked: r.revoked_at.is_some(),
        }
    }
}

/// Create a carrier.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCarrier {
    /// Name.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: String,
}

/// Approve a carrier at a site.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApproval {
    /// Carrier id.
    pub carrier_id: CarrierId,
    /// The certified issuer that signs this carrier's grants here.
    pub issuer_id: IssuerId,
    /// Allowed doors; empty or absent means every door the certificate allows.
    #[serde(default)]
    pub doors: Vec<u16>,
    /// Most entries per grant.
    pub max_uses: u8,
    /// Longest grant, minutes.
    pub max_lifetime_minutes: u32,
}

impl Service {
    /// Creates a carrier (operator).
    pub async fn create_carrier(&self, p: &Principal, req: NewCarrier) -> Result<CarrierView> {
        if p.role() != Role::Operator {
            return Err(Error::forbidden("create carriers"));
        }
        text("name", &req.name, 200)?;
        let row = store::CarrierRow { id: new_id("car"), name: req.name, created_at: now() };
        self.store.insert_carrier(&row).await?;
        Ok(CarrierView { id: row.id, name: row.name })
    }

    /// Lists carriers: all for the operator and managers (to approve them), its own for a
    /// carrier.
    pub async fn list_carriers(&self, p: &Principal, page: &Page) -> Result<Paged<CarrierView>> {
        let only = match p {
            Principal::Operator { .. } | Principal::Manager { .. } => None,
            Principal::Carrier { carrier, .. } => Some(carrier),
            _ => return Err(Error::forbidden("list carriers")),
        };
        let rows = self.store.carriers(only, page).await?;
        let items = rows.into_iter().map(|c| CarrierView { id: c.id, name: c.name }).collect();
        Ok(Paged::of(items, page, |c: &CarrierView| c.id.clone()))
    }

    /// Approves a carrier at a site with limits (manager).
    pub async fn approve(
        &self,
        p: &Principal,
        site_id: &SiteId,
        req: NewApproval,
    ) -> Result<ApprovalView> {
        let site = self.managed_site(p, site_id, "approve carriers").await?;
        self.store.carrier(&req.carrier_id).await?.ok_or_else(|| Error::not_found("carrier"))?;
        let issuer = self.store.issuer(&req.issuer_id).await?.filter(|i| i.site_id == site.id);
        let issuer = issuer.ok_or_else(|| Error::not_found("issuer"))?;
        if issuer.certificate.is_none() || issuer.revoked_at.is_some() {
            return Err(Error::refused(
                Code::IssuerNotCertified,
                "the issuer has no certificate (or was revoked): upload one first",
            ));
        }
        let mut doors = req.doors.clone();
        doors.sort_unstable();
        doors.dedup();
        if doors.len() > porter_protocol::MAX_CERT_DOORS {
            return Err(Error::invalid(Code::TooManyDoors, "at most 16 doors per approval"));
        }
        if req.max_uses == 0 || req.max_uses > porter_protocol::MAX_GRANT_USES {
            return Err(Error::invalid(Code::InvalidUses, "max_uses must be 1..=32"));
        }
        if req.max_lifetime_minutes == 0 || req.max_lifetime_minutes > 24 * 60 {
            return Err(Error::invalid(
                Code::InvalidLifetime,
                "max_lifetime_minutes must be 1..=1440",
            ));
        }
        let row = store::ApprovalRow {
            id: new_id("apr"),
            site_id: site.id,
            carrier_id: req.carrier_id,
            issuer_id: req.issuer_id,
            doors: store::DoorList(doors),
            max_uses: i64::from(req.max_uses),
            max_lifetime_minutes: i64::from(req.max_lifetime_minutes),
            revoked_at: None,
            created_at: now(),
        };
        self.store.insert_approval(&row).await?;
        Ok(row.into())
    }

    /// Lists a site's approvals (manager).
    pub async fn list_approvals(
        &self,
        p: &Principal,
        site_id: &SiteId,
        page: &Page,
    ) -> Result<Paged<ApprovalView>> {
        self.managed_site(p, site_id, "list approvals").await?;
        let rows = self.store.approvals(site_id, page).await?;
        Ok(Paged::of(rows.into_iter().map(ApprovalView::from).collect(), page, |a| a.id.clone()))
    }

    /// Withdraws a carrier's approval (manager): no further grants.
    pub async fn withdraw_approval(
        &self,
        p: &Principal,
        site_id: &SiteId,
        approval_id: &ApprovalId,
    ) -> Result<()> {
        self.managed_site(p, site_id, "withdraw approvals").await?;
        // Looked up by id within the site: another site's approval is "not found", and a site
        // with any number of approvals finds each of them.
        if self.store.approval_by_id(site_id, approval_id).await?.is_none() {
            return Err(Error::not_found("approval"));
        }
        self.store.revoke_approval(approval_id, now()).await?;
        Ok(())
    }
}
