//! A small cache of issuer certificates whose root signature this door has verified, so
//! steady-state admissions check two signatures, not three. Only the signature is skipped:
//! validity, fences and the deny-list are checked every time.
//!
//! An entry is a certificate's exact signed bytes, held as a hash of its body and its 64
//! signature bytes, and the cache remembers the root key its entries were verified under. A hit
//! therefore means these very bytes verified under this very root before, so skipping the check
//! changes no verdict: with or without the cache, whatever its size or replacement order, every
//! presentation gets the same answer. Holding the signature matters because the holder's proof
//! covers the certificate's signature, not its body: a relay that puts another cached body of
//! the same issuer under the signature the holder signed is a miss, and the root's signature
//! then fails. Holding the root matters because a door whose root key changes must trust none
//! of its old entries: the cache empties itself when asked about another root.
//!
//! Cost: one SHA-512 block for a typical certificate body (the hash covers the body only;
//! the signature is compared, not hashed), about 24 k instructions on a Cortex-M4, 1.3% of a
//! signature check. Memory: 96 bytes per entry and the root's 32.

use serde::{Deserialize, Serialize};

use crate::codec::{byte_array, split_signed};
use crate::keys::{hash32, Signature};
use crate::verified_cache::VerifiedCache;
use crate::wire::{Decode, Encode, Reader, Writer};
use crate::Error;

/// `N` certificates verified under one root ([`VerifiedCache`]); persisted with the door's
/// memory.
pub type CertCache<const N: usize> = VerifiedCache<CachedCert, N>;

/// One verified certificate: the hash of its signed body and its signature bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedCert {
    /// [`CertHash::of`] the certificate's body.
    pub body: CertHash,
    /// The certificate's signature, exactly as received.
    pub signature: Signature,
}

/// SHA-512, truncated to 32 bytes, of a certificate's signed body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertHash(#[serde(with = "byte_array")] pub [u8; 32]);

impl CertHash {
    /// The hash of a certificate's exact signed body (everything but the signature).
    pub fn of(certificate_body: &[u8]) -> CertHash {
        CertHash(hash32(b"porter/v1/cert-cache\0", &[certificate_body]))
    }
}

impl CachedCert {
    /// The entry for a signed certificate, `body || signature`, as received.
    pub fn of(certificate: &[u8]) -> Result<CachedCert, Error> {
        let (body, signature) = split_signed(certificate)?;
        Ok(CachedCert { body: CertHash::of(body), signature: Signature(signature) })
    }
}

impl Decode<'_> for CertHash {
    fn decode(r: &mut Reader<'_>) -> CertHash {
        CertHash(r.array())
    }
}

impl Encode for CachedCert {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.bytes(&self.body.0)?;
        w.bytes(&self.signature.0)
    }
}

impl Decode<'_> for CachedCert {
    fn decode(r: &mut Reader<'_>) -> CachedCert {
        CachedCert { body: CertHash::decode(r), signature: Signature::decode(r) }
    }
}
