//! The door's challenge and the phone's presentation.

use serde::{Deserialize, Serialize};

use crate::certificate::MAX_CERTIFICATE_LEN;
use crate::codec;
use crate::door_state::MAX_DOOR_STATE_LEN;
use crate::grant::MAX_GRANT_LEN;
use crate::keys::Signature;
use crate::scope::{DoorId, SiteId, Time};
use crate::signed::{check_version, VERSION};
use crate::Error;

/// The encoded length bound of a challenge.
pub const MAX_CHALLENGE_LEN: usize = 32;

/// The largest presentation: version, three length-prefixed messages, the proof.
/// 1 + (2 + 256) + (2 + 192) + (1 + 2 + 3584) + 64 = 4104, rounded up.
pub const MAX_PRESENTATION_LEN: usize = 4160;

/// A fresh challenge the door sends before each attempt. The holder signs it with the grant,
/// so a presentation cannot be replayed to another door or later at this one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// Wire format version, [`crate::VERSION`].
    pub version: u8,
    /// The door's site.
    pub site: SiteId,
    /// The door.
    pub door: DoorId,
    /// 16 bytes that never repeat at this door, across reboots too.
    pub nonce: [u8; 16],
    /// The door's time when it issued the challenge.
    pub issued_at: Time,
}

impl Challenge {
    /// A challenge in the current wire version.
    pub fn new(site: SiteId, door: DoorId, nonce: [u8; 16], issued_at: Time) -> Challenge {
        Challenge { version: VERSION, site, door, nonce, issued_at }
    }

    /// Encodes the challenge as the door sends it (and as the holder signs it).
    pub fn encode<'b>(&self, out: &'b mut [u8]) -> Result<&'b [u8], Error> {
        codec::encode(self, out).map(|b| &*b)
    }

    /// Decodes a challenge strictly: what the phone does with the door's bytes.
    pub fn decode(bytes: &[u8]) -> Result<Challenge, Error> {
        check_version(bytes)?;
        codec::decode(bytes, MAX_CHALLENGE_LEN)
    }
}

/// What the phone answers: the grant, its issuer's certificate, optionally newer door state,
/// and the holder's proof over the challenge and the grant. Each part keeps its exact bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presentation<'a> {
    /// Wire format version, [`crate::VERSION`].
    pub version: u8,
    /// The signed grant, exactly as the issuer produced it.
    pub grant: &'a [u8],
    /// The signed issuer certificate.
    pub certificate: &'a [u8],
    /// Signed door state newer than the door may have, carried for the site root.
    pub door_state: Option<&'a [u8]>,
    /// The holder's signature over `tag || challenge bytes || grant bytes`.
    pub proof: Signature,
}

impl<'a> Presentation<'a> {
    /// Decodes a presentation strictly and bounds each part's length.
    pub fn decode(bytes: &'a [u8]) -> Result<Presentation<'a>, Error> {
        check_version(bytes)?;
        let p: Presentation<'a> = codec::decode(bytes, MAX_PRESENTATION_LEN)?;
        let state_len = p.door_state.map_or(0, <[u8]>::len);
        if p.grant.len() > MAX_GRANT_LEN
            || p.certificate.len() > MAX_CERTIFICATE_LEN
            || state_len > MAX_DOOR_STATE_LEN
        {
            return Err(Error::DecodeTooLarge);
        }
        Ok(p)
    }

    /// Encodes the presentation into `out`.
    pub fn encode<'b>(&self, out: &'b mut [u8]) -> Result<&'b [u8], Error> {
        codec::encode(self, out).map(|b| &*b)
    }
}
