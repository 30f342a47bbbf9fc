//! The grant: an issuer allows one holder key through some doors of a site, for a few minutes,
//! a few times, for one package.

use heapless::Vec;
use serde::{Deserialize, Serialize};

use crate::certificate::MAX_GRANT_USES;
use crate::codec::byte_array;
use crate::keys::{hash32, Domain, PublicKey};
use crate::scope::{check_door_list, DoorId, Role, SiteId, Time, MAX_GRANT_DOORS};
use crate::signed::{Failures, Unverified};
use crate::wire::{Decode, Reader};
use crate::Error;

/// The largest encoded grant, signature included.
pub const MAX_GRANT_LEN: usize = 192;

/// A commitment to the package a grant is for: a salted hash of the tracking number, so the
/// door and anyone reading the log learn nothing about the parcel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PackageCommitment(#[serde(with = "byte_array")] pub [u8; 32]);

impl PackageCommitment {
    /// Commits to `tracking_number` under a per-delivery random `salt` the server keeps.
    pub fn new(salt: &[u8; 16], tracking_number: &[u8]) -> PackageCommitment {
        PackageCommitment(hash32(b"porter/v1/package\0", &[salt, tracking_number]))
    }
}

/// What an issuer grants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Wire format version, [`crate::VERSION`].
    pub version: u8,
    /// The site the grant is for.
    pub site: SiteId,
    /// The first replay serial. A grant with `uses` entries owns serials
    /// `serial .. serial + uses`; issuers never hand out a serial twice.
    pub serial: u64,
    /// How many entries the grant allows at each door it names, 1..=32.
    pub uses: u8,
    /// Why the holder may enter.
    pub role: Role,
    /// The doors the grant opens, strictly increasing, 1..=4 of them.
    #[serde(deserialize_with = "crate::codec::u32_len_vec")]
    pub doors: Vec<DoorId, MAX_GRANT_DOORS>,
    /// Start of validity.
    pub not_before: Time,
    /// End of validity.
    pub not_after: Time,
    /// The key whose holder must prove possession at the door: the driver's phone.
    pub holder: PublicKey,
    /// The package the grant is for.
    pub package: PackageCommitment,
}

/// A grant decoded but not yet checked against its issuer's key.
pub type UnverifiedGrant<'a> = Unverified<'a, Grant>;

impl Grant {
    /// Decodes a grant strictly, checking field ranges but not the signature.
    pub fn decode(bytes: &[u8]) -> Result<UnverifiedGrant<'_>, Error> {
        let grant: UnverifiedGrant<'_> = Unverified::decode(bytes, MAX_GRANT_LEN)?;
        grant.claims().check_fields()?;
        Ok(grant)
    }

    fn check_fields(&self) -> Result<(), Error> {
        if self.uses == 0
            || self.uses > MAX_GRANT_USES
            || self.not_before >= self.not_after
            || self.serial.checked_add(u64::from(self.uses)).is_none()
        {
            return Err(Error::DecodeInvalidField);
        }
        check_door_list(&self.doors)
    }

    /// The grant's lifetime in seconds.
    pub fn lifetime(&self) -> u32 {
        self.not_after.0.saturating_sub(self.not_before.0)
    }

    /// Whether the grant names `door`.
    pub fn opens(&self, door: DoorId) -> bool {
        self.doors.binary_search(&door).is_ok()
    }
}

impl UnverifiedGrant<'_> {
    /// Checks the issuer's signature.
    pub fn verify_issuer(self, issuer: &PublicKey) -> Result<Grant, Error> {
        self.verify(
            issuer,
            Domain::Grant,
            Failures { weak_key: Error::CertWeakKey, bad_signature: Error::GrantBadSignature },
        )
    }
}

impl Decode<'_> for PackageCommitment {
    fn decode(r: &mut Reader<'_>) -> PackageCommitment {
        PackageCommitment(r.array())
    }
}

impl Decode<'_> for Grant {
    fn decode(r: &mut Reader<'_>) -> Grant {
        Grant {
            version: r.u8(),
            site: SiteId::decode(r),
            serial: r.u64(),
            uses: r.u8(),
            role: Role::decode(r),
            doors: r.list(),
            not_before: Time::decode(r),
            not_after: Time::decode(r),
            holder: PublicKey::decode(r),
            package: PackageCommitment::decode(r),
        }
    }
}
