//! The shape every signed Porter message shares: `body || signature`.
//!
//! Decoding yields an [`Unverified`] value that holds the decoded body, the exact body bytes and
//! the signature; only checking the signature yields the body for use (typestate, as in biscuit's
//! `UnverifiedBiscuit`). The signature covers `domain tag || body bytes` as received.

#[cfg(feature = "sign")]
use serde::Serialize;

use crate::codec::{self, split_signed};
use crate::keys::{self, Domain, PublicKey, VerifyError};
use crate::wire::Decode;
use crate::Error;

/// The one wire format version this build speaks. Every body starts with it.
pub const VERSION: u8 = 1;

/// A decoded signed message whose signature has not been checked yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unverified<'a, T> {
    body: T,
    body_bytes: &'a [u8],
    signature: [u8; 64],
}

/// Errors to report when a signature of this kind fails.
pub(crate) struct Failures {
    pub weak_key: Error,
    pub bad_signature: Error,
}

impl<'a, T> Unverified<'a, T> {
    /// Decodes strictly: a known version, no trailing bytes, the canonical encoding.
    pub(crate) fn decode(bytes: &'a [u8], max_len: usize) -> Result<Self, Error>
    where
        T: Decode<'a>,
    {
        if bytes.len() > max_len {
            return Err(Error::DecodeTooLarge);
        }
        let (body_bytes, signature) = split_signed(bytes)?;
        check_version(body_bytes)?;
        let body = codec::decode(body_bytes, max_len)?;
        Ok(Unverified { body, body_bytes, signature })
    }
}

impl<'a, T> Unverified<'a, T> {
    /// Assembles a message decoded by hand (door state, decoded in place).
    pub(crate) fn from_parts(body: T, body_bytes: &'a [u8], signature: [u8; 64]) -> Self {
        Unverified { body, body_bytes, signature }
    }

    /// The claims, not yet authenticated: for cheap checks before the signature, or for
    /// showing a grant to its holder.
    pub fn claims(&self) -> &T {
        &self.body
    }

    /// The exact bytes the signature covers.
    pub fn body_bytes(&self) -> &'a [u8] {
        self.body_bytes
    }

    /// Checks the signature under `key` and hands over the body.
    pub(crate) fn verify(
        self,
        key: &PublicKey,
        domain: Domain,
        failures: Failures,
    ) -> Result<T, Error> {
        keys::verify(key, domain, &[self.body_bytes], &self.signature).map_err(|e| match e {
            VerifyError::WeakKey => failures.weak_key,
            VerifyError::BadSignature => failures.bad_signature,
        })?;
        Ok(self.body)
    }

    /// Checks this message's signature over `domain tag || parts...` rather than over its
    /// body: for the holder proof, which covers the challenge and the parts' signatures.
    pub(crate) fn check_signature_over(
        &self,
        key: &PublicKey,
        domain: Domain,
        parts: &[&[u8]],
    ) -> Result<(), VerifyError> {
        keys::verify(key, domain, parts, &self.signature)
    }

    /// Hands over the body without a signature check: only after the very same bytes were
    /// verified earlier (the certificate cache).
    pub(crate) fn into_previously_verified(self) -> T {
        self.body
    }
}

/// Refuses bodies of a version this build does not speak, before decoding their fields.
pub(crate) fn check_version(body: &[u8]) -> Result<(), Error> {
    match body.first() {
        Some(&VERSION) => Ok(()),
        Some(_) => Err(Error::DecodeUnsupportedVersion),
        None => Err(Error::DecodeMalformed),
    }
}

/// Encodes `body` into `out`, signs `domain tag || body` and appends the signature.
/// `N` bounds the tag plus body, see [`crate::keys::SigningKey::sign_parts_in`]. For the
/// root's and issuers' messages (`sign`); the door seals its own with [`seal_encoded`].
#[cfg(feature = "sign")]
pub(crate) fn seal<'b, T: Serialize, const N: usize>(
    key: &crate::keys::SigningKey,
    domain: Domain,
    body: &T,
    out: &'b mut [u8],
) -> Result<&'b [u8], Error> {
    let body_len = codec::encode(body, out)?.len();
    seal_encoded::<N>(key, domain, body_len, out)
}

/// Signs `domain tag || out[..body_len]` (a body already encoded there) and appends the
/// signature: `body || signature`.
pub(crate) fn seal_encoded<'b, const N: usize>(
    key: &crate::keys::SigningKey,
    domain: Domain,
    body_len: usize,
    out: &'b mut [u8],
) -> Result<&'b [u8], Error> {
    let total = body_len.checked_add(64).ok_or(Error::BufferTooSmall)?;
    if out.len() < total {
        return Err(Error::BufferTooSmall);
    }
    let (body_bytes, rest) = out.split_at_mut(body_len);
    let signature = key.sign_parts_in::<N>(domain, &[body_bytes])?;
    rest.get_mut(..64).ok_or(Error::BufferTooSmall)?.copy_from_slice(&signature.0);
    out.get(..total).ok_or(Error::BufferTooSmall)
}
