//! A small cache of multi-use grants whose issuer signature this door has verified, so that
//! the next entry of such a grant checks one signature (the holder's proof), not two. Only the
//! signatures are skipped: scope, time, limits, fences, the deny-list and the replay memory are
//! checked every time.
//!
//! An entry is the exact signed bytes of a grant *and* of the certificate it was admitted with,
//! held as bytes and compared as bytes, under the root key the cache remembers. A hit therefore
//! means these very grant bytes verified under the issuer key of these very certificate bytes,
//! which verified under this very root, before: skipping both the root's and the issuer's
//! signature changes no verdict, whatever the cache's size or replacement order. This binds as
//! tightly as the certificate cache (body, signature, root) and more: every byte of both
//! messages. Holding the grant's body matters because the holder's proof covers the grant's
//! signature, not its body (a relay that puts another body under a cached signature is a miss,
//! and the issuer's signature then fails); holding the certificate's bytes matters because the
//! issuer key and the limits the cheap checks applied come from them (the same grant under
//! another certificate was never verified under that certificate's key); holding the root
//! matters as for certificates: a door whose root key changes trusts none of its old entries.
//!
//! Why bytes, not a hash as the certificate cache holds: a hit then costs a comparison instead
//! of two SHA-512 blocks (about 48,000 instructions on the Cortex-M4, 2.7% of a signature
//! check), and a hit needs no certificate-cache lookup either. The price is RAM: one entry of
//! [`GRANT_CACHE_BYTES`], sized so that the door's memory stays within its 9 KiB budget. A grant
//! and certificate longer than that together (a typical pair is about 280 bytes) are not
//! cached: their next entry pays the issuer's signature, as without the cache.
//!
//! Single-use grants are never cached (they cannot come back), so a first admission pays
//! nothing. Not persisted: after a reboot the next entry of a cached grant pays its signatures
//! once more.

use crate::verified_cache::VerifiedCache;

/// `N` grants verified under one root ([`VerifiedCache`]); RAM only, never persisted.
pub type GrantCache<const N: usize> = VerifiedCache<CachedGrant, N>;

/// The most bytes one entry holds: a grant and its certificate, signatures included. A
/// largest grant (192 bytes) with a certificate of up to 212.
pub const GRANT_CACHE_BYTES: usize = 404;

/// One verified grant: its exact signed bytes followed by its certificate's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CachedGrant {
    /// How many of `bytes` are the grant's; the certificate's follow.
    grant_len: u16,
    /// How many of `bytes` are used.
    len: u16,
    bytes: [u8; GRANT_CACHE_BYTES],
}

impl CachedGrant {
    /// The entry for a signed grant and the signed certificate it verified under, both exactly
    /// as received; `None` if together they are longer than an entry holds.
    pub fn of(grant: &[u8], certificate: &[u8]) -> Option<CachedGrant> {
        let len = grant.len().checked_add(certificate.len())?;
        let mut bytes = [0u8; GRANT_CACHE_BYTES];
        bytes.get_mut(..grant.len())?.copy_from_slice(grant);
        bytes.get_mut(grant.len()..len)?.copy_from_slice(certificate);
        // Both at most GRANT_CACHE_BYTES: the copies above succeeded.
        Some(CachedGrant { grant_len: grant.len() as u16, len: len as u16, bytes })
    }

    /// Whether this entry is exactly `grant` with exactly `certificate`: every byte of both,
    /// and where one ends and the other begins.
    pub fn holds(&self, grant: &[u8], certificate: &[u8]) -> bool {
        let split = usize::from(self.grant_len);
        let used = self.bytes.get(..usize::from(self.len)).unwrap_or(&[]);
        split == grant.len()
            && used.len() == grant.len() + certificate.len()
            && used.get(..split) == Some(grant)
            && used.get(split..) == Some(certificate)
    }
}
