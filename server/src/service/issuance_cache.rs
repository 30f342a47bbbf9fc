//! A site's rarely changing grant facts (the site, its approvals and issuers, its revocations,
//! the units whose residents opted out, its doors and latest door state), read once per change
//! instead of once per grant.
//!
//! Every entry carries the site's change counter (`site_versions`, bumped by database triggers
//! in the transaction of any change, by any process or by hand) as read *before* the facts, so
//! the facts are at least as new as their version. The group commit reads the counters again
//! inside its transaction and sends back a grant decided on an older version
//! (`Committed::Stale`); a refusal decided on cached facts is confirmed against the counter
//! before it is returned. So a grant requested after a change committed is decided on facts
//! that include it, whichever process made the change.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use crate::ids::{CarrierId, DriverId, IssuerId, SiteId, UnitId};
use crate::store::{self, RevocationKind, Store};

/// Sites kept before the cache is emptied (a process serves a few thousand at most).
const MAX_SITES: usize = 4096;

/// What a grant decision needs of a site, as of `version`.
#[derive(Debug)]
pub(crate) struct SiteFacts {
    /// The site's change counter, read before everything below.
    pub version: i64,
    /// The site.
    pub site: store::SiteRow,
    /// Approvals by carrier id, withdrawn ones included.
    pub approvals: HashMap<CarrierId, store::ApprovalRow>,
    /// Issuers by id, revoked ones included.
    pub issuers: HashMap<IssuerId, store::IssuerRow>,
    /// Drivers the site revoked.
    pub revoked_drivers: HashSet<DriverId>,
    /// Issuers the site revoked.
    pub revoked_issuers: HashSet<IssuerId>,
    /// Units where a resident refuses in-building delivery.
    pub opted_out_units: HashSet<UnitId>,
    /// Door numbers enrolled.
    pub enrolled: Vec<u16>,
    /// The latest signed door state, if any was uploaded.
    pub latest_state: Option<store::DoorStateRow>,
}

impl SiteFacts {
    /// Reads the facts of `site_id`: its counter first, then the rows (each at least as new).
    /// None if the site does not exist.
    async fn load(store: &Store, site_id: &SiteId) -> store::Result<Option<SiteFacts>> {
        let version = store.site_version(site_id).await?;
        let Some(site) = store.site(site_id).await? else { return Ok(None) };
        let approvals = store.approvals_of_site(site_id).await?;
        let issuers = store.issuers_of_site(site_id).await?;
        let mut revoked_drivers = HashSet::new();
        let mut revoked_issuers = HashSet::new();
        for (kind, target) in store.revoked_targets(site_id).await? {
            if kind == RevocationKind::Driver.as_str() {
                revoked_drivers.insert(DriverId::from(target));
            } else if kind == RevocationKind::Issuer.as_str() {
                revoked_issuers.insert(IssuerId::from(target));
            }
        }
        let opted_out_units = store.opted_out_units(site_id).await?.into_iter().collect();
        let enrolled = store.door_numbers(site_id).await?;
        let latest_state = store.latest_door_state(site_id).await?;
        Ok(Some(SiteFacts {
            version,
            site,
            approvals: approvals.into_iter().map(|a| (a.carrier_id.clone(), a)).collect(),
            issuers: issuers.into_iter().map(|i| (i.id.clone(), i)).collect(),
            revoked_drivers,
            revoked_issuers,
            opted_out_units,
            // Door numbers are 1..=65535 (checked at enrolment); anything else is no door.
            enrolled: enrolled.into_iter().filter_map(|n| u16::try_from(n).ok()).collect(),
            latest_state,
        }))
    }
}

/// The site facts of this process, by site id.
#[derive(Debug, Default)]
pub(crate) struct SiteFactsCache {
    sites: Mutex<HashMap<SiteId, Arc<SiteFacts>>>,
}

impl SiteFactsCache {
    /// The cached facts of `site_id`, if any.
    pub fn cached(&self, site_id: &SiteId) -> Option<Arc<SiteFacts>> {
        self.sites.lock().unwrap_or_else(|p| p.into_inner()).get(site_id).cloned()
    }

    /// Reads the facts of `site_id` afresh and keeps them (unless a newer version is kept).
    pub async fn load(
        &self,
        store: &Store,
        site_id: &SiteId,
    ) -> store::Result<Option<Arc<SiteFacts>>> {
        let Some(facts) = SiteFacts::load(store, site_id).await? else {
            self.forget(site_id);
            return Ok(None);
        };
        let facts = Arc::new(facts);
        let mut sites = self.sites.lock().unwrap_or_else(|p| p.into_inner());
        match sites.get(site_id) {
            Some(kept) if kept.version > facts.version => Ok(Some(kept.clone())),
            _ => {
                if sites.len() >= MAX_SITES {
                    sites.clear();
                }
                sites.insert(site_id.clone(), facts.clone());
                Ok(Some(facts))
            }
        }
    }

    /// The facts of `site_id`: cached, or read on a miss.
    pub async fn get(
        &self,
        store: &Store,
        site_id: &SiteId,
    ) -> store::Result<Option<Arc<SiteFacts>>> {
        match self.cached(site_id) {
            Some(facts) => Ok(Some(facts)),
            None => self.load(store, site_id).await,
        }
    }

    /// The facts of `site_id` as of the database's current version: the cached ones if their
    /// version is still the site's, read afresh otherwise.
    pub async fn current(
        &self,
        store: &Store,
        site_id: &SiteId,
    ) -> store::Result<Option<Arc<SiteFacts>>> {
        let version = store.site_version(site_id).await?;
        match self.cached(site_id) {
            Some(facts) if facts.version == version => Ok(Some(facts)),
            _ => self.load(store, site_id).await,
        }
    }

    /// Drops the facts of `site_id` (they are older than the database's).
    pub fn forget(&self, site_id: &SiteId) {
        self.sites.lock().unwrap_or_else(|p| p.into_inner()).remove(site_id);
    }
}
