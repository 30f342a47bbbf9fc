//! Power-safe persistence on NOR flash: four append-only rings of pages, recovered at boot.
//!
//! Every write is an append of one record to a ring; nothing is ever overwritten in place. A
//! record is
//!
//! ```text
//! word 0   magic 0xA7 | kind | payload length (u16)      (little endian)
//! word 1   ring sequence number (u32), one more than the ring's previous record
//! ...      payload, padded with 0xFF to a whole word
//! last     CRC-32 (IEEE) of everything before it
//! ```
//!
//! written word by word in that order, so a record is committed exactly when its last word is.
//! At boot each page is read from the start while records parse and their CRC matches; the
//! record with the highest sequence number in a ring is its current value (or, for the audit
//! ring, its head). Anything after the last good record of a page (a torn record, a torn word,
//! a half-erased page) makes that page "dirty": it is never programmed again until erased. A
//! write that does not fit the current page, or finds it dirty, erases the next page of the ring
//! and starts there; the page holding the current record is never the one erased, so a power
//! cut at any step leaves the previous value readable.
//!
//! | ring | pages (of 16) | holds | written |
//! |------|---------------|-------|---------|
//! | identity | 2 | device key seed, boot counter, enrolment and root key | first boot, every boot, enrolment |
//! | door state | 2 | the signed door state, exactly as received | when a newer one is taken |
//! | replay | 4 | replay windows, certificate cache, clock floor, the admission being recorded | every admission and door state change |
//! | audit | 8 | the hash-chained audit records | every attempt, alarm, boot |
//!
//! The admission's audit record is carried inside the replay record that makes the spend
//! durable, so spend and record are committed by one write: if power fails before the audit
//! ring has the record, boot appends it from the replay record.

use porter_protocol::wire::{Decode, Encode, Fill, Reader, Stream, Writer};
use porter_protocol::{
    AuditEvent, AuditRecord, CertCache, ChainHash, Error, PublicKey, ReplayTable, Time,
    CERT_CACHE_ENTRIES, MAX_AUDIT_RECORD_LEN, MAX_ENROLMENT_LEN, REPLAY_ENTRIES, REPLAY_ISSUERS,
};

use crate::hal::{FlashError, NorFlash};

/// The smallest page the layout supports: a door state record (3,584 bytes and 12 of framing)
/// must fit one page.
pub const MIN_PAGE_SIZE: usize = 4096;
/// The fewest pages: identity 2, door state 2, replay 4 (a record of two parts is written
/// without erasing the pages of the one it replaces), audit 3.
pub const MIN_PAGES: usize = 11;
/// Audit records the default layout (8 audit pages of 4 KiB) always keeps: 7 pages of records
/// of at most 140 bytes each on flash (128 + 12 of framing).
pub const MIN_AUDIT_RETAINED: u64 = 7 * (4096 / (MAX_AUDIT_RECORD_LEN as u64 + 12));
/// The most pages a ring may span (bounds the RAM index).
pub const MAX_RING_PAGES: usize = 16;
/// The largest replay ring record: one 4 KiB flash page less the record framing. The replay
/// record ([`ReplayRecord`]) is written in parts of this size or less, each a part header
/// ([`PART_HEADER_LEN`]) and a slice of the record's encoding.
pub const MAX_REPLAY_RECORD_LEN: usize = 4_084;
/// The most parts a replay record is written in.
pub const MAX_REPLAY_PARTS: usize = 2;
/// The part header: part index, part count, and the sequence of the committed record's last
/// part that this record supersedes (u32, little endian; `u32::MAX` for none).
pub const PART_HEADER_LEN: usize = 6;
/// The bytes of the replay record's encoding one part carries.
pub const REPLAY_PART_LEN: usize = MAX_REPLAY_RECORD_LEN - PART_HEADER_LEN;
/// The largest replay record: two parts. It holds the whole replay memory at its worst (640
/// live grants of five-byte serials, 6,473 bytes, `ReplayTable::MAX_ENCODED_LEN`), the
/// certificate cache (<= 419), floor (<= 5), two counters (<= 20) and a pending admission
/// (<= 1 + 10 + 5 + [`MAX_AUDIT_RECORD_LEN`]): every spend the core's memory admits is
/// persisted, so the door holds as many live grants as `porter_protocol::REPLAY_ENTRIES`.
pub const MAX_REPLAY_SNAPSHOT_LEN: usize = MAX_REPLAY_PARTS * REPLAY_PART_LEN;
const _: () = assert!(
    5 + ReplayTable::<REPLAY_ENTRIES, REPLAY_ISSUERS>::MAX_ENCODED_LEN
        + 419
        + 20
        + 16
        + MAX_AUDIT_RECORD_LEN
        <= MAX_REPLAY_SNAPSHOT_LEN,
    "the replay record must hold the whole replay memory"
);
/// No part superseded: the first record the ring holds.
const NO_PART: u32 = u32::MAX;
/// The largest encoded [`IdentityRecord`]: seed 32, counter 5, root 1 + 32, enrolment 2 + 160,
/// acknowledged log length 10: 242.
pub const MAX_IDENTITY_RECORD_LEN: usize = 256;

const MAGIC: u8 = 0xA7;
const OVERHEAD: usize = 12;
const ERASED: u32 = 0xFFFF_FFFF;

/// Record kinds, one per ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Kind {
    Identity = 1,
    DoorState = 2,
    Replay = 3,
    Audit = 4,
}

/// Why storage failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageError {
    /// The flash reported an error (or power was lost mid-operation).
    Flash(FlashError),
    /// The flash is smaller than [`MIN_PAGES`] pages of [`MIN_PAGE_SIZE`] bytes.
    Geometry,
    /// A record is larger than a page, or than its buffer.
    TooLarge,
    /// A record passed its CRC but does not decode: written by an incompatible firmware.
    Corrupt,
    /// An audit record out of sequence: the caller's bug.
    OutOfSequence,
}

impl From<FlashError> for StorageError {
    fn from(e: FlashError) -> Self {
        StorageError::Flash(e)
    }
}

// The records below are encoded as postcard and serde's derived impls encoded them (the
// firmware before issue 14 wrote them so; a door upgraded in the field reads what it wrote),
// by `porter_protocol::wire` instead: the tests at the end of this file keep serde's derived
// impls as the reference and check the bytes and the verdicts are the same.

/// What the device knows about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize, serde::Deserialize))]
pub struct IdentityRecord {
    /// The device key's seed, made from the entropy source on first boot.
    #[cfg_attr(test, serde(with = "porter_protocol::byte_array"))]
    pub seed: [u8; 32],
    /// Boots so far, this one included: part of every challenge nonce.
    pub boot_count: u32,
    /// The enrolment, once commissioned.
    pub enrolment: Option<StoredEnrolment>,
    /// The audit log's length the site server has acknowledged (`0x08 log ack`): records below
    /// it may be overwritten freely; admissions at or above it are kept, or their loss logged.
    pub log_acked: u64,
}

/// The site root key and the root's signed enrolment of this device, as received.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize, serde::Deserialize))]
pub struct StoredEnrolment {
    /// The site root public key.
    pub root: PublicKey,
    /// The signed enrolment.
    pub bytes: heapless::Vec<u8, MAX_ENROLMENT_LEN>,
}

/// The door's replay memory and the admission it is recording, as written: the same encoding as
/// [`ReplayRecord`], from borrowed parts (the replay memory is 5 KiB: never copied to be saved).
#[derive(Debug)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct ReplayRecordRef<'a> {
    /// The clock floor.
    pub floor: Time,
    /// The replay memory.
    pub replay: &'a ReplayTable<REPLAY_ENTRIES, REPLAY_ISSUERS>,
    /// The verified-certificate cache.
    pub certs: &'a CertCache<CERT_CACHE_ENTRIES>,
    /// See [`ReplayRecord::audit_length`].
    pub audit_length: u64,
    /// See [`ReplayRecord::state_sequence`].
    pub state_sequence: u64,
    /// See [`ReplayRecord::pending`].
    pub pending: Option<PendingAudit>,
}

