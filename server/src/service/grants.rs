//! Grant issuance: the rules that make a grant exist only for a real delivery.

use crate::ids::{self, CarrierId, DeliveryId, DriverId, GrantId, IssuerId};
use crate::service::Code;
use porter_protocol::{
    Certificate, DoorState, Grant, PackageCommitment, SigningKey, SiteId, MAX_GRANT_LEN,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::grant_writer::{Committed, Pending};
use super::issuance;
use super::{hex_array, new_id, now, stored_key, Error, Paged, Principal, Result, Role, Service};
use crate::store::{self, Page};

/// A driver's request for a grant for one delivery.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    /// The doors to open; absent: every door the approval allows (at most 4).
    #[serde(default)]
    pub doors: Vec<u16>,
    /// Entries per door, 1..=the approval's and certificate's limit.
    pub uses: u8,
    /// Lifetime in minutes, within the approval's and certificate's limit.
    pub lifetime_minutes: u32,
}

/// An idempotency key and the hash of the request body it came with.
#[derive(Clone, Debug)]
pub struct Idempotency {
    /// The client's `Idempotency-Key`.
    pub key: String,
    /// SHA-256 of the body, hex.
    pub request_hash: String,
}

/// An issued grant and everything the phone carries to the door.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct IssuedGrant {
    /// Id.
    pub id: GrantId,
    /// The sealed grant, hex.
    pub grant: String,
    /// The issuer certificate, hex.
    pub certificate: String,
    /// The newest signed door state, hex, if any: carry it too.
    pub door_state: Option<String>,
    /// First serial (the grant owns serial .. serial + uses).
    pub serial: u64,
    /// Entries per door.
    pub uses: u8,
    /// Doors.
    pub doors: Vec<u16>,
    /// Validity start.
    pub not_before: u32,
    /// Validity end.
    pub not_after: u32,
}

/// The most grants one delivery yields: a driver may lose one and ask again, but a delivery
/// is one trip, not a pass for its whole window.
pub const MAX_GRANTS_PER_DELIVERY: i64 = 4;

/// How long an idempotency key's answer is kept and replayed, in seconds (Stripe's 24 hours).
pub const IDEMPOTENCY_TTL: i64 = 24 * 3600;

/// A key reserved longer ago than this belongs to a request that died (a crash, a killed
/// process) and is taken over, in seconds.
pub const IDEMPOTENCY_IN_FLIGHT_TIMEOUT: i64 = 60;

/// Decisions a grant request may take when its site's facts change under it (a change per
/// attempt would be a site changing several times a millisecond).
const ATTEMPTS: usize = 4;

fn refused(code: Code, message: impl Into<String>) -> Error {
    Error::refused(code, message)
}

impl Service {
    /// Issues a grant to the calling driver for delivery `delivery_id`. Refused unless the
    /// delivery is open and inside its window, the driver's carrier is approved at the site,
    /// the issuer is certified and the request within the certificate's and the approval's
    /// limits, no resident of the unit opted out, and nothing in the chain is revoked.
    ///
    /// With an idempotency key, the key's record is written in the grant's own transaction,
    /// and a request repeating a key gets the grant first issued under it.
    pub async fn issue_grant(
        &self,
        p: &Principal,
        delivery_id: &DeliveryId,
        req: GrantRequest,
        idem: Option<Idempotency>,
    ) -> Result<IssuedGrant> {
        let result = self.issue_grant_inner(p, delivery_id, req, idem).await;
        match &result {
            Ok(_) => self.metrics().grants_issued.inc(),
            Err(e) if e.kind == super::Kind::Refused => self.metrics().grants_refused.inc(),
            Err(_) => {}
        }
        result
    }

    /// The grant first issued under this idempotency key, if any; refused if the key came
    /// with another body.
    pub async fn replayed_grant(
        &self,
        p: &Principal,
        idem: &Idempotency,
    ) -> Result<Option<IssuedGrant>> {
        // The caller may have been authenticated from memory: no replay to a revoked token.
        self.confirm_caller(p).await?;
        let (ttl, in_flight) = (IDEMPOTENCY_TTL, IDEMPOTENCY_IN_FLIGHT_TIMEOUT);
        self.store().expire_idempotent(p.token_id(), &idem.key, now(), ttl, in_flight).await?;
        match self.store().idempotent(p.token_id(), &idem.key).await? {
            Some(_) => self.replay_grant(p, idem).await.map(Some),
            None => Ok(None),
        }
    }

