//! The one mechanism behind the door's two signature caches ([`crate::CertCache`] for issuer
//! certificates, [`crate::GrantCache`] for multi-use grants): a few entries, each standing for
//! exact signed bytes that verified before, all under one root key. A lookup under another
//! root is a miss, and an insert under another root forgets every older entry first, so a door
//! whose root changes trusts nothing it verified under the old one. What an entry binds (body
//! hash and signature; a grant's and its certificate's exact bytes) is the entry type's business; see the two modules.

use serde::{Deserialize, Serialize};

use crate::keys::PublicKey;
use crate::wire::{Decode, Encode, Fill, Reader, Stream, Writer};
use crate::Error;

/// `N` entries verified under `root`, filled in order and then replaced round robin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(deserialize = "E: Deserialize<'de>"))]
pub struct VerifiedCache<E, const N: usize> {
    /// The root key every entry was verified under; `None` while empty.
    root: Option<PublicKey>,
    #[serde(deserialize_with = "crate::codec::u32_len_vec")]
    entries: heapless::Vec<E, N>,
    next: u8,
}

impl<E, const N: usize> Default for VerifiedCache<E, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E, const N: usize> VerifiedCache<E, N> {
    /// An empty cache.
    pub const fn new() -> Self {
        VerifiedCache { root: None, entries: heapless::Vec::new(), next: 0 }
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.root = None;
        self.entries.clear();
        self.next = 0;
    }

    /// The number of entries remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<E: PartialEq, const N: usize> VerifiedCache<E, N> {
    /// Whether exactly this entry was verified under `root` before.
    pub fn contains(&self, root: &PublicKey, entry: &E) -> bool {
        self.root.as_ref() == Some(root) && self.entries.contains(entry)
    }

    /// Whether an entry verified under `root` satisfies `test`: a lookup that builds no entry
    /// (the grant cache compares its entries' bytes with the presented ones in place).
    pub fn contains_where(&self, root: &PublicKey, test: impl Fn(&E) -> bool) -> bool {
        self.root.as_ref() == Some(root) && self.entries.iter().any(test)
    }

    /// Remembers an entry verified under `root`, replacing the oldest one when full. Entries
    /// of another root are forgotten first.
    pub fn insert(&mut self, root: &PublicKey, entry: E) {
        if N == 0 || self.contains(root, &entry) {
            return;
        }
        if self.root.as_ref() != Some(root) {
            self.clear();
            self.root = Some(*root);
        }
        if let Err(entry) = self.entries.push(entry) {
            let slot = usize::from(self.next) % N;
            if let Some(old) = self.entries.get_mut(slot) {
                *old = entry;
            }
            self.next = ((slot + 1) % N) as u8;
        }
    }
}

impl<'a, E: Decode<'a>, const N: usize> Decode<'a> for VerifiedCache<E, N> {
    fn decode(r: &mut Reader<'a>) -> Self {
        VerifiedCache { root: r.option(), entries: r.list(), next: r.u8() }
    }
}

impl<E: Encode, const N: usize> Encode for VerifiedCache<E, N> {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.option(&self.root)?;
        w.list(&self.entries)?;
        w.u8(self.next)
    }
}

impl<E: for<'r> Decode<'r>, const N: usize> VerifiedCache<E, N> {
    /// Decodes a cache from `stream`, entry by entry (each at most `entry_len` bytes).
    pub fn read<S: Fill + ?Sized>(stream: &mut Stream<'_, S>, entry_len: usize) -> Self {
        let mut cache = VerifiedCache::new();
        cache.root = stream.item(33, |r| r.option());
        stream.list_into(&mut cache.entries, entry_len);
        cache.next = stream.item(1, |r| r.u8());
        cache
    }
}
