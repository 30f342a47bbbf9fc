//! The one decoder of Porter's wire types: a small reader over the received bytes and a
//! [`Decode`] impl per type, written by hand in field order.
//!
//! The encoding is postcard's (section 2 of spec/protocol.md): integers wider than a byte as
//! LEB128 varints (signed ones zigzagged first), `u8` as itself, `bool` and an option's tag as
//! one byte 0 or 1, an enum's variant index as a u32 varint, lists and byte strings as a u32
//! varint length (at most 5 bytes, on every target) then the items, fixed arrays and structs as
//! their items in order. Encoding still goes through serde and postcard (`codec::encode`); only
//! decoding is here. It used to be postcard plus serde's derived `Deserialize` impls followed by
//! a re-encoding of the value compared with the input (the canonical check): on the door that
//! was about a tenth of the flash, for every type twice.
//!
//! The door's own messages (challenges, audit records and receipts, log heads) are also
//! encoded here, through one [`Writer`] ([`Encode`]), the exact bytes serde and postcard give
//! them (the same differential test checks it); everything else encodes through serde.
//!
//! Strictness is the old decoder's, verdict for verdict (the differential test in
//! `src/wire_equivalence.rs` runs both on every input and every truncation): a short
//! input, a varint longer than its type allows or with bits beyond it, a bool or option tag
//! other than 0 or 1, an unknown variant or a list over its bound is
//! [`Error::DecodeMalformed`]; an overlong varint (a zero last byte: the same value fits fewer
//! bytes) is the only way postcard's encoding of a value can differ from what it decodes from,
//! so the reader only notes it, and `codec::decode` refuses it as
//! [`Error::DecodeNonCanonical`] after the whole value decoded and no bytes were left over,
//! the old order of verdicts.
//!
//! Public so that the door firmware keeps its own flash records in the same encoding with the
//! same code: [`Stream`] decodes a value stored in pieces (the door's replay record, written as
//! two flash records) through one bounded window, and [`Writer::window`] encodes one window
//! of a value too long for its buffer.

use crate::Error;

/// A cursor over received bytes. A read that cannot be done (input too short, a varint too
/// long, a tag out of range, a list over its bound) marks the reader failed, empties it and
/// returns a placeholder (zero, empty): the decoders read on without a branch per field, and
/// the caller asks [`Reader::failed`] once, at the end (the whole input is then
/// [`Error::DecodeMalformed`], whatever was read after the failure). [`Reader::overlong`]
/// tells whether any varint read so far was longer than its value needs.
#[derive(Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
    failed: bool,
    overlong: bool,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { rest: bytes, failed: false, overlong: false }
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// Whether some read failed: the input is malformed.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// Whether some varint read so far was overlong (non-canonical).
    pub fn overlong(&self) -> bool {
        self.overlong
    }

    /// Marks the input malformed and hands back `placeholder` (an unknown enum variant).
    #[inline(never)]
    pub fn refuse<T>(&mut self, placeholder: T) -> T {
        self.failed = true;
        self.rest = &[];
        placeholder
    }

    /// The next `n` bytes (empty if there are fewer).
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        match self.rest.split_at_checked(n) {
            Some((taken, rest)) => {
                self.rest = rest;
                taken
            }
            None => self.refuse(&[]),
        }
    }

    /// The next byte.
    pub fn u8(&mut self) -> u8 {
        match self.rest.split_first() {
            Some((&first, rest)) => {
                self.rest = rest;
                first
            }
            None => self.refuse(0),
        }
    }

    /// The next `N` bytes as an array (keys, hashes, nonces).
    pub fn array<const N: usize>(&mut self) -> [u8; N] {
        match self.take(N).try_into() {
            Ok(array) => array,
            Err(_) => self.refuse([0; N]),
        }
    }

    /// A LEB128 varint of an unsigned integer `bits` wide (16, 32 or 64), as postcard reads
    /// it: at most `ceil(bits / 7)` bytes, the last of which may carry no bit beyond `bits`.
    /// One routine for every width keeps the door's code small.
    #[inline(never)]
    fn varint(&mut self, bits: u32) -> u64 {
        let max_len = bits.div_ceil(7);
        let mut value = 0u64;
        for i in 0..max_len {
            let Some((&byte, rest)) = self.rest.split_first() else { break };
            self.rest = rest;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                if i == max_len - 1 && u32::from(byte) >> (bits % 7) != 0 {
                    break;
                }
                // A zero last byte adds nothing: fewer bytes hold the same value.
                self.overlong |= i > 0 && byte == 0;
                return value;
            }
        }
        self.refuse(0)
    }

    /// A u16 varint.
    pub fn u16(&mut self) -> u16 {
        self.varint(16) as u16
    }

    /// A u32 varint.
    pub fn u32(&mut self) -> u32 {
        self.varint(32) as u32
    }

    /// A u64 varint.
    pub fn u64(&mut self) -> u64 {
        self.varint(64)
    }

    /// An i16: zigzag, then a u16 varint.
    pub fn i16(&mut self) -> i16 {
        let n = self.u16();
        ((n >> 1) as i16) ^ -((n & 1) as i16)
    }

    /// A bool, or an option's tag: exactly 0 or 1.
    pub fn bool(&mut self) -> bool {
        match self.u8() {
            0 => false,
            1 => true,
            _ => self.refuse(false),
        }
    }

    /// An enum's variant index: a u32 varint.
    pub fn variant(&mut self) -> u32 {
        self.u32()
    }

    /// A list's or byte string's length: a u32 varint, at most 5 bytes on every target.
    // Reads a length prefix; it is not the reader's length, so there is no `is_empty` to pair.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&mut self) -> usize {
        let len = self.u32();
        usize::try_from(len).unwrap_or_else(|_| self.refuse(0))
    }

    /// A length-prefixed byte string, borrowed from the input.
    pub fn byte_string(&mut self) -> &'a [u8] {
        let len = self.len();
        self.take(len)
    }

    /// A bounded list: a length, then up to `N` items. A longer list is malformed.
    pub fn list<T: Decode<'a>, const N: usize>(&mut self) -> heapless::Vec<T, N> {
        let mut out = heapless::Vec::new();
        self.list_into(&mut out);
        out
    }

    /// [`Reader::list`] into an existing list, in place. The list is cleared first; on a
    /// failure it holds the items read.
    #[inline(never)]
    pub fn list_into<T: Decode<'a>, const N: usize>(&mut self, out: &mut heapless::Vec<T, N>) {
        out.clear();
        let len = self.len();
        for _ in 0..len {
            // Stop at the first failure: a length of 4 billion over a few bytes ends here.
            if self.failed {
                return;
            }
            let item = T::decode(self);
            if out.push(item).is_err() {
                self.refuse(());
                return;
            }
        }
    }

    /// An optional value: a tag 0 (none) or 1 (some, then the value).
    pub fn option<T: Decode<'a>>(&mut self) -> Option<T> {
        if self.bool() {
            Some(T::decode(self))
        } else {
            None
        }
    }
}

