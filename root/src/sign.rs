//! What the root signs: issuer certificates, door enrolments, door states. Each is checked as
//! a door or the server will check it before it is printed, so a bad option fails offline.

use porter_protocol::{
    Certificate, DenyEntry, DenyListBuilder, DoorId, DoorScope, DoorState, Enrolment, FenceRaised,
    Hours, IssuerLimits, LogKey, PublicKey, Role, RoleSet, SiteId, Time, TimeZone,
    MAX_CERTIFICATE_LEN, MAX_DOOR_STATE_LEN, MAX_ENROLMENT_LEN, VERSION,
};

use crate::{CurrentState, Error, RevocationList, RootKey};

/// Limits for [`certify_issuer`].
#[derive(Clone, Debug)]
pub struct CertifyOptions {
    /// Certificate epoch.
    pub epoch: u32,
    /// Validity start.
    pub not_before: u32,
    /// Validity end.
    pub not_after: u32,
    /// The site's time zone, as the server's site record shows it: the certificate's hours are
    /// judged in it, and the server refuses a certificate in another zone than its site's.
    pub zone: TimeZone,
    /// Doors (None: every door).
    pub doors: Option<Vec<u16>>,
    /// Weekday mask, bit 0 = Monday.
    pub weekdays: u8,
    /// First allowed minute.
    pub from_minute: u16,
    /// First minute no longer allowed.
    pub to_minute: u16,
    /// Longest grant, seconds.
    pub max_grant_lifetime: u32,
    /// Most entries per grant.
    pub max_uses: u8,
}

/// Signs an issuer certificate.
pub fn certify_issuer(
    root: &RootKey,
    issuer: PublicKey,
    o: &CertifyOptions,
) -> Result<Vec<u8>, Error> {
    let doors = match &o.doors {
        None => DoorScope::All,
        Some(list) => {
            let mut list = list.clone();
            list.sort_unstable();
            list.dedup();
            let ids: Vec<DoorId> = list.iter().map(|d| DoorId(*d)).collect();
            DoorScope::Only(
                heapless::Vec::from_slice(&ids)
                    .map_err(|_| Error::Input("at most 16 doors per certificate".into()))?,
            )
        }
    };
    let cert = Certificate {
        version: VERSION,
        site: SiteId(root.site),
        issuer,
        epoch: o.epoch,
        not_before: Time(o.not_before),
        not_after: Time(o.not_after),
        limits: IssuerLimits {
            doors,
            roles: RoleSet::only(Role::Delivery),
            hours: Hours {
                weekdays: o.weekdays,
                from_minute: o.from_minute,
                to_minute: o.to_minute,
            },
            zone: o.zone.clone(),
            max_grant_lifetime: o.max_grant_lifetime,
            max_uses: o.max_uses,
        },
    };
    let mut buf = [0u8; MAX_CERTIFICATE_LEN];
    let bytes = cert.seal(&root.key, &mut buf).map_err(|e| Error::Input(e.message().into()))?;
    Certificate::decode_verified(bytes, &root.key.public_key()).map_err(|e| {
        Error::WouldBeRefused(format!("the certificate would be refused: {}", e.message()))
    })?;
    Ok(bytes.to_vec())
}

/// Signs a door controller's enrolment. `log_key` is the site server's log key (the site
/// record's `log_key`): the door then masks holder ids in its log so only that server reads
/// them. `None` enrols a door that logs holders in clear (for a server without log keys).
pub fn enroll_device(
    root: &RootKey,
    door: u16,
    device: PublicKey,
    log_key: Option<LogKey>,
    now: u32,
) -> Result<Vec<u8>, Error> {
    let enrolment = Enrolment {
        version: VERSION,
        site: SiteId(root.site),
        door: DoorId(door),
        device,
        issued_at: Time(now),
        log_key,
    };
    let mut buf = [0u8; MAX_ENROLMENT_LEN];
    let out =
        enrolment.seal(&root.key, &mut buf).map_err(|e| Error::Input(e.message().into()))?.to_vec();
    Enrolment::decode_verified(&out, &root.key.public_key()).map_err(|e| {
        Error::WouldBeRefused(format!("the enrolment would be refused: {}", e.message()))
    })?;
    Ok(out)
}

/// Signs the next door state from the server's revocation list: its fences, its revocations,
/// and (unless `sequence` says otherwise) one more than its sequence. Returns the state and
/// every fence the bounded deny-list had to raise (tell the property manager). Refuses a list
/// for another site, a damaged one, and one where two revoked objects share a deny subject.
pub fn sign_state(
    root: &RootKey,
    list: &RevocationList,
    sequence: Option<u64>,
    now: u32,
) -> Result<(Vec<u8>, Vec<FenceRaised>), Error> {
    build_state(root, list, sequence, now, false)
}

/// How far ahead of this machine's clock the site's newest door state must be dated for a clock
/// reset to be the remedy, in seconds (the server refuses to publish a state dated further
/// ahead of its own clock than this).
pub const RESET_THRESHOLD: u32 = 300;

/// Why a clock reset is needed: the site's newest door state, verified under the root key,
/// and how far ahead of this machine's clock it is dated.
#[derive(Clone, Debug)]
pub struct ResetReason {
    /// The newest state's sequence.
    pub sequence: u64,
    /// Its signing time, as signed.
    pub issued_at: u32,
    /// Seconds it is dated ahead of this machine's clock.
    pub ahead: u32,
}