/// The door's replay memory and the admission it is recording.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize, serde::Deserialize))]
pub struct ReplayRecord {
    /// The clock floor.
    pub floor: Time,
    /// The replay windows.
    pub replay: ReplayTable<REPLAY_ENTRIES, REPLAY_ISSUERS>,
    /// The verified-certificate cache.
    pub certs: CertCache<CERT_CACHE_ENTRIES>,
    /// The audit log's length when this record was written: every admission after it would
    /// have written a newer replay record, which boot checks against the log.
    pub audit_length: u64,
    /// The door state sequence in force when this record was written.
    pub state_sequence: u64,
    /// The audit record this write commits, if any.
    pub pending: Option<PendingAudit>,
}

/// An audit record committed together with a spend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize, serde::Deserialize))]
pub struct PendingAudit {
    /// The record's sequence number in the audit log.
    pub sequence: u64,
    /// Door time.
    pub at: Time,
    /// The event.
    pub event: AuditEvent,
}

impl Encode for IdentityRecord {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.bytes(&self.seed)?;
        w.varint(self.boot_count.into())?;
        w.option(&self.enrolment)?;
        w.varint(self.log_acked)
    }
}

impl Decode<'_> for IdentityRecord {
    fn decode(r: &mut Reader<'_>) -> IdentityRecord {
        IdentityRecord {
            seed: r.array(),
            boot_count: r.u32(),
            enrolment: r.option(),
            log_acked: r.u64(),
        }
    }
}

impl Encode for StoredEnrolment {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        self.root.encode(w)?;
        w.byte_string(&self.bytes)
    }
}

impl Decode<'_> for StoredEnrolment {
    fn decode(r: &mut Reader<'_>) -> StoredEnrolment {
        let root = PublicKey::decode(r);
        let bytes = r.byte_string();
        let bytes =
            heapless::Vec::from_slice(bytes).unwrap_or_else(|_| r.refuse(heapless::Vec::new()));
        StoredEnrolment { root, bytes }
    }
}

impl Encode for ReplayRecordRef<'_> {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        self.floor.encode(w)?;
        self.replay.encode(w)?;
        self.certs.encode(w)?;
        w.varint(self.audit_length)?;
        w.varint(self.state_sequence)?;
        w.option(&self.pending)
    }
}

impl Encode for PendingAudit {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.varint(self.sequence)?;
        self.at.encode(w)?;
        self.event.encode(w)
    }
}

impl Decode<'_> for PendingAudit {
    fn decode(r: &mut Reader<'_>) -> PendingAudit {
        PendingAudit { sequence: r.u64(), at: Time::decode(r), event: AuditEvent::decode(r) }
    }
}

/// The largest encoded [`PendingAudit`]: the option's tag, sequence, time and an event (no
/// longer than a whole audit record).
const MAX_PENDING_LEN: usize = 1 + 10 + 5 + MAX_AUDIT_RECORD_LEN;
/// An encoded certificate cache entry: body hash and signature.
const CACHED_CERT_LEN: usize = 32 + 64;
/// The window [`Storage::replay`] reads a replay record through: its largest item, the
/// pending audit record, at least.
const REPLAY_WINDOW: usize = 512;

/// A replay record's fields besides the table, which [`read_replay_record`] reads in place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayRecordRest {
    /// See [`ReplayRecord::floor`].
    pub floor: Time,
    /// See [`ReplayRecord::certs`].
    pub certs: CertCache<CERT_CACHE_ENTRIES>,
    /// See [`ReplayRecord::audit_length`].
    pub audit_length: u64,
    /// See [`ReplayRecord::state_sequence`].
    pub state_sequence: u64,
    /// See [`ReplayRecord::pending`].
    pub pending: Option<PendingAudit>,
}

/// Reads a replay record from `stream` in its fields' order, the replay table through
/// `read_table` (in place: [`porter_protocol::DoorMemory::replay_in_place`], or
/// [`ReplayTable::read_in_place`]). The stream's window must hold at least
/// `MAX_PENDING_LEN` (144) bytes; the caller checks [`Stream::failed`] and [`Stream::at_end`].
pub fn read_replay_record<S: Fill + ?Sized>(
    stream: &mut Stream<'_, S>,
    read_table: impl FnOnce(&mut Stream<'_, S>),
) -> ReplayRecordRest {
    let floor = stream.item(5, |r| Time(r.u32()));
    read_table(stream);
    let certs = CertCache::read(stream, CACHED_CERT_LEN);
    let audit_length = stream.item(10, |r| r.u64());
    let state_sequence = stream.item(10, |r| r.u64());
    let pending = stream.item(MAX_PENDING_LEN, |r| r.option());
    ReplayRecordRest { floor, certs, audit_length, state_sequence, pending }
}

/// Counters of flash operations, for the wear report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wear {
    /// Words programmed.
    pub words: u64,
    /// Pages erased.
    pub erases: u64,
}

/// Where each ring lives, in pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Identity ring: first page and page count.
    pub identity: (usize, usize),
    /// Door state ring.
    pub door_state: (usize, usize),
    /// Replay ring.
    pub replay: (usize, usize),
    /// Audit ring.
    pub audit: (usize, usize),
}

impl Layout {
    /// Splits `pages` pages: 2 identity, 2 door state, a quarter (at least 4) replay, the rest
    /// (at least 3) audit.
    pub fn for_pages(pages: usize) -> Result<Layout, StorageError> {
        if pages < MIN_PAGES {
            return Err(StorageError::Geometry);
        }
        let replay = (pages / 4).max(4);
        let audit = pages - 4 - replay;
        if !(3..=MAX_RING_PAGES).contains(&audit) || replay > MAX_RING_PAGES {
            return Err(StorageError::Geometry);
        }
        Ok(Layout {
            identity: (0, 2),
            door_state: (2, 2),
            replay: (4, replay),
            audit: (4 + replay, audit),
        })
    }
}

/// The latest record of a ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Latest {
    page: usize,
    offset: usize,
    seq: u32,
    len: usize,
}

/// One ring's index in RAM.
#[derive(Clone, Debug)]
struct Ring {
    kind: Kind,
    first: usize,
    pages: usize,
    latest: Option<Latest>,
    /// Where the next record goes in `latest.page` (or page 0 of an empty ring), if that page is
    /// clean from there on.
    append_at: Option<(usize, usize)>,
    /// The lowest sequence number in each page's valid prefix.
    page_first: PageFirsts,
    /// The sequence number the next record gets.
    next_seq: u32,
    /// Boot found a whole record newer than the latest reachable one: committed data was lost
    /// to corruption (not to a power cut, which can only tear the record being written).
    lost: bool,
    /// The page the next record must start, when the caller asked for one
    /// ([`Ring::restart_at`]).
    restart: Option<usize>,
}

/// The lowest sequence number in each page's valid prefix, if the page holds a record: 66
/// bytes instead of the 128 of sixteen `Option<u32>` (four rings of them are in static RAM).
#[derive(Clone, Copy, Debug, Default)]
struct PageFirsts {
    seq: [u32; MAX_RING_PAGES],
    /// Bit `page` set: `seq[page]` holds a sequence number.
    known: u16,
}

const _: () = assert!(MAX_RING_PAGES <= 16, "one bit per page in `PageFirsts::known`");

impl PageFirsts {
    fn get(&self, page: usize) -> Option<u32> {
        let known = page < MAX_RING_PAGES && self.known & (1 << page) != 0;
        self.seq.get(page).copied().filter(|_| known)
    }

    fn set(&mut self, page: usize, first: Option<u32>) {
        let Some(slot) = self.seq.get_mut(page) else { return };
        let bit = 1u16 << page;
        match first {
            Some(seq) => {
                *slot = seq;
                self.known |= bit;
            }
            None => self.known &= !bit,
        }
    }
}

/// How a page's valid prefix ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PageEnd {
    /// Erased from this offset to the end of the page.
    Clean(usize),
    /// Something unparseable follows the valid prefix, which ends at this offset.
    Dirty(usize),
}

