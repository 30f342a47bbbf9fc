//! The driver's side: a holder key (in memory, or in the platform keystore behind a signer
//! callback) and the presentation that answers a door's challenge.
//!
//! Three ways to build a presentation, all producing the same bytes for the same key:
//! * `porter_presentation_build` with a `porter_holder_key` made from caller entropy;
//! * `porter_presentation_build_with_signer` with a callback into the keystore;
//! * `porter_proof_message`, sign it anywhere (asynchronously, after a biometric prompt), then
//!   `porter_presentation_assemble` with the signature.
//!
//! Every path first decodes the challenge, grant, certificate and door state strictly (so an
//! app learns at once that the server or the door sent garbage) and checks that the grant is
//! bound to the signing key; the external-signature paths also verify the signature before
//! emitting anything, so a keystore holding the wrong key is caught on the phone.

use core::ffi::c_void;

use porter_protocol::{
    holder_proof_message, present, registration, sign_registration, verify_raw, Certificate,
    Challenge, DoorState, Grant, Presentation, PublicKey, SigningKey, MAX_CARRIER_ID_LEN,
    MAX_PRESENTATION_LEN, MAX_PROOF_MESSAGE_LEN, MAX_REGISTRATION_MESSAGE_LEN,
};

use crate::ffi::{
    boundary, call_signer, check_out, copy_out, free_box, new_box, porter_sign_callback, try_array,
    try_optional_slice, try_ref, try_slice, write_out, Outcome,
};
use crate::result::{porter_result, protocol};

/// An Ed25519 holder key held in memory. Immutable once made: may be shared between threads.
pub struct porter_holder_key {
    pub(crate) key: SigningKey,
}

/// Makes a holder key from 32 bytes of secret entropy `seed` (from the platform's CSPRNG:
/// `SecRandomCopyBytes`, `java.security.SecureRandom`). The same seed always gives the same
/// key, so the app may store the seed (encrypted by the keystore) to keep its key.
///
/// Writes a new key to `*key_out` (free it with `porter_holder_key_free`).
/// Errors: `NULL_PARAMETER`; `INVALID_PARAMETER` if `seed_len` is not 32;
/// `KEY_INVALID_SEED` if the seed is all zeros (the entropy source failed: draw again).
#[no_mangle]
pub extern "C" fn porter_holder_key_new(
    seed: *const u8,
    seed_len: usize,
    key_out: *mut *mut porter_holder_key,
) -> porter_result {
    boundary(|| {
        check_out(key_out)?;
        let seed: [u8; 32] = try_array(seed, seed_len)?;
        let key = porter_holder_key { key: protocol(SigningKey::from_seed(seed))? };
        write_out(key_out, new_box(key))
    })
}

/// Copies the key's 32-byte public half (what the server binds grants to) into `out`.
/// Errors: `NULL_PARAMETER`; `BUFFER_TOO_SMALL` if `out_len` < 32.
#[no_mangle]
pub extern "C" fn porter_holder_key_public(
    key: *const porter_holder_key,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        let key = try_ref(key)?;
        copy_out(&key.key.public_key().0, out, out_len, written)
    })
}

/// Frees a key made by `porter_holder_key_new`. NULL is a no-op.
#[no_mangle]
pub extern "C" fn porter_holder_key_free(key: *mut porter_holder_key) {
    // A panic cannot happen in a free; the boundary keeps the rule "every function" honest.
    let _ = boundary(|| {
        free_box(key);
        Ok(())
    });
}

/// The inputs of a presentation, decoded strictly and checked against each other.
struct Parts<'a> {
    challenge_bytes: &'a [u8],
    challenge: Challenge,
    grant: &'a [u8],
    holder: PublicKey,
    certificate: &'a [u8],
    door_state: Option<&'a [u8]>,
}

