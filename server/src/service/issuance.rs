//! The grant decision: pure, the clock passed in. Issuance is load ([`Facts`]), then
//! [`decide`] at one instant, then commit (`grants.rs`).
//!
//! What a door will check is decided by the door's own function,
//! [`porter_protocol::check_grant_terms`], for every door of the grant, under the site's latest
//! door state (or genesis): certificate validity, epoch fence, issuer deny, door scope, role,
//! lifetime, uses, hours in the certificate's zone, grant fence and deny, holder deny. The
//! server adds only what a door cannot know: the delivery is open, not yet entered, within its
//! window and its grant bound; the carrier is approved, within the approval's limits; the
//! issuer and driver are not revoked here; no resident of the unit opted out.

use crate::service::Code;
use porter_protocol::{
    check_grant_terms, Certificate, DoorId, DoorState, Grant, PackageCommitment, PublicKey,
    Role as GrantRole, SiteId, Time, MAX_GRANT_DOORS, VERSION,
};

use super::{Error, GrantRequest, Result, MAX_GRANTS_PER_DELIVERY};
use crate::store::{self, DeliveryStatus};

/// Everything a grant decision needs, loaded before deciding.
#[derive(Clone, Debug)]
pub(crate) struct Facts {
    /// The asking driver.
    pub driver: store::DriverRow,
    /// Whether the site revoked this driver (its own list).
    pub driver_revoked_here: bool,
    /// The delivery asked for.
    pub delivery: store::DeliveryRow,
    /// Its site.
    pub site: store::SiteRow,
    /// The carrier's approval at the site, if any (withdrawn ones included).
    pub approval: Option<store::ApprovalRow>,
    /// The approval's issuer, if it exists.
    pub issuer: Option<store::IssuerRow>,
    /// Whether the site revoked this issuer.
    pub issuer_revoked_here: bool,
    /// The issuer's certificate, verified under the site root; None if absent or unverifiable.
    pub cert: Option<Certificate>,
    /// Whether a resident of the unit refuses in-building delivery.
    pub opted_out: bool,
    /// Door numbers enrolled at the site.
    pub enrolled: Vec<u16>,
    /// The site's latest signed door state, or genesis when none was uploaded.
    pub state: DoorState,
    /// The latest signed door state as stored (hex), for the phone to carry.
    pub state_hex: Option<String>,
    /// The driver's holder key.
    pub holder: PublicKey,
    /// The delivery's package commitment.
    pub package: PackageCommitment,
}

fn refused(code: Code, message: impl Into<String>) -> Error {
    Error::refused(code, message)
}

/// The grant to seal (serial still 0: the commit takes it) if every rule allows it at `now`.
pub(crate) fn decide(f: &Facts, req: &GrantRequest, now: i64) -> Result<Grant> {
    // The driver.
    if f.driver.revoked_at.is_some() || f.driver_revoked_here {
        return Err(refused(Code::DriverRevoked, "this driver was revoked; no grant"));
    }
    // The delivery.
    let d = &f.delivery;
    if d.status != DeliveryStatus::Open {
        return Err(refused(
            Code::DeliveryNotOpen,
            format!("the delivery is {}; only open deliveries get grants", d.status.as_str()),
        ));
    }
    if d.entered_at.is_some() {
        return Err(refused(
            Code::DeliveryEntered,
            "the delivery was already entered through a door; no more grants for it",
        ));
    }
    if d.grants_issued >= MAX_GRANTS_PER_DELIVERY {
        return Err(refused(
            Code::DeliveryGrantsExhausted,
            format!(
                "this delivery already yielded {MAX_GRANTS_PER_DELIVERY} grants; announce a new delivery"
            ),
        ));
    }
    if now < d.window_start || now >= d.window_end {
        return Err(refused(
            Code::OutsideDeliveryWindow,
            format!(
                "grants are issued only within the delivery window [{}, {}); now is {now}",
                d.window_start, d.window_end
            ),
        ));
    }
    // The carrier's approval, its issuer, the issuer's certificate.
    let approval = f.approval.as_ref().filter(|a| a.revoked_at.is_none());
    let approval = approval.ok_or_else(|| {
        refused(Code::CarrierNotApproved, "the carrier is not approved at this site")
    })?;
    let issuer = f.issuer.as_ref().ok_or_else(|| refused(Code::IssuerNotCertified, "no issuer"))?;
    if issuer.revoked_at.is_some() || f.issuer_revoked_here {
        return Err(refused(Code::IssuerRevoked, "the site's issuer for this carrier was revoked"));
    }
    let cert = f.cert.as_ref().ok_or_else(|| {
        refused(Code::IssuerNotCertified, "the issuer has no valid certificate from the site root")
    })?;
    // The resident's choice.
    if f.opted_out {
        return Err(refused(
            Code::ResidentOptedOut,
            "the resident refuses in-building delivery; leave the parcel at the entrance",
        ));
    }
    // The request within the approval (the certificate's limits are the door's, below).
    let max_uses = approval.max_uses.clamp(1, 32);
    if req.uses == 0 || i64::from(req.uses) > max_uses {
        return Err(refused(
            Code::TooManyUses,
            format!(
                "uses must be 1..={} for this carrier at this site",
                max_uses.min(cert.limits.max_uses.into())
            ),
        ));
    }
    let lifetime = i64::from(req.lifetime_minutes) * 60;
    if lifetime == 0 || lifetime > approval.max_lifetime_minutes * 60 {
        return Err(refused(
            Code::LifetimeTooLong,
            format!("lifetime_minutes must be 1..={}", approval.max_lifetime_minutes),
        ));
    }
    let doors = choose_doors(f, approval, cert, req)?;
    let not_after = (now + lifetime).min(d.window_end).min(i64::from(cert.not_after.0));
    let instant = |t: i64| Time(t.clamp(0, i64::from(u32::MAX)) as u32);
    let grant = Grant {
        version: VERSION,
        site: SiteId(f.site.site_number as u32),
        serial: 0,
        uses: req.uses,
        role: GrantRole::Delivery,
        doors: doors.iter().map(|d| DoorId(*d)).collect(),
        not_before: instant(now),
        not_after: instant(not_after),
        holder: f.holder,
        package: f.package,
    };
    // An instant outside u32 (before 1970 or after 2106) fails closed.
    if u32::try_from(now).is_err() {
        return Err(refused(
            Code::OutsideHours,
            "the server's clock is outside the protocol's range",
        ));
    }
    check_at_doors(cert, &grant, &f.state, now)?;
    Ok(grant)
}