/// The controller's flash: the rings and their RAM index.
pub struct Storage<F: NorFlash> {
    flash: F,
    page_size: usize,
    identity: Ring,
    door_state: Ring,
    replay: Ring,
    audit: Ring,
    repaired: bool,
    wear: Wear,
    /// The committed replay record, once located (`None` inside: none was ever committed).
    replay_committed: Option<Option<Committed>>,
}

impl<F: NorFlash> Storage<F> {
    /// Scans the flash and recovers each ring's latest record. Never writes: repairs happen
    /// lazily, by erasing a dirty page before its next use.
    pub fn mount(mut flash: F) -> Result<Storage<F>, (F, StorageError)> {
        let page_size = flash.page_size();
        if page_size < MIN_PAGE_SIZE || page_size % 4 != 0 {
            return Err((flash, StorageError::Geometry));
        }
        let layout = match Layout::for_pages(flash.page_count()) {
            Ok(l) => l,
            Err(e) => return Err((flash, e)),
        };
        let mut repaired = false;
        let mut rings = [
            Ring::new(Kind::Identity, layout.identity),
            Ring::new(Kind::DoorState, layout.door_state),
            Ring::new(Kind::Replay, layout.replay),
            Ring::new(Kind::Audit, layout.audit),
        ];
        for ring in rings.iter_mut() {
            match ring.scan(&mut flash, page_size) {
                Ok(r) => repaired |= r,
                Err(e) => return Err((flash, e.into())),
            }
        }
        let [identity, door_state, replay, audit] = rings;
        Ok(Storage {
            flash,
            page_size,
            identity,
            door_state,
            replay,
            audit,
            repaired,
            wear: Wear::default(),
            replay_committed: None,
        })
    }

    /// Whether boot found a torn write or a half-erased page (and will repair it on next use).
    pub fn repaired(&self) -> bool {
        self.repaired
    }

    /// Whether boot found committed records lost to flash corruption in a ring the door's
    /// decisions depend on (identity, door state, replay). The controller then refuses
    /// everything: it cannot know what it has forgotten.
    pub fn decisions_lost(&self) -> bool {
        self.identity.lost || self.door_state.lost || self.replay.lost
    }

    /// Whether boot found committed audit records lost to flash corruption. Numbering resumes
    /// after the highest number ever committed, so the loss shows as a gap.
    pub fn audit_lost(&self) -> bool {
        self.audit.lost
    }

    /// Flash operations since mount.
    pub fn wear(&self) -> Wear {
        self.wear
    }

    /// The flash, for tests and the simulator.
    pub fn flash(&mut self) -> &mut F {
        &mut self.flash
    }

    /// Gives the flash back.
    pub fn into_flash(self) -> F {
        self.flash
    }

    /// The identity record, if one was ever written.
    pub fn identity(&mut self) -> Result<Option<IdentityRecord>, StorageError> {
        let mut buf = [0u8; MAX_IDENTITY_RECORD_LEN];
        let Some(bytes) = read_latest(&mut self.flash, self.page_size, &self.identity, &mut buf)?
        else {
            return Ok(None);
        };
        // As postcard read it: bytes after the record are ignored (there are none).
        let mut r = Reader::new(bytes);
        let record = IdentityRecord::decode(&mut r);
        if r.failed() {
            return Err(StorageError::Corrupt);
        }
        Ok(Some(record))
    }

    /// Writes a new identity record.
    pub fn write_identity(&mut self, record: &IdentityRecord) -> Result<(), StorageError> {
        let mut buf = [0u8; MAX_IDENTITY_RECORD_LEN];
        let bytes =
            porter_protocol::wire::encode(record, &mut buf).map_err(|_| StorageError::TooLarge)?;
        self.append(Which::Identity, bytes).map(|_| ())
    }

