//! The replay memory: which grants this door has admitted, how often, and until when.
//!
//! A door remembers every grant it admitted, keyed by (issuer, grant serial), with the number
//! of entries used and the grant's expiry (`not_after` plus the clock skew). An entry is
//! forgotten only once the door's time has passed that expiry, when the grant is refused as
//! expired anyway; nothing is ever forgotten to make room. When there is no room, a new grant is
//! refused with [`Error::ReplayFull`] (fail closed) until entries expire, at most one grant
//! lifetime plus twice the skew later. `spec/protocol.md` section 5 gives the argument and the
//! figures.
//!
//! Layout: a table of up to `ISSUERS` issuer key ids, and up to `ENTRIES` entries of 8 bytes
//! each (low 32 bits of the serial, expiry, issuer index, entries used). Expiries are stored in
//! whole minutes, rounded up (an entry is kept up to 59 s longer, never shorter), relative to
//! the table's `base`: a multiple of 60 s at or before the door's latest admission. Everything
//! that expired before `base` has been dropped, so a grant that expires before `base` (seen only
//! if the door's clock went back) is refused as [`Error::ReplayTooOld`]: the door may have
//! forgotten it. Grants whose serials agree in their low 32 bits share one entry: a collision
//! can only refuse, never admit twice. A grant expiring more than 45 days after `base` is
//! refused as [`Error::ReplayFull`], new or sharing a remembered grant's entry alike: the
//! entry could not hold its expiry.
//!
//! Use is check, then verify, then commit: [`ReplayTable::check`] is cheap and changes nothing,
//! so it runs before the signatures; [`ReplayTable::commit`] runs only after every check passed.
//!
//! # Persisting it
//!
//! A commit is a small delta, the [`Spend`] itself (issuer, serial, use index, expiry, door
//! time: at most 30 bytes as postcard): "advance the base to the minute of `at`, dropping what
//! expired before it; then set the use count of (issuer, serial) to at least `use_index + 1`
//! and its expiry to at least `expires`". Committing a `Spend` twice is the same as once, and
//! committing the spends of a log in order onto the table they started from rebuilds the
//! table exactly, so a door may persist each `Spend` as an appended record and a whole table
//! (postcard, [`ReplayTable::MAX_ENCODED_LEN`]) now and then.

use serde::{Deserialize, Serialize};

use crate::codec::take_canonical;
use crate::keys::KeyId;
use crate::scope::Time;
use crate::wire::{Decode, Encode, Fill, Reader, Stream, Writer};
use crate::Error;

/// Seconds per stored expiry unit. The arithmetic on it is 32-bit wherever the values fit
/// (door times are u32): a 64-bit division is a library routine on the door's core.
const MINUTE: u32 = 60;

/// The grants a door has admitted and not yet seen expire: `ENTRIES` grants of at most
/// `ISSUERS` issuers. 8 bytes per entry, 8 per issuer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayTable<const ENTRIES: usize, const ISSUERS: usize> {
    /// A multiple of 60 s at or before the latest spend: every entry expiring earlier is gone.
    base: Time,
    /// The issuers with at least one entry; entries refer to them by index.
    #[serde(deserialize_with = "crate::codec::u32_len_vec")]
    issuers: heapless::Vec<KeyId, ISSUERS>,
    /// The admitted grants, in the order they were first admitted.
    #[serde(deserialize_with = "crate::codec::u32_len_vec")]
    entries: heapless::Vec<Entry, ENTRIES>,
}

/// One admitted grant: 8 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    /// The low 32 bits of the grant's first serial.
    serial: u32,
    /// Expiry: `base + 60 * until`, the grant's `not_after + skew` rounded up to the minute.
    until: u16,
    /// Index into `issuers`.
    issuer: u8,
    /// Entries used, 1..=32.
    used: u8,
}

/// One admission's change to the replay memory: what [`ReplayTable::check`] found and
/// [`ReplayTable::commit`] records. It is also the delta a door persists (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spend {
    /// The grant's issuer.
    pub issuer: KeyId,
    /// The grant's first serial.
    pub serial: u64,
    /// Which entry of the grant this is, from 0: the grant has been admitted this often before.
    pub use_index: u8,
    /// Until when the grant must be remembered: its `not_after` plus the clock skew.
    pub expires: Time,
    /// The door time of the admission.
    pub at: Time,
}

