//! Signed door state: the deny-list, the fences and trusted time, versioned by a sequence
//! number that only grows.
//!
//! The site root signs a whole snapshot; phones carry the newest one to doors. A door takes a
//! snapshot only if it is for its site, signed by its root and newer than the one it holds, so
//! state never rolls back. The deny-list is bounded by the format ([`MAX_DENY_ENTRIES`]), so a
//! door can never overflow: the bound bites where the list is built ([`DenyListBuilder`]), and
//! there an overflowing entry is folded into a fence that denies at least as much (fail closed),
//! never silently dropped.

use heapless::Vec;
use serde::{Deserialize, Serialize};

use crate::codec::byte_array;
use crate::keys::{hash32, Domain, KeyId, PublicKey};
use crate::scope::{SiteId, Time};
use crate::signed::{Failures, Unverified, VERSION};
use crate::state_view::{DoorStateHeader, DoorStateView};
use crate::wire::{Decode, Reader};
use crate::Error;

/// Deny-list capacity. 256 entries x 12 bytes = 3 KiB of door RAM.
pub const MAX_DENY_ENTRIES: usize = 256;

/// The largest encoded door state: header (<= 40 bytes), list length (<= 3 bytes), 256 entries
/// of at most 8 + 5 bytes, signature 64: 3435, rounded up.
pub const MAX_DOOR_STATE_LEN: usize = 3584;

/// What a deny-list entry matches: the first 8 bytes of a labelled SHA-512 of what it names,
/// `SHA-512("porter/v1/deny-<kind>\0" || identity)`, with a label per kind (issuer, holder,
/// grant). Subjects of different kinds never share a preimage, and making a key or grant whose
/// subject equals a chosen one (say, a driver key that would deny the site's issuer) costs
/// about 2^64 hash evaluations. Unrelated things that still share a subject are both denied
/// (fail closed); a collision can never admit. Compute subjects only through these functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DenySubject(#[serde(with = "byte_array")] pub [u8; 8]);

impl DenySubject {
    /// Every grant and certificate of this issuer key: `deny-issuer` over its 32 bytes.
    pub fn issuer(key: &PublicKey) -> DenySubject {
        DenySubject::labelled(b"porter/v1/deny-issuer\0", &[&key.0])
    }
    /// Every grant to this holder key: `deny-holder` over its 32 bytes.
    pub fn holder(key: &PublicKey) -> DenySubject {
        DenySubject::labelled(b"porter/v1/deny-holder\0", &[&key.0])
    }
    /// One grant: `deny-grant` over the issuer's [`KeyId`] (8 bytes) and the grant's first
    /// serial (8 bytes, little-endian).
    pub fn grant(issuer: KeyId, serial: u64) -> DenySubject {
        DenySubject::labelled(b"porter/v1/deny-grant\0", &[&issuer.0, &serial.to_le_bytes()])
    }

    fn labelled(label: &[u8], parts: &[&[u8]]) -> DenySubject {
        let mut subject = [0u8; 8];
        let hash = hash32(label, parts);
        subject.copy_from_slice(hash.get(..8).unwrap_or(&[0; 8]));
        DenySubject(subject)
    }
}

/// One revoked subject. `until` tells signers when the entry can be pruned: once everything it
/// could deny has expired. Doors enforce an entry for as long as it is listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenyEntry {
    /// What is denied.
    pub subject: DenySubject,
    /// After this time the entry denies nothing that could still be valid.
    pub until: Time,
}

/// One snapshot of a site's revocations and trusted time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoorState {
    /// Wire format version, [`crate::VERSION`].
    pub version: u8,
    /// The site.
    pub site: SiteId,
    /// Grows with every snapshot the root signs. Doors take only larger ones.
    pub sequence: u64,
    /// Trusted time: when the root signed it. Raises the door's clock floor.
    pub issued_at: Time,
    /// Grants whose `not_before` is earlier than this are refused.
    pub grant_fence: Time,
    /// Certificates whose `epoch` is lower than this are refused.
    pub cert_epoch_fence: u32,
    /// A clock reset: this state sets the door's clock floor to `issued_at` even if that
    /// lowers it, undoing a state dated ahead by mistake. Only valid with
    /// `grant_fence >= issued_at`, so every grant issued before the reset is refused and no
    /// spend the door may have forgotten can be replayed at the lowered time.
    pub clock_reset: bool,
    /// Revoked subjects, strictly increasing.
    pub deny: Vec<DenyEntry, MAX_DENY_ENTRIES>,
}

