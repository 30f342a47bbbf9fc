//! Sites: the building record, who can see it, and the policy residents read.

use crate::ids::SiteId;
use crate::service::Code;
use porter_protocol::{Certificate, LogSecret};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{client_key, new_id, now, text, Error, Kind, Paged, Principal, Result, Role, Service};
use crate::store::{self, Page};

/// A site.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SiteView {
    /// Id.
    pub id: SiteId,
    /// The protocol site number.
    pub site_number: u32,
    /// Name.
    pub name: String,
    /// Root public key, hex.
    pub root_key: String,
    /// Time zone, a POSIX TZ rule: pass it to `porter-root certify-issuer --zone`.
    pub zone: String,
    /// The site's log key (X25519, hex): pass it to `porter-root enroll-device --log-key` (or
    /// give it this record with `--site`) so the door masks holder ids in its log for this
    /// server alone.
    pub log_key: Option<String>,
}

impl From<store::SiteRow> for SiteView {
    fn from(r: store::SiteRow) -> Self {
        SiteView {
            id: r.id,
            site_number: r.site_number as u32,
            name: r.name,
            root_key: r.root_key,
            zone: r.zone,
            log_key: r.log_key,
        }
    }
}

/// Create a site.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSite {
    /// Name.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: String,
    /// The site number chosen by `porter-root init`.
    pub site_number: u32,
    /// The root public key, hex.
    #[schema(min_length = 64, max_length = 64, pattern = r"^[0-9a-fA-F]*$")]
    pub root_key: String,
    /// The site's time zone as a POSIX TZ rule (`CET-1CEST,M3.5.0,M10.5.0/3`, `UTC0`):
    /// required, the one source of the site's local time.
    #[schema(min_length = 1)]
    pub zone: String,
}

/// A carrier's place in the building's policy, as residents see it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PolicyEntry {
    /// Carrier name.
    pub carrier: String,
    /// Doors (empty: every door).
    pub doors: Vec<u16>,
    /// Most entries per grant.
    pub max_uses: i64,
    /// Longest grant, minutes.
    pub max_lifetime_minutes: i64,
    /// The issuer certificate's weekday mask (bit 0 = Monday), minutes from/to.
    #[schema(value_type = Option<Vec<u32>>, min_items = 3, max_items = 3)]
    pub hours: Option<(u8, u16, u16)>,
}

impl Service {
    pub(super) async fn site_for(&self, p: &Principal, site_id: &SiteId) -> Result<store::SiteRow> {
        let visible = match p {
            Principal::Operator { .. } => true,
            Principal::Manager { site, .. }
            | Principal::Resident { site, .. }
            | Principal::Device { site, .. } => site == site_id,
            Principal::Carrier { carrier, .. } | Principal::Driver { carrier, .. } => {
                let approval = self.store.approval(site_id, carrier).await?;
                approval.is_some_and(|a| a.revoked_at.is_none())
            }
        };
        if !visible {
            return Err(Error::not_found("site"));
        }
        self.store.site(site_id).await?.ok_or_else(|| Error::not_found("site"))
    }

    pub(super) async fn managed_site(
        &self,
        p: &Principal,
        site_id: &SiteId,
        what: &str,
    ) -> Result<store::SiteRow> {
        if p.role() != Role::Manager {
            return Err(Error::forbidden(what));
        }
        if !p.manages(site_id) {
            return Err(Error::not_found("site"));
        }
        self.store.site(site_id).await?.ok_or_else(|| Error::not_found("site"))
    }

    /// Creates a site (operator).
    pub async fn create_site(&self, p: &Principal, req: NewSite) -> Result<SiteView> {
        if p.role() != Role::Operator {
            return Err(Error::forbidden("create sites"));
        }
        text("name", &req.name, 200)?;
        client_key("root_key", &req.root_key)?;
        let zone = porter_protocol::TimeZone::parse_posix(&req.zone).map_err(|_| {
            Error::invalid(
                Code::InvalidZone,
                "zone must be a POSIX TZ rule such as CET-1CEST,M3.5.0,M10.5.0/3 or UTC0",
            )
        })?;
        let row = store::SiteRow {
            id: new_id("site"),
            site_number: i64::from(req.site_number),
            name: req.name,
            root_key: req.root_key.to_lowercase(),
            zone: zone.to_string(),
            created_at: now(),
            log_key: None,
            log_secret: None,
        };
        let (log_key, log_secret) = self.new_log_pair()?;
        let row = store::SiteRow { log_key: Some(log_key), log_secret: Some(log_secret), ..row };
        self.store.insert_site(&row).await?;
        Ok(row.into())
    }

