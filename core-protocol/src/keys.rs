//! Public keys, signatures and domain-separated verification.
//!
//! Every Porter signature covers `domain tag || exact bytes`, where the tag names the kind of
//! message, so a signature made for one kind can never be replayed as another. Verification is
//! ed25519-compact's strict mode: canonical S, canonical points, small-order keys refused.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::codec::byte_array;
use crate::wire::{Decode, Encode, Reader, Writer};
use crate::Error;

/// An Ed25519 public key as sent on the wire (32 bytes). Not validated until used or
/// [`PublicKey::validate`]d: decoding checks length only.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PublicKey(#[serde(with = "byte_array")] pub [u8; 32]);

impl PublicKey {
    /// Whether this is a canonical encoding of a point of large order: the only keys Porter
    /// certifies, enrols or grants to. A weak key could make forged signatures verify.
    pub fn validate(&self) -> Result<(), KeyError> {
        ed25519_compact::PublicKey::new(self.0).validate().map_err(|e| match e {
            ed25519_compact::Error::WeakPublicKey => KeyError::SmallOrder,
            _ => KeyError::NotAPoint,
        })
    }

    /// The short identifier used in deny-lists, the replay table and the audit log.
    pub fn id(&self) -> KeyId {
        let mut id = [0u8; 8];
        id.copy_from_slice(&self.0[..8]);
        KeyId(id)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey(")?;
        hex(f, &self.0)?;
        write!(f, ")")
    }
}

/// Why a public key was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// Not the canonical encoding of a curve point.
    NotAPoint,
    /// A point of small order (including the identity): it would accept forgeries.
    SmallOrder,
}

/// The first eight bytes of a public key. Collisions can only make a deny-list entry match
/// more than intended (fail closed); they can never let anything in.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KeyId(#[serde(with = "byte_array")] pub [u8; 8]);

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId(")?;
        hex(f, &self.0)?;
        write!(f, ")")
    }
}

/// An Ed25519 signature (64 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature(#[serde(with = "byte_array")] pub [u8; 64]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature(")?;
        hex(f, &self.0)?;
        write!(f, ")")
    }
}

/// What a signature is for. The tag is absorbed before the signed bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Domain {
    /// The site root certifies an issuer key and its limits.
    IssuerCertificate,
    /// The site root enrols a door's device key.
    DeviceEnrolment,
    /// An issuer grants entry to a holder key.
    Grant,
    /// A holder proves possession over the door's challenge and the grant.
    HolderProof,
    /// The site root signs door state (deny-list, fences, trusted time).
    DoorState,
    /// A door signs a receipt for one audit record.
    Receipt,
    /// A door signs the head of its audit log.
    LogHead,
    /// A driver's phone proves to the server that it holds the holder key it registers
    /// (`registration`). Never verified by a door.
    HolderRegistration,
}

impl Domain {
    /// The tag bytes. NUL-terminated so that no tag is a prefix of another.
    pub const fn tag(self) -> &'static [u8] {
        match self {
            Domain::IssuerCertificate => b"porter/v1/issuer-certificate\0",
            Domain::DeviceEnrolment => b"porter/v1/device-enrolment\0",
            Domain::Grant => b"porter/v1/grant\0",
            Domain::HolderProof => b"porter/v1/holder-proof\0",
            Domain::DoorState => b"porter/v1/door-state\0",
            Domain::Receipt => b"porter/v1/receipt\0",
            Domain::LogHead => b"porter/v1/log-head\0",
            Domain::HolderRegistration => b"porter/v1/holder-registration\0",
        }
    }
}

/// Why a signature check failed: the key, or the signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VerifyError {
    WeakKey,
    BadSignature,
}

/// Verifies `signature` over `domain tag || parts[0] || parts[1] || ...` under `key`.
pub(crate) fn verify(
    key: &PublicKey,
    domain: Domain,
    parts: &[&[u8]],
    signature: &[u8; 64],
) -> Result<(), VerifyError> {
    // A fuzz target may remember verdicts its fixture asks for again and again: a door's
    // enrolment and door state at every boot, a reference door's checks (see
    // `fuzz_hooks::remember_verifications`). Not with the stand-in signatures: comparing 32
    // bytes costs less than remembering.
    #[cfg(all(feature = "fuzzing", not(feature = "fuzzing-stand-in-crypto")))]
    if crate::fuzz_hooks::remembers(domain) {
        return crate::fuzz_hooks::remembered_verification(
            &key.0,
            domain,
            parts,
            signature,
            || verify_parts(&key.0, domain.tag(), parts, signature),
        );
    }
    verify_parts(&key.0, domain.tag(), parts, signature)
}

/// Plain Ed25519 verification with no domain tag, through the very code the grant path uses.
/// Public for the edge-case vector tests, which pin the verifier's behaviour.
pub fn verify_raw(key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    verify_parts(key, &[], &[message], signature).is_ok()
}