impl<'a> Parts<'a> {
    #[allow(clippy::too_many_arguments, reason = "the C argument list, pointer and length")]
    fn decode(
        challenge: *const u8,
        challenge_len: usize,
        grant: *const u8,
        grant_len: usize,
        certificate: *const u8,
        certificate_len: usize,
        door_state: *const u8,
        door_state_len: usize,
    ) -> Result<Parts<'a>, porter_result> {
        let challenge_bytes = try_slice(challenge, challenge_len)?;
        let grant = try_slice(grant, grant_len)?;
        let certificate = try_slice(certificate, certificate_len)?;
        let door_state = try_optional_slice(door_state, door_state_len)?;
        let challenge = protocol(Challenge::decode(challenge_bytes))?;
        let holder = protocol(Grant::decode(grant))?.claims().holder;
        protocol(Certificate::decode(certificate))?;
        if let Some(state) = door_state {
            protocol(DoorState::decode(state))?;
        }
        Ok(Parts { challenge_bytes, challenge, grant, holder, certificate, door_state })
    }

    /// The presentation body (everything but the proof) into `out`.
    fn body<'b>(&self, out: &'b mut [u8]) -> Result<&'b [u8], porter_result> {
        let presentation = Presentation::new(self.grant, self.certificate, self.door_state);
        protocol(presentation.encode_body(out))
    }

    /// Writes the message the holder signs for this body into `out` (the core decides what it
    /// covers: see `porter_protocol::holder_proof_message` and spec/protocol.md).
    fn proof_message<'b>(&self, out: &'b mut [u8]) -> Result<&'b [u8], porter_result> {
        let mut body = [0u8; MAX_PRESENTATION_LEN];
        let body = self.body(&mut body)?;
        protocol(holder_proof_message(self.challenge_bytes, body, out))
    }

    /// Encodes the presentation with an externally made `signature`, after checking it
    /// under the grant's holder key.
    fn assemble(&self, signature: [u8; 64], out: &mut [u8]) -> Result<usize, porter_result> {
        let mut message = [0u8; MAX_PROOF_MESSAGE_LEN];
        if !verify_raw(&self.holder.0, self.proof_message(&mut message)?, &signature) {
            return Err(porter_result::ProofBadSignature);
        }
        let mut body = [0u8; MAX_PRESENTATION_LEN];
        let body = self.body(&mut body)?;
        protocol(Presentation::assemble(body, &signature, out)).map(<[u8]>::len)
    }
}

/// Builds the presentation answering a door's `challenge` (its exact bytes) with `grant` and
/// the issuer `certificate` (both exactly as the server sent them) and, if not NULL, the
/// newest signed `door_state` the phone carries, signed with the in-memory `key`.
///
/// Writes at most `PORTER_MAX_PRESENTATION_LEN` bytes to `out` and their number to `*written`.
/// Errors: `NULL_PARAMETER`; a `DECODE_*` code if an input is not a valid message of its kind;
/// `HOLDER_MISMATCH` if the grant is bound to another key; `BUFFER_TOO_SMALL`.
#[no_mangle]
#[allow(clippy::too_many_arguments, reason = "C has no slices: every input is pointer + length")]
pub extern "C" fn porter_presentation_build(
    key: *const porter_holder_key,
    challenge: *const u8,
    challenge_len: usize,
    grant: *const u8,
    grant_len: usize,
    certificate: *const u8,
    certificate_len: usize,
    door_state: *const u8,
    door_state_len: usize,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        let key = &try_ref(key)?.key;
        check_out(written)?;
        let parts = Parts::decode(
            challenge,
            challenge_len,
            grant,
            grant_len,
            certificate,
            certificate_len,
            door_state,
            door_state_len,
        )?;
        if parts.holder != key.public_key() {
            return Err(porter_result::HolderMismatch);
        }
        let mut buf = [0u8; MAX_PRESENTATION_LEN];
        let bytes = protocol(present(
            key,
            &parts.challenge,
            parts.grant,
            parts.certificate,
            parts.door_state,
            &mut buf,
        ))?;
        copy_out(bytes, out, out_len, written)
    })
}

/// Writes the exact message the holder key must sign to answer `challenge` with this grant,
/// certificate and optional door state (the domain tag, the challenge, the grant's and the
/// certificate's signatures and any door state, as spec/protocol.md defines it; at
/// most `PORTER_MAX_PROOF_MESSAGE_LEN` bytes), for a signer that cannot be called back
/// synchronously. Sign it with plain Ed25519 (RFC 8032, no pre-hashing) and pass the
/// signature, with the very same inputs, to `porter_presentation_assemble`.
///
/// Errors: `NULL_PARAMETER`; `DECODE_*` for a bad input; `BUFFER_TOO_SMALL`.
#[no_mangle]
#[allow(clippy::too_many_arguments, reason = "C has no slices: every input is pointer + length")]
pub extern "C" fn porter_proof_message(
    challenge: *const u8,
    challenge_len: usize,
    grant: *const u8,
    grant_len: usize,
    certificate: *const u8,
    certificate_len: usize,
    door_state: *const u8,
    door_state_len: usize,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        check_out(written)?;
        let parts = Parts::decode(
            challenge,
            challenge_len,
            grant,
            grant_len,
            certificate,
            certificate_len,
            door_state,
            door_state_len,
        )?;
        let mut buf = [0u8; MAX_PROOF_MESSAGE_LEN];
        copy_out(parts.proof_message(&mut buf)?, out, out_len, written)
    })
}