/// The doors of the grant: requested, or every approved one, or every enrolled one the
/// certificate allows; each approved and enrolled.
fn choose_doors(
    f: &Facts,
    approval: &store::ApprovalRow,
    cert: &Certificate,
    req: &GrantRequest,
) -> Result<Vec<u16>> {
    let allowed = &approval.doors.0;
    let mut doors = if !req.doors.is_empty() {
        req.doors.clone()
    } else if !allowed.is_empty() {
        allowed.clone()
    } else {
        let every: Vec<u16> =
            f.enrolled.iter().copied().filter(|d| cert.limits.doors.contains(DoorId(*d))).collect();
        if every.len() > MAX_GRANT_DOORS {
            return Err(Error::invalid(
                Code::NameTheDoors,
                "this carrier may open more than 4 doors here: name at most 4 in `doors`",
            ));
        }
        every
    };
    doors.sort_unstable();
    doors.dedup();
    if doors.is_empty() {
        return Err(Error::invalid(Code::NoDoors, "name the doors to open"));
    }
    if doors.len() > MAX_GRANT_DOORS {
        return Err(Error::invalid(Code::TooManyDoors, "a grant opens at most 4 doors"));
    }
    for d in &doors {
        if !allowed.is_empty() && !allowed.contains(d) {
            return Err(refused(
                Code::DoorNotAllowed,
                format!("door {d} is not allowed for this carrier at this site"),
            ));
        }
        if !f.enrolled.contains(d) {
            return Err(refused(Code::DoorNotAllowed, format!("door {d} is not enrolled")));
        }
    }
    Ok(doors)
}

/// The door's own checks of `grant` under `cert` and `state`, at every door it names, at the
/// issuing instant `now` with no clock skew allowed.
pub(crate) fn check_at_doors(
    cert: &Certificate,
    grant: &Grant,
    state: &DoorState,
    now: i64,
) -> Result<()> {
    let at = Time(now.clamp(0, i64::from(u32::MAX)) as u32);
    for door in grant.doors.iter() {
        check_grant_terms(cert, grant, *door, at, 0, state)
            .map_err(|e| door_refusal(cert, *door, e))?;
    }
    Ok(())
}

/// The server's refusal for a door's verdict (stable codes for API clients).
fn door_refusal(cert: &Certificate, door: DoorId, e: porter_protocol::Error) -> Error {
    use porter_protocol::Error as E;
    let l = &cert.limits;
    match e {
        E::CertNotYetValid => refused(Code::CertificateNotYetValid, "the issuer certificate is not valid yet"),
        E::CertExpired => refused(Code::CertificateExpired, "the issuer certificate has expired: certify the issuer again"),
        E::CertFenced => refused(Code::CertificateFenced, "the certificate's epoch is below the door state's fence: certify again"),
        E::CertRevoked => refused(Code::IssuerRevoked, "the door state denies this issuer"),
        E::CertWrongSite | E::GrantWrongSite => refused(Code::IssuerNotCertified, "the certificate names another site"),
        E::GrantDoorNotAllowed | E::GrantWrongDoor => refused(
            Code::DoorNotAllowed,
            format!("door {} is not allowed by the issuer certificate", door.0),
        ),
        E::GrantRoleNotAllowed => refused(Code::RoleNotAllowed, "the certificate does not allow deliveries"),
        E::GrantLifetimeTooLong => refused(
            Code::LifetimeTooLong,
            format!("lifetime_minutes must be 1..={} (the issuer certificate's limit)", l.max_grant_lifetime / 60),
        ),
        E::GrantTooManyUses => refused(
            Code::TooManyUses,
            format!("uses must be 1..={} (the issuer certificate's limit)", l.max_uses),
        ),
        E::GrantOutsideHours => refused(
            Code::OutsideHours,
            format!("the issuer certificate does not allow entry at this hour or weekday (site zone {})", l.zone),
        ),
        E::GrantNotYetValid | E::GrantExpired => {
            refused(Code::OutsideDeliveryWindow, "the grant's validity would be empty now")
        }
        E::GrantFenced => refused(Code::GrantFenced, "the door state fences grants issued now"),
        E::GrantRevoked => refused(Code::GrantRevoked, "the door state denies this grant"),
        E::HolderRevoked => refused(Code::DriverRevoked, "the door state denies this driver"),
        other => refused(Code::RefusedByDoorRules, format!("a door would refuse this grant: {}", other.message())),
    }
}

#[cfg(test)]
#[path = "issuance_tests.rs"]
mod tests;