    async fn replay_grant(&self, p: &Principal, idem: &Idempotency) -> Result<IssuedGrant> {
        let stored = self.store().idempotent(p.token_id(), &idem.key).await?;
        let stored = stored.ok_or_else(|| {
            Error::conflict(Code::IdempotencyRace, "a request with this key is in flight: retry")
        })?;
        if stored.request_hash != idem.request_hash {
            return Err(Error::conflict(
                Code::IdempotencyKeyReused,
                "this Idempotency-Key was used with another method, path or body: use a fresh key",
            ));
        }
        if stored.status == 0 {
            return Err(Error::conflict(
                Code::IdempotencyInFlight,
                "a request with this Idempotency-Key is still being processed: retry in a moment",
            ));
        }
        serde_json::from_str(&stored.body).map_err(|_| {
            Error::new(super::Kind::Internal, Code::Internal, "the stored answer is unreadable")
        })
    }

    /// Loads everything the decision needs: the driver and the delivery, and the site's rarely
    /// changing facts with their version, from this process's memory, or (`fresh`) the rows
    /// read again and the facts confirmed current against the site's change counter. A stored
    /// door state that cannot be read is an error (503), never "no door state": issuing
    /// without the revocations it carries would hand out grants the site has revoked.
    async fn grant_facts(
        &self,
        p: &Principal,
        delivery_id: &DeliveryId,
        fresh: bool,
    ) -> Result<(issuance::Facts, i64)> {
        let store = self.store();
        let Principal::Driver { driver, .. } = p else {
            return Err(Error::forbidden("request grants (only a driver's phone may)"));
        };
        let driver = self.grant_driver(driver, fresh).await?;
        let delivery = self.grant_delivery(delivery_id, fresh).await?;
        if delivery.carrier_id != driver.carrier_id {
            return Err(Error::not_found("delivery"));
        }
        let (driver, delivery) = ((*driver).clone(), (*delivery).clone());
        let sites = &self.issuing.sites;
        let site_id = &delivery.site_id;
        let facts = if fresh {
            sites.current(store, site_id).await?
        } else {
            sites.get(store, site_id).await?
        };
        let s = facts.ok_or_else(|| Error::not_found("site"))?;
        let site = &s.site;
        let driver_revoked_here = s.revoked_drivers.contains(&driver.id);
        let approval = s.approvals.get(&driver.carrier_id).cloned();
        let issuer = approval.as_ref().and_then(|a| s.issuers.get(&a.issuer_id)).cloned();
        let issuer_revoked_here =
            issuer.as_ref().is_some_and(|i| s.revoked_issuers.contains(&i.id));
        let root = stored_key(&site.root_key)?;
        // Verified once per (certificate, root), not once per grant.
        let cert = issuer.as_ref().and_then(|i| i.certificate.as_deref()).and_then(|hex| {
            let verified = self.issuing.decoded.certificate(hex, &site.root_key, || {
                let bytes = hex::decode(hex).ok()?;
                Certificate::decode_verified(&bytes, &root).ok()
            });
            verified.map(|c| (*c).clone())
        });
        let opted_out = s.opted_out_units.contains(&delivery.unit_id);
        let site_number = SiteId(site.site_number as u32);
        let state = match &s.latest_state {
            None => DoorState::genesis(site_number),
            Some(row) => {
                let decoded = self.issuing.decoded.door_state(&row.state, || {
                    let bytes = hex::decode(&row.state).ok()?;
                    DoorState::decode(&bytes).ok().map(|s| s.claims().clone())
                });
                decoded.map(|s| (*s).clone()).ok_or_else(|| {
                    tracing::error!(site = %site.id, sequence = row.sequence, "stored door state unreadable");
                    Error::new(
                        super::Kind::Internal,
                        Code::DoorStateUnreadable,
                        "the site's stored door state cannot be read; no grant is issued until a manager uploads a new one",
                    )
                })?
            }
        };
        let holder = stored_key(&driver.holder_key)?;
        let package = PackageCommitment(hex_array::<32>("package", &delivery.package)?);
        let facts = issuance::Facts {
            driver,
            driver_revoked_here,
            delivery,
            site: site.clone(),
            approval,
            issuer,
            issuer_revoked_here,
            cert,
            opted_out,
            enrolled: s.enrolled.clone(),
            state,
            state_hex: s.latest_state.as_ref().map(|row| row.state.clone()),
            holder,
            package,
        };
        Ok((facts, s.version))
    }