impl<const ENTRIES: usize, const ISSUERS: usize> Default for ReplayTable<ENTRIES, ISSUERS> {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a spend goes in the table, found without changing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Place {
    /// The base after the commit.
    base: u32,
    /// The stored expiry, absolute, in seconds (a multiple of 60).
    expires: u64,
    /// The entry's use count before this spend, if the grant is remembered.
    used: Option<u8>,
}

impl Place {
    /// The expiry to store: minutes past the new base. [`Error::ReplayFull`] if it is more
    /// than [`ReplayTable::MAX_AHEAD`] past it, which 16 bits cannot hold. (`place` refused an
    /// expiry before the base, and both are multiples of 60.)
    fn until(&self) -> Result<u16, Error> {
        let ahead = u32::try_from(self.expires - u64::from(self.base)).ok();
        ahead.and_then(|a| u16::try_from(a / MINUTE).ok()).ok_or(Error::ReplayFull)
    }
}

impl<const ENTRIES: usize, const ISSUERS: usize> ReplayTable<ENTRIES, ISSUERS> {
    /// The largest encoding: base (5), issuer count (1) and ids (8 each), entry count (3) and
    /// entries (at most 5 + 3 + 1 + 1 bytes each).
    pub const MAX_ENCODED_LEN: usize = 5 + 1 + 8 * ISSUERS + 3 + 10 * ENTRIES;

    /// The furthest ahead of the base an expiry can be stored: 65,535 minutes (45 days).
    pub const MAX_AHEAD: u32 = u16::MAX as u32 * MINUTE;

    /// Issuer indices are one byte.
    const FITS: () = assert!(ISSUERS <= 256, "issuer indices are one byte");

    /// An empty table.
    pub const fn new() -> Self {
        let () = Self::FITS;
        ReplayTable { base: Time(0), issuers: heapless::Vec::new(), entries: heapless::Vec::new() }
    }

    /// Finds how an admission at door time `now` of grant `serial` (from `issuer`, with `uses`
    /// entries, valid until `not_after`) would be recorded, without changing anything. `skew` is
    /// the clock tolerance the door allows.
    ///
    /// Refuses with [`Error::ReplayDuplicate`] when the grant has used all its entries,
    /// [`Error::ReplayTooOld`] when it expired before the table's base (the door may have
    /// forgotten it) or before `now`, and [`Error::ReplayFull`] when it is new and there is no
    /// room for it, or when its expiry is more than [`Self::MAX_AHEAD`] past the base (a grant
    /// sharing the entry of a remembered one, whose serial agrees in its low 32 bits, included:
    /// the entry could not keep its later expiry). Whatever it accepts, [`Self::commit`]
    /// records.
    pub fn check(
        &self,
        issuer: KeyId,
        serial: u64,
        uses: u8,
        not_after: Time,
        skew: u32,
        now: Time,
    ) -> Result<Spend, Error> {
        let expires = not_after.plus(skew);
        let place = self.place(issuer, serial, expires, now)?;
        let use_index = place.used.unwrap_or(0);
        if use_index >= uses {
            return Err(Error::ReplayDuplicate);
        }
        // `place` refused a new grant whose expiry does not fit, but a remembered grant takes
        // the later of its entry's expiry and this one, which must fit as well: a grant whose
        // serial collides with a remembered one's may expire much later. Checked here, as
        // `commit` checks it, so that a spend this accepts is one `commit` records.
        place.until()?;
        Ok(Spend { issuer, serial, use_index, expires, at: now })
    }

    /// Records `spend`, from [`Self::check`] on this table unchanged since, or from a door's
    /// log of spends being replayed. Idempotent. Refuses exactly what [`Self::check`] would
    /// refuse for age or lack of room ([`Error::ReplayTooOld`], [`Error::ReplayFull`]), and on
    /// error nothing changes: every refusal is decided before the table is touched.
    pub fn commit(&mut self, spend: &Spend) -> Result<(), Error> {
        let place = self.place(spend.issuer, spend.serial, spend.expires, spend.at)?;
        let until = place.until()?;
        // Nothing below refuses: `place` found a free entry and, for an issuer without a live
        // entry, a free issuer slot among what survives the new base, which is all that
        // `advance_base` keeps. The pushes' errors are mapped all the same rather than
        // unwrapped (no panic path on the door), and `commit_never_half_applies` checks that
        // they never happen.
        self.advance_base(place.base);
        let issuer = match self.issuers.iter().position(|&k| k == spend.issuer) {
            Some(i) => i,
            None => {
                self.issuers.push(spend.issuer).map_err(|_| Error::ReplayFull)?;
                self.issuers.len() - 1
            }
        };
        let key = (spend.serial as u32, issuer as u8);
        let used = spend.use_index.saturating_add(1);
        match self.entries.iter_mut().find(|e| (e.serial, e.issuer) == key) {
            Some(entry) => {
                entry.used = entry.used.max(used);
                entry.until = entry.until.max(until);
            }
            None => {
                let entry = Entry { serial: key.0, until, issuer: key.1, used };
                self.entries.push(entry).map_err(|_| Error::ReplayFull)?;
            }
        }
        Ok(())
    }

    /// The number of grants remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no grant is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The number of issuers with a grant remembered.
    pub fn issuers(&self) -> usize {
        self.issuers.len()
    }

    /// The base: grants expiring before it are refused as too old.
    pub fn base(&self) -> Time {
        self.base
    }