    /// The stored signed door state, into `buf`.
    pub fn door_state<'b>(&mut self, buf: &'b mut [u8]) -> Result<Option<&'b [u8]>, StorageError> {
        read_latest(&mut self.flash, self.page_size, &self.door_state, buf)
    }

    /// Writes a newer signed door state.
    pub fn write_door_state(&mut self, signed: &[u8]) -> Result<(), StorageError> {
        self.append(Which::DoorState, signed).map(|_| ())
    }

    /// The committed replay record, decoded (for tests and tools: the controller restores it in
    /// place with [`Storage::replay_snapshot`]).
    pub fn replay(&mut self) -> Result<Option<ReplayRecord>, StorageError> {
        let Some(mut snapshot) = self.replay_snapshot()? else { return Ok(None) };
        let mut window = [0u8; REPLAY_WINDOW];
        let mut replay = ReplayTable::new();
        let mut stream = Stream::new(&mut window, &mut snapshot);
        let rest = read_replay_record(&mut stream, |s| replay.read_in_place(s));
        let read = !stream.failed() && stream.at_end();
        snapshot.verdict(read)?;
        let ReplayRecordRest { floor, certs, audit_length, state_sequence, pending } = rest;
        Ok(Some(ReplayRecord { floor, replay, certs, audit_length, state_sequence, pending }))
    }

    /// The committed replay record's encoding, its parts in order, as a [`Fill`] source for a
    /// [`Stream`]: the record is up to [`MAX_REPLAY_SNAPSHOT_LEN`] bytes, never held whole.
    /// `None` if none was ever committed.
    pub fn replay_snapshot(&mut self) -> Result<Option<Snapshot<'_, F>>, StorageError> {
        let Some(committed) = self.committed_replay()? else { return Ok(None) };
        Ok(Some(Snapshot {
            storage: self,
            next_seq: committed.first,
            part: 0,
            count: committed.count,
            at: 0,
            left: 0,
            error: None,
        }))
    }

    /// Writes the replay record, in as many parts as it needs (at most [`MAX_REPLAY_PARTS`]):
    /// after it returns `Ok`, the spend it records survives power loss. The last part commits
    /// the record; a power cut before it leaves the previous record the committed one, and no
    /// page holding that record is erased until this one is committed. `TooLarge` if it does not
    /// fit [`MAX_REPLAY_SNAPSHOT_LEN`]: nothing was written.
    pub fn write_replay(&mut self, record: &ReplayRecordRef<'_>) -> Result<(), StorageError> {
        let mut buf = [0u8; MAX_REPLAY_RECORD_LEN];
        let total = encode_window(record, &mut buf, 0)?;
        let count = total.div_ceil(REPLAY_PART_LEN).max(1);
        let count = u8::try_from(count)
            .ok()
            .filter(|&c| usize::from(c) <= MAX_REPLAY_PARTS)
            .ok_or(StorageError::TooLarge)?;
        let committed = self.committed_replay()?;
        // Parts of an uncommitted record (a power cut between parts) may lie after the committed
        // record: the new one starts on the page after the committed record's last part, so
        // that leftovers never push it onto the committed record's pages.
        let latest = self.replay.latest.map(|l| l.seq);
        let fresh = match committed {
            Some(c) if latest != Some(c.last) => {
                Some((self.page_of(Which::Replay, c.last) + 1) % self.replay.pages)
            }
            _ => None,
        };
        let supersedes = committed.map_or(NO_PART, |c| c.last);
        let mut first = None;
        let mut last = 0;
        for part in 0..count {
            let from = usize::from(part) * REPLAY_PART_LEN;
            let end = if part == 0 { total } else { encode_window(record, &mut buf, from)? };
            let len = end.saturating_sub(from).min(REPLAY_PART_LEN);
            let header = PartHeader { part, count, supersedes };
            let bytes = buf.get_mut(..PART_HEADER_LEN + len).ok_or(StorageError::TooLarge)?;
            header.write(bytes);
            let start = if part == 0 { fresh } else { None };
            last = self.append_at(Which::Replay, bytes, start)?;
            first.get_or_insert(last);
        }
        self.replay_committed = Some(Some(Committed { first: first.unwrap_or(last), last, count }));
        Ok(())
    }

    /// The committed replay record: the latest record if it is a last part, else the one its
    /// parts superseded. Located once, then kept up to date by [`Storage::write_replay`].
    fn committed_replay(&mut self) -> Result<Option<Committed>, StorageError> {
        if let Some(known) = self.replay_committed {
            return Ok(known);
        }
        let found = match self.replay.latest {
            None => None,
            Some(latest) => {
                let header = self.part_header(latest.seq)?.ok_or(StorageError::Corrupt)?;
                let last = if header.is_last() {
                    Some((latest.seq, header))
                } else if header.supersedes == NO_PART {
                    None
                } else {
                    let last = header.supersedes;
                    let header = self.part_header(last)?.ok_or(StorageError::Corrupt)?;
                    if !header.is_last() {
                        return Err(StorageError::Corrupt);
                    }
                    Some((last, header))
                };
                match last {
                    Some((last, header)) => Some(Committed {
                        first: last
                            .checked_sub(u32::from(header.count) - 1)
                            .ok_or(StorageError::Corrupt)?,
                        last,
                        count: header.count,
                    }),
                    None => None,
                }
            }
        };
        self.replay_committed = Some(found);
        Ok(found)
    }

    /// The part header of replay record `seq`, if the ring holds it.
    fn part_header(&mut self, seq: u32) -> Result<Option<PartHeader>, StorageError> {
        let Some((at, len)) = self.find(Which::Replay, seq)? else { return Ok(None) };
        let mut bytes = [0u8; PART_HEADER_LEN];
        if len < PART_HEADER_LEN {
            return Err(StorageError::Corrupt);
        }
        self.flash.read(at, &mut bytes)?;
        PartHeader::read(&bytes).map(Some).ok_or(StorageError::Corrupt)
    }

    /// The audit log's length (the next record's sequence) and the hash the next record links to.
    pub fn audit_head(&mut self) -> Result<(u64, ChainHash), StorageError> {
        let mut buf = [0u8; MAX_AUDIT_RECORD_LEN];
        let next = u64::from(self.audit.next_seq);
        match read_latest(&mut self.flash, self.page_size, &self.audit, &mut buf)? {
            Some(bytes) => {
                let record = AuditRecord::decode(bytes).map_err(|_| StorageError::Corrupt)?;
                Ok((record.sequence.saturating_add(1).max(next), ChainHash::of(bytes)))
            }
            None => Ok((next, ChainHash::GENESIS)),
        }
    }

    /// Appends an audit record; its sequence must be the log's length. The next record's link
    /// is `record.chain_hash()`, left to the caller so that an admission can move the relay
    /// before hashing.
    pub fn append_audit(&mut self, record: &AuditRecord) -> Result<(), StorageError> {
        let mut buf = [0u8; MAX_AUDIT_RECORD_LEN];
        let bytes = record.encode(&mut buf).map_err(|_| StorageError::TooLarge)?;
        let expected = u64::from(self.audit.next_seq);
        if record.sequence != expected || record.sequence > u64::from(u32::MAX) {
            return Err(StorageError::OutOfSequence);
        }
        self.append(Which::Audit, bytes).map(|_| ())
    }

    /// The sequence numbers `[from, to)` that appending an audit record of `len` encoded bytes
    /// would overwrite (the ring must erase its oldest page), or `None` if it fits as it is.
    pub fn audit_overwrites(&self, len: usize) -> Option<(u64, u64)> {
        let ring = &self.audit;
        let need = OVERHEAD + len.div_ceil(4) * 4;
        if let Some((_, offset)) = ring.append_at {
            if offset + need <= self.page_size && ring.latest.is_some() {
                return None;
            }
        }
        let latest = ring.latest?;
        let next = (latest.page + 1) % ring.pages;
        let from = ring.page_first.get(next)?;
        let after = (next + 1) % ring.pages;
        let to = match ring.page_first.get(after) {
            Some(first) if first > from => first,
            _ => latest.seq.saturating_add(1),
        };
        Some((u64::from(from), u64::from(to)))
    }

    /// The oldest audit record from which the ring holds every record up to the head (older
    /// ones were overwritten as the ring wrapped). The ring always keeps at least its pages but
    /// one: [`MIN_AUDIT_RETAINED`] records or more with the default layout.
    pub fn audit_oldest(&mut self) -> Result<u64, StorageError> {
        let ring = self.audit.clone();
        let Some(latest) = ring.latest else { return Ok(0) };
        let mut page = latest.page;
        let mut oldest = ring.page_first.get(page).unwrap_or(latest.seq);
        let mut buf = [0u8; MAX_AUDIT_RECORD_LEN];
        for _ in 1..ring.pages {
            page = (page + ring.pages - 1) % ring.pages;
            let Some(first) = ring.page_first.get(page) else { break };
            // The previous page continues the chain only if it ends right before `oldest`.
            if first >= oldest || oldest == 0 {
                break;
            }
            if self.audit_record(u64::from(oldest - 1), &mut buf)?.is_none() {
                break;
            }
            oldest = first;
        }
        Ok(u64::from(oldest))
    }

    /// Audit record `sequence`, if the ring still holds it.
    pub fn audit_record<'b>(
        &mut self,
        sequence: u64,
        buf: &'b mut [u8],
    ) -> Result<Option<&'b [u8]>, StorageError> {
        let Ok(seq) = u32::try_from(sequence) else { return Ok(None) };
        let Some((at, len)) = self.find(Which::Audit, seq)? else { return Ok(None) };
        let out = buf.get_mut(..len).ok_or(StorageError::TooLarge)?;
        self.flash.read(at, out)?;
        Ok(Some(out))
    }

    /// The page of `which` whose valid prefix starts at the highest sequence not above `seq`:
    /// where record `seq` is, if the ring still holds it.
    fn page_of(&mut self, which: Which, seq: u32) -> usize {
        let ring = self.ring(which);
        let mut best: Option<(usize, u32)> = None;
        for page in 0..ring.pages {
            if let Some(first) = ring.page_first.get(page) {
                if first <= seq && best.is_none_or(|(_, b)| first > b) {
                    best = Some((page, first));
                }
            }
        }
        best.map_or(0, |(page, _)| page)
    }

    /// Where record `seq` of `which` lies (payload address and length), checked against its
    /// CRC, if the ring still holds it.
    fn find(&mut self, which: Which, seq: u32) -> Result<Option<(usize, usize)>, StorageError> {
        let page = self.page_of(which, seq);
        let ring = self.ring(which);
        let (first_page, Some(first)) = (ring.first, ring.page_first.get(page)) else {
            return Ok(None);
        };
        if first > seq {
            return Ok(None);
        }
        let base = (first_page + page) * self.page_size;
        // Walk the headers to the record (the page's prefix was checked at mount or written
        // by us), then check that record's own CRC.
        let mut offset = 0;
        let mut expect = first;
        while offset + OVERHEAD <= self.page_size {
            let mut head = [0u8; 8];
            self.flash.read(base + offset, &mut head)?;
            let header = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
            let s = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
            let len = (header >> 16) as usize;
            let need = OVERHEAD + len.div_ceil(4) * 4;
            if header == ERASED || s != expect || offset + need > self.page_size {
                return Ok(None);
            }
            if s == seq {
                if !record_intact(&mut self.flash, base + offset, need)? {
                    return Ok(None);
                }
                return Ok(Some((base + offset + 8, len)));
            }
            offset += need;
            expect = expect.wrapping_add(1);
        }
        Ok(None)
    }

    fn ring(&mut self, which: Which) -> &mut Ring {
        match which {
            Which::Identity => &mut self.identity,
            Which::DoorState => &mut self.door_state,
            Which::Replay => &mut self.replay,
            Which::Audit => &mut self.audit,
        }
    }

    fn append(&mut self, which: Which, payload: &[u8]) -> Result<u32, StorageError> {
        self.append_at(which, payload, None)
    }

    /// Appends `payload` to `which`, at the start of page `fresh` (erased first) if given.
    fn append_at(
        &mut self,
        which: Which,
        payload: &[u8],
        fresh: Option<usize>,
    ) -> Result<u32, StorageError> {
        let page_size = self.page_size;
        let need = OVERHEAD + payload.len().div_ceil(4) * 4;
        if need > page_size || payload.len() > usize::from(u16::MAX) {
            return Err(StorageError::TooLarge);
        }
        let mut ring = self.ring(which).clone();
        if let Some(page) = fresh {
            ring.restart_at(page);
        }
        let result = ring.append(&mut self.flash, page_size, payload, &mut self.wear);
        if result.is_err() {
            // The page may hold part of the record now: never program it again before erasing.
            ring.append_at = None;
        }
        *self.ring(which) = ring;
        result
    }
}