    /// The issuer's signing key, opened and expanded once per stored key.
    fn issuer_key(&self, issuer: &store::IssuerRow) -> Result<std::sync::Arc<SigningKey>> {
        self.issuing.decoded.issuer_key(&issuer.public_key, &issuer.secret_seed, || {
            let seed = self.open_seed(&issuer.public_key, &issuer.secret_seed)?;
            SigningKey::from_seed(seed).map_err(|_| {
                Error::new(
                    super::Kind::Internal,
                    Code::Internal,
                    "the stored issuer key is unusable",
                )
            })
        })
    }

    async fn issue_grant_inner(
        &self,
        p: &Principal,
        delivery_id: &DeliveryId,
        req: GrantRequest,
        idem: Option<Idempotency>,
    ) -> Result<IssuedGrant> {
        if p.role() != Role::Driver {
            return Err(Error::forbidden("request grants (only a driver's phone may)"));
        }
        // Decided on what this process keeps in memory first (the caller's token, the driver,
        // the delivery, the site's facts); again on rows read afresh, the caller confirmed and
        // the site's facts checked current, when the commit finds any of them outdated, or
        // before a refusal decided on them stands.
        for attempt in 0..ATTEMPTS {
            let fresh = attempt > 0;
            if fresh {
                self.confirm_caller(p).await?;
            }
            let outcome = match self.grant_facts(p, delivery_id, fresh).await {
                Ok((facts, version)) => self.try_issue(p, &facts, version, &req, &idem).await,
                Err(e) => Err(e),
            };
            match outcome {
                Ok(Some(issued)) => return Ok(issued),
                Ok(None) => {}
                Err(e) if !fresh && e.kind != super::Kind::Internal => {}
                Err(e) => return Err(e),
            }
        }
        Err(Error::new(
            super::Kind::Internal,
            Code::DatabaseUnavailable,
            "the site's settings kept changing while this grant was decided; retry in a moment",
        ))
    }

