//! A small cache of issuer certificates whose root signature this door has verified, keyed by
//! a hash of their exact signed body, so steady-state admissions check two signatures, not
//! three. Only the signature is skipped: validity, fences and the deny-list are checked every
//! time.
//!
//! The key covers the body, not the signature bytes: a body whose hash matches is a body the
//! root signed, whatever signature bytes travel with it (and the holder's proof covers those
//! too). Leaving the 64 signature bytes out keeps the hash to one SHA-512 block for a typical
//! certificate: about 24 k instructions on a Cortex-M4, 1.3% of a signature check (measured
//! by `device-fw/scripts/size-report.sh`).

use serde::{Deserialize, Serialize};

use crate::codec::byte_array;
use crate::keys::hash32;

/// `N` hashes of 32 bytes each, filled round-robin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertCache<const N: usize> {
    #[serde(deserialize_with = "crate::codec::u32_len_vec")]
    entries: heapless::Vec<CertHash, N>,
    next: u8,
}

/// SHA-512, truncated to 32 bytes, of a certificate's signed body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertHash(#[serde(with = "byte_array")] pub [u8; 32]);

impl CertHash {
    /// The cache key of a certificate's exact signed body (everything but the signature).
    pub fn of(certificate_body: &[u8]) -> CertHash {
        CertHash(hash32(b"porter/v1/cert-cache\0", &[certificate_body]))
    }
}

impl<const N: usize> Default for CertCache<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> CertCache<N> {
    /// An empty cache.
    pub const fn new() -> Self {
        CertCache { entries: heapless::Vec::new(), next: 0 }
    }

    /// Whether a certificate with this exact body was verified before.
    pub fn contains(&self, hash: &CertHash) -> bool {
        self.entries.contains(hash)
    }

    /// Remembers a verified certificate, replacing the oldest entry when full.
    pub fn insert(&mut self, hash: CertHash) {
        if N == 0 || self.contains(&hash) {
            return;
        }
        if let Err(hash) = self.entries.push(hash) {
            let slot = usize::from(self.next) % N;
            if let Some(entry) = self.entries.get_mut(slot) {
                *entry = hash;
            }
            self.next = ((slot + 1) % N) as u8;
        }
    }

    /// Forgets everything (when the root key or the certificate fence changes).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.next = 0;
    }
}
