//! The issuer certificate: the site root allows an issuer key to grant entry, within limits.

use serde::{Deserialize, Serialize};

use crate::keys::{Domain, PublicKey};
use crate::scope::{check_door_list, DoorScope, Hours, RoleSet, SiteId, Time};
use crate::signed::{Failures, Unverified};
use crate::wire::{Decode, Reader};
use crate::zone::TimeZone;
use crate::Error;

/// The largest encoded certificate, signature included (16 listed doors fit with room).
pub const MAX_CERTIFICATE_LEN: usize = 256;

/// The most entries one grant may allow.
pub const MAX_GRANT_USES: u8 = 32;

/// What the site root certifies about an issuer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// Wire format version, [`crate::VERSION`].
    pub version: u8,
    /// The site whose root signs this certificate.
    pub site: SiteId,
    /// The issuer's public key: grants must verify under it.
    pub issuer: PublicKey,
    /// The root's certificate generation. Door state may fence off every epoch below a number.
    pub epoch: u32,
    /// Start of validity.
    pub not_before: Time,
    /// End of validity.
    pub not_after: Time,
    /// What the issuer may grant.
    pub limits: IssuerLimits,
}

/// The limits a door enforces on every grant of an issuer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerLimits {
    /// Doors the issuer may open.
    pub doors: DoorScope,
    /// Roles the issuer may grant.
    pub roles: RoleSet,
    /// When in the week the issuer's grants may open doors, in site local time (`zone`).
    pub hours: Hours,
    /// The site's time zone, which `hours` are judged in: the one source of the site's local
    /// time, certified by the root.
    pub zone: TimeZone,
    /// The longest grant lifetime (not_after - not_before), in seconds.
    pub max_grant_lifetime: u32,
    /// The most entries one grant may allow, 1..=[`MAX_GRANT_USES`].
    pub max_uses: u8,
}

/// A certificate decoded but not yet checked against the root key.
pub type UnverifiedCertificate<'a> = Unverified<'a, Certificate>;

impl Certificate {
    /// Decodes a certificate strictly, checking field ranges but not the signature.
    pub fn decode(bytes: &[u8]) -> Result<UnverifiedCertificate<'_>, Error> {
        let cert: UnverifiedCertificate<'_> = Unverified::decode(bytes, MAX_CERTIFICATE_LEN)?;
        cert.claims().check_fields()?;
        Ok(cert)
    }

    fn check_fields(&self) -> Result<(), Error> {
        if self.not_before >= self.not_after
            || self.limits.max_uses == 0
            || self.limits.max_uses > MAX_GRANT_USES
            || self.limits.roles.0 & !RoleSet::KNOWN.0 != 0
        {
            return Err(Error::DecodeInvalidField);
        }
        if let DoorScope::Only(doors) = &self.limits.doors {
            check_door_list(doors)?;
        }
        self.limits.hours.check()?;
        self.limits.zone.check()
    }

    /// Decodes and verifies under the site root key: for the server and tools.
    pub fn decode_verified(bytes: &[u8], root: &PublicKey) -> Result<Certificate, Error> {
        Certificate::decode(bytes)?.verify_root(root)
    }
}

impl UnverifiedCertificate<'_> {
    /// Checks the root's signature.
    pub fn verify_root(self, root: &PublicKey) -> Result<Certificate, Error> {
        self.verify(
            root,
            Domain::IssuerCertificate,
            Failures { weak_key: Error::CertBadSignature, bad_signature: Error::CertBadSignature },
        )
    }
}

impl Decode<'_> for Certificate {
    fn decode(r: &mut Reader<'_>) -> Certificate {
        Certificate {
            version: r.u8(),
            site: SiteId::decode(r),
            issuer: PublicKey::decode(r),
            epoch: r.u32(),
            not_before: Time::decode(r),
            not_after: Time::decode(r),
            limits: IssuerLimits::decode(r),
        }
    }
}

impl Decode<'_> for IssuerLimits {
    fn decode(r: &mut Reader<'_>) -> IssuerLimits {
        IssuerLimits {
            doors: DoorScope::decode(r),
            roles: RoleSet::decode(r),
            hours: Hours::decode(r),
            zone: TimeZone::decode(r),
            max_grant_lifetime: r.u32(),
            max_uses: r.u8(),
        }
    }
}
