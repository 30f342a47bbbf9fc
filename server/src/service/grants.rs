//! Grant issuance: the rules that make a grant exist only for a real delivery.

use porter_protocol::{
    Certificate, DenySubject, DoorId, DoorState, Grant, PackageCommitment, Role as GrantRole,
    SigningKey, SiteId, Time, MAX_GRANT_DOORS, MAX_GRANT_LEN, VERSION,
};
use serde::{Deserialize, Serialize};

use super::domain::{format_doors, parse_doors};
use super::{hex_array, new_id, now, stored_key, Error, Principal, Result, Role, Service};
use crate::store::{self, Store};

/// A driver's request for a grant for one delivery.
#[derive(Clone, Debug, Deserialize)]
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
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IssuedGrant {
    /// Id.
    pub id: String,
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

fn refused(code: &'static str, message: impl Into<String>) -> Error {
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
        delivery_id: &str,
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
        match self.store().idempotent(&p.token_id, &idem.key).await? {
            Some(_) => self.replay_grant(p, idem).await.map(Some),
            None => Ok(None),
        }
    }

    async fn replay_grant(&self, p: &Principal, idem: &Idempotency) -> Result<IssuedGrant> {
        let stored = self.store().idempotent(&p.token_id, &idem.key).await?;
        let stored = stored.ok_or_else(|| {
            Error::conflict("idempotency_race", "a request with this key is in flight: retry")
        })?;
        if stored.request_hash != idem.request_hash {
            return Err(Error::conflict(
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different body: use a fresh key",
            ));
        }
        serde_json::from_str(&stored.body).map_err(|_| {
            Error::new(super::Kind::Internal, "internal", "the stored answer is unreadable")
        })
    }

    async fn issue_grant_inner(
        &self,
        p: &Principal,
        delivery_id: &str,
        req: GrantRequest,
        idem: Option<Idempotency>,
    ) -> Result<IssuedGrant> {
        if !p.is(Role::Driver) {
            return Err(Error::forbidden("request grants (only a driver's phone may)"));
        }
        let store = self.store();
        let driver = store.driver(Principal::field(&p.driver_id)?).await?;
        let driver = driver.ok_or_else(|| Error::not_found("driver"))?;
        let delivery = store.delivery(delivery_id).await?;
        let delivery = delivery.filter(|d| d.carrier_id == driver.carrier_id);
        let delivery = delivery.ok_or_else(|| Error::not_found("delivery"))?;
        let now = now();

        // The driver.
        if driver.revoked_at.is_some()
            || store.is_revoked(&delivery.site_id, "driver", &driver.id).await?
        {
            return Err(refused("driver_revoked", "this driver was revoked; no grant"));
        }
        // The delivery.
        if delivery.status != "open" {
            return Err(refused(
                "delivery_not_open",
                format!("the delivery is {}; only open deliveries get grants", delivery.status),
            ));
        }
        if now < delivery.window_start || now >= delivery.window_end {
            return Err(refused(
                "outside_delivery_window",
                format!(
                    "grants are issued only within the delivery window [{}, {}); now is {now}",
                    delivery.window_start, delivery.window_end
                ),
            ));
        }
        // The carrier's approval at the site.
        let approval = store.approval(&delivery.site_id, &driver.carrier_id).await?;
        let approval = approval.filter(|a| a.revoked_at.is_none()).ok_or_else(|| {
            refused("carrier_not_approved", "the carrier is not approved at this site")
        })?;
        // The issuer and its certificate.
        let site = store.site(&delivery.site_id).await?.ok_or_else(|| Error::not_found("site"))?;
        let issuer = store.issuer(&approval.issuer_id).await?;
        let issuer = issuer.ok_or_else(|| refused("issuer_not_certified", "no issuer"))?;
        if issuer.revoked_at.is_some() || store.is_revoked(&site.id, "issuer", &issuer.id).await? {
            return Err(refused(
                "issuer_revoked",
                "the site's issuer for this carrier was revoked",
            ));
        }
        let cert_hex = issuer.certificate.clone().ok_or_else(|| {
            refused("issuer_not_certified", "the issuer has no certificate from the site root")
        })?;
        let cert_bytes = hex::decode(&cert_hex)
            .map_err(|_| refused("issuer_not_certified", "the stored certificate is unreadable"))?;
        let cert = Certificate::decode_verified(&cert_bytes, &stored_key(&site.root_key)?)
            .map_err(|_| {
                refused("issuer_not_certified", "the stored certificate does not verify")
            })?;
        if now < i64::from(cert.not_before.0) {
            return Err(refused(
                "certificate_not_yet_valid",
                "the issuer certificate is not valid yet",
            ));
        }
        if now >= i64::from(cert.not_after.0) {
            return Err(refused(
                "certificate_expired",
                "the issuer certificate has expired: certify the issuer again",
            ));
        }
        if !cert.limits.roles.contains(GrantRole::Delivery) {
            return Err(refused("role_not_allowed", "the certificate does not allow deliveries"));
        }
        // The resident's choice.
        let residents = store.residents(&delivery.unit_id).await?;
        if residents.iter().any(|r| r.opted_out) {
            return Err(refused(
                "resident_opted_out",
                "the resident refuses in-building delivery; leave the parcel at the entrance",
            ));
        }
        // Uses and lifetime within both limits.
        let max_uses = cert.limits.max_uses.min(approval.max_uses.clamp(1, 32) as u8);
        if req.uses == 0 || req.uses > max_uses {
            return Err(refused(
                "too_many_uses",
                format!("uses must be 1..={max_uses} for this carrier at this site"),
            ));
        }
        let max_lifetime =
            i64::from(cert.limits.max_grant_lifetime).min(approval.max_lifetime_minutes * 60);
        let lifetime = i64::from(req.lifetime_minutes) * 60;
        if lifetime == 0 || lifetime > max_lifetime {
            return Err(refused(
                "lifetime_too_long",
                format!("lifetime_minutes must be 1..={}", max_lifetime / 60),
            ));
        }
        // Doors: requested, or every approved one; each allowed by approval and certificate.
        let allowed = parse_doors(&approval.doors).unwrap_or_default();
        let mut doors = if !req.doors.is_empty() {
            req.doors.clone()
        } else if !allowed.is_empty() {
            allowed.clone()
        } else {
            // Every door: the enrolled ones the certificate allows.
            let page = store::Page { after: String::new(), limit: 100 };
            let enrolled = store.doors(&site.id, &page).await?;
            let doors: Vec<u16> = enrolled
                .iter()
                .map(|d| d.door_number as u16)
                .filter(|d| cert.limits.doors.contains(DoorId(*d)))
                .collect();
            if doors.len() > MAX_GRANT_DOORS {
                return Err(Error::invalid(
                    "name_the_doors",
                    "this carrier may open more than 4 doors here: name at most 4 in `doors`",
                ));
            }
            doors
        };
        doors.sort_unstable();
        doors.dedup();
        if doors.is_empty() {
            return Err(Error::invalid("no_doors", "name the doors to open"));
        }
        if doors.len() > MAX_GRANT_DOORS {
            return Err(Error::invalid("too_many_doors", "a grant opens at most 4 doors"));
        }
        for d in &doors {
            if (!allowed.is_empty() && !allowed.contains(d))
                || !cert.limits.doors.contains(DoorId(*d))
            {
                return Err(refused(
                    "door_not_allowed",
                    format!("door {d} is not allowed for this carrier at this site"),
                ));
            }
            if store.door_by_number(&site.id, i64::from(*d)).await?.is_none() {
                return Err(refused("door_not_allowed", format!("door {d} is not enrolled")));
            }
        }
        // The signed door state in force: its deny-list and fences bind the server too.
        let state_row = store.latest_door_state(&site.id).await?;
        let state = match &state_row {
            Some(row) => {
                let bytes = hex::decode(&row.state).unwrap_or_default();
                DoorState::decode(&bytes).ok().map(|s| s.claims().clone())
            }
            None => None,
        };
        let holder = stored_key(&driver.holder_key)?;
        if let Some(state) = &state {
            if state.denies(DenySubject::issuer(&cert.issuer)) {
                return Err(refused("issuer_revoked", "the door state denies this issuer"));
            }
            if state.denies(DenySubject::holder(&holder)) {
                return Err(refused("driver_revoked", "the door state denies this driver"));
            }
            if cert.epoch < state.cert_epoch_fence {
                return Err(refused(
                    "certificate_fenced",
                    "the certificate's epoch is below the door state's fence: certify again",
                ));
            }
            if now < i64::from(state.grant_fence.0) {
                return Err(refused("grant_fenced", "the door state fences grants issued now"));
            }
        }
        // Local time in the certificate's zone; an instant outside u32 (before 1970 or after
        // 2106) fails closed.
        let local = u32::try_from(now).ok().map(|now| cert.limits.zone.local_seconds(Time(now)));
        if !local.is_some_and(|local| cert.limits.hours.contains(local)) {
            return Err(refused(
                "outside_hours",
                "the issuer certificate does not allow entry at this hour or weekday",
            ));
        }
        let not_before = now;
        let not_after = (now + lifetime).min(delivery.window_end).min(i64::from(cert.not_after.0));
        let package = PackageCommitment(hex_array::<32>("package", &delivery.package)?);
        let seed = self.open_seed(&issuer.public_key, &issuer.secret_seed)?;
        let key = SigningKey::from_seed(seed).map_err(|_| {
            Error::new(super::Kind::Internal, "internal", "the stored issuer key is unusable")
        })?;

        // Take serials and store the grant in one transaction: the grant is acknowledged only
        // after commit, so no acknowledged grant is ever lost and no serial is handed out twice.
        let mut tx = store.begin().await?;
        let serial = Store::take_serials(&mut tx, &issuer.id, i64::from(req.uses)).await?;
        let grant = Grant {
            version: VERSION,
            site: SiteId(site.site_number as u32),
            serial: serial as u64,
            uses: req.uses,
            role: GrantRole::Delivery,
            doors: doors.iter().map(|d| DoorId(*d)).collect(),
            not_before: Time(not_before as u32),
            not_after: Time(not_after as u32),
            holder,
            package,
        };
        let mut buf = [0u8; MAX_GRANT_LEN];
        let sealed = grant.seal(&key, &mut buf).map_err(|e| {
            tracing::error!(error = ?e, "sealing a grant failed");
            Error::new(super::Kind::Internal, "internal", "the grant could not be signed; retry")
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
            doors: format_doors(&doors),
            not_before,
            not_after,
            grant_bytes: hex::encode(sealed),
            revoked_at: None,
            issued_at: now,
        };
        Store::insert_grant(&mut tx, &row).await?;
        let issued = IssuedGrant {
            id: row.id.clone(),
            grant: row.grant_bytes.clone(),
            certificate: cert_hex,
            door_state: state_row.map(|s| s.state),
            serial: serial as u64,
            uses: req.uses,
            doors,
            not_before: not_before as u32,
            not_after: not_after as u32,
        };
        // The idempotency record commits with the grant: a client that retries after a crash
        // gets this very grant back, never a second one.
        if let Some(idem) = idem {
            let body = serde_json::to_string(&issued).map_err(|_| {
                Error::new(super::Kind::Internal, "internal", "the grant could not be encoded")
            })?;
            let stored =
                store::IdemRow { request_hash: idem.request_hash.clone(), status: 201, body };
            if !Store::save_idempotent_tx(&mut tx, &p.token_id, &idem.key, &stored, now).await? {
                drop(tx); // rolls back: a concurrent request with this key won
                return self.replay_grant(p, &idem).await;
            }
        }
        tx.commit().await?;
        tracing::info!(grant = %row.id, delivery = %delivery.id, serial, uses = req.uses, "grant issued");
        Ok(issued)
    }
}