/// A wire type's decoder: reads the value's fields in order from `r`, as postcard would. A
/// malformed input leaves `r` failed and the value a placeholder. Field checks beyond the
/// encoding (ranges, sorted lists) belong to the message's own `decode`, after this.
pub trait Decode<'a>: Sized {
    /// Reads one value.
    fn decode(r: &mut Reader<'a>) -> Self;
}

impl Decode<'_> for u8 {
    fn decode(r: &mut Reader<'_>) -> u8 {
        r.u8()
    }
}

impl Decode<'_> for u16 {
    fn decode(r: &mut Reader<'_>) -> u16 {
        r.u16()
    }
}

impl Decode<'_> for u32 {
    fn decode(r: &mut Reader<'_>) -> u32 {
        r.u32()
    }
}

impl Decode<'_> for u64 {
    fn decode(r: &mut Reader<'_>) -> u64 {
        r.u64()
    }
}

/// A cursor writing into an output buffer; every write checks room
/// ([`Error::BufferTooSmall`]), except in a window ([`Writer::window`]).
#[derive(Debug)]
pub struct Writer<'b> {
    out: &'b mut [u8],
    at: usize,
    /// Where `out` starts in the encoding (0 unless a window).
    skip: usize,
    /// A window: bytes outside it are counted, not written, and never an error.
    window: bool,
}