/// Builds the presentation from a 64-byte Ed25519 `signature` made elsewhere over
/// `porter_proof_message` of the same inputs. The signature is verified under the grant's
/// holder key first: `PROOF_BAD_SIGNATURE` means the keystore signed with another key or
/// over other bytes. Other errors as `porter_presentation_build`; `INVALID_PARAMETER` if
/// `signature_len` is not 64.
#[no_mangle]
#[allow(clippy::too_many_arguments, reason = "C has no slices: every input is pointer + length")]
pub extern "C" fn porter_presentation_assemble(
    challenge: *const u8,
    challenge_len: usize,
    grant: *const u8,
    grant_len: usize,
    certificate: *const u8,
    certificate_len: usize,
    door_state: *const u8,
    door_state_len: usize,
    signature: *const u8,
    signature_len: usize,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        check_out(written)?;
        let signature: [u8; 64] = try_array(signature, signature_len)?;
        let parts = Parts::decode(
            challenge,
            challenge_len,
            grant,
            grant_len,
            certificate,
            certificate_len,
            door_state,
            door_state_len,
        )?;
        finish(&parts, signature, out, out_len, written)
    })
}

/// Builds the presentation, asking `sign` to sign the proof message with the holder key in
/// the platform keystore. `sign` is called exactly once, on the calling thread, before this
/// function returns, with `userdata` passed through; its signature is verified as in
/// `porter_presentation_assemble`. Errors: as `porter_presentation_assemble`, and
/// `SIGNER_FAILED` if the callback returned non-zero (or `NULL_PARAMETER` if it is NULL).
#[no_mangle]
#[allow(clippy::too_many_arguments, reason = "C has no slices: every input is pointer + length")]
pub extern "C" fn porter_presentation_build_with_signer(
    sign: porter_sign_callback,
    userdata: *mut c_void,
    challenge: *const u8,
    challenge_len: usize,
    grant: *const u8,
    grant_len: usize,
    certificate: *const u8,
    certificate_len: usize,
    door_state: *const u8,
    door_state_len: usize,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        let sign = sign.ok_or(porter_result::NullParameter)?;
        check_out(written)?;
        let parts = Parts::decode(
            challenge,
            challenge_len,
            grant,
            grant_len,
            certificate,
            certificate_len,
            door_state,
            door_state_len,
        )?;
        let mut buf = [0u8; MAX_PROOF_MESSAGE_LEN];
        let message = parts.proof_message(&mut buf)?;
        let signature = call_signer(sign, userdata, message).ok_or(porter_result::SignerFailed)?;
        finish(&parts, signature, out, out_len, written)
    })
}

fn finish(
    parts: &Parts<'_>,
    signature: [u8; 64],
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> Outcome {
    let mut buf = [0u8; MAX_PRESENTATION_LEN];
    let len = parts.assemble(signature, &mut buf)?;
    copy_out(buf.get(..len).ok_or(porter_result::Panic)?, out, out_len, written)
}

/// The inputs of a registration proof: the server's 32-byte challenge and the carrier id
/// (UTF-8, at most `PORTER_MAX_CARRIER_ID_LEN` bytes, no terminating NUL).
fn registration_inputs<'a>(
    challenge: *const u8,
    challenge_len: usize,
    carrier_id: *const u8,
    carrier_id_len: usize,
) -> Result<([u8; 32], &'a str), porter_result> {
    let challenge: [u8; 32] = try_array(challenge, challenge_len)?;
    let carrier_id = try_slice(carrier_id, carrier_id_len)?;
    if carrier_id.len() > MAX_CARRIER_ID_LEN {
        return Err(porter_result::InvalidParameter);
    }
    let carrier_id =
        core::str::from_utf8(carrier_id).map_err(|_| porter_result::InvalidParameter)?;
    Ok((challenge, carrier_id))
}