    /// The common lookup of `check` and `commit`: the base after a commit at `now`, the
    /// stored expiry, and the grant's use count if it is remembered; or why it cannot be
    /// recorded. Whether a remembered grant's expiry fits is left to [`Place::until`], which
    /// both callers ask: `check` only after the use count, so that a spent grant is a
    /// duplicate whatever its expiry.
    fn place(&self, issuer: KeyId, serial: u64, expires: Time, now: Time) -> Result<Place, Error> {
        let old = self.base.0;
        let base = old.max(now.0 / MINUTE * MINUTE);
        if expires.0 < base {
            return Err(Error::ReplayTooOld);
        }
        // Up to 59 s past u32::MAX: 64 bits for the product, not the division.
        let expires = u64::from(expires.0.div_ceil(MINUTE)) * u64::from(MINUTE);
        // Entries with `until < shift` expired before the new base: they count as gone. Every
        // stored entry expires at or after the current base, and every stored issuer has an
        // entry (`advance_base` and `commit` keep it so; decoding checks it), so with no shift
        // all of them are live.
        let shift = (base - old) / MINUTE;
        let live = |e: &Entry| u32::from(e.until) >= shift;
        let index = self.issuers.iter().position(|&k| k == issuer);
        if let Some(i) = index {
            let key = (serial as u32, i as u8);
            if let Some(e) = self.entries.iter().find(|e| (e.serial, e.issuer) == key && live(e)) {
                return Ok(Place { base, expires, used: Some(e.used) });
            }
        }
        // A new grant: it needs a free entry, an issuer slot, and an expiry that fits.
        let (live_entries, has_issuer, issuers_in_use) = if shift == 0 {
            (self.entries.len(), index.is_some(), self.issuers.len())
        } else {
            let mut live_entries = 0;
            let mut in_use = [false; ISSUERS];
            for e in self.entries.iter().filter(|e| live(e)) {
                live_entries += 1;
                if let Some(flag) = in_use.get_mut(usize::from(e.issuer)) {
                    *flag = true;
                }
            }
            let has_issuer = index.and_then(|i| in_use.get(i)).copied().unwrap_or(false);
            (live_entries, has_issuer, in_use.iter().filter(|&&f| f).count())
        };
        if live_entries >= ENTRIES
            || (!has_issuer && issuers_in_use >= ISSUERS)
            || expires - u64::from(base) > u64::from(Self::MAX_AHEAD)
        {
            return Err(Error::ReplayFull);
        }
        Ok(Place { base, expires, used: None })
    }

    /// Decodes, from the front of `bytes`, a table in the encoding postcard gives it (as
    /// `codec::take_canonical` would, strictly: every part canonical, lists within bounds,
    /// [`ReplayTable::is_well_formed`]) into `self`, in place, and returns the bytes after it.
    /// A by-value decode builds the 5 KiB table in serde's visitors and moves it several times
    /// on its way out (about 40 KiB of stack on x86-64); this one never holds a second copy.
    /// On error `self` may be partly overwritten.
    pub(crate) fn decode_prefix_into<'b>(&mut self, bytes: &'b [u8]) -> Result<&'b [u8], Error> {
        let (base, rest) = take_canonical::<Time>(bytes)?;
        self.base = base;
        let rest = decode_list_into(&mut self.issuers, rest)?;
        let rest = decode_list_into(&mut self.entries, rest)?;
        if !self.is_well_formed() {
            return Err(Error::DecodeInvalidField);
        }
        Ok(rest)
    }

    /// Reads a table (base, issuers, entries) from `stream` into `self`, in place, marking the
    /// stream failed if it does not decode or breaks the invariants
    /// ([`ReplayTable::is_well_formed`]). Not canonical-checked: a door's own record. On a
    /// failure `self` holds a partial decode.
    pub fn read_in_place<S: Fill + ?Sized>(&mut self, stream: &mut Stream<'_, S>) {
        self.base = stream.item(5, |r| Time(r.u32()));
        stream.list_into(&mut self.issuers, 8);
        stream.list_into(&mut self.entries, 10);
        if !self.is_well_formed() {
            stream.refuse();
        }
    }

    /// Whether a decoded table keeps the invariants the lookups rely on: every entry names a
    /// stored issuer and has been used, no grant or issuer is stored twice, every issuer has an
    /// entry.
    pub fn is_well_formed(&self) -> bool {
        let mut referenced = [false; ISSUERS];
        for (i, e) in self.entries.iter().enumerate() {
            match referenced.get_mut(usize::from(e.issuer)) {
                Some(flag) if usize::from(e.issuer) < self.issuers.len() => *flag = true,
                _ => return false,
            }
            let later = self.entries.iter().skip(i + 1);
            if e.used == 0 || later.clone().any(|o| (o.serial, o.issuer) == (e.serial, e.issuer)) {
                return false;
            }
        }
        let distinct = self
            .issuers
            .iter()
            .enumerate()
            .all(|(i, k)| !self.issuers.iter().skip(i + 1).any(|o| o == k));
        distinct && referenced.iter().take(self.issuers.len()).all(|&r| r)
    }

    /// Moves the base up to `base` (a multiple of 60 at least the current one), dropping every
    /// entry that expired before it and every issuer left without entries.
    fn advance_base(&mut self, base: u32) {
        let old = self.base.0;
        if base <= old {
            return;
        }
        let shift = (base - old) / MINUTE;
        let mut referenced = [false; ISSUERS];
        self.entries.retain_mut(|e| match u32::from(e.until).checked_sub(shift) {
            Some(until) => {
                e.until = until as u16;
                if let Some(flag) = referenced.get_mut(usize::from(e.issuer)) {
                    *flag = true;
                }
                true
            }
            None => false,
        });
        // Drop the issuers left without entries and renumber the rest, keeping their order.
        let mut renumber = [0u8; ISSUERS];
        let mut kept = 0u16;
        for (new, used) in renumber.iter_mut().zip(referenced) {
            *new = kept as u8; // at most ISSUERS - 1 <= 255
            kept += u16::from(used);
        }
        let mut index = 0;
        self.issuers.retain(|_| {
            let used = referenced.get(index).copied().unwrap_or(false);
            index += 1;
            used
        });
        for e in self.entries.iter_mut() {
            if let Some(&i) = renumber.get(usize::from(e.issuer)) {
                e.issuer = i;
            }
        }
        self.base = Time(base);
    }
}

