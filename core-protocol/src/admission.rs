//! The admission decision: door configuration and memory, the door's time, its challenge and
//! a presentation in; `Admit` or `Reject(reason)` out. Sans-IO: no clock, no storage, no radio.
//!
//! The order is check, verify, commit. Every cheap check (decoding, scope, time, limits,
//! fences, deny-list, replay) runs before any signature, so garbage costs little; the three
//! signatures (root over the certificate unless cached, issuer over the grant, holder over the
//! challenge and the presentation's parts) run next; only then does the door's memory change.
//! A rejected attempt leaves the memory byte-identical. `spec/protocol.md` lists the order
//! normatively.

use serde::{Deserialize, Serialize};

use crate::cert_cache::{CachedCert, CertCache};
use crate::certificate::Certificate;
use crate::codec::take_canonical;
use crate::door_state::{DenySubject, DoorState};
use crate::grant::{Grant, PackageCommitment};
use crate::grant_cache::{CachedGrant, GrantCache};
use crate::keys::{KeyId, PublicKey};
use crate::presentation::{Challenge, Presentation};
use crate::replay::{ReplayInPlace, ReplayTable, Spend};
use crate::rules::{check_grant_terms, StateInForce};
use crate::scope::{DoorId, Role, SiteId, Time};
use crate::state_view::{DoorStateHeader, DoorStateView};
use crate::Error;

/// Unexpired grants one door remembers, 8 bytes each: 5 KiB. Sized for 500 grants admitted per
/// 15 minutes at one door, each remembered for at most its 15-minute lifetime, twice the
/// 60-second skew and a minute of rounding: 500 x 1,080 / 900 = 600 (`spec/protocol.md`
/// section 5).
pub const REPLAY_ENTRIES: usize = 640;
/// Issuers with unexpired grants at one door at once. A ninth waits (`replay_full`) until one
/// issuer's grants have all expired.
pub const REPLAY_ISSUERS: usize = 8;
/// Verified certificates remembered.
pub const CERT_CACHE_ENTRIES: usize = 4;
/// Verified multi-use grants remembered (RAM only, never persisted): a courier's next entry
/// costs one signature. One: an entry holds the grant's and its certificate's exact bytes
/// ([`crate::GRANT_CACHE_BYTES`]), and a second would take the door's memory past its 9 KiB
/// budget. Two couriers alternating at one door therefore pay the issuer's signature each time.
pub const GRANT_CACHE_ENTRIES: usize = 1;

/// The largest encoded [`DoorMemory`] with the default sizes: door state without signature
/// (<= 3,368 bytes), floor (<= 5), replay table (<= 6,473, [`ReplayTable::MAX_ENCODED_LEN`]),
/// certificate cache (<= 419: root, 4 x (32 + 64), counts): 10,265, rounded up.
pub const MAX_DOOR_MEMORY_LEN: usize = 10_496;

// The verifier RAM budget, checked at compile time on every target the crate is built for
// (CI builds thumbv7em-none-eabihf too). It was 4 KiB; a replay memory that never forgets a
// spend needs 5 KiB of its own for the busy-site figure (`spec/protocol.md` section 5).
const _: () = assert!(core::mem::size_of::<DoorMemory>() <= 9216, "door memory exceeds 9 KiB");

/// What a door is configured with at commissioning.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoorConfig {
    /// The door's site.
    pub site: SiteId,
    /// This door.
    pub door: DoorId,
    /// The site root public key: the only key a door trusts directly.
    pub root: PublicKey,
    /// How far, in seconds, the door's clock may disagree with an issuer's.
    pub clock_skew: u32,
    /// How long, in seconds, a challenge stays answerable.
    pub challenge_lifetime: u32,
}