fn verify_parts(
    key: &[u8; 32],
    tag: &[u8],
    parts: &[&[u8]],
    signature: &[u8; 64],
) -> Result<(), VerifyError> {
    #[cfg(feature = "fuzzing-stand-in-crypto")]
    {
        let _ = (tag, parts);
        return crate::stand_in_crypto::verify(key, signature);
    }
    #[allow(unreachable_code)] // Reason: only with the fuzzing stand-in above.
    let key = ed25519_compact::PublicKey::new(*key);
    let signature = ed25519_compact::Signature::new(*signature);
    // Streaming, so that large signed messages (door state) need no concatenation buffer.
    let mut state = key.verify_incremental(&signature).map_err(|e| match e {
        ed25519_compact::Error::WeakPublicKey | ed25519_compact::Error::InvalidPublicKey => {
            VerifyError::WeakKey
        }
        _ => VerifyError::BadSignature,
    })?;
    state.absorb(tag);
    for part in parts {
        state.absorb(part);
    }
    state.verify().map_err(|_| VerifyError::BadSignature)
}

/// SHA-512 of the concatenated parts, truncated to 32 bytes, after a domain label.
pub(crate) fn hash32(label: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut h = ed25519_compact::sha512::Hash::new();
    h.update(label);
    for part in parts {
        h.update(part);
    }
    let full = h.finalize();
    let mut out = [0u8; 32];
    out.copy_from_slice(&full[..32]);
    out
}

pub(crate) fn hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

/// The longest message a [`SigningKey`] signs: the largest door state plus its tag.
pub const MAX_SIGNED_LEN: usize = crate::door_state::MAX_DOOR_STATE_LEN + 64;

/// An Ed25519 private key: a door's device key, or (feature `sign`) a root, issuer or holder
/// key. Signing is deterministic (RFC 8032): no randomness is needed, and none can be misused.
pub struct SigningKey(ed25519_compact::KeyPair);

impl SigningKey {
    /// The key made from 32 bytes of secret entropy. An all-zero seed is refused
    /// (`KeyInvalidSeed`): it means the entropy source failed, and would be a known key.
    pub fn from_seed(seed: [u8; 32]) -> Result<SigningKey, crate::Error> {
        let derive = || {
            ed25519_compact::KeyPair::try_from_seed(ed25519_compact::Seed::new(seed))
                .map_err(|_| crate::Error::KeyInvalidSeed)
        };
        // A door makes its key again from its seed at every boot: a fuzz target that reboots
        // may remember it (`fuzz_hooks::remember_derivations`).
        #[cfg(feature = "fuzzing")]
        {
            static KEYS: crate::fuzz_hooks::Memo<
                [u8; 32],
                Result<ed25519_compact::KeyPair, crate::Error>,
            > = crate::fuzz_hooks::Memo::new();
            return KEYS.get(seed, derive).map(SigningKey);
        }
        #[allow(unreachable_code)] // Reason: only with the fuzzing memo above.
        derive().map(SigningKey)
    }

    /// The seed, for storing the key.
    pub fn seed(&self) -> [u8; 32] {
        *self.0.sk.seed()
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(*self.0.pk)
    }

    /// Signs `domain tag || parts...`, concatenated into a `N`-byte buffer because
    /// deterministic Ed25519 hashes the message twice. Fails if the message is longer than `N`.
    pub fn sign_parts_in<const N: usize>(
        &self,
        domain: Domain,
        parts: &[&[u8]],
    ) -> Result<Signature, crate::Error> {
        let mut message: heapless::Vec<u8, N> = heapless::Vec::new();
        message.extend_from_slice(domain.tag()).map_err(|_| crate::Error::BufferTooSmall)?;
        for part in parts {
            message.extend_from_slice(part).map_err(|_| crate::Error::BufferTooSmall)?;
        }
        #[cfg(feature = "fuzzing-stand-in-crypto")]
        return Ok(Signature(crate::stand_in_crypto::sign(&self.public_key().0)));
        #[allow(unreachable_code)] // Reason: only with the fuzzing stand-in above.
        Ok(Signature(*self.0.sk.sign(&message, None)))
    }

    /// [`SigningKey::sign_parts_in`] with room for the largest Porter message.
    pub fn sign_parts(&self, domain: Domain, parts: &[&[u8]]) -> Result<Signature, crate::Error> {
        self.sign_parts_in::<MAX_SIGNED_LEN>(domain, parts)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(public: {:?})", self.public_key())
    }
}

impl Encode for PublicKey {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.bytes(&self.0)
    }
}

impl Encode for KeyId {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.bytes(&self.0)
    }
}

impl Decode<'_> for PublicKey {
    fn decode(r: &mut Reader<'_>) -> PublicKey {
        PublicKey(r.array())
    }
}

impl Decode<'_> for KeyId {
    fn decode(r: &mut Reader<'_>) -> KeyId {
        KeyId(r.array())
    }
}

impl Decode<'_> for Signature {
    fn decode(r: &mut Reader<'_>) -> Signature {
        Signature(r.array())
    }
}