/// Decodes a [`ReplayTable`] in its encoding straight into an existing table, in place, from
/// a [`Stream`]: a door restoring its persisted replay memory (5 KiB, stored across two flash
/// records) at boot would otherwise hold it on the stack two or three times over. Refuses, as
/// `ReplayTable::decode_prefix_into` does, a table that breaks the lookups' invariants. On a
/// failure the table holds a partial decode: the caller must not use it (a door faults).
/// Made by [`crate::DoorMemory::replay_in_place`].
pub struct ReplayInPlace<'a, const ENTRIES: usize, const ISSUERS: usize>(
    pub(crate) &'a mut ReplayTable<ENTRIES, ISSUERS>,
);

impl<const ENTRIES: usize, const ISSUERS: usize> ReplayInPlace<'_, ENTRIES, ISSUERS> {
    /// Reads the table (base, issuers, entries) from `stream`, marking it failed if it does not
    /// decode or breaks the invariants. Not canonical-checked: a door's own record.
    pub fn read<S: Fill + ?Sized>(self, stream: &mut Stream<'_, S>) {
        self.0.read_in_place(stream);
    }
}

/// Reads a bounded list as `codec::u32_len_vec` does (a u32 varint length, then the items, each
/// canonical) into `list`, in place. Longer than its bound: [`Error::DecodeMalformed`], as
/// postcard refuses it there.
fn decode_list_into<'b, T, const N: usize>(
    list: &mut heapless::Vec<T, N>,
    bytes: &'b [u8],
) -> Result<&'b [u8], Error>
where
    T: Decode<'b>,
{
    list.clear();
    let (len, mut rest) = take_canonical::<u32>(bytes)?;
    for _ in 0..len {
        let (item, after) = take_canonical::<T>(rest)?;
        list.push(item).map_err(|_| Error::DecodeMalformed)?;
        rest = after;
    }
    Ok(rest)
}

impl Decode<'_> for Entry {
    fn decode(r: &mut Reader<'_>) -> Entry {
        Entry { serial: r.u32(), until: r.u16(), issuer: r.u8(), used: r.u8() }
    }
}

impl Decode<'_> for Spend {
    fn decode(r: &mut Reader<'_>) -> Spend {
        Spend {
            issuer: KeyId::decode(r),
            serial: r.u64(),
            use_index: r.u8(),
            expires: Time::decode(r),
            at: Time::decode(r),
        }
    }
}

impl Encode for Entry {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.varint(self.serial.into())?;
        w.varint(self.until.into())?;
        w.u8(self.issuer)?;
        w.u8(self.used)
    }
}

impl<const ENTRIES: usize, const ISSUERS: usize> Encode for ReplayTable<ENTRIES, ISSUERS> {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        self.base.encode(w)?;
        w.list(&self.issuers)?;
        w.list(&self.entries)
    }
}

