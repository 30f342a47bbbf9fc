//! The site root's offline tools: `porter root init | certify-issuer | enroll-device |
//! sign-state`. They work on a key file on the manager's machine and print what to upload;
//! the server never sees the root's private key.

use std::io::Write;
use std::path::Path;

use porter_protocol::{
    Certificate, DenyEntry, DenyKind, DenyListBuilder, DenySubject, DoorId, DoorScope, DoorState,
    Enrolment, FenceRaised, Hours, IssuerLimits, PublicKey, Role, RoleSet, SigningKey, SiteId,
    Time, MAX_CERTIFICATE_LEN, MAX_DOOR_STATE_LEN, MAX_ENROLMENT_LEN, VERSION,
};
use serde::{Deserialize, Serialize};

use crate::service::RevocationList;

/// A site root key and the site it is for.
pub struct RootKey {
    /// The site number.
    pub site: u32,
    /// The private key.
    pub key: SigningKey,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    kind: String,
    site: u32,
    public_key: String,
    seed: String,
}

const KIND: &str = "porter-site-root";

/// Makes a new root key for `site` (random if None) and writes it to `path` with mode 0600.
/// Refuses to overwrite an existing file.
pub fn init(path: &Path, site: Option<u32>) -> Result<RootKey, String> {
    let key = SigningKey::from_seed(rand::random())
        .map_err(|e| format!("the random source failed: {}", e.message()))?;
    let site = site.unwrap_or_else(|| rand::random::<u32>() | 1);
    let file = KeyFile {
        kind: KIND.into(),
        site,
        public_key: hex::encode(key.public_key().0),
        seed: hex::encode(key.seed()),
    };
    let text = serde_json::to_string_pretty(&file).map_err(|e| e.to_string())?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(path)
        .map_err(|e| format!("cannot create {} (it must not exist yet): {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(RootKey { site, key })
}

/// Reads a root key file, refusing one that others may read.
pub fn load(path: &Path) -> Result<RootKey, String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path)
            .map_err(|e| format!("cannot read root key {}: {e}", path.display()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(format!(
                "root key {} is readable by others: run `chmod 600 {}`",
                path.display(),
                path.display()
            ));
        }
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read root key {}: {e}", path.display()))?;
    let file: KeyFile = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a Porter root key file: {e}", path.display()))?;
    if file.kind != KIND {
        return Err(format!("{} is not a site root key", path.display()));
    }
    let seed: [u8; 32] = hex::decode(&file.seed)
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| format!("{}: the seed is not 32 bytes of hex", path.display()))?;
    let key = SigningKey::from_seed(seed)
        .map_err(|_| format!("{}: the seed is not a usable key", path.display()))?;
    if hex::encode(key.public_key().0) != file.public_key {
        return Err(format!("{}: the public key does not match the seed", path.display()));
    }
    Ok(RootKey { site: file.site, key })
}

/// Parses a hex public key and checks it is usable.
pub fn parse_key(what: &str, s: &str) -> Result<PublicKey, String> {
    let bytes: [u8; 32] = hex::decode(s.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("{what} must be 64 hex digits"))?;
    let key = PublicKey(bytes);
    key.validate().map_err(|e| format!("{what} is not a usable Ed25519 key: {e:?}"))?;
    Ok(key)
}

/// Limits for [`certify_issuer`].
#[derive(Clone, Debug)]
pub struct CertifyOptions {
    /// Certificate epoch.
    pub epoch: u32,
    /// Validity start.
    pub not_before: u32,
    /// Validity end.
    pub not_after: u32,
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
) -> Result<Vec<u8>, String> {
    let doors = match &o.doors {
        None => DoorScope::All,
        Some(list) => {
            let mut list = list.clone();
            list.sort_unstable();
            list.dedup();
            DoorScope::Only(
                heapless::Vec::from_slice(&list.iter().map(|d| DoorId(*d)).collect::<Vec<_>>())
                    .map_err(|_| "at most 16 doors per certificate".to_string())?,
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
            // The seam's minimum: the server team writes the site's zone here.
            zone: porter_protocol::TimeZone::UTC,
            max_grant_lifetime: o.max_grant_lifetime,
            max_uses: o.max_uses,
        },
    };
    let mut buf = [0u8; MAX_CERTIFICATE_LEN];
    let bytes = cert.seal(&root.key, &mut buf).map_err(|e| e.message().to_string())?;
    // Check it as the server and doors will, so a bad option fails here, offline.
    Certificate::decode_verified(bytes, &root.key.public_key())
        .map_err(|e| format!("the certificate would be refused: {}", e.message()))?;
    Ok(bytes.to_vec())
}

/// Signs a door controller's enrolment.
pub fn enroll_device(
    root: &RootKey,
    door: u16,
    device: PublicKey,
    now: u32,
) -> Result<Vec<u8>, String> {
    let enrolment = Enrolment {
        version: VERSION,
        site: SiteId(root.site),
        door: DoorId(door),
        device,
        issued_at: Time(now),
        // The site server's log key (issue 8, item 9) is for the server team to wire in.
        log_key: None,
    };
    let mut buf = [0u8; MAX_ENROLMENT_LEN];
    let out = enrolment.seal(&root.key, &mut buf).map_err(|e| e.message().to_string())?.to_vec();
    Enrolment::decode_verified(&out, &root.key.public_key())
        .map_err(|e| format!("the enrolment would be refused: {}", e.message()))?;
    Ok(out)
}

/// Signs the next door state from the server's revocation list. Returns the state and every
/// fence the bounded deny-list had to raise (tell the property manager).
pub fn sign_state(
    root: &RootKey,
    list: &RevocationList,
    sequence: Option<u64>,
    now: u32,
) -> Result<(Vec<u8>, Vec<FenceRaised>), String> {
    if list.site_number != root.site {
        return Err(format!(
            "the revocation list is for site {}, the key for site {}",
            list.site_number, root.site
        ));
    }
    let mut builder =
        DenyListBuilder::new(Time(list.grant_fence as u32), list.cert_epoch_fence as u32);
    let mut raised = Vec::new();
    for r in &list.revocations {
        let subject: [u8; 8] = hex::decode(&r.subject)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| format!("revocation {} has a bad subject", r.id))?;
        let kind = match (r.kind.as_str(), r.epoch) {
            ("issuer", Some(epoch)) => DenyKind::Issuer { epoch: epoch as u32 },
            ("issuer", None) => DenyKind::Issuer { epoch: 0 },
            _ => DenyKind::ShortLived,
        };
        let until = Time(r.until.clamp(0, i64::from(u32::MAX)) as u32);
        if let Some(fence) = builder.deny(DenyEntry { subject: DenySubject(subject), until }, kind)
        {
            raised.push(fence);
        }
    }
    builder.prune(Time(now));
    let (grant_fence, cert_epoch_fence, deny) = builder.finish();
    let state = DoorState {
        version: VERSION,
        site: SiteId(root.site),
        sequence: sequence.unwrap_or((list.current_sequence.max(0) as u64).saturating_add(1)),
        issued_at: Time(now),
        grant_fence,
        cert_epoch_fence,
        // A clock reset is for recovering from a state dated ahead; the server team wires it.
        clock_reset: false,
        deny,
    };
    let mut buf = vec![0u8; MAX_DOOR_STATE_LEN];
    let bytes = state.seal(&root.key, &mut buf).map_err(|e| e.message().to_string())?;
    Ok((bytes.to_vec(), raised))
}