    /// Decides, seals and commits one grant on `facts` (of site version `version`); None if
    /// the site's facts changed before the commit (nothing was stored: decide again).
    async fn try_issue(
        &self,
        p: &Principal,
        facts: &issuance::Facts,
        version: i64,
        req: &GrantRequest,
        idem: &Option<Idempotency>,
    ) -> Result<Option<IssuedGrant>> {
        // Decide, at one instant.
        let now = now();
        let grant = issuance::decide(facts, req, now)?;
        // Commit.
        let store = self.store();
        let (site, delivery, driver) = (&facts.site, &facts.delivery, &facts.driver);
        let issuer = facts.issuer.as_ref().ok_or_else(|| Error::not_found("issuer"))?;
        let cert = facts.cert.as_ref().ok_or_else(|| Error::not_found("certificate"))?;
        let cert_hex = issuer.certificate.clone().unwrap_or_default();
        let doors: Vec<u16> = grant.doors.iter().map(|d| d.0).collect();
        let (not_before, not_after) = (i64::from(grant.not_before.0), i64::from(grant.not_after.0));
        let key = self.issuer_key(issuer)?;

        // Serials from this process's leased block (committed before any grant uses it), so
        // the grant is sealed here, in this request's task, and its transaction never waits
        // on the issuer row.
        let issuing = &self.issuing;
        let serial = issuing.leases.take(store, &issuer.id, i64::from(req.uses)).await?;
        let grant = Grant { serial: serial as u64, ..grant };
        // The door's checks once more with the real serial (its deny entry, if any).
        issuance::check_at_doors(cert, &grant, &facts.state, now)?;
        let mut buf = [0u8; MAX_GRANT_LEN];
        let sealed = grant.seal(&key, &mut buf).map_err(|e| {
            tracing::error!(error = ?e, "sealing a grant failed");
            Error::new(
                super::Kind::Internal,
                Code::Internal,
                "the grant could not be signed; retry",
            )
        })?;
        let row = store::GrantRow {
            id: new_id("grt"),
            site_id: site.id.clone(),
            delivery_id: delivery.id.clone(),
            driver_id: driver.id.clone(),
            carrier_id: driver.carrier_id.clone(),
            issuer_id: issuer.id.clone(),
            issuer_key_id: issuer.key_id.clone(),
            serial,
            uses: i64::from(req.uses),
            doors: store::DoorList(doors.clone()),
            not_before,
            not_after,
            grant_bytes: hex::encode(sealed),
            revoked_at: None,
            issued_at: now,
        };
        let issued = IssuedGrant {
            id: row.id.clone(),
            grant: row.grant_bytes.clone(),
            certificate: cert_hex,
            door_state: facts.state_hex.clone(),
            serial: serial as u64,
            uses: req.uses,
            doors,
            not_before: not_before as u32,
            not_after: not_after as u32,
        };
        // Commit, with the concurrent requests' grants (one transaction, one fsync): the
        // site's facts are checked current there, the delivery's bound is claimed again under
        // its row lock, and the idempotency record commits with the grant, so a client that
        // retries after a crash gets this very grant back, never a second one. Acknowledged
        // only once that transaction commits.
        let (grant_id, delivery_id) = (row.id.clone(), delivery.id.clone());
        let pending = Pending {
            row,
            issued,
            caller: p.token_id().clone(),
            idem: idem.clone(),
            site_version: version,
        };
        let issued = match issuing.writer(store).commit(pending).await? {
            Committed::Issued(issued) => issued,
            Committed::Stale => return Ok(None),
            Committed::Exhausted => {
                return Err(refused(
                    Code::DeliveryGrantsExhausted,
                    "this delivery is entered, closed or has yielded all its grants",
                ))
            }
            // A concurrent request with this key won: its grant is the answer. (Only a
            // request with a key can find it taken.)
            Committed::KeyTaken => {
                let idem = idem.as_ref().ok_or_else(|| {
                    Error::new(super::Kind::Internal, Code::Internal, "no idempotency key")
                })?;
                return self.replay_grant(p, idem).await.map(Some);
            }
        };
        tracing::info!(grant = %grant_id, delivery = %delivery_id, serial, uses = req.uses, "grant issued");
        Ok(Some(issued))
    }
}

/// A grant as the site's manager sees it: enough to revoke it or its driver, nothing that names
/// a person (drivers are pseudonymous ids to the building).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GrantView {
    /// Id (for a `grant` revocation).
    pub id: GrantId,
    /// Delivery id.
    pub delivery_id: DeliveryId,
    /// Driver id (for a `driver` revocation).
    pub driver_id: DriverId,
    /// Carrier id.
    pub carrier_id: CarrierId,
    /// Issuer id.
    pub issuer_id: IssuerId,
    /// First serial.
    pub serial: i64,
    /// Entries per door.
    pub uses: i64,
    /// Doors.
    pub doors: Vec<u16>,
    /// Validity start.
    pub not_before: i64,
    /// Validity end.
    pub not_after: i64,
    /// Whether it was revoked.
    pub revoked: bool,
}

impl From<store::GrantRow> for GrantView {
    fn from(g: store::GrantRow) -> Self {
        GrantView {
            doors: g.doors.0,
            id: g.id,
            delivery_id: g.delivery_id,
            driver_id: g.driver_id,
            carrier_id: g.carrier_id,
            issuer_id: g.issuer_id,
            serial: g.serial,
            uses: g.uses,
            not_before: g.not_before,
            not_after: g.not_after,
            revoked: g.revoked_at.is_some(),
        }
    }
}

impl Service {
    /// A site's grants (manager), to revoke a grant or its driver.
    pub async fn list_grants(
        &self,
        p: &Principal,
        site_id: &ids::SiteId,
        page: &Page,
    ) -> Result<Paged<GrantView>> {
        self.managed_site(p, site_id, "list grants").await?;
        let rows = self.store.grants_of_site(site_id, page).await?;
        Ok(Paged::of(rows.into_iter().map(GrantView::from).collect(), page, |g| g.id.clone()))
    }
}
