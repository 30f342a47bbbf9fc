//! A small cache of issuer certificates whose root signature this door has verified, keyed by
//! a hash of the root key and the certificate's exact signed bytes (body and signature), so
//! steady-state admissions check two signatures, not three. Only the signature is skipped:
//! validity, fences and the deny-list are checked every time.
//!
//! A hit means these very bytes verified under this very root before, so skipping the check
//! changes no verdict: with or without the cache, whatever its size or replacement order, every
//! presentation gets the same answer. The key covers the signature, so the holder's proof, which
//! covers the certificate's signature and not its body, still binds the body: a relay that swaps
//! in another cached body of the same issuer under the signature the holder signed is a miss,
//! and the root's signature then fails. The key covers the root key, so a door whose root
//! changes finds none of its old entries. For a typical certificate (about 150 bytes) the hash
//! is two or three SHA-512 blocks, each about 24 k instructions on a Cortex-M4 (1.3% of a
//! signature check).

use serde::{Deserialize, Serialize};

use crate::codec::byte_array;
use crate::keys::{hash32, PublicKey};

/// `N` hashes of 32 bytes each, filled round-robin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertCache<const N: usize> {
    #[serde(deserialize_with = "crate::codec::u32_len_vec")]
    entries: heapless::Vec<CertHash, N>,
    next: u8,
}

/// SHA-512, truncated to 32 bytes, of the root key and a certificate's signed bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertHash(#[serde(with = "byte_array")] pub [u8; 32]);

impl CertHash {
    /// The cache key of a certificate's exact signed bytes (body and signature) as verified
    /// under `root`.
    pub fn of(root: &PublicKey, certificate: &[u8]) -> CertHash {
        CertHash(hash32(b"porter/v1/cert-cache\0", &[&root.0, certificate]))
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

    /// Whether a certificate with exactly these bytes was verified under this root before.
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

    /// Forgets everything (to free the memory: entries of another root never match anyway).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.next = 0;
    }
}
