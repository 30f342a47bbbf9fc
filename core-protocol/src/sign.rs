//! Signing helpers for the site root, issuers and holders (feature `sign`). A door needs none
//! of this: it only verifies (and signs its own receipts, in `audit`).

use crate::certificate::Certificate;
use crate::door_state::DoorState;
use crate::enrolment::Enrolment;
use crate::grant::Grant;
use crate::keys::{Domain, Signature, SigningKey, MAX_SIGNED_LEN};
use crate::presentation::{Challenge, Presentation, MAX_CHALLENGE_LEN, MAX_PRESENTATION_LEN};
use crate::signed::seal;
use crate::Error;

/// The longest holder-proof message: tag, challenge, two signatures, the largest door state.
pub const MAX_PROOF_MESSAGE_LEN: usize =
    32 + MAX_CHALLENGE_LEN + 2 * 64 + crate::door_state::MAX_DOOR_STATE_LEN;

/// The longest carrier id a registration proof may name, in bytes (the server's ids are far
/// shorter; the bound keeps the message on the stack).
pub const MAX_CARRIER_ID_LEN: usize = 128;

/// The longest registration message: tag, challenge, carrier id.
pub const MAX_REGISTRATION_MESSAGE_LEN: usize =
    Domain::HolderRegistration.tag().len() + 32 + MAX_CARRIER_ID_LEN;

/// What a driver's phone signs (plain Ed25519, no pre-hashing) to register its holder key with
/// the server (`POST /v1/drivers`), in order: the tag `porter/v1/holder-registration\0`, the
/// server's 32-byte challenge, the carrier id's UTF-8 bytes. The carrier id makes a proof
/// made for one carrier useless to another; the tag keeps it apart from every door message.
/// Concatenate the parts to get the message the server verifies.
pub const fn registration<'a>(challenge: &'a [u8; 32], carrier_id: &'a str) -> [&'a [u8]; 3] {
    [Domain::HolderRegistration.tag(), challenge, carrier_id.as_bytes()]
}

/// Signs [`registration`] with a holder key held in memory. Fails with
/// [`Error::BufferTooSmall`] if the carrier id is longer than [`MAX_CARRIER_ID_LEN`].
pub fn sign_registration(
    holder: &SigningKey,
    challenge: &[u8; 32],
    carrier_id: &str,
) -> Result<Signature, Error> {
    let [_, challenge, carrier] = registration(challenge, carrier_id);
    holder.sign_parts_in::<MAX_REGISTRATION_MESSAGE_LEN>(
        Domain::HolderRegistration,
        &[challenge, carrier],
    )
}

impl Certificate {
    /// Encodes the certificate and signs it with the site root key.
    pub fn seal<'b>(&self, root: &SigningKey, out: &'b mut [u8]) -> Result<&'b [u8], Error> {
        seal::<_, MAX_SIGNED_LEN>(root, Domain::IssuerCertificate, self, out)
    }
}

impl Enrolment {
    /// Encodes the enrolment and signs it with the site root key.
    pub fn seal<'b>(&self, root: &SigningKey, out: &'b mut [u8]) -> Result<&'b [u8], Error> {
        seal::<_, MAX_SIGNED_LEN>(root, Domain::DeviceEnrolment, self, out)
    }
}

impl Grant {
    /// Encodes the grant and signs it with the issuer key.
    pub fn seal<'b>(&self, issuer: &SigningKey, out: &'b mut [u8]) -> Result<&'b [u8], Error> {
        seal::<_, MAX_SIGNED_LEN>(issuer, Domain::Grant, self, out)
    }
}

impl DoorState {
    /// Encodes the door state and signs it with the site root key.
    pub fn seal<'b>(&self, root: &SigningKey, out: &'b mut [u8]) -> Result<&'b [u8], Error> {
        seal::<_, MAX_SIGNED_LEN>(root, Domain::DoorState, self, out)
    }
}

/// The exact message a holder signs to answer `challenge_bytes` with a presentation whose
/// body is `presentation_body` ([`Presentation::encode_body`]): `tag || challenge || grant
/// signature || certificate signature || door state bytes (if carried)`. For signers that live
/// elsewhere (a platform keystore); then [`Presentation::assemble`].
pub fn holder_proof_message<'b>(
    challenge_bytes: &[u8],
    presentation_body: &[u8],
    out: &'b mut [u8],
) -> Result<&'b [u8], Error> {
    let body: Presentation<'_> = crate::codec::decode(presentation_body, MAX_PRESENTATION_LEN)?;
    let [grant_signature, cert_signature, state] = body.proof_parts()?;
    let mut len = 0;
    for part in [Domain::HolderProof.tag(), challenge_bytes, grant_signature, cert_signature, state]
    {
        let end = len + part.len();
        out.get_mut(len..end).ok_or(Error::BufferTooSmall)?.copy_from_slice(part);
        len = end;
    }
    out.get(..len).ok_or(Error::BufferTooSmall)
}

/// Signs the holder proof with a key held in memory.
pub fn sign_holder_proof(
    holder: &SigningKey,
    challenge_bytes: &[u8],
    presentation_body: &[u8],
) -> Result<Signature, Error> {
    let body: Presentation<'_> = crate::codec::decode(presentation_body, MAX_PRESENTATION_LEN)?;
    let [grant_signature, cert_signature, state] = body.proof_parts()?;
    holder.sign_parts_in::<MAX_PROOF_MESSAGE_LEN>(
        Domain::HolderProof,
        &[challenge_bytes, grant_signature, cert_signature, state],
    )
}

/// Builds, signs and encodes a presentation answering `challenge` with an in-memory holder key.
pub fn present<'b>(
    holder: &SigningKey,
    challenge: &Challenge,
    grant: &[u8],
    certificate: &[u8],
    door_state: Option<&[u8]>,
    out: &'b mut [u8],
) -> Result<&'b [u8], Error> {
    let mut buf = [0u8; MAX_CHALLENGE_LEN];
    let challenge_bytes = challenge.encode(&mut buf)?;
    let body_len = Presentation::new(grant, certificate, door_state).encode_body(out)?.len();
    let body = out.get(..body_len).ok_or(Error::BufferTooSmall)?;
    let proof = sign_holder_proof(holder, challenge_bytes, body)?;
    let end = body_len + proof.0.len();
    out.get_mut(body_len..end).ok_or(Error::BufferTooSmall)?.copy_from_slice(&proof.0);
    out.get(..end).ok_or(Error::BufferTooSmall)
}
