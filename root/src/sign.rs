//! What the root signs: issuer certificates, door enrolments, door states. Each is checked as
//! a door or the server will check it before it is printed, so a bad option fails offline.

use porter_protocol::{
    Certificate, DenyEntry, DenyListBuilder, DoorId, DoorScope, DoorState, Enrolment, FenceRaised,
    Hours, IssuerLimits, LogKey, PublicKey, Role, RoleSet, SiteId, Time, TimeZone,
    MAX_CERTIFICATE_LEN, MAX_DOOR_STATE_LEN, MAX_ENROLMENT_LEN, VERSION,
};

use crate::{Error, RevocationList, RootKey};

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
    if list.site_number != root.site {
        return Err(Error::Input(format!(
            "the revocation list is for site {}, the key for site {}: export the list of this \
             key's site",
            list.site_number, root.site
        )));
    }
    let (grant_fence, cert_epoch_fence) = list.fences()?;
    let entries = list.entries()?;
    let sequence = match sequence {
        Some(s) => s,
        None => list.next_sequence()?,
    };
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
        // An ordinary state: a clock reset is a deliberate act this tool does not offer yet.
        clock_reset: false,
        deny,
    };
    let mut buf = vec![0u8; MAX_DOOR_STATE_LEN];
    let bytes = state.seal(&root.key, &mut buf).map_err(|e| Error::Input(e.message().into()))?;
    Ok((bytes.to_vec(), raised))
}