impl DoorState {
    /// The state a door holds before any snapshot arrives: nothing denied, no fence.
    pub fn genesis(site: SiteId) -> DoorState {
        DoorState {
            version: VERSION,
            site,
            sequence: 0,
            issued_at: Time(0),
            grant_fence: Time(0),
            cert_epoch_fence: 0,
            clock_reset: false,
            deny: Vec::new(),
        }
    }

    /// Decodes a snapshot strictly, checking field ranges but not the signature.
    pub fn decode(bytes: &[u8]) -> Result<Unverified<'_, DoorState>, Error> {
        let view = DoorStateView::parse(bytes)?;
        let mut state = DoorState::genesis(view.header().site);
        state.install(&view);
        Ok(Unverified::from_parts(state, view.body_bytes(), view.signature()))
    }

    /// Everything but the deny-list.
    pub fn header(&self) -> DoorStateHeader {
        DoorStateHeader {
            version: self.version,
            site: self.site,
            sequence: self.sequence,
            issued_at: self.issued_at,
            grant_fence: self.grant_fence,
            cert_epoch_fence: self.cert_epoch_fence,
            clock_reset: self.clock_reset,
        }
    }

    /// Replaces this state with a parsed one, in place: the deny-list is decoded entry by
    /// entry straight into its final place, so no second 3 KiB copy ever sits on the stack.
    pub(crate) fn install(&mut self, view: &DoorStateView<'_>) {
        let h = view.header();
        self.version = h.version;
        self.site = h.site;
        self.sequence = h.sequence;
        self.issued_at = h.issued_at;
        self.grant_fence = h.grant_fence;
        self.cert_epoch_fence = h.cert_epoch_fence;
        self.clock_reset = h.clock_reset;
        self.deny.clear();
        for entry in view.entries() {
            // The parser bounded the count by the capacity, so this never stops early.
            if self.deny.push(entry).is_err() {
                break;
            }
        }
    }

    /// Whether `subject` is on the deny-list.
    pub fn denies(&self, subject: DenySubject) -> bool {
        self.deny.binary_search_by(|e| e.subject.cmp(&subject)).is_ok()
    }

    /// The rule every newer state must meet before its signature is checked: the same site
    /// and a larger sequence, so state never rolls back. Shared by [`DoorState::accept_newer`]
    /// and [`DoorStateView::check_newer`].
    pub(crate) fn check_successor(&self, site: SiteId, sequence: u64) -> Result<(), Error> {
        if site != self.site {
            return Err(Error::StateWrongSite);
        }
        if sequence <= self.sequence {
            return Err(Error::StateNotNewer);
        }
        Ok(())
    }

    /// Checks that `candidate` may replace `self` at a door trusting `root`: the cheap checks
    /// first, the signature last. (Doors use [`DoorStateView`], which needs no copy.)
    pub fn accept_newer(
        &self,
        candidate: Unverified<'_, DoorState>,
        root: &PublicKey,
    ) -> Result<DoorState, Error> {
        self.check_successor(candidate.claims().site, candidate.claims().sequence)?;
        candidate.verify(
            root,
            Domain::DoorState,
            Failures {
                weak_key: Error::StateBadSignature,
                bad_signature: Error::StateBadSignature,
            },
        )
    }
}

/// What kind of thing a deny entry protects against, which decides how it may be folded into
/// a fence when the list is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenyKind {
    /// A grant or a holder key: both live no longer than `until`, so a grant fence at `until`
    /// covers every grant the entry could deny.
    ShortLived,
    /// An issuer key certified in `epoch`. It can mint grants with any dates, so only a
    /// certificate fence above `epoch` covers it.
    Issuer {
        /// The epoch of the revoked issuer's certificate.
        epoch: u32,
    },
}

/// A fence the builder raised because the deny-list was full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FenceRaised {
    /// Grants issued before this time are now refused everywhere at the site.
    Grants(Time),
    /// Certificates of epochs below this are now refused: re-certify the remaining issuers.
    Certificates(u32),
}

/// Builds the next snapshot's deny-list within [`MAX_DENY_ENTRIES`], folding overflow into
/// fences. Used by the site root's tools, not by doors.
#[derive(Clone, Debug)]
pub struct DenyListBuilder {
    entries: Vec<(DenyEntry, DenyKind), MAX_DENY_ENTRIES>,
    grant_fence: Time,
    cert_epoch_fence: u32,
}

impl DenyListBuilder {
    /// Starts from the fences of the previous snapshot (or zero).
    pub fn new(grant_fence: Time, cert_epoch_fence: u32) -> DenyListBuilder {
        DenyListBuilder { entries: Vec::new(), grant_fence, cert_epoch_fence }
    }