/// Checks that a clock reset dated `now` is the remedy: `current` (the server's newest door
/// state, `GET /v1/sites/{id}/door-states/latest` saved to a file) must verify under this root, be the
/// state `list` was exported with, and be dated more than [`RESET_THRESHOLD`] seconds ahead of
/// `now`. Anything else means a reset is not needed (an ordinary state will do) or this
/// machine's clock is the wrong one; the error says which.
pub fn check_clock_reset(
    root: &RootKey,
    list: &RevocationList,
    current: &CurrentState,
    now: u32,
) -> Result<ResetReason, Error> {
    let bytes = hex::decode(current.state.trim()).map_err(|_| {
        Error::Input(
            "the current door state's `state` is not hex: save GET \
                      /v1/sites/{id}/door-states/latest again"
                .into(),
        )
    })?;
    let unverified = DoorState::decode(&bytes).map_err(|e| {
        Error::Input(format!(
            "the current door state does not decode ({}): save it again",
            e.message()
        ))
    })?;
    let state = DoorState::genesis(SiteId(root.site))
        .accept_newer(unverified, &root.key.public_key())
        .map_err(|e| {
            Error::Input(format!(
                "the current door state is not this root's state for site {} ({}): save GET \
                 /v1/sites/{{id}}/door-states/latest of this key's site",
                root.site,
                e.message()
            ))
        })?;
    if i64::try_from(state.sequence).ok() != Some(list.current_sequence) {
        return Err(Error::Input(format!(
            "the current door state has sequence {}, the revocation list was exported after \
             sequence {}: save both from the server again, one right after the other",
            state.sequence, list.current_sequence
        )));
    }
    let issued_at = state.issued_at.0;
    if issued_at <= now {
        return Err(Error::WouldBeRefused(format!(
            "no clock reset needed: the site's newest door state (sequence {}) is dated {issued_at}, \
             not after this machine's clock ({now}). Doors are not held ahead by it; sign an \
             ordinary state without --clock-reset",
            state.sequence
        )));
    }
    let ahead = issued_at - now;
    if ahead <= RESET_THRESHOLD {
        return Err(Error::WouldBeRefused(format!(
            "no clock reset: the site's newest door state (sequence {}) is dated only {ahead} s \
             ahead of this machine's clock, within ordinary skew ({RESET_THRESHOLD} s). Check \
             this machine's clock (it may be behind); doors catch up by themselves in {ahead} s",
            state.sequence
        )));
    }
    Ok(ResetReason { sequence: state.sequence, issued_at, ahead })
}

/// Signs a clock reset (spec/protocol.md, "Clock reset"; threat T18): the next door state from
/// `list`, flagged `clock_reset`, dated `now`, with `grant_fence >= now`. A door that takes it
/// sets its floor back to `now`, and refuses every grant issued before it. Call
/// [`check_clock_reset`] first and have the manager confirm.
pub fn sign_clock_reset(
    root: &RootKey,
    list: &RevocationList,
    sequence: Option<u64>,
    now: u32,
) -> Result<(Vec<u8>, Vec<FenceRaised>), Error> {
    build_state(root, list, sequence, now, true)
}

fn build_state(
    root: &RootKey,
    list: &RevocationList,
    sequence: Option<u64>,
    now: u32,
    clock_reset: bool,
) -> Result<(Vec<u8>, Vec<FenceRaised>), Error> {
    if list.site_number != root.site {
        return Err(Error::Input(format!(
            "the revocation list is for site {}, the key for site {}: export the list of this \
             key's site",
            list.site_number, root.site
        )));
    }
    let (mut grant_fence, cert_epoch_fence) = list.fences()?;
    if clock_reset {
        // Every grant issued before the reset is fenced: lowering the doors' time must never
        // make a grant admissible that a door saw, or forgot, at the wrong time.
        grant_fence = grant_fence.max(Time(now));
    }
    let entries = list.entries()?;
    let next = list.next_sequence()?;
    let sequence = sequence.unwrap_or(next);
    if sequence < next {
        return Err(Error::Input(format!(
            "--sequence {sequence} is not above the server's current {}: doors would ignore \
             the state; leave --sequence out",
            next - 1
        )));
    }
    let mut builder = DenyListBuilder::new(grant_fence, cert_epoch_fence);
    let mut raised = Vec::new();
    for e in entries {
        if let Some(fence) = builder.deny(DenyEntry { subject: e.subject, until: e.until }, e.kind)
        {
            raised.push(fence);
        }
    }
    builder.prune(Time(now));
    let (grant_fence, cert_epoch_fence, deny) = builder.finish();
    let state = DoorState {
        version: VERSION,
        site: SiteId(root.site),
        sequence,
        issued_at: Time(now),
        grant_fence,
        cert_epoch_fence,
        clock_reset,
        deny,
    };
    let mut buf = vec![0u8; MAX_DOOR_STATE_LEN];
    let bytes = state.seal(&root.key, &mut buf).map_err(|e| Error::Input(e.message().into()))?;
    // As a door would take it, after the state the server holds now.
    let mut base = DoorState::genesis(SiteId(root.site));
    base.sequence = next - 1;
    let unverified = DoorState::decode(bytes).map_err(|e| {
        Error::WouldBeRefused(format!("the door state would be refused: {}", e.message()))
    })?;
    base.accept_newer(unverified, &root.key.public_key()).map_err(|e| {
        Error::WouldBeRefused(format!("the door state would be refused: {}", e.message()))
    })?;
    Ok((bytes.to_vec(), raised))
}