#[derive(Clone, Copy)]
enum Which {
    Identity,
    DoorState,
    Replay,
    Audit,
}

impl Ring {
    fn new(kind: Kind, (first, pages): (usize, usize)) -> Ring {
        Ring {
            kind,
            first,
            pages,
            latest: None,
            append_at: None,
            page_first: PageFirsts::default(),
            next_seq: 0,
            lost: false,
            restart: None,
        }
    }

    /// Makes the next record start page `page` (erased first unless blank): `page` must not hold
    /// a record anyone still needs.
    fn restart_at(&mut self, page: usize) {
        self.append_at = None;
        self.restart = Some(page % self.pages);
    }

    /// Indexes the ring; returns whether any page had a dirty tail.
    fn scan<F: NorFlash>(&mut self, flash: &mut F, page_size: usize) -> Result<bool, FlashError> {
        let mut dirty = false;
        let mut ends = [PageEnd::Dirty(0); MAX_RING_PAGES];
        let mut salvaged: Option<u32> = None;
        for page in 0..self.pages {
            let base = (self.first + page) * page_size;
            let mut first = None;
            let mut latest = self.latest;
            let end = scan_page(flash, base, page_size, self.kind, |offset, seq, len| {
                if first.is_none() {
                    first = Some(seq);
                }
                if latest.is_none_or(|l| seq > l.seq) {
                    latest = Some(Latest { page, offset, seq, len });
                }
            })?;
            self.latest = latest;
            self.page_first.set(page, first);
            if let Some(slot) = ends.get_mut(page) {
                *slot = end;
            }
            // A dirty tail on a page holding records is a torn write; a page with no records
            // that is not blank is a half-erased page. Either is repaired by erasing it later.
            if let PageEnd::Dirty(from) = end {
                dirty = true;
                // Whole records beyond the damage: a torn write or erase leaves none newer than
                // the ring's latest, so a newer one means the flash lost committed data.
                if let Some(seq) = salvage(flash, base, from, page_size, self.kind)? {
                    salvaged = Some(salvaged.map_or(seq, |s: u32| s.max(seq)));
                }
            }
        }
        self.next_seq = self.latest.map_or(0, |l| l.seq.wrapping_add(1));
        if let Some(seq) = salvaged {
            if self.latest.is_none_or(|l| seq > l.seq) {
                self.lost = true;
                // Never reuse a number that was committed once.
                self.next_seq = seq.wrapping_add(1);
            }
        }
        let current = self.latest.map_or(0, |l| l.page);
        self.append_at = match ends.get(current) {
            Some(PageEnd::Clean(offset)) => Some((current, *offset)),
            _ => None,
        };
        Ok(dirty)
    }

    fn append<F: NorFlash>(
        &mut self,
        flash: &mut F,
        page_size: usize,
        payload: &[u8],
        wear: &mut Wear,
    ) -> Result<u32, StorageError> {
        let need = OVERHEAD + payload.len().div_ceil(4) * 4;
        let seq = self.next_seq;
        // Records within a page are consecutive: after a skipped number, start a new page.
        if self.latest.is_some_and(|l| l.seq.wrapping_add(1) != seq) {
            self.append_at = None;
        }
        let (page, offset) = match self.append_at {
            Some((page, offset)) if offset + need <= page_size => (page, offset),
            _ => {
                let next = match self.restart.take() {
                    Some(page) => page,
                    None => self.latest.map_or(0, |l| (l.page + 1) % self.pages),
                };
                let base = (self.first + next) * page_size;
                // Never the page holding the latest record: `pages` >= 2.
                if !is_blank(flash, base, page_size)? {
                    self.page_first.set(next, None);
                    self.append_at = None;
                    wear.erases += 1;
                    flash.erase_page(self.first + next)?;
                }
                (next, 0)
            }
        };
        self.append_at = None;
        let base = (self.first + page) * page_size + offset;
        let len = u16::try_from(payload.len()).map_err(|_| StorageError::TooLarge)?;
        let header = u32::from(MAGIC) | (u32::from(self.kind as u8) << 8) | (u32::from(len) << 16);
        let mut crc = Crc32::new();
        let mut at = base;
        wear.words += (need / 4) as u64;
        let mut put = |flash: &mut F, word: u32, crc: Option<&mut Crc32>| {
            if let Some(crc) = crc {
                crc.update_word(word);
            }
            let r = flash.program_word(at, word);
            at += 4;
            r
        };
        put(flash, header, Some(&mut crc))?;
        put(flash, seq, Some(&mut crc))?;
        let mut words = payload.chunks_exact(4);
        for chunk in &mut words {
            let word = chunk.first_chunk::<4>().map_or(0, |w| u32::from_le_bytes(*w));
            put(flash, word, Some(&mut crc))?;
        }
        let tail = words.remainder();
        if !tail.is_empty() {
            let mut word = [0xFFu8; 4];
            if let Some(w) = word.get_mut(..tail.len()) {
                w.copy_from_slice(tail);
            }
            put(flash, u32::from_le_bytes(word), Some(&mut crc))?;
        }
        let crc = crc.finish();
        put(flash, crc, None)?;
        // Read back: a record that does not read back exactly as programmed (a dirty or
        // failing cell) is not committed. Compared with what was written, a few words per
        // read: stricter than checking its CRC again, and a fraction of the cost.
        let [h0, h1, h2, h3] = header.to_le_bytes();
        let [s0, s1, s2, s3] = seq.to_le_bytes();
        let first = [h0, h1, h2, h3, s0, s1, s2, s3];
        // The padded last word of the payload (if any) and the CRC.
        let mut last = [0xFFu8; 8];
        let crc_at = tail.len().div_ceil(4) * 4;
        if let Some(t) = last.get_mut(..tail.len()) {
            t.copy_from_slice(tail);
        }
        if let Some(c) = last.get_mut(crc_at..crc_at + 4) {
            c.copy_from_slice(&crc.to_le_bytes());
        }
        let full = payload.get(..payload.len() - tail.len()).unwrap_or(&[]);
        let mut off = base;
        let mut chunk = [0u8; READ_BACK_CHUNK];
        let parts = core::iter::once(&first[..])
            .chain(full.chunks(READ_BACK_CHUNK))
            .chain(core::iter::once(last.get(..crc_at + 4).unwrap_or(&[])));
        for expected in parts {
            let read = chunk.get_mut(..expected.len()).ok_or(StorageError::TooLarge)?;
            flash.read(off, read)?;
            if !same_bytes(read, expected) {
                return Err(StorageError::Flash(FlashError::Device));
            }
            off += expected.len();
        }
        if offset == 0 {
            self.page_first.set(page, Some(seq));
        }
        self.latest = Some(Latest { page, offset, seq, len: payload.len() });
        self.append_at = Some((page, offset + need));
        self.next_seq = seq.wrapping_add(1);
        Ok(seq)
    }
}

/// Where a replay record's parts are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Committed {
    /// The first part's sequence number.
    first: u32,
    /// The last part's: the record is committed once it is.
    last: u32,
    count: u8,
}

/// What each replay ring record starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PartHeader {
    part: u8,
    count: u8,
    /// The last part of the record committed when this one was written ([`NO_PART`]: none).
    supersedes: u32,
}

impl PartHeader {
    fn is_last(&self) -> bool {
        self.part + 1 == self.count
    }

    fn write(&self, out: &mut [u8]) {
        let s = self.supersedes.to_le_bytes();
        let bytes = [self.part, self.count, s[0], s[1], s[2], s[3]];
        for (o, b) in out.iter_mut().zip(bytes) {
            *o = b;
        }
    }

    fn read(bytes: &[u8; PART_HEADER_LEN]) -> Option<PartHeader> {
        let [part, count, s0, s1, s2, s3] = *bytes;
        let valid = (1..=MAX_REPLAY_PARTS as u8).contains(&count) && part < count;
        let supersedes = u32::from_le_bytes([s0, s1, s2, s3]);
        valid.then_some(PartHeader { part, count, supersedes })
    }
}

