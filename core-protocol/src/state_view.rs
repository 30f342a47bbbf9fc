//! Door state decoded in place.
//!
//! A door state carries up to 256 deny entries (3 KiB decoded). Decoding it into a value and
//! moving that value through verification and into the door's memory costs several copies on
//! the stack, which a 32 KiB microcontroller cannot spare. [`DoorStateView`] instead checks
//! the encoding where it lies (the same strict rules as every other message: canonical, no
//! trailing bytes, sorted, bounded), answers deny-list queries by scanning the encoded
//! entries, and is installed into the door's memory entry by entry.
//!
//! The encoding is exactly that of [`DoorState`]: its header fields in order, then the
//! deny-list as a varint count and the entries. A test checks the two stay in step.

use serde::{Deserialize, Serialize};

use crate::codec::{split_signed, take_canonical};
use crate::door_state::{DenyEntry, DenySubject, DoorState, MAX_DENY_ENTRIES, MAX_DOOR_STATE_LEN};
use crate::keys::{Domain, PublicKey};
use crate::scope::{SiteId, Time};
use crate::signed::check_version;
use crate::wire::{Decode, Reader};
use crate::Error;

/// The fields of a [`DoorState`] before its deny-list, in wire order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoorStateHeader {
    /// Wire format version, [`crate::VERSION`].
    pub version: u8,
    /// The site.
    pub site: SiteId,
    /// Grows with every snapshot.
    pub sequence: u64,
    /// Trusted time.
    pub issued_at: Time,
    /// Grants whose `not_before` is earlier are refused.
    pub grant_fence: Time,
    /// Certificates whose `epoch` is lower are refused.
    pub cert_epoch_fence: u32,
    /// Whether this state resets the door's clock floor to `issued_at` (see
    /// [`DoorState::clock_reset`]).
    pub clock_reset: bool,
}

impl DoorStateHeader {
    /// The clock floor a door holding `floor` has after installing this state: raised to
    /// `issued_at`, or set to it by a clock reset.
    pub fn floor_after(&self, floor: Time) -> Time {
        if self.clock_reset {
            self.issued_at
        } else {
            floor.max(self.issued_at)
        }
    }
}

/// A signed door state, checked for well-formedness where it lies; signature not yet checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DoorStateView<'a> {
    header: DoorStateHeader,
    /// The encoded entries, validated.
    entries: &'a [u8],
    body: &'a [u8],
    signature: [u8; 64],
}

impl<'a> DoorStateView<'a> {
    /// Parses a signed door state strictly, without copying its deny-list.
    pub fn parse(bytes: &'a [u8]) -> Result<DoorStateView<'a>, Error> {
        if bytes.len() > MAX_DOOR_STATE_LEN {
            return Err(Error::DecodeTooLarge);
        }
        let (body, signature) = split_signed(bytes)?;
        check_version(body)?;
        let (header, entries, rest) = parse_prefix(body)?;
        if !rest.is_empty() {
            return Err(Error::DecodeTrailingBytes);
        }
        Ok(DoorStateView { header, entries, body, signature })
    }

    /// Everything but the deny-list.
    pub fn header(&self) -> &DoorStateHeader {
        &self.header
    }

    /// The deny entries, decoded one at a time.
    pub fn entries(&self) -> impl Iterator<Item = DenyEntry> + 'a {
        // `parse` checked every entry: each decodes, and none is left half read.
        let mut r = Reader::new(self.entries);
        core::iter::from_fn(move || {
            let entry = DenyEntry::decode(&mut r);
            (!r.failed()).then_some(entry)
        })
    }

    /// Whether `subject` is on the deny-list: a scan of the sorted entries, stopping early.
    pub fn denies(&self, subject: DenySubject) -> bool {
        self.entries().take_while(|e| e.subject <= subject).any(|e| e.subject == subject)
    }

    /// The exact bytes the signature covers.
    pub fn body_bytes(&self) -> &'a [u8] {
        self.body
    }

    pub(crate) fn signature(&self) -> [u8; 64] {
        self.signature
    }

    /// Checks that this state may replace `current` at a door trusting `root`: the site, a
    /// larger sequence, then the root's signature.
    pub fn check_newer(&self, current: &DoorState, root: &PublicKey) -> Result<(), Error> {
        current.check_successor(self.header.site, self.header.sequence)?;
        crate::keys::verify(root, Domain::DoorState, &[self.body], &self.signature)
            .map_err(|_| Error::StateBadSignature)
    }
}

/// Parses an unsigned door state body at the front of `bytes`: its header, its validated
/// encoded entries, and whatever follows.
pub(crate) fn parse_prefix(bytes: &[u8]) -> Result<(DoorStateHeader, &[u8], &[u8]), Error> {
    let (header, rest) = take_canonical::<DoorStateHeader>(bytes)?;
    // A clock reset must fence every grant issued before it (section 3.6 of the spec).
    if header.clock_reset && header.grant_fence < header.issued_at {
        return Err(Error::DecodeInvalidField);
    }
    // A length: a u32 varint of at most 5 bytes, as everywhere (codec::take_len).
    let (count, entries) = take_canonical::<u32>(rest)?;
    if count > MAX_DENY_ENTRIES as u32 {
        return Err(Error::DecodeMalformed);
    }
    let mut rest = entries;
    let mut previous: Option<DenySubject> = None;
    for _ in 0..count {
        let (entry, tail) = take_canonical::<DenyEntry>(rest)?;
        if previous.is_some_and(|p| p >= entry.subject) {
            return Err(Error::DecodeInvalidField);
        }
        previous = Some(entry.subject);
        rest = tail;
    }
    let entries = entries.get(..entries.len() - rest.len()).ok_or(Error::DecodeMalformed)?;
    Ok((header, entries, rest))
}

impl DoorState {
    /// Replaces this state with an unsigned body at the front of `bytes` (as stored in a door's
    /// memory), in place; returns the bytes after it.
    pub(crate) fn decode_prefix_into<'b>(&mut self, bytes: &'b [u8]) -> Result<&'b [u8], Error> {
        let (header, entries, rest) = parse_prefix(bytes)?;
        let view = DoorStateView { header, entries, body: &[], signature: [0; 64] };
        self.install(&view);
        Ok(rest)
    }
}

impl Decode<'_> for DoorStateHeader {
    fn decode(r: &mut Reader<'_>) -> DoorStateHeader {
        DoorStateHeader {
            version: r.u8(),
            site: SiteId::decode(r),
            sequence: r.u64(),
            issued_at: Time::decode(r),
            grant_fence: Time::decode(r),
            cert_epoch_fence: r.u32(),
            clock_reset: r.bool(),
        }
    }
}
