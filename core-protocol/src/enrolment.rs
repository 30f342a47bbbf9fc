//! The device enrolment: the site root binds a door's own device key to a site and door.

use serde::{Deserialize, Serialize};

use crate::audit::LogKey;
use crate::keys::{Domain, PublicKey};
use crate::scope::{DoorId, SiteId, Time};
use crate::signed::{Failures, Unverified};
use crate::wire::{Decode, Reader};
use crate::Error;

/// The largest encoded enrolment, signature included: version 1, site <= 5, door <= 3, device
/// key 32, time <= 5, log key 1 + 32, signature 64 = 143, rounded up.
pub const MAX_ENROLMENT_LEN: usize = 160;

/// What the site root states about a door controller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    /// Wire format version, [`crate::VERSION`].
    pub version: u8,
    /// The site.
    pub site: SiteId,
    /// The door the controller is wired to.
    pub door: DoorId,
    /// The key the controller made on first boot; it signs receipts and log heads.
    pub device: PublicKey,
    /// When the root signed the enrolment. The door's clock floor starts here: it never
    /// trusts its real-time clock below this instant.
    pub issued_at: Time,
    /// The site server's X25519 key for reading the door's log: the door masks every holder id
    /// it logs with a key only it and that server can derive (see [`crate::LogMask`]). `None`
    /// logs holder ids in clear, readable by anyone in radio range: a root tool SHOULD always
    /// set it.
    pub log_key: Option<LogKey>,
}

impl Enrolment {
    /// Decodes and verifies an enrolment under the site root key.
    pub fn decode_verified(bytes: &[u8], root: &PublicKey) -> Result<Enrolment, Error> {
        let enrolment: Unverified<'_, Enrolment> = Unverified::decode(bytes, MAX_ENROLMENT_LEN)?;
        enrolment.verify(
            root,
            Domain::DeviceEnrolment,
            Failures {
                weak_key: Error::EnrolmentBadSignature,
                bad_signature: Error::EnrolmentBadSignature,
            },
        )
    }

    /// Decodes, verifies, and checks it names this device's key: what a door does before it
    /// stores its enrolment (the installer hands it the root key and the enrolment together).
    pub fn decode_for_device(
        bytes: &[u8],
        root: &PublicKey,
        device: &PublicKey,
    ) -> Result<Enrolment, Error> {
        let enrolment = Enrolment::decode_verified(bytes, root)?;
        if enrolment.device != *device {
            return Err(Error::EnrolmentMismatch);
        }
        Ok(enrolment)
    }
}

impl Decode<'_> for Enrolment {
    fn decode(r: &mut Reader<'_>) -> Enrolment {
        Enrolment {
            version: r.u8(),
            site: SiteId::decode(r),
            door: DoorId::decode(r),
            device: PublicKey::decode(r),
            issued_at: Time::decode(r),
            log_key: r.option(),
        }
    }
}