/// Encodes `record` and keeps the bytes from `from` on (at most [`REPLAY_PART_LEN`]) in `buf`
/// after the part header's room; returns the encoding's whole length. The record is encoded
/// once per part instead of whole into one buffer: one page of stack, not two.
fn encode_window<T: Encode>(
    record: &T,
    buf: &mut [u8],
    from: usize,
) -> Result<usize, StorageError> {
    let window = buf.get_mut(PART_HEADER_LEN..).ok_or(StorageError::TooLarge)?;
    let mut w = Writer::window(window, from);
    record.encode(&mut w).map_err(|_| StorageError::TooLarge)?;
    Ok(w.position())
}

/// The committed replay record's encoding, read part by part straight from flash: a [`Fill`]
/// source for a [`Stream`], which reads it through a window of its own. Its
/// [`Snapshot::verdict`] says whether every part was read to its end, or which storage error
/// cut the reading short.
pub struct Snapshot<'s, F: NorFlash> {
    storage: &'s mut Storage<F>,
    next_seq: u32,
    part: u8,
    count: u8,
    /// The current part's unread payload: flash address and length.
    at: usize,
    left: usize,
    error: Option<StorageError>,
}

impl<F: NorFlash> Snapshot<'_, F> {
    /// Finds the next part, checking that it is the part expected.
    fn load(&mut self) -> Result<(), StorageError> {
        let (at, len) =
            self.storage.find(Which::Replay, self.next_seq)?.ok_or(StorageError::Corrupt)?;
        let mut header = [0u8; PART_HEADER_LEN];
        let left = len.checked_sub(PART_HEADER_LEN).ok_or(StorageError::Corrupt)?;
        self.storage.flash.read(at, &mut header)?;
        let header = PartHeader::read(&header);
        if header.is_none_or(|h| h.part != self.part || h.count != self.count) {
            return Err(StorageError::Corrupt);
        }
        self.part += 1;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.at = at + PART_HEADER_LEN;
        self.left = left;
        Ok(())
    }

    /// The reading's outcome, given whether the record decoded and nothing of the stream was
    /// left over (`read`): the storage error that cut it short, else `Corrupt` unless every
    /// part was read to its end.
    pub fn verdict(&self, read: bool) -> Result<(), StorageError> {
        match self.error {
            Some(e) => Err(e),
            None if !read || self.left > 0 || self.part < self.count => Err(StorageError::Corrupt),
            None => Ok(()),
        }
    }
}

impl<F: NorFlash> Fill for Snapshot<'_, F> {
    fn fill(&mut self, out: &mut [u8]) -> usize {
        let mut n = 0;
        while self.error.is_none() {
            if self.left == 0 {
                if self.part >= self.count {
                    break;
                }
                if let Err(e) = self.load() {
                    self.error = Some(e);
                }
                continue;
            }
            let take = self.left.min(out.len() - n);
            let Some(into) = out.get_mut(n..n + take).filter(|i| !i.is_empty()) else { break };
            if let Err(e) = self.storage.flash.read(self.at, into) {
                self.error = Some(e.into());
                break;
            }
            self.at += take;
            self.left -= take;
            n += take;
        }
        n
    }
}

/// Reads the payload of a ring's latest record into `buf`.
fn read_latest<'b, F: NorFlash>(
    flash: &mut F,
    page_size: usize,
    ring: &Ring,
    buf: &'b mut [u8],
) -> Result<Option<&'b [u8]>, StorageError> {
    let Some(latest) = ring.latest else { return Ok(None) };
    let out = buf.get_mut(..latest.len).ok_or(StorageError::TooLarge)?;
    flash.read((ring.first + latest.page) * page_size + latest.offset + 8, out)?;
    Ok(Some(out))
}

/// Walks a page's valid prefix, calling `visit(offset, seq, payload_len)` for each record.
fn scan_page<F: NorFlash>(
    flash: &mut F,
    base: usize,
    page_size: usize,
    kind: Kind,
    mut visit: impl FnMut(usize, u32, usize),
) -> Result<PageEnd, FlashError> {
    let mut offset = 0;
    let mut previous: Option<u32> = None;
    while offset + OVERHEAD <= page_size {
        let mut head = [0u8; 8];
        flash.read(base + offset, &mut head)?;
        let header = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        if header == ERASED {
            return Ok(if is_blank(flash, base + offset, page_size - offset)? {
                PageEnd::Clean(offset)
            } else {
                PageEnd::Dirty(offset)
            });
        }
        let len = (header >> 16) as usize;
        let need = OVERHEAD + len.div_ceil(4) * 4;
        if header & 0xFF != u32::from(MAGIC)
            || (header >> 8) & 0xFF != u32::from(kind as u8)
            || offset + need > page_size
        {
            return Ok(PageEnd::Dirty(offset));
        }
        let seq = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if previous.is_some_and(|p| seq != p.wrapping_add(1)) {
            return Ok(PageEnd::Dirty(offset));
        }
        let mut crc = Crc32::new();
        crc.update(&head);
        let mut word = [0u8; 4];
        let mut at = offset + 8;
        while at < offset + need - 4 {
            flash.read(base + at, &mut word)?;
            crc.update(&word);
            at += 4;
        }
        flash.read(base + at, &mut word)?;
        if u32::from_le_bytes(word) != crc.finish() {
            return Ok(PageEnd::Dirty(offset));
        }
        visit(offset, seq, len);
        previous = Some(seq);
        offset += need;
    }
    Ok(if offset == page_size {
        PageEnd::Clean(offset)
    } else {
        blank_tail(flash, base, offset, page_size)?
    })
}

/// The highest sequence number of any whole, CRC-valid record of `kind` in the page from
/// `from` on (past the damage that ended its valid prefix).
fn salvage<F: NorFlash>(
    flash: &mut F,
    base: usize,
    from: usize,
    page_size: usize,
    kind: Kind,
) -> Result<Option<u32>, FlashError> {
    let mut best = None;
    let mut offset = from;
    while offset + OVERHEAD <= page_size {
        let mut head = [0u8; 8];
        flash.read(base + offset, &mut head)?;
        let header = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let len = (header >> 16) as usize;
        let need = OVERHEAD + len.div_ceil(4) * 4;
        if header & 0xFF == u32::from(MAGIC)
            && (header >> 8) & 0xFF == u32::from(kind as u8)
            && offset + need <= page_size
            && record_intact(flash, base + offset, need)?
        {
            let seq = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
            best = Some(best.map_or(seq, |b: u32| b.max(seq)));
        }
        offset += 4;
    }
    Ok(best)
}

/// Whether the `need`-byte record at `at` matches its CRC.
fn record_intact<F: NorFlash>(flash: &mut F, at: usize, need: usize) -> Result<bool, FlashError> {
    let mut crc = Crc32::new();
    let mut chunk = [0u8; 64];
    let body = need - 4;
    let mut done = 0;
    while done < body {
        let n = (body - done).min(chunk.len());
        let part = chunk.get_mut(..n).ok_or(FlashError::OutOfBounds)?;
        flash.read(at + done, part)?;
        crc.update(part);
        done += n;
    }
    let mut word = [0u8; 4];
    flash.read(at + body, &mut word)?;
    Ok(u32::from_le_bytes(word) == crc.finish())
}

fn blank_tail<F: NorFlash>(
    flash: &mut F,
    base: usize,
    offset: usize,
    page_size: usize,
) -> Result<PageEnd, FlashError> {
    Ok(if is_blank(flash, base + offset, page_size - offset)? {
        PageEnd::Clean(offset)
    } else {
        PageEnd::Dirty(offset)
    })
}

fn is_blank<F: NorFlash>(flash: &mut F, start: usize, len: usize) -> Result<bool, FlashError> {
    let mut chunk = [0u8; 64];
    let mut at = 0;
    while at < len {
        let n = (len - at).min(chunk.len());
        let part = chunk.get_mut(..n).ok_or(FlashError::OutOfBounds)?;
        flash.read(start + at, part)?;
        // An AND over the chunk, then one comparison: a byte-wise search costs a comparison
        // per byte, and in the fuzzing build each of those is traced (boot scans the whole
        // flash this way: it was a third of the door fuzz target's time).
        if part.iter().fold(0xFF, |all, &b| all & b) != 0xFF {
            return Ok(false);
        }
        at += n;
    }
    Ok(true)
}

