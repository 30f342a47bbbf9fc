//! A small cache of multi-use grants whose issuer signature this door has verified, so that
//! the next entry of such a grant checks one signature (the holder's proof), not two. Only the
//! signature is skipped: scope, time, limits, fences, the deny-list and the replay memory are
//! checked every time, and the certificate is checked (or found in its own cache) as always.
//!
//! An entry is the grant's exact signed bytes, held as a hash of its body and its 64 signature
//! bytes, together with the issuer key that verified it; the cache remembers the root key its
//! entries were verified under (through the issuer's certificate). A hit therefore means these
//! very bytes verified under this very issuer key, certified by this very root, before: skipping
//! the check changes no verdict, whatever the cache's size or replacement order. Holding the
//! body hash matters because the holder's proof covers the grant's signature, not its body: a
//! relay that puts another body under a cached signature is a miss, and the issuer's signature
//! then fails. Holding the issuer key matters because the same bytes under another certificate
//! (another issuer key) were never verified. Holding the root matters as for certificates: a
//! door whose root key changes trusts none of its old entries.
//!
//! Single-use grants are never cached (they cannot come back), so a first admission pays no
//! hash. Cost of a lookup: one SHA-512 block for a typical grant body, about 24 k instructions
//! on a Cortex-M4. Memory: 128 bytes per entry and the root's 32. Not persisted: after a reboot
//! the next entry of a cached grant pays its signature once more.

use crate::codec::split_signed;
use crate::keys::{hash32, PublicKey, Signature};
use crate::verified_cache::VerifiedCache;
use crate::Error;

/// `N` grants verified under one root ([`VerifiedCache`]); RAM only, never persisted.
pub type GrantCache<const N: usize> = VerifiedCache<CachedGrant, N>;

/// One verified grant: the hash of its signed body, its signature and the issuer key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CachedGrant {
    /// SHA-512 (truncated to 32 bytes) of the grant's exact signed body, labelled.
    body: [u8; 32],
    /// The grant's signature, exactly as received.
    signature: Signature,
    /// The issuer key the signature verified under.
    issuer: PublicKey,
}

impl CachedGrant {
    /// The entry for a signed grant, `body || signature` as received, under `issuer`.
    pub fn of(grant: &[u8], issuer: &PublicKey) -> Result<CachedGrant, Error> {
        let (body, signature) = split_signed(grant)?;
        Ok(CachedGrant {
            body: hash32(b"porter/v1/grants\0", &[body]),
            signature: Signature(signature),
            issuer: *issuer,
        })
    }
}
