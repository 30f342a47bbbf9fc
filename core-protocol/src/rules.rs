//! The grant's terms: every check a door makes that needs no signature and no replay memory.
//!
//! One function, [`check_grant_terms`], called by the door's admission (after decoding, the
//! carried door state and the challenge; before the replay check and the signatures) and by
//! the server before it seals a grant, for every door the grant names, at the issuing instant,
//! with the site's latest door state. Both therefore decide the same way at every instant.

use crate::certificate::Certificate;
use crate::door_state::{DenySubject, DoorState};
use crate::grant::Grant;
use crate::scope::{DoorId, Time};
use crate::state_view::{DoorStateHeader, DoorStateView};
use crate::Error;

/// The door state an attempt is judged by: its header (site, fences, trusted time) and its
/// deny-list. Implemented by [`DoorState`] (held by a door, or the server's latest) and
/// [`DoorStateView`] (a state carried by a phone, read where it lies).
pub trait StateInForce {
    /// Everything but the deny-list.
    fn header(&self) -> DoorStateHeader;
    /// Whether `subject` is on the deny-list.
    fn denies(&self, subject: DenySubject) -> bool;
}

impl StateInForce for DoorState {
    fn header(&self) -> DoorStateHeader {
        DoorState::header(self)
    }
    fn denies(&self, subject: DenySubject) -> bool {
        DoorState::denies(self, subject)
    }
}

impl StateInForce for DoorStateView<'_> {
    fn header(&self) -> DoorStateHeader {
        *DoorStateView::header(self)
    }
    fn denies(&self, subject: DenySubject) -> bool {
        DoorStateView::denies(self, subject)
    }
}

impl<S: StateInForce + ?Sized> StateInForce for &S {
    fn header(&self) -> DoorStateHeader {
        (**self).header()
    }
    fn denies(&self, subject: DenySubject) -> bool {
        (**self).denies(subject)
    }
}

/// Checks a certificate's and a grant's claims for `door` at time `now` (the door's time, or
/// the server's issuing instant), allowing `skew` seconds of clock disagreement, under the door
/// state `state` (whose site is the door's). Signatures are not checked here. In this order,
/// the first failure being the verdict (`spec/protocol.md` section 4, steps 4 to 7):
///
/// 1. certificate: site, `not_before`, `not_after`, epoch fence, issuer deny;
/// 2. grant: site, names `door`, `not_before`, `not_after`;
/// 3. certificate limits: door scope, role, lifetime, uses, hours (local time in the
///    certificate's zone);
/// 4. revocation: grant fence, grant deny, holder deny.
pub fn check_grant_terms(
    cert: &Certificate,
    grant: &Grant,
    door: DoorId,
    now: Time,
    skew: u32,
    state: &impl StateInForce,
) -> Result<(), Error> {
    let header = state.header();
    let site = header.site;

    if cert.site != site {
        return Err(Error::CertWrongSite);
    }
    if now.plus(skew) < cert.not_before {
        return Err(Error::CertNotYetValid);
    }
    if now > cert.not_after.plus(skew) {
        return Err(Error::CertExpired);
    }
    if cert.epoch < header.cert_epoch_fence {
        return Err(Error::CertFenced);
    }
    if state.denies(DenySubject::issuer(&cert.issuer)) {
        return Err(Error::CertRevoked);
    }

    if grant.site != site {
        return Err(Error::GrantWrongSite);
    }
    if !grant.opens(door) {
        return Err(Error::GrantWrongDoor);
    }
    if now.plus(skew) < grant.not_before {
        return Err(Error::GrantNotYetValid);
    }
    if now > grant.not_after.plus(skew) {
        return Err(Error::GrantExpired);
    }

    let limits = &cert.limits;
    if !limits.doors.contains(door) {
        return Err(Error::GrantDoorNotAllowed);
    }
    if !limits.roles.contains(grant.role) {
        return Err(Error::GrantRoleNotAllowed);
    }
    if grant.lifetime() > limits.max_grant_lifetime {
        return Err(Error::GrantLifetimeTooLong);
    }
    if grant.uses > limits.max_uses {
        return Err(Error::GrantTooManyUses);
    }
    if !limits.hours.contains(limits.zone.local_seconds(now)) {
        return Err(Error::GrantOutsideHours);
    }

    if grant.not_before < header.grant_fence {
        return Err(Error::GrantFenced);
    }
    if state.denies(DenySubject::grant(cert.issuer.id(), grant.serial)) {
        return Err(Error::GrantRevoked);
    }
    if state.denies(DenySubject::holder(&grant.holder)) {
        return Err(Error::HolderRevoked);
    }
    Ok(())
}