    /// Lists sites: all for the operator, its own for a manager.
    pub async fn list_sites(&self, p: &Principal, page: &Page) -> Result<Paged<SiteView>> {
        let only = match p {
            Principal::Operator { .. } => None,
            Principal::Manager { site, .. } => Some(site),
            _ => return Err(Error::forbidden("list sites")),
        };
        let rows = self.store.sites(only, page).await?;
        Ok(Paged::of(rows.into_iter().map(SiteView::from).collect(), page, |s| s.id.clone()))
    }

    /// One site. A site made before log keys gets its pair here.
    pub async fn get_site(&self, p: &Principal, site_id: &SiteId) -> Result<SiteView> {
        let id = site_id;
        let site = self.site_for(p, id).await?;
        if site.log_key.is_some() {
            return Ok(site.into());
        }
        let (key, secret) = self.new_log_pair()?;
        self.store.set_site_log_key(id, &key, &secret).await?;
        Ok(self.store.site(id).await?.ok_or_else(|| Error::not_found("site"))?.into())
    }

    /// A new site log key pair: the public key (hex) and the secret as stored (sealed like
    /// issuer seeds when an issuer key secret is configured).
    fn new_log_pair(&self) -> Result<(String, String)> {
        let internal = || Error::new(Kind::Internal, Code::Internal, "no log key could be made");
        let seed: [u8; 32] = rand::random();
        let key = LogSecret::from_seed(seed).and_then(|s| s.log_key()).map_err(|_| internal())?;
        let key = hex::encode(key.0);
        let stored = self.store_seed(&key, &seed)?;
        Ok((key, stored))
    }

    /// The site's log secret, or `None` for a site that has none yet (its doors were enrolled
    /// without a log key and log holders in clear).
    pub(super) fn site_log_secret(&self, site: &store::SiteRow) -> Result<Option<LogSecret>> {
        let (Some(key), Some(stored)) = (&site.log_key, &site.log_secret) else {
            return Ok(None);
        };
        let seed = self.open_seed(key, stored)?;
        let secret = LogSecret::from_seed(seed).map_err(|_| {
            Error::new(Kind::Internal, Code::Internal, "the site's stored log secret is invalid")
        })?;
        Ok(Some(secret))
    }

    /// The site's delivery-access policy as residents see it: who may enter, where, how long.
    pub async fn policy(&self, p: &Principal, site_id: &SiteId) -> Result<Vec<PolicyEntry>> {
        if !matches!(p.role(), Role::Manager | Role::Resident | Role::Operator) {
            return Err(Error::forbidden("read the site policy"));
        }
        let site = self.site_for(p, site_id).await?;
        let page = Page { after: String::new(), limit: 1000 };
        let mut out = Vec::new();
        for a in self.store.approvals(&site.id, &page).await? {
            if a.revoked_at.is_some() {
                continue;
            }
            let carrier =
                self.store.carrier(&a.carrier_id).await?.map(|c| c.name).unwrap_or_default();
            let hours = match self.store.issuer(&a.issuer_id).await? {
                Some(store::IssuerRow { certificate: Some(c), .. }) => hex::decode(c)
                    .ok()
                    .and_then(|b| Certificate::decode(&b).ok().map(|c| c.claims().limits.hours))
                    .map(|h| (h.weekdays, h.from_minute, h.to_minute)),
                _ => None,
            };
            out.push(PolicyEntry {
                carrier,
                doors: a.doors.0,
                max_uses: a.max_uses,
                max_lifetime_minutes: a.max_lifetime_minutes,
                hours,
            });
        }
        Ok(out)
    }
}