/// Everything a door remembers between attempts. Persist it (or its parts) after every change.
///
/// RAM with the default sizes, as `size_of` reports on x86_64 (no more on thumbv7em, whose
/// `usize` is half as wide): door state 3,112 bytes (256 deny entries x 12 + header), replay
/// memory 5,208 (640 grants x 8 + 8 issuers x 8 + base and lengths), certificate cache 432
/// (root, 4 x (32 + 64)), grant cache 456 (root, 1 x (404 bytes + two lengths); RAM only, not
/// encoded), floor and padding 8: 9,216 bytes, the 9 KiB budget (`verifier_ram_is_within_9_kib`).
///
/// Two memories are equal when they persist the same: the grant cache, which only saves a
/// signature check and is never encoded, is not compared.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DoorMemory<
    const ENTRIES: usize = REPLAY_ENTRIES,
    const ISSUERS: usize = REPLAY_ISSUERS,
    const CERTS: usize = CERT_CACHE_ENTRIES,
> {
    state: DoorState,
    floor: Time,
    replay: ReplayTable<ENTRIES, ISSUERS>,
    certs: CertCache<CERTS>,
    /// Not part of the encoding: a cache the door rebuilds as grants come back.
    #[serde(skip)]
    grants: GrantCache<GRANT_CACHE_ENTRIES>,
}

impl<const ENTRIES: usize, const ISSUERS: usize, const CERTS: usize> PartialEq
    for DoorMemory<ENTRIES, ISSUERS, CERTS>
{
    fn eq(&self, other: &Self) -> bool {
        let DoorMemory { state, floor, replay, certs, grants: _ } = self;
        *state == other.state
            && *floor == other.floor
            && *replay == other.replay
            && *certs == other.certs
    }
}

impl<const ENTRIES: usize, const ISSUERS: usize, const CERTS: usize> Eq
    for DoorMemory<ENTRIES, ISSUERS, CERTS>
{
}

/// Why a door let someone in: what the audit log and the receipt record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admission {
    /// The issuer that signed the grant.
    pub issuer: KeyId,
    /// The grant's first serial: with the issuer, what the server matches to an issued grant.
    pub grant_serial: u64,
    /// Which of the grant's entries this was, from 0.
    pub use_index: u8,
    /// How many entries the grant allows at this door.
    pub uses: u8,
    /// The holder key.
    pub holder: KeyId,
    /// The role of the grant.
    pub role: Role,
    /// The package the grant is for.
    pub package: PackageCommitment,
    /// The door state sequence in force after the attempt.
    pub state_sequence: u64,
    /// The door time used for the decision.
    pub at: Time,
    /// The change this admission made to the replay memory: the delta a door persists.
    pub spend: Spend,
    /// Where the newer door state the presentation carried lies in the presentation's bytes
    /// (offset, length), when it carried one that is now in force: a door persists those exact
    /// signed bytes without decoding the presentation a second time.
    pub carried_state: Option<(u32, u32)>,
}

/// The outcome of one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Open the door; the memory already records the spend.
    Admit(Admission),
    /// Keep it shut, for this reason.
    Reject(Error),
}