/// By value, as the derived decoder read it (no invariant checked: see
/// [`ReplayTable::is_well_formed`]); a door restores its table in place instead.
impl<const ENTRIES: usize, const ISSUERS: usize> Decode<'_> for ReplayTable<ENTRIES, ISSUERS> {
    fn decode(r: &mut Reader<'_>) -> Self {
        ReplayTable { base: Time::decode(r), issuers: r.list(), entries: r.list() }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec;

    use super::*;

    fn table() -> ReplayTable<4, 2> {
        let mut t = ReplayTable::new();
        for (issuer, serial) in [(1, 10), (2, 20)] {
            let spend = t.check(KeyId([issuer; 8]), serial, 1, Time(1000), 0, Time(100)).unwrap();
            t.commit(&spend).unwrap();
        }
        t
    }

    /// Stored tables that break the lookups' invariants are refused when decoded.
    #[test]
    fn only_consistent_tables_are_well_formed() {
        assert!(table().is_well_formed());
        let mut orphan_entry = table();
        orphan_entry.issuers.pop();
        assert!(!orphan_entry.is_well_formed());
        let mut orphan_issuer = table();
        orphan_issuer.entries.pop();
        assert!(!orphan_issuer.is_well_formed());
        let mut twice = table();
        let first = twice.entries[0];
        twice.entries[1] = first;
        assert!(!twice.is_well_formed());
        let mut unused = table();
        unused.entries[0].used = 0;
        assert!(!unused.is_well_formed());
        let mut same_issuer = table();
        same_issuer.issuers[1] = same_issuer.issuers[0];
        assert!(!same_issuer.is_well_formed());
    }

    /// Decodes `bytes` both ways: in place (into a table that held something else) and by
    /// value as before; both must agree on the table and the rest, or both refuse.
    fn both_ways(bytes: &[u8]) -> Result<(ReplayTable<4, 2>, usize), Error> {
        let mut in_place = table();
        in_place.advance_base(600);
        let placed = in_place.decode_prefix_into(bytes).map(|rest| (in_place, rest.len()));
        let by_value = take_canonical::<ReplayTable<4, 2>>(bytes).and_then(|(t, rest)| {
            if t.is_well_formed() {
                Ok((t, rest.len()))
            } else {
                Err(Error::DecodeInvalidField)
            }
        });
        assert_eq!(placed.is_ok(), by_value.is_ok(), "{bytes:02x?}: {placed:?} vs {by_value:?}");
        if let (Ok(a), Ok(b)) = (&placed, &by_value) {
            assert_eq!(a, b);
        }
        placed
    }

    /// The in-place decode reads exactly what the by-value decode reads: every table, and
    /// every truncation or one-byte change of its encoding, gets the same verdict.
    #[test]
    fn in_place_decoding_agrees_with_decoding_by_value() {
        let mut buf = [0u8; 128];
        for t in [ReplayTable::new(), table()] {
            let mut encoded = crate::codec::encode(&t, &mut buf).unwrap().to_vec();
            encoded.extend_from_slice(&[7, 7]);
            assert_eq!(both_ways(&encoded), Ok((t.clone(), 2)));
            for cut in 0..encoded.len() {
                let _ = both_ways(&encoded[..cut]);
            }
            for at in 0..encoded.len() - 2 {
                for byte in [0x00, 0x01, 0x02, 0x05, 0x7f, 0x80, 0xff] {
                    let mut changed = encoded.clone();
                    changed[at] = byte;
                    let _ = both_ways(&changed);
                }
            }
        }
    }

    /// A source that hands out `bytes` at most `piece` bytes at a time: a record stored in
    /// parts, the seams anywhere.
    struct Pieces<'a> {
        bytes: &'a [u8],
        piece: usize,
    }

    impl crate::wire::Fill for Pieces<'_> {
        fn fill(&mut self, out: &mut [u8]) -> usize {
            let n = out.len().min(self.piece).min(self.bytes.len());
            out[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            n
        }
    }

    /// Decodes `bytes` (postcard, not canonical-checked: a door's own records) both ways: in
    /// place from a [`Stream`] (through a `window`-byte buffer, the source in `piece`-byte
    /// pieces) into a table that held something else, and by value with the derived decoder
    /// plus the invariants; both must agree on the table and the bytes left after it.
    fn stream_both_ways(
        bytes: &[u8],
        window: usize,
        piece: usize,
    ) -> Option<(ReplayTable<4, 2>, usize)> {
        let mut in_place = table();
        in_place.advance_base(600);
        let mut buf = vec![0u8; window];
        let mut source = Pieces { bytes, piece };
        let mut stream = Stream::new(&mut buf, &mut source);
        ReplayInPlace(&mut in_place).read(&mut stream);
        let placed = (!stream.failed()).then(|| {
            let mut rest = 0;
            while !stream.at_end() {
                stream.item(1, |r| r.u8());
                rest += 1;
            }
            (in_place, rest)
        });
        let by_value = postcard::take_from_bytes::<ReplayTable<4, 2>>(bytes)
            .ok()
            .filter(|(t, _)| t.is_well_formed())
            .map(|(t, rest)| (t, rest.len()));
        assert_eq!(placed, by_value, "{bytes:02x?} window {window} piece {piece}");
        placed
    }

    /// The stream a door restores its replay memory with at boot reads exactly what the
    /// derived decoder reads, and refuses what breaks the invariants: every table, every
    /// truncation and every one-byte change of its encoding, through windows and pieces of
    /// every size down to one entry; and the hand-written encoder writes serde's bytes.
    #[test]
    fn the_in_place_stream_agrees_with_the_derived_decoder() {
        let mut buf = [0u8; 128];
        let mut wire_buf = [0u8; 128];
        for t in [ReplayTable::new(), table()] {
            let mut encoded = crate::codec::encode(&t, &mut buf).unwrap().to_vec();
            assert_eq!(crate::wire::encode(&t, &mut wire_buf).unwrap(), &encoded[..]);
            encoded.extend_from_slice(&[7, 7]);
            for (window, piece) in [(64, 64), (10, 1), (10, 3), (16, 7), (12, 5)] {
                assert_eq!(stream_both_ways(&encoded, window, piece), Some((t.clone(), 2)));
                for cut in 0..encoded.len() {
                    let _ = stream_both_ways(&encoded[..cut], window, piece);
                }
                for at in 0..encoded.len() - 2 {
                    for byte in [0x00, 0x01, 0x02, 0x05, 0x7f, 0x80, 0xff] {
                        let mut changed = encoded.clone();
                        changed[at] = byte;
                        let _ = stream_both_ways(&changed, window, piece);
                    }
                }
            }
        }
        let mut orphan = table();
        orphan.issuers.pop();
        let encoded = crate::codec::encode(&orphan, &mut buf).unwrap().to_vec();
        assert_eq!(
            stream_both_ways(&encoded, 64, 64),
            None,
            "an entry naming no issuer is refused"
        );
    }

    /// The replay memory's arithmetic before it was made 32-bit (`place` and `commit` in u64,
    /// as they were): the reference the new arithmetic must equal.
    mod u64_reference {
        use super::*;

        const MINUTE: u64 = 60;

        pub(super) fn place<const E: usize, const I: usize>(
            t: &ReplayTable<E, I>,
            issuer: KeyId,
            serial: u64,
            expires: Time,
            now: Time,
        ) -> Result<(u64, u64, Option<u8>), Error> {
            let old = u64::from(t.base.0);
            let base = old.max(u64::from(now.0) / MINUTE * MINUTE);
            let expires_exact = u64::from(expires.0);
            if expires_exact < base {
                return Err(Error::ReplayTooOld);
            }
            let expires = expires_exact.div_ceil(MINUTE) * MINUTE;
            let shift = (base - old) / MINUTE;
            let live = |e: &Entry| u64::from(e.until) >= shift;
            let index = t.issuers.iter().position(|&k| k == issuer);
            if let Some(i) = index {
                let key = (serial as u32, i as u8);
                if let Some(e) = t.entries.iter().find(|e| (e.serial, e.issuer) == key && live(e)) {
                    return Ok((base, expires, Some(e.used)));
                }
            }
            let mut in_use = [false; I];
            let mut live_entries = 0;
            for e in t.entries.iter().filter(|e| live(e)) {
                live_entries += 1;
                in_use[usize::from(e.issuer)] = true;
            }
            let has_issuer = index.is_some_and(|i| in_use[i]);
            let issuers_in_use = in_use.iter().filter(|&&f| f).count();
            if live_entries >= E
                || (!has_issuer && issuers_in_use >= I)
                || expires - base > u64::from(ReplayTable::<E, I>::MAX_AHEAD)
            {
                return Err(Error::ReplayFull);
            }
            Ok((base, expires, None))
        }

        /// The expiry `commit` stored, in minutes past the new base.
        pub(super) fn until(base: u64, expires: u64) -> Result<u16, Error> {
            u16::try_from((expires - base) / MINUTE).map_err(|_| Error::ReplayFull)
        }

        /// The entries' expiries after the base moved from `old` to `base`.
        pub(super) fn shifted(untils: &[u16], old: u64, base: u64) -> std::vec::Vec<Option<u16>> {
            let shift = (base.max(old) - old) / MINUTE;
            untils.iter().map(|&u| u64::from(u).checked_sub(shift).map(|u| u as u16)).collect()
        }
    }

    /// Times where the minute arithmetic has its edges: 0, around each multiple of 60 near the
    /// ends of the u32 range and near a table's base, and anything.
    fn edge_time() -> impl proptest::strategy::Strategy<Value = u32> {
        use proptest::prelude::*;
        prop_oneof![
            (0u32..180),
            (u32::MAX - 180..=u32::MAX),
            (0u32..1000).prop_map(|d| 1_800_000_000 - 500 + d),
            (0u32..(1 << 26)).prop_map(|d| 1_800_000_000 + d),
            any::<u32>(),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// The 32-bit arithmetic of `place` and `commit` gives what the u64 arithmetic gave:
        /// the same placement or refusal, the same stored expiry, the same table after the
        /// base moves, for tables and times at every edge of the minute arithmetic.
        #[test]
        fn the_32_bit_minute_arithmetic_equals_the_64_bit_one(
            spends in proptest::collection::vec((0u8..3, 0u64..6, 1u8..4, edge_time(), edge_time()), 0..6),
            query in (0u8..3, 0u64..6, 1u8..4, edge_time(), 0u32..600, edge_time()),
        ) {
            let mut t = ReplayTable::<4, 2>::new();
            for (issuer, serial, uses, not_after, now) in spends {
                if let Ok(spend) = t.check(KeyId([issuer; 8]), serial, uses, Time(not_after), 60, Time(now)) {
                    let _ = t.commit(&spend);
                }
            }
            let (issuer, serial, uses, not_after, skew, now) = query;
            let (issuer, not_after, now) = (KeyId([issuer; 8]), Time(not_after), Time(now));
            let expires = not_after.plus(skew);
            let new = t.place(issuer, serial, expires, now);
            let old = u64_reference::place(&t, issuer, serial, expires, now);
            proptest::prop_assert_eq!(new.map(|p| (u64::from(p.base), p.expires, p.used)), old);
            if let (Ok(place), Ok(spend)) = (new, t.check(issuer, serial, uses, not_after, skew, now)) {
                let old_base = u64::from(t.base.0);
                let untils: std::vec::Vec<u16> = t.entries.iter().map(|e| e.until).collect();
                let mut committed = t.clone();
                // `check` accepted it, so `commit` records it, and the expiry fits either way.
                proptest::prop_assert_eq!(committed.commit(&spend), Ok(()));
                let until = u64_reference::until(u64::from(place.base), place.expires);
                proptest::prop_assert!(until.is_ok(), "an accepted expiry does not fit: {until:?}");
                let Ok(until) = until else { return Ok(()) };
                let shifted = u64_reference::shifted(&untils, old_base, u64::from(place.base));
                let before = t.issuers.iter().position(|&k| k == issuer).and_then(|i| {
                    t.entries.iter().position(|e| (e.serial, usize::from(e.issuer)) == (serial as u32, i))
                });
                // The surviving entries keep their order and shifted expiry, the grant's own
                // entry takes the later of its expiry and the new one; a new entry comes last.
                let mut expected: std::vec::Vec<u16> = std::vec::Vec::new();
                for (j, shifted) in shifted.iter().enumerate() {
                    match (shifted, Some(j) == before) {
                        (Some(u), true) => expected.push((*u).max(until)),
                        (Some(u), false) => expected.push(*u),
                        (None, _) => {}
                    }
                }
                if before.and_then(|j| shifted[j]).is_none() {
                    expected.push(until);
                }
                let stored: std::vec::Vec<u16> = committed.entries.iter().map(|e| e.until).collect();
                proptest::prop_assert_eq!(stored, expected);
                proptest::prop_assert_eq!(committed.base.0, place.base);
            }
        }
    }

    /// A table's bytes as a door persists them: what "nothing changes" is measured by.
    fn persisted<const E: usize, const I: usize>(t: &ReplayTable<E, I>) -> std::vec::Vec<u8> {
        let mut buf = vec![0u8; ReplayTable::<E, I>::MAX_ENCODED_LEN];
        crate::codec::encode(t, &mut buf).unwrap().to_vec()
    }

    /// A grant whose serial agrees with a remembered grant's in the low 32 bits shares its
    /// entry and use count, and the entry takes the later expiry; one expiring more than
    /// `MAX_AHEAD` after the new base cannot be stored there. `check` refuses it as `commit`
    /// does (`replay_full`), a refused commit leaves the table's bytes as they were, and the
    /// last expiry that fits is recorded. (On the old code `check` accepted it and `commit`
    /// refused it after moving the base.) A spent grant stays a duplicate whatever its expiry.
    #[test]
    fn a_colliding_grant_gets_the_same_verdict_from_check_and_commit() {
        const MAX: u32 = ReplayTable::<4, 2>::MAX_AHEAD;
        let issuer = KeyId([1; 8]);
        let start = Time(1_800_000_000); // a whole minute
        let mut t = ReplayTable::<4, 2>::new();
        let first = t.check(issuer, 7, 2, start.plus(600), 60, start).unwrap();
        t.commit(&first).unwrap();
        let colliding = 7 + (1 << 32);
        // Two minutes on: a commit moves the base to `later`.
        let later = start.plus(120);
        // Expiries (not_after + the skew of 60) at the last minute that fits, one second past
        // it (rounded up to the next minute), and fifty days on.
        for (not_after, fits) in [
            (later.plus(MAX - 60), true),
            (later.plus(MAX - 59), false),
            (later.plus(50 * 86_400), false),
        ] {
            let verdict = t.check(issuer, colliding, 2, not_after, 60, later);
            let spend = Spend {
                issuer,
                serial: colliding,
                use_index: 1,
                expires: not_after.plus(60),
                at: later,
            };
            let mut committed = t.clone();
            let outcome = committed.commit(&spend);
            let expected = if fits { Ok(()) } else { Err(Error::ReplayFull) };
            assert_eq!(verdict.map(|s| assert_eq!(s, spend)), expected, "check, {not_after:?}");
            assert_eq!(outcome, expected, "commit, {not_after:?}");
            if fits {
                assert_eq!(committed.base(), later);
                assert_eq!((committed.entries[0].until, committed.entries[0].used), (u16::MAX, 2));
            } else {
                assert_eq!(
                    persisted(&committed),
                    persisted(&t),
                    "a refused commit changed the table"
                );
            }
        }
        // Single-use: the shared entry is spent, so the colliding grant is a duplicate, however
        // late it expires.
        let mut single = ReplayTable::<4, 2>::new();
        single.commit(&single.check(issuer, 7, 1, start.plus(600), 60, start).unwrap()).unwrap();
        let far = later.plus(50 * 86_400);
        assert_eq!(single.check(issuer, colliding, 1, far, 60, later), Err(Error::ReplayDuplicate));
    }

    /// Door times near `START`, either side (the clock goes back too).
    const START: u32 = 1_800_000_000;

    /// Serials that collide in pairs: the same low 32 bits, different high bits.
    fn colliding_serial() -> impl proptest::strategy::Strategy<Value = u64> {
        use proptest::prelude::*;
        (0u64..3, any::<bool>()).prop_map(|(low, high)| low | (u64::from(high) << 32))
    }

    /// Expiries from before `START` to past what a table can hold from there (45 days), with
    /// the edge of what it can hold at a few minutes' bases, and anything.
    fn any_expiry() -> impl proptest::strategy::Strategy<Value = u32> {
        use proptest::prelude::*;
        let max = ReplayTable::<4, 2>::MAX_AHEAD;
        prop_oneof![
            (0u32..7200).prop_map(|d| START - 600 + d),
            (0u32..7200).prop_map(move |d| START + max - 3600 + d),
            edge_time(),
        ]
    }

    /// A door time near `START`.
    fn any_now() -> impl proptest::strategy::Strategy<Value = u32> {
        use proptest::strategy::Strategy;
        (0u32..3600).prop_map(|d| START - 300 + d)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// `check` and `commit` agree, in every table state a door's admissions and a replayed
        /// log of spends can reach: a spend `check` accepts, `commit` records; a commit that
        /// refuses (any spend, such as one from a log) leaves the table's persisted bytes as they
        /// were. Serials collide in pairs and expiries reach past the 45 days an entry holds.
        #[test]
        fn commit_never_half_applies(
            steps in proptest::collection::vec(
                (proptest::prelude::any::<bool>(), 0u8..3, colliding_serial(), 0u8..4, any_expiry(), any_now()),
                0..12,
            ),
        ) {
            let mut t = ReplayTable::<4, 2>::new();
            for (admission, issuer, serial, count, time, now) in steps {
                let (issuer, time, now) = (KeyId([issuer; 8]), Time(time), Time(now));
                // An admission checks a grant of `count` uses valid until `time`, skew 60.
                let checked = admission.then(|| t.check(issuer, serial, count, time, 60, now).ok());
                let accepted = checked.flatten().is_some();
                // Otherwise (or if refused) a spend as a log would hold it, unchecked: use index
                // `count`, expiry `time`.
                let spend = checked.flatten().unwrap_or(Spend {
                    issuer,
                    serial,
                    use_index: count,
                    expires: time,
                    at: now,
                });
                let before = persisted(&t);
                match t.commit(&spend) {
                    Ok(()) => proptest::prop_assert!(t.is_well_formed()),
                    Err(e) => {
                        proptest::prop_assert!(!accepted, "check accepted {spend:?}, commit refused it: {e:?}");
                        proptest::prop_assert_eq!(persisted(&t), before, "a refused commit changed the table");
                    }
                }
            }
        }
    }

    /// The refusals a stored table can earn, in place: a list over its bound, an overlong
    /// length, a table that breaks the invariants.
    #[test]
    fn in_place_decoding_refuses_what_decoding_by_value_refuses() {
        // base 0, three issuers (the bound is 2).
        let too_many =
            [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 0];
        assert_eq!(
            ReplayTable::<4, 2>::new().decode_prefix_into(&too_many),
            Err(Error::DecodeMalformed)
        );
        // base 0, issuer count 0 written in two bytes.
        let overlong = [0, 0x80, 0x00, 0];
        assert_eq!(
            ReplayTable::<4, 2>::new().decode_prefix_into(&overlong),
            Err(Error::DecodeNonCanonical)
        );
        // base 0, one issuer, no entry: an issuer without an entry.
        let orphan = [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0];
        assert_eq!(
            ReplayTable::<4, 2>::new().decode_prefix_into(&orphan),
            Err(Error::DecodeInvalidField)
        );
    }
}