    /// Denies every grant and certificate of an issuer key certified in `epoch`, until `until`
    /// (the end of its certificate's validity).
    pub fn deny_issuer(
        &mut self,
        issuer: &PublicKey,
        epoch: u32,
        until: Time,
    ) -> Option<FenceRaised> {
        let entry = DenyEntry { subject: DenySubject::issuer(issuer), until };
        self.deny(entry, DenyKind::Issuer { epoch })
    }

    /// Denies every grant to a holder key, until the last of them expires.
    pub fn deny_holder(&mut self, holder: &PublicKey, until: Time) -> Option<FenceRaised> {
        self.deny(DenyEntry { subject: DenySubject::holder(holder), until }, DenyKind::ShortLived)
    }

    /// Denies one grant, until its `not_after`.
    pub fn deny_grant(&mut self, issuer: KeyId, serial: u64, until: Time) -> Option<FenceRaised> {
        let entry = DenyEntry { subject: DenySubject::grant(issuer, serial), until };
        self.deny(entry, DenyKind::ShortLived)
    }

    /// Adds an entry whose subject was made by [`DenySubject`]'s functions (prefer
    /// [`Self::deny_issuer`], [`Self::deny_holder`], [`Self::deny_grant`]). A subject already
    /// listed keeps the later `until` and the kind that folds into the stronger fence (an
    /// issuer's, of the higher epoch). When the list is full, the entry that expires first is
    /// folded into a fence, returned so the caller can tell the property manager; short-lived
    /// entries are folded before issuer entries.
    pub fn deny(&mut self, entry: DenyEntry, kind: DenyKind) -> Option<FenceRaised> {
        if let Some((existing, existing_kind)) =
            self.entries.iter_mut().find(|(e, _)| e.subject == entry.subject)
        {
            existing.until = existing.until.max(entry.until);
            *existing_kind = match (*existing_kind, kind) {
                (DenyKind::Issuer { epoch: a }, DenyKind::Issuer { epoch: b }) => {
                    DenyKind::Issuer { epoch: a.max(b) }
                }
                (DenyKind::Issuer { epoch }, _) | (_, DenyKind::Issuer { epoch }) => {
                    DenyKind::Issuer { epoch }
                }
                _ => DenyKind::ShortLived,
            };
            return None;
        }
        match self.entries.push((entry, kind)) {
            Ok(()) => None,
            Err(rejected) => {
                let raised = self.fold_one_into_fence();
                // Folding freed a slot, so the second push succeeds; if it somehow did not,
                // fold the new entry itself rather than drop it.
                match self.entries.push(rejected) {
                    Ok(()) => raised,
                    Err((e, k)) => Some(self.fold(e, k)),
                }
            }
        }
    }

    /// Drops entries that deny nothing still valid at `now`.
    pub fn prune(&mut self, now: Time) {
        self.entries.retain(|(e, _)| e.until >= now);
    }

    /// The fences and the sorted list for the next snapshot.
    pub fn finish(mut self) -> (Time, u32, Vec<DenyEntry, MAX_DENY_ENTRIES>) {
        self.entries.sort_unstable_by_key(|(e, _)| e.subject);
        let list = self.entries.iter().map(|(e, _)| *e).collect();
        (self.grant_fence, self.cert_epoch_fence, list)
    }

    fn fold_one_into_fence(&mut self) -> Option<FenceRaised> {
        let short_lived = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, (_, k))| *k == DenyKind::ShortLived)
            .min_by_key(|(_, (e, _))| e.until)
            .map(|(i, _)| i);
        let victim = short_lived.or_else(|| {
            self.entries.iter().enumerate().min_by_key(|(_, (e, _))| e.until).map(|(i, _)| i)
        })?;
        let (entry, kind) = self.entries.swap_remove(victim);
        Some(self.fold(entry, kind))
    }

    fn fold(&mut self, entry: DenyEntry, kind: DenyKind) -> FenceRaised {
        match kind {
            DenyKind::ShortLived => {
                // A grant denied by this entry has not_before <= not_after <= until, so a
                // fence one second past `until` refuses it.
                self.grant_fence = self.grant_fence.max(entry.until.plus(1));
                FenceRaised::Grants(self.grant_fence)
            }
            DenyKind::Issuer { epoch } => {
                self.cert_epoch_fence = self.cert_epoch_fence.max(epoch.saturating_add(1));
                FenceRaised::Certificates(self.cert_epoch_fence)
            }
        }
    }
}

impl Decode<'_> for DenySubject {
    fn decode(r: &mut Reader<'_>) -> DenySubject {
        DenySubject(r.array())
    }
}

impl Decode<'_> for DenyEntry {
    fn decode(r: &mut Reader<'_>) -> DenyEntry {
        DenyEntry { subject: DenySubject::decode(r), until: Time::decode(r) }
    }
}