impl<'b> Writer<'b> {
    /// A writer at the start of `out`.
    pub fn new(out: &'b mut [u8]) -> Writer<'b> {
        Writer { out, at: 0, skip: 0, window: false }
    }

    /// A writer that keeps only the bytes of the encoding from `skip` on that fit `out`, and
    /// counts all of them ([`Writer::position`]): a value too long for one buffer (the door's
    /// replay record, stored in two flash records) is encoded once per piece.
    pub fn window(out: &'b mut [u8], skip: usize) -> Writer<'b> {
        Writer { out, at: 0, skip, window: true }
    }

    /// The bytes encoded so far (in a window, those outside it included).
    pub fn position(&self) -> usize {
        self.at
    }

    /// The bytes written so far. Not for a window ([`Writer::window`]): its encoding's length
    /// is [`Writer::position`], and its bytes are the window's.
    pub fn done(self) -> Result<&'b mut [u8], Error> {
        self.out.get_mut(..self.at).ok_or(Error::BufferTooSmall)
    }

    /// Appends bytes as they are.
    #[inline(never)]
    pub fn bytes(&mut self, b: &[u8]) -> Result<(), Error> {
        let end = self.at.checked_add(b.len()).ok_or(Error::BufferTooSmall)?;
        let room = self.skip.saturating_add(self.out.len());
        if end > room && !self.window {
            return Err(Error::BufferTooSmall);
        }
        // The part of `b` that falls inside the window (all of it outside a window).
        let (from, to) = (self.at.max(self.skip), end.min(room));
        if from < to {
            let src = b.get(from - self.at..to - self.at);
            let dst = self.out.get_mut(from - self.skip..to - self.skip);
            if let (Some(src), Some(dst)) = (src, dst) {
                dst.copy_from_slice(src);
            }
        }
        self.at = end;
        Ok(())
    }

    /// Appends one byte.
    pub fn u8(&mut self, v: u8) -> Result<(), Error> {
        self.bytes(&[v])
    }

    /// Appends a varint: seven bits a byte, low first, the shortest form (what
    /// `Reader::varint` reads as canonical).
    #[inline(never)]
    pub fn varint(&mut self, mut v: u64) -> Result<(), Error> {
        let mut buf = [0u8; 10];
        let mut n = 0;
        for slot in buf.iter_mut() {
            n += 1;
            if v < 0x80 {
                *slot = v as u8;
                break;
            }
            *slot = (v as u8) | 0x80;
            v >>= 7;
        }
        self.bytes(buf.get(..n).unwrap_or(&[]))
    }

    /// Appends a list's or byte string's length, then the bytes.
    pub fn byte_string(&mut self, b: &[u8]) -> Result<(), Error> {
        self.varint(b.len() as u64)?;
        self.bytes(b)
    }

    /// Appends an option: a tag 0 (none) or 1 (some, then the value).
    pub fn option<T: Encode>(&mut self, v: &Option<T>) -> Result<(), Error> {
        match v {
            Some(v) => {
                self.u8(1)?;
                v.encode(self)
            }
            None => self.u8(0),
        }
    }

    /// Appends a list: its length, then the items.
    pub fn list<T: Encode>(&mut self, items: &[T]) -> Result<(), Error> {
        self.varint(items.len() as u64)?;
        items.iter().try_for_each(|item| item.encode(self))
    }
}

/// A wire type's encoder: writes the value's fields in order, as postcard would.
pub trait Encode {
    /// Writes one value.
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), Error>;
}

/// Encodes `value` into `out`, returning the used prefix.
pub fn encode<'b, T: Encode>(value: &T, out: &'b mut [u8]) -> Result<&'b mut [u8], Error> {
    let mut w = Writer::new(out);
    value.encode(&mut w)?;
    w.done()
}

impl Encode for u64 {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.varint(*self)
    }
}

/// Where a [`Stream`] gets its bytes: a value stored in pieces.
pub trait Fill {
    /// Writes the value's next bytes into `out`, as many as fit and remain, and returns how
    /// many: 0 once the value is exhausted. A source that fails returns 0 from then on and
    /// keeps the error for its owner to ask.
    fn fill(&mut self, out: &mut [u8]) -> usize;
}

/// A value decoded item by item from a [`Fill`] source through one bounded window (a buffer),
/// never held whole: the door restores its replay record (two flash records, up to 8 KB)
/// through its 4 KB link buffer. Before each item the window is topped up to hold at least the
/// item's largest encoding (or all that is left), and a [`Reader`] over the window decodes it;
/// an item that does not fit the window fails as if the input were short. Fails sticky, like
/// the reader: once an item failed, every later one reads from nothing, and the caller asks
/// [`Stream::failed`] once at the end.
#[derive(Debug)]
pub struct Stream<'b, S: ?Sized> {
    window: &'b mut [u8],
    at: usize,
    end: usize,
    source: &'b mut S,
    failed: bool,
}