impl<const ENTRIES: usize, const ISSUERS: usize, const CERTS: usize>
    DoorMemory<ENTRIES, ISSUERS, CERTS>
{
    /// A freshly commissioned door's memory: nothing spent, nothing denied, floor at `floor`.
    pub fn new(site: SiteId, floor: Time) -> Self {
        DoorMemory {
            state: DoorState::genesis(site),
            floor,
            replay: ReplayTable::new(),
            certs: CertCache::new(),
            grants: GrantCache::new(),
        }
    }

    /// Reassembles memory a door persisted in parts (say the replay table after each admission
    /// and the door state only when it changes). The floor is raised to the state's signed time.
    pub fn from_parts(
        state: DoorState,
        floor: Time,
        replay: ReplayTable<ENTRIES, ISSUERS>,
        certs: CertCache<CERTS>,
    ) -> Self {
        let floor = floor.max(state.issued_at);
        DoorMemory { state, floor, replay, certs, grants: GrantCache::new() }
    }

    /// Puts back, in place, the replay memory, certificate cache and floor a door persisted
    /// (the floor only rises, and not below the state's signed time). Unlike
    /// [`DoorMemory::from_parts`] it neither copies nor moves the door state: a door restoring
    /// at boot keeps one copy of its memory on a small stack.
    pub fn restore(
        &mut self,
        floor: Time,
        replay: ReplayTable<ENTRIES, ISSUERS>,
        certs: CertCache<CERTS>,
    ) {
        self.replay = replay;
        self.restore_floor_and_certs(floor, certs);
    }

    /// Decodes a persisted replay table (as [`ReplayTable`] encodes) straight into this
    /// memory, from a [`crate::wire::Stream`] ([`ReplayInPlace::read`]): a door restoring at
    /// boot holds no second copy of the 5 KiB table (by value, its boot needed 18 KB of stack).
    /// Follow it with [`DoorMemory::restore_floor_and_certs`]. After a failure the table is
    /// partly decoded: the door must not use this memory (it faults).
    pub fn replay_in_place(&mut self) -> ReplayInPlace<'_, ENTRIES, ISSUERS> {
        ReplayInPlace(&mut self.replay)
    }

    /// [`DoorMemory::restore`] without the replay table, which
    /// [`DoorMemory::replay_in_place`] put back: the floor (it only rises, and not below the
    /// state's signed time) and the certificate cache.
    pub fn restore_floor_and_certs(&mut self, floor: Time, certs: CertCache<CERTS>) {
        self.floor = self.floor.max(floor).max(self.state.issued_at);
        self.certs = certs;
    }

    /// The certificate cache.
    pub fn certs(&self) -> &CertCache<CERTS> {
        &self.certs
    }

    /// The cache of verified multi-use grants (RAM only).
    pub fn grants(&self) -> &GrantCache<GRANT_CACHE_ENTRIES> {
        &self.grants
    }

    /// Encodes the memory for persistence (postcard, at most [`MAX_DOOR_MEMORY_LEN`] bytes).
    pub fn encode<'b>(&self, out: &'b mut [u8]) -> Result<&'b [u8], Error> {
        crate::codec::encode(self, out).map(|b| &*b)
    }

    /// Decodes memory written by [`DoorMemory::encode`], strictly.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut memory = DoorMemory::new(SiteId(0), Time(0));
        memory.decode_into(bytes)?;
        Ok(memory)
    }

    /// Decodes memory written by [`DoorMemory::encode`] into `self`, in place, so that neither
    /// the 3 KiB deny-list nor the 5 KiB replay table is ever copied on the stack. On error `self` may be partly
    /// overwritten: decode into scratch memory, or treat the error as a corrupt store.
    pub fn decode_into(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if bytes.len() > MAX_DOOR_MEMORY_LEN {
            return Err(Error::DecodeTooLarge);
        }
        let rest = self.state.decode_prefix_into(bytes)?;
        let (floor, rest) = take_canonical::<Time>(rest)?;
        // The replay table (5 KiB) in place too: see `ReplayTable::decode_prefix_into`.
        let rest = self.replay.decode_prefix_into(rest)?;
        let (certs, rest) = take_canonical::<CertCache<CERTS>>(rest)?;
        if !rest.is_empty() {
            return Err(Error::DecodeTrailingBytes);
        }
        self.floor = floor;
        self.certs = certs;
        self.grants.clear();
        Ok(())
    }

    /// The door's time: its clock, but never below the floor set by signed time.
    pub fn now(&self, clock: Time) -> Time {
        clock.max(self.floor)
    }

    /// The door state in force.
    pub fn state(&self) -> &DoorState {
        &self.state
    }

    /// The clock floor: the latest signed time seen.
    pub fn floor(&self) -> Time {
        self.floor
    }

    /// The replay memory.
    pub fn replay(&self) -> &ReplayTable<ENTRIES, ISSUERS> {
        &self.replay
    }

    /// Takes a newer signed door state from any phone. Returns its sequence number.
    pub fn apply_door_state(&mut self, config: &DoorConfig, bytes: &[u8]) -> Result<u64, Error> {
        let view = DoorStateView::parse(bytes)?;
        view.check_newer(&self.state, &config.root)?;
        self.install_state(&view);
        Ok(view.header().sequence)
    }

    /// Installs a verified state in place and raises the floor to its signed time (or sets it
    /// there, for a clock reset).
    fn install_state(&mut self, view: &DoorStateView<'_>) {
        self.floor = view.header().floor_after(self.floor);
        self.state.install(view);
    }

    /// Decides one attempt and, on admission, records the spend (and any newer door state the
    /// phone carried). On rejection nothing changes.
    pub fn admit(
        &mut self,
        config: &DoorConfig,
        clock: Time,
        challenge: &Challenge,
        presentation: &[u8],
    ) -> Decision {
        match self.evaluate(config, clock, challenge, presentation) {
            Ok((admission, commit)) => {
                // `evaluate` checked this very spend against this very table, and `commit`
                // records whatever `check` accepts. Were it to refuse all the same, it would
                // change nothing (it decides before it writes): the door stays shut and its
                // memory as it was, before anything else below is applied.
                if let Err(reason) = self.replay.commit(&admission.spend) {
                    return Decision::Reject(reason);
                }
                if let Some(view) = commit.state {
                    self.install_state(&view);
                }
                if let Some(cert) = commit.cert {
                    self.certs.insert(&config.root, cert);
                }
                if let Some((grant, certificate)) = commit.grant {
                    self.remember_grant(&config.root, grant, certificate);
                }
                Decision::Admit(admission)
            }
            Err(reason) => Decision::Reject(reason),
        }
    }

    /// Caches a multi-use grant verified with this certificate (if the pair fits an entry).
    /// Copied once, after the decision, and only for a grant not cached already. Not inlined:
    /// the entry (400 bytes) is built in this frame, not in `admit`'s, whose frame is under
    /// every signature check (the door's peak stack).
    #[inline(never)]
    fn remember_grant(&mut self, root: &PublicKey, grant: &[u8], certificate: &[u8]) {
        if let Some(entry) = CachedGrant::of(grant, certificate) {
            self.grants.insert(root, entry);
        }
    }

    fn evaluate<'p>(
        &self,
        config: &DoorConfig,
        clock: Time,
        challenge: &Challenge,
        bytes: &'p [u8],
    ) -> Result<(Admission, Commit<'p>), Error> {
        // Decode everything strictly before looking at any of it.
        let received = Presentation::decode(bytes)?;
        let presentation = received.claims();
        let certificate = Certificate::decode(presentation.certificate)?;
        let grant = Grant::decode(presentation.grant)?;

        // A newer door state counts for this very attempt: it may revoke the presenter. It is
        // read where it lies in the presentation, never copied.
        let newer_state = match presentation.door_state {
            Some(state_bytes) => {
                let view = DoorStateView::parse(state_bytes)?;
                if view.header().sequence > self.state.sequence {
                    view.check_newer(&self.state, &config.root)?;
                    Some(view)
                } else {
                    None
                }
            }
            None => None,
        };
        let state = match &newer_state {
            Some(view) => InForce::Carried(view),
            None => InForce::Held(&self.state),
        };
        let header = state.header();
        // The floor this attempt runs under: a carried state raises it (or resets it).
        let now = match &newer_state {
            Some(view) => clock.max(view.header().floor_after(self.floor)),
            None => self.now(clock),
        };
        let skew = config.clock_skew;

        if challenge.site != config.site
            || challenge.door != config.door
            || challenge.issued_at > now
            || now > challenge.issued_at.plus(config.challenge_lifetime)
        {
            return Err(Error::ChallengeExpired);
        }

        // The state in force is the door's own or a newer one of the same site, so this only
        // fails if the stored memory belongs to another site: fail closed.
        if header.site != config.site {
            return Err(Error::StateWrongSite);
        }
        let cert = certificate.claims();
        let claims = grant.claims();
        check_grant_terms(cert, claims, config.door, now, skew, &state)?;
        let issuer_id = cert.issuer.id();
        let spend: Spend = self.replay.check(
            issuer_id,
            claims.serial,
            claims.uses,
            claims.not_after,
            skew,
            now,
        )?;

        // Signatures, cheapest-to-skip first. A multi-use grant presented with the very
        // certificate bytes it was verified with before, under this root, skips both the
        // root's and the issuer's: its next entry checks only the holder's proof, and hashes
        // nothing (the entry is compared byte for byte). Single-use grants cannot come back.
        let (grant_bytes, cert_bytes) = (presentation.grant, presentation.certificate);
        let multi_use = claims.uses > 1;
        let grant_cached = multi_use
            && self.grants.contains_where(&config.root, |e| e.holds(grant_bytes, cert_bytes));
        let (grant, cached_cert) = if grant_cached {
            (grant.into_previously_verified(), None)
        } else {
            let cached = CachedCert::of(cert_bytes)?;
            let cert = if self.certs.contains(&config.root, &cached) {
                certificate.into_previously_verified()
            } else {
                certificate.verify_root(&config.root)?
            };
            (grant.verify_issuer(&cert.issuer)?, Some(cached))
        };
        received.verify_holder(&grant.holder, challenge)?;

        let admission = Admission {
            issuer: issuer_id,
            grant_serial: grant.serial,
            use_index: spend.use_index,
            uses: grant.uses,
            holder: grant.holder.id(),
            role: grant.role,
            package: grant.package,
            state_sequence: header.sequence,
            at: now,
            spend,
            carried_state: match (&newer_state, presentation.door_state) {
                (Some(_), Some(state)) => span_in(bytes, state),
                _ => None,
            },
        };
        let remember = (multi_use && !grant_cached).then_some((grant_bytes, cert_bytes));
        let commit = Commit { state: newer_state, cert: cached_cert, grant: remember };
        Ok((admission, commit))
    }
}

