//! The door's challenge and the phone's presentation.
//!
//! A presentation is `body || proof`, where the body carries the grant, its certificate and
//! optional door state (each as the exact bytes their signers produced) and the proof is the
//! holder's signature over
//! `tag || challenge bytes || grant signature || certificate signature || door state bytes`.
//! An Ed25519 signature under a strong key commits to its message, so the proof binds the
//! door's fresh challenge and every byte the phone sends, while hashing fewer bytes than the
//! whole body: one SHA-512 block less per admission, which on a Cortex-M4 is about 1.3% of a
//! signature check. Door state is covered whole, because a door ignores an old one instead of
//! verifying it. No part can be swapped, dropped or altered in flight.

use serde::{Deserialize, Serialize};

use crate::certificate::MAX_CERTIFICATE_LEN;
use crate::codec::{self, SIGNATURE_LEN};
use crate::door_state::MAX_DOOR_STATE_LEN;
use crate::grant::MAX_GRANT_LEN;
use crate::keys::{Domain, PublicKey, VerifyError};
use crate::scope::{DoorId, SiteId, Time};
use crate::signed::{check_version, Unverified, VERSION};
use crate::wire::{self, Decode, Encode, Reader, Writer};
use crate::Error;

/// The encoded length bound of a challenge.
pub const MAX_CHALLENGE_LEN: usize = 32;

/// The largest presentation: version, three length-prefixed messages, the proof.
/// 1 + (2 + 256) + (2 + 192) + (1 + 2 + 3584) + 64 = 4104, rounded up.
pub const MAX_PRESENTATION_LEN: usize = 4160;

/// A fresh challenge the door sends before each attempt. The holder signs it with the
/// presentation, so a presentation cannot be replayed to another door or later at this one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// Wire format version, [`crate::VERSION`].
    pub version: u8,
    /// The door's site.
    pub site: SiteId,
    /// The door.
    pub door: DoorId,
    /// 16 bytes that never repeat at this door, across reboots too.
    #[serde(with = "codec::byte_array")]
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
        wire::encode(self, out).map(|b| &*b)
    }

    /// Decodes a challenge strictly: what the phone does with the door's bytes.
    pub fn decode(bytes: &[u8]) -> Result<Challenge, Error> {
        check_version(bytes)?;
        codec::decode(bytes, MAX_CHALLENGE_LEN)
    }
}

/// What the phone presents: the grant, its issuer's certificate and, optionally, door state
/// newer than the door may have. Each part keeps its exact signed bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presentation<'a> {
    /// Wire format version, [`crate::VERSION`].
    pub version: u8,
    /// The signed grant, exactly as the issuer produced it.
    #[serde(serialize_with = "codec::as_bytes")]
    pub grant: &'a [u8],
    /// The signed issuer certificate.
    #[serde(serialize_with = "codec::as_bytes")]
    pub certificate: &'a [u8],
    /// Signed door state, carried for the site root.
    #[serde(serialize_with = "codec::option_as_bytes")]
    pub door_state: Option<&'a [u8]>,
}

/// A presentation as received: decoded, with its proof not yet checked.
pub type UnverifiedPresentation<'a> = Unverified<'a, Presentation<'a>>;

impl<'a> Presentation<'a> {
    /// A presentation in the current wire version.
    pub fn new(grant: &'a [u8], certificate: &'a [u8], door_state: Option<&'a [u8]>) -> Self {
        Presentation { version: VERSION, grant, certificate, door_state }
    }

    /// Decodes a received presentation strictly and bounds each part's length.
    pub fn decode(bytes: &'a [u8]) -> Result<UnverifiedPresentation<'a>, Error> {
        let p: UnverifiedPresentation<'a> = Unverified::decode(bytes, MAX_PRESENTATION_LEN)?;
        let claims = p.claims();
        let state_len = claims.door_state.map_or(0, <[u8]>::len);
        if claims.grant.len() > MAX_GRANT_LEN
            || claims.certificate.len() > MAX_CERTIFICATE_LEN
            || state_len > MAX_DOOR_STATE_LEN
        {
            return Err(Error::DecodeTooLarge);
        }
        Ok(p)
    }

    /// Encodes the body the holder signs (everything but the proof) into `out`.
    pub fn encode_body<'b>(&self, out: &'b mut [u8]) -> Result<&'b [u8], Error> {
        codec::encode(self, out).map(|b| &*b)
    }

    /// Writes `body || proof` into `out`: the presentation as sent, once an external signer
    /// (a platform keystore) returned the proof over [`crate::holder_proof_message`].
    pub fn assemble<'b>(
        body: &[u8],
        proof: &[u8; 64],
        out: &'b mut [u8],
    ) -> Result<&'b [u8], Error> {
        let total = body.len() + proof.len();
        let out = out.get_mut(..total).ok_or(Error::BufferTooSmall)?;
        let (b, p) = out.split_at_mut(body.len());
        b.copy_from_slice(body);
        p.copy_from_slice(proof);
        Ok(out)
    }
}

impl<'a> Presentation<'a> {
    /// What the holder's proof covers after the tag and the challenge: the grant's and the
    /// certificate's signatures, then the door state's bytes (empty if none is carried).
    pub(crate) fn proof_parts(&self) -> Result<[&'a [u8]; 3], Error> {
        let signature = |signed: &'a [u8]| {
            let at = signed.len().checked_sub(SIGNATURE_LEN).ok_or(Error::DecodeMalformed)?;
            signed.get(at..).ok_or(Error::DecodeMalformed)
        };
        Ok([signature(self.grant)?, signature(self.certificate)?, self.door_state.unwrap_or(&[])])
    }
}

impl UnverifiedPresentation<'_> {
    /// Checks the holder's proof over the door's challenge and the presentation.
    pub fn verify_holder(&self, holder: &PublicKey, challenge: &Challenge) -> Result<(), Error> {
        let mut buf = [0u8; MAX_CHALLENGE_LEN];
        let challenge_bytes = challenge.encode(&mut buf)?;
        let [grant_signature, cert_signature, state] = self.claims().proof_parts()?;
        let parts = [challenge_bytes, grant_signature, cert_signature, state];
        self.check_signature_over(holder, Domain::HolderProof, &parts).map_err(|e| match e {
            VerifyError::WeakKey => Error::HolderWeakKey,
            VerifyError::BadSignature => Error::ProofBadSignature,
        })
    }
}

impl Decode<'_> for Challenge {
    fn decode(r: &mut Reader<'_>) -> Challenge {
        Challenge {
            version: r.u8(),
            site: SiteId::decode(r),
            door: DoorId::decode(r),
            nonce: r.array(),
            issued_at: Time::decode(r),
        }
    }
}

impl<'a> Decode<'a> for Presentation<'a> {
    fn decode(r: &mut Reader<'a>) -> Presentation<'a> {
        Presentation {
            version: r.u8(),
            grant: r.byte_string(),
            certificate: r.byte_string(),
            door_state: if r.bool() { Some(r.byte_string()) } else { None },
        }
    }
}

impl Encode for Challenge {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.u8(self.version)?;
        self.site.encode(w)?;
        self.door.encode(w)?;
        w.bytes(&self.nonce)?;
        self.issued_at.encode(w)
    }
}