/// Writes the registration message `"porter/v1/holder-registration\0" || challenge ||
/// carrier_id` into a stack buffer and returns its length.
fn registration_message(
    challenge: &[u8; 32],
    carrier_id: &str,
    buf: &mut [u8; MAX_REGISTRATION_MESSAGE_LEN],
) -> Result<usize, porter_result> {
    let mut len = 0;
    for part in registration(challenge, carrier_id) {
        let end = len + part.len();
        buf.get_mut(len..end).ok_or(porter_result::InvalidParameter)?.copy_from_slice(part);
        len = end;
    }
    Ok(len)
}

/// Signs the proof that registers this holder key with the server (`POST /v1/drivers`, field
/// `signature`): plain Ed25519 over `"porter/v1/holder-registration\0" || challenge ||
/// carrier_id`, where `challenge` is the 32 bytes of `POST /v1/drivers/challenges` (hex-decoded)
/// and `carrier_id` the carrier's id as UTF-8 bytes without a NUL. Writes the 64-byte
/// signature to `out`.
///
/// Errors: `NULL_PARAMETER`; `INVALID_PARAMETER` if `challenge_len` is not 32 or the carrier id
/// is not UTF-8 or longer than `PORTER_MAX_CARRIER_ID_LEN`; `BUFFER_TOO_SMALL` if `out_len` < 64.
#[no_mangle]
#[allow(clippy::too_many_arguments, reason = "C has no slices: every input is pointer + length")]
pub extern "C" fn porter_holder_key_sign_registration(
    key: *const porter_holder_key,
    challenge: *const u8,
    challenge_len: usize,
    carrier_id: *const u8,
    carrier_id_len: usize,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        let key = try_ref(key)?;
        check_out(written)?;
        let (challenge, carrier_id) =
            registration_inputs(challenge, challenge_len, carrier_id, carrier_id_len)?;
        let signature = protocol(sign_registration(&key.key, &challenge, carrier_id))?;
        copy_out(&signature.0, out, out_len, written)
    })
}

/// The registration message of `porter_holder_key_sign_registration` (at most
/// `PORTER_MAX_REGISTRATION_MESSAGE_LEN` bytes), for a key in the platform keystore that cannot
/// be called back synchronously: sign it there with plain Ed25519 and send the signature.
/// Errors: as `porter_holder_key_sign_registration`.
#[no_mangle]
pub extern "C" fn porter_registration_message(
    challenge: *const u8,
    challenge_len: usize,
    carrier_id: *const u8,
    carrier_id_len: usize,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        check_out(written)?;
        let (challenge, carrier_id) =
            registration_inputs(challenge, challenge_len, carrier_id, carrier_id_len)?;
        let mut buf = [0u8; MAX_REGISTRATION_MESSAGE_LEN];
        let len = registration_message(&challenge, carrier_id, &mut buf)?;
        copy_out(buf.get(..len).ok_or(porter_result::Panic)?, out, out_len, written)
    })
}

/// Signs the registration proof with the holder key in the platform keystore: `sign` is called
/// exactly once, on the calling thread, with the registration message (as
/// `porter_presentation_build_with_signer`). Its signature is verified under `holder_public`
/// (the 32-byte key being registered) before it is written to `out` (64 bytes):
/// `PROOF_BAD_SIGNATURE` means the keystore signed with another key, and the server would
/// refuse it. Errors: as `porter_holder_key_sign_registration`; `INVALID_PARAMETER` if
/// `holder_public_len` is not 32; `SIGNER_FAILED` if the callback returned non-zero.
#[no_mangle]
#[allow(clippy::too_many_arguments, reason = "C has no slices: every input is pointer + length")]
pub extern "C" fn porter_registration_sign_with_signer(
    sign: porter_sign_callback,
    userdata: *mut c_void,
    holder_public: *const u8,
    holder_public_len: usize,
    challenge: *const u8,
    challenge_len: usize,
    carrier_id: *const u8,
    carrier_id_len: usize,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        let sign = sign.ok_or(porter_result::NullParameter)?;
        check_out(written)?;
        let holder: [u8; 32] = try_array(holder_public, holder_public_len)?;
        let (challenge, carrier_id) =
            registration_inputs(challenge, challenge_len, carrier_id, carrier_id_len)?;
        let mut buf = [0u8; MAX_REGISTRATION_MESSAGE_LEN];
        let len = registration_message(&challenge, carrier_id, &mut buf)?;
        let message = buf.get(..len).ok_or(porter_result::Panic)?;
        let signature = call_signer(sign, userdata, message).ok_or(porter_result::SignerFailed)?;
        if !verify_raw(&holder, message, &signature) {
            return Err(porter_result::ProofBadSignature);
        }
        copy_out(&signature, out, out_len, written)
    })
}