/// Where `part`, a subslice of `whole`, lies in it: (offset, length).
fn span_in(whole: &[u8], part: &[u8]) -> Option<(u32, u32)> {
    let offset = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = offset.checked_add(part.len())?;
    (end <= whole.len()).then_some(())?;
    Some((u32::try_from(offset).ok()?, u32::try_from(part.len()).ok()?))
}

/// What an admission changes, computed before anything changes.
struct Commit<'p> {
    state: Option<DoorStateView<'p>>,
    /// The certificate's cache entry, unless the grant cache vouched for it.
    cert: Option<CachedCert>,
    /// A multi-use grant's and its certificate's bytes, to remember (not cached yet).
    grant: Option<(&'p [u8], &'p [u8])>,
}

/// The door state an attempt is judged by: the door's own, or a newer one the phone carried.
enum InForce<'s, 'p> {
    Held(&'s DoorState),
    Carried(&'s DoorStateView<'p>),
}

impl StateInForce for InForce<'_, '_> {
    fn header(&self) -> DoorStateHeader {
        match self {
            InForce::Held(state) => StateInForce::header(*state),
            InForce::Carried(view) => StateInForce::header(*view),
        }
    }

    fn denies(&self, subject: DenySubject) -> bool {
        match self {
            InForce::Held(state) => StateInForce::denies(*state, subject),
            InForce::Carried(view) => StateInForce::denies(*view, subject),
        }
    }

    fn has_denials(&self) -> bool {
        match self {
            InForce::Held(state) => StateInForce::has_denials(*state),
            InForce::Carried(view) => StateInForce::has_denials(*view),
        }
    }
}