impl<'b, S: Fill + ?Sized> Stream<'b, S> {
    /// A stream reading `source` through `window`.
    pub fn new(window: &'b mut [u8], source: &'b mut S) -> Stream<'b, S> {
        Stream { window, at: 0, end: 0, source, failed: false }
    }

    /// Decodes one item whose encoding is at most `max_len` bytes.
    pub fn item<T>(&mut self, max_len: usize, decode: impl FnOnce(&mut Reader<'_>) -> T) -> T {
        let mut r = self.reader(max_len);
        let value = decode(&mut r);
        let (left, failed) = (r.rest().len(), r.failed());
        self.consumed(left, failed);
        value
    }

    /// A reader over the window, topped up to `max_len` bytes if the source has them (over
    /// nothing once failed). Not inlined, nor is [`Stream::consumed`]: one copy of each
    /// instead of one per item.
    #[inline(never)]
    fn reader(&mut self, max_len: usize) -> Reader<'_> {
        if self.end - self.at < max_len {
            self.top_up();
        }
        let bytes = match self.failed {
            true => &[],
            false => self.window.get(self.at..self.end).unwrap_or(&[]),
        };
        Reader::new(bytes)
    }

    /// An item was read, leaving `left` bytes of the window unread.
    #[inline(never)]
    fn consumed(&mut self, left: usize, failed: bool) {
        self.at = self.end - left;
        self.failed |= failed;
    }

    /// Moves what is left in the window to its front and fills the rest from the source.
    #[inline(never)]
    fn top_up(&mut self) {
        // What is left goes to the front in pieces no longer than the gap before it: copies that
        // never overlap (`copy_within` would link a 1.5 KB `memmove` into the door).
        let (gap, left) = (self.at, self.end - self.at);
        let mut moved = 0;
        while gap > 0 && moved < left {
            let n = gap.min(left - moved);
            if let Some((front, back)) = self.window.split_at_mut_checked(moved + gap) {
                if let (Some(to), Some(from)) = (front.get_mut(moved..moved + n), back.get(..n)) {
                    to.copy_from_slice(from);
                }
            }
            moved += n;
        }
        self.end = left;
        self.at = 0;
        while let Some(free) = self.window.get_mut(self.end..).filter(|f| !f.is_empty()) {
            let n = self.source.fill(free).min(free.len());
            if n == 0 {
                break;
            }
            self.end += n;
        }
    }

    /// A bounded list into an existing one, in place, as [`Reader::list_into`] reads it: a
    /// length, then up to `N` items of at most `max_len` bytes each.
    pub fn list_into<T: for<'r> Decode<'r>, const N: usize>(
        &mut self,
        out: &mut heapless::Vec<T, N>,
        max_len: usize,
    ) {
        out.clear();
        let len = self.item(5, |r| r.len());
        for _ in 0..len {
            if self.failed {
                return;
            }
            let item = self.item(max_len, |r| T::decode(r));
            if out.push(item).is_err() {
                self.refuse();
                return;
            }
        }
    }

    /// Marks the value malformed (a check beyond the encoding failed).
    pub fn refuse(&mut self) {
        self.failed = true;
    }

    /// Whether some item failed: the value is malformed.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// Whether the whole value was read: nothing is left in the window or the source.
    pub fn at_end(&mut self) -> bool {
        self.at == self.end && {
            self.top_up();
            self.end == 0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read<T: for<'a> Decode<'a>>(bytes: &[u8]) -> (Result<T, Error>, bool) {
        let mut r = Reader::new(bytes);
        let v = T::decode(&mut r);
        (if r.failed() { Err(Error::DecodeMalformed) } else { Ok(v) }, r.overlong())
    }

    #[test]
    fn varints_follow_postcard_width_by_width() {
        assert_eq!(read::<u16>(&[0xff, 0xff, 0x03]), (Ok(u16::MAX), false));
        assert_eq!(read::<u16>(&[0xff, 0xff, 0x04]).0, Err(Error::DecodeMalformed));
        assert_eq!(read::<u16>(&[0x80, 0x80, 0x80, 0x00]).0, Err(Error::DecodeMalformed));
        assert_eq!(read::<u32>(&[0xff, 0xff, 0xff, 0xff, 0x0f]), (Ok(u32::MAX), false));
        assert_eq!(read::<u32>(&[0xff, 0xff, 0xff, 0xff, 0x10]).0, Err(Error::DecodeMalformed));
        let max64 = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(read::<u64>(&max64), (Ok(u64::MAX), false));
        let over64 = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(read::<u64>(&over64).0, Err(Error::DecodeMalformed));
        // Overlong: decodes, noted as non-canonical.
        assert_eq!(read::<u32>(&[0x85, 0x00]), (Ok(5), true));
        assert_eq!(read::<u32>(&[0x80, 0x80, 0x80, 0x80, 0x00]), (Ok(0), true));
        assert_eq!(read::<u32>(&[0x00]), (Ok(0), false));
        assert_eq!(read::<u32>(&[0x85]).0, Err(Error::DecodeMalformed));
    }

    #[test]
    fn zigzag_covers_every_i16() {
        for v in [0i16, -1, 1, i16::MIN, i16::MAX, -1439, 1439] {
            let mut buf = [0u8; 4];
            let bytes = postcard::to_slice(&v, &mut buf).unwrap();
            assert_eq!(Reader::new(bytes).i16(), v, "{v}");
        }
    }
}