/// `a == b`, four bytes at a time: the door's `memcmp` goes byte by byte, and every record
/// is read back and compared whole.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let word = |s: &[u8], i: usize| s.get(i..)?.first_chunk::<4>().map(|w| u32::from_ne_bytes(*w));
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while let (Some(x), Some(y)) = (word(a, i), word(b, i)) {
        if x != y {
            return false;
        }
        i += 4;
    }
    a.get(i..) == b.get(i..)
}

/// One step of [`Crc32`]: the register's low nibble out, through the table.
#[inline(always)]
fn nibble_step(c: u32) -> u32 {
    (c >> 4) ^ CRC_NIBBLES.get((c & 0xF) as usize).copied().unwrap_or(0)
}

/// Bytes a record's read-back reads at a time (a multiple of 4).
const READ_BACK_CHUNK: usize = 32;

/// CRC-32 (IEEE 802.3, reflected), a nibble at a time: a 64-byte table, 4x the bitwise speed.
struct Crc32(u32);

// Const evaluation: an out-of-range index would fail the build, not a door.
#[allow(clippy::indexing_slicing)]
const CRC_NIBBLES: [u32; 16] = {
    let mut t = [0u32; 16];
    let mut i = 0;
    while i < 16 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 4 {
            c = if c & 1 != 0 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

impl Crc32 {
    fn new() -> Crc32 {
        Crc32(0xFFFF_FFFF)
    }

    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = nibble_step(nibble_step(self.0 ^ u32::from(b)));
        }
    }

    /// [`Crc32::update`] over the word's four little-endian bytes, in one go: the CRC is
    /// reflected, so the word's bytes can enter the register together and take their eight
    /// nibble steps in a row (the records are written and read back as words).
    /// Unrolled: a step is three instructions on the Cortex-M4, and the loop doubled that. Not
    /// inlined: one copy of the unrolled steps in flash, not one per call site.
    #[inline(never)]
    fn update_word(&mut self, word: u32) {
        let c = self.0 ^ word;
        let c = nibble_step(nibble_step(nibble_step(nibble_step(c))));
        self.0 = nibble_step(nibble_step(nibble_step(nibble_step(c))));
    }

    fn finish(&self) -> u32 {
        !self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        let mut c = Crc32::new();
        c.update(b"123456789");
        assert_eq!(c.finish(), 0xCBF4_3926);
    }

    /// Records are checksummed a word at a time when written and read back, and a byte at a
    /// time when scanned at boot: both must give the same CRC.
    #[test]
    fn crc32_a_word_at_a_time_equals_a_byte_at_a_time() {
        let mut x = 0x1234_5678u32;
        for len in 0..64usize {
            let (mut by_word, mut by_byte) = (Crc32::new(), Crc32::new());
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                by_word.update_word(x);
                by_byte.update(&x.to_le_bytes());
            }
            assert_eq!(by_word.finish(), by_byte.finish(), "{len} words");
        }
        let mut c = Crc32::new();
        c.update_word(u32::from_le_bytes(*b"1234"));
        c.update(b"56789");
        assert_eq!(c.finish(), 0xCBF4_3926);
    }

    /// The storage records' encoding against the reference it must equal: serde's derived impls
    /// through postcard, which the firmware before issue 14 wrote and read them with. Same
    /// bytes for every record; same record or same refusal for every encoding, truncation and
    /// one-byte change; the replay record read through windows and pieces of many sizes, as
    /// boot reads it across its two flash parts.
    mod reference {
        extern crate std;
        use std::{vec, vec::Vec};

        use super::*;
        use porter_protocol::{
            Alarm, CachedCert, CertHash, KeyId, PackageCommitment, Role, Signature,
        };
        use proptest::prelude::*;

        /// A source handing out `bytes` at most `piece` bytes at a time.
        struct Pieces<'a> {
            bytes: &'a [u8],
            piece: usize,
        }

        impl Fill for Pieces<'_> {
            fn fill(&mut self, out: &mut [u8]) -> usize {
                let n = out.len().min(self.piece).min(self.bytes.len());
                out[..n].copy_from_slice(&self.bytes[..n]);
                self.bytes = &self.bytes[n..];
                n
            }
        }

        fn identity_new(bytes: &[u8]) -> Option<IdentityRecord> {
            let mut r = Reader::new(bytes);
            let record = IdentityRecord::decode(&mut r);
            (!r.failed()).then_some(record)
        }

        fn replay_new(bytes: &[u8], window: usize, piece: usize) -> Option<ReplayRecord> {
            let mut buf = vec![0u8; window];
            let mut source = Pieces { bytes, piece };
            let mut stream = Stream::new(&mut buf, &mut source);
            let mut replay = ReplayTable::new();
            let rest = read_replay_record(&mut stream, |s| replay.read_in_place(s));
            (!stream.failed() && stream.at_end()).then(|| {
                let ReplayRecordRest { floor, certs, audit_length, state_sequence, pending } = rest;
                ReplayRecord { floor, replay, certs, audit_length, state_sequence, pending }
            })
        }

        /// What the firmware before issue 14 read: postcard and the derived impls, the whole
        /// input used, the table's invariants kept (the in-place seed checked them).
        fn replay_old(bytes: &[u8]) -> Option<ReplayRecord> {
            postcard::take_from_bytes::<ReplayRecord>(bytes)
                .ok()
                .filter(|(r, rest)| rest.is_empty() && r.replay.is_well_formed())
                .map(|(r, _)| r)
        }

        fn event() -> impl Strategy<Value = AuditEvent> {
            prop_oneof![
                (
                    any::<[u8; 8]>(),
                    any::<u64>(),
                    any::<u8>(),
                    any::<[u8; 8]>(),
                    any::<bool>(),
                    any::<[u8; 32]>()
                )
                    .prop_map(|(i, grant_serial, use_index, h, service, p)| {
                        AuditEvent::Admitted {
                            issuer: KeyId(i),
                            grant_serial,
                            use_index,
                            holder: KeyId(h),
                            role: if service { Role::Service } else { Role::Delivery },
                            package: PackageCommitment(p),
                        }
                    }),
                any::<u16>().prop_map(|reason| AuditEvent::Rejected { reason }),
                any::<u64>().prop_map(|sequence| AuditEvent::DoorStateApplied { sequence }),
                Just(AuditEvent::Alarm(Alarm::StorageRepaired)),
                Just(AuditEvent::Boot),
                (any::<[u32; 5]>(), any::<u16>()).prop_map(|(c, last_reason)| AuditEvent::Tally {
                    refused: c[0],
                    refused_signature: c[1],
                    forced_open: c[2],
                    held_open: c[3],
                    egress: c[4],
                    last_reason,
                }),
                (any::<u32>(), any::<u64>()).prop_map(|(admissions, before)| {
                    AuditEvent::Overwritten { admissions, before }
                }),
            ]
        }

        fn replay_record() -> impl Strategy<Value = ReplayRecord> {
            let spends =
                prop::collection::vec((0u8..4, any::<u64>(), 1u8..4, 0u32..100_000), 0..40);
            let certs =
                (any::<[u8; 32]>(), prop::collection::vec(any::<[u8; 96]>().no_shrink(), 0..6));
            let pending = prop::option::of((any::<u64>(), any::<u32>(), event()));
            (any::<u32>(), spends, certs, any::<u64>(), any::<u64>(), pending).prop_map(
                |(floor, spends, (root, entries), audit_length, state_sequence, pending)| {
                    let mut replay = ReplayTable::new();
                    let now = Time(1_800_000_000);
                    for (issuer, serial, uses, ahead) in spends {
                        let not_after = Time(now.0 + ahead);
                        if let Ok(spend) =
                            replay.check(KeyId([issuer; 8]), serial, uses, not_after, 60, now)
                        {
                            replay.commit(&spend).unwrap();
                        }
                    }
                    let mut certs = CertCache::new();
                    for e in entries {
                        let (body, signature) = e.split_at(32);
                        let entry = CachedCert {
                            body: CertHash(body.try_into().unwrap()),
                            signature: Signature(signature.try_into().unwrap()),
                        };
                        certs.insert(&PublicKey(root), entry);
                    }
                    let pending = pending.map(|(sequence, at, event)| PendingAudit {
                        sequence,
                        at: Time(at),
                        event,
                    });
                    ReplayRecord {
                        floor: Time(floor),
                        replay,
                        certs,
                        audit_length,
                        state_sequence,
                        pending,
                    }
                },
            )
        }

        fn identity() -> impl Strategy<Value = IdentityRecord> {
            let enrolment = prop::option::of((
                any::<[u8; 32]>(),
                prop::collection::vec(any::<u8>(), 0..=MAX_ENROLMENT_LEN),
            ));
            (any::<[u8; 32]>(), any::<u32>(), enrolment, any::<u64>()).prop_map(
                |(seed, boot_count, enrolment, log_acked)| {
                    let enrolment = enrolment.map(|(root, bytes)| StoredEnrolment {
                        root: PublicKey(root),
                        bytes: heapless::Vec::from_slice(&bytes).unwrap(),
                    });
                    IdentityRecord { seed, boot_count, enrolment, log_acked }
                },
            )
        }

        fn postcard_bytes<T: serde::Serialize>(value: &T) -> Vec<u8> {
            let mut buf = vec![0u8; 2 * MAX_REPLAY_SNAPSHOT_LEN];
            let len = postcard::to_slice(value, &mut buf).unwrap().len();
            buf.truncate(len);
            buf
        }

        /// Every truncation and the given one-byte changes get the same verdict both ways.
        fn same_verdicts<T: PartialEq + core::fmt::Debug>(
            bytes: &[u8],
            changes: &[(usize, u8)],
            new: impl Fn(&[u8]) -> Option<T>,
            old: impl Fn(&[u8]) -> Option<T>,
        ) {
            for cut in 0..bytes.len() {
                assert_eq!(new(&bytes[..cut]), old(&bytes[..cut]), "cut at {cut}");
            }
            for &(at, byte) in changes {
                let mut changed = bytes.to_vec();
                let at = at % changed.len();
                changed[at] = byte;
                assert_eq!(new(&changed), old(&changed), "{byte:#04x} at {at}");
            }
        }

        /// Each field is read with room for its largest encoding: a record whose fields are
        /// all at their largest decodes through every window from the smallest allowed
        /// ([`MAX_PENDING_LEN`]) to one larger than the record, so every field meets the
        /// window's end at every offset.
        #[test]
        fn a_largest_record_reads_through_every_window() {
            let mut replay = ReplayTable::new();
            let now = Time(u32::MAX - 100_000);
            for (issuer, serial) in [(1u8, u64::MAX), (2, u64::MAX - 1), (3, 1 << 31)] {
                let spend = replay.check(KeyId([issuer; 8]), serial, 32, Time(u32::MAX), 60, now);
                replay.commit(&spend.unwrap()).unwrap();
            }
            let mut certs = CertCache::new();
            for i in 0..=CERT_CACHE_ENTRIES as u8 {
                let entry = CachedCert { body: CertHash([i; 32]), signature: Signature([!i; 64]) };
                certs.insert(&PublicKey([9; 32]), entry);
            }
            let event = AuditEvent::Admitted {
                issuer: KeyId([1; 8]),
                grant_serial: u64::MAX,
                use_index: 255,
                holder: KeyId([2; 8]),
                role: Role::Service,
                package: PackageCommitment([3; 32]),
            };
            let record = ReplayRecord {
                floor: Time(u32::MAX),
                replay,
                certs,
                audit_length: u64::MAX,
                state_sequence: u64::MAX,
                pending: Some(PendingAudit { sequence: u64::MAX, at: Time(u32::MAX), event }),
            };
            let bytes = postcard_bytes(&record);
            for window in MAX_PENDING_LEN..bytes.len() + 2 {
                for piece in [1, 97, 4096] {
                    assert_eq!(
                        replay_new(&bytes, window, piece).as_ref(),
                        Some(&record),
                        "window {window}"
                    );
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(200))]

            #[test]
            fn identity_records_are_serdes_bytes_and_verdicts(
                record in identity(),
                changes in prop::collection::vec((any::<usize>(), any::<u8>()), 0..24),
            ) {
                let mut ours = [0u8; MAX_IDENTITY_RECORD_LEN];
                let mut theirs = [0u8; MAX_IDENTITY_RECORD_LEN];
                let ours = porter_protocol::wire::encode(&record, &mut ours).unwrap();
                let theirs = postcard::to_slice(&record, &mut theirs).unwrap();
                prop_assert_eq!(&*ours, &*theirs);
                prop_assert_eq!(identity_new(ours), Some(record));
                let old = |b: &[u8]| postcard::from_bytes::<IdentityRecord>(b).ok();
                same_verdicts(ours, &changes, identity_new, old);
            }

            #[test]
            fn replay_records_are_serdes_bytes_and_verdicts_across_parts(
                record in replay_record(),
                window in prop_oneof![MAX_PENDING_LEN..REPLAY_WINDOW, Just(MAX_REPLAY_RECORD_LEN)],
                piece in 1usize..5000,
                changes in prop::collection::vec((any::<usize>(), any::<u8>()), 0..24),
            ) {
                let as_ref = ReplayRecordRef {
                    floor: record.floor,
                    replay: &record.replay,
                    certs: &record.certs,
                    audit_length: record.audit_length,
                    state_sequence: record.state_sequence,
                    pending: record.pending,
                };
                let theirs = postcard_bytes(&as_ref);
                prop_assert_eq!(&theirs, &postcard_bytes(&record));
                // Encoded whole, and window by window as `write_replay` encodes its parts.
                let mut whole = vec![0u8; theirs.len()];
                let mut w = Writer::new(&mut whole);
                as_ref.encode(&mut w).unwrap();
                prop_assert_eq!(w.done().unwrap(), &theirs[..]);
                for part in [1, 7, 100, REPLAY_PART_LEN] {
                    let mut pieced = Vec::new();
                    let mut buf = vec![0u8; PART_HEADER_LEN + part];
                    loop {
                        let total = encode_window(&as_ref, &mut buf, pieced.len()).unwrap();
                        prop_assert_eq!(total, theirs.len());
                        let n = part.min(total - pieced.len());
                        pieced.extend_from_slice(&buf[PART_HEADER_LEN..PART_HEADER_LEN + n]);
                        if pieced.len() == total {
                            break;
                        }
                    }
                    prop_assert_eq!(&pieced, &theirs);
                }
                prop_assert_eq!(replay_new(&theirs, window, piece), Some(record));
                same_verdicts(&theirs, &changes, |b| replay_new(b, window, piece), replay_old);
            }
        }
    }

    /// The packed first-sequence index reads back what was set, page by page, the last page
    /// and a sequence of `u32::MAX` included, and forgets a page when told.
    #[test]
    fn page_firsts_read_back_what_was_set() {
        let mut firsts = PageFirsts::default();
        assert!((0..MAX_RING_PAGES + 1).all(|p| firsts.get(p).is_none()));
        for page in 0..MAX_RING_PAGES {
            firsts.set(page, Some(u32::MAX - page as u32));
        }
        firsts.set(MAX_RING_PAGES, Some(7));
        assert_eq!(firsts.get(MAX_RING_PAGES), None);
        firsts.set(3, None);
        firsts.set(15, Some(0));
        for page in 0..MAX_RING_PAGES {
            let expected = match page {
                3 => None,
                15 => Some(0),
                p => Some(u32::MAX - p as u32),
            };
            assert_eq!(firsts.get(page), expected, "page {page}");
        }
    }

    #[test]
    fn layout_splits_sixteen_pages() {
        let l = Layout::for_pages(16).unwrap();
        assert_eq!(l.replay, (4, 4));
        assert_eq!(l.audit, (8, 8));
        assert_eq!(Layout::for_pages(10), Err(StorageError::Geometry));
        assert_eq!(Layout::for_pages(11).unwrap().replay, (4, 4));
    }
}
