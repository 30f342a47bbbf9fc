//! Strict decoding and encoding of Porter messages.
//!
//! Porter messages are postcard. postcard alone accepts overlong varints and ignores trailing
//! bytes, so two different byte strings could decode to one value. Here a decode succeeds only
//! if the input is exactly the canonical encoding of the value it yields: nothing left over, no
//! overlong varint. Decoding is [`crate::wire`]'s hand-written reader (one decoder for the
//! door, the server, the bindings and the tools); encoding is serde's derived `Serialize`
//! through postcard. Signatures are always checked over the bytes received, never over a
//! re-encoding.
//!
//! Lengths (of lists and byte strings) are u32 varints, at most 5 bytes, on every target.

use serde::{Deserialize, Serialize};

use crate::wire::{Decode, Reader};
use crate::Error;

/// Ed25519 signatures close every signed message: `body || signature`.
pub(crate) const SIGNATURE_LEN: usize = 64;

/// Decodes exactly one canonical `T` from all of `bytes`. Verdicts in this order: too long,
/// malformed (whatever the reader refuses), trailing bytes, non-canonical (an overlong varint).
pub(crate) fn decode<'a, T: Decode<'a>>(bytes: &'a [u8], max_len: usize) -> Result<T, Error> {
    if bytes.len() > max_len {
        return Err(Error::DecodeTooLarge);
    }
    let mut r = Reader::new(bytes);
    let value = T::decode(&mut r);
    if r.failed() {
        return Err(Error::DecodeMalformed);
    }
    if !r.rest().is_empty() {
        return Err(Error::DecodeTrailingBytes);
    }
    if r.overlong() {
        return Err(Error::DecodeNonCanonical);
    }
    Ok(value)
}

/// Takes one canonical `T` from the front of `bytes`: the value and the bytes after it. For
/// decoding a long message piece by piece, in place, without a second copy of it.
pub(crate) fn take_canonical<'a, T: Decode<'a>>(bytes: &'a [u8]) -> Result<(T, &'a [u8]), Error> {
    let mut r = Reader::new(bytes);
    let value = T::decode(&mut r);
    if r.failed() {
        return Err(Error::DecodeMalformed);
    }
    if r.overlong() {
        return Err(Error::DecodeNonCanonical);
    }
    Ok((value, r.rest()))
}

/// Splits a signed message into the body the signature covers and the signature.
pub(crate) fn split_signed(bytes: &[u8]) -> Result<(&[u8], [u8; SIGNATURE_LEN]), Error> {
    let body_len = bytes.len().checked_sub(SIGNATURE_LEN).ok_or(Error::DecodeMalformed)?;
    let (body, signature) = bytes.split_at(body_len);
    let signature: [u8; SIGNATURE_LEN] =
        signature.try_into().map_err(|_| Error::DecodeMalformed)?;
    Ok((body, signature))
}

/// Encodes `value` into `out`, returning the used prefix.
pub fn encode<'b, T: Serialize + ?Sized>(
    value: &T,
    out: &'b mut [u8],
) -> Result<&'b mut [u8], Error> {
    postcard::to_slice(value, out).map_err(|_| Error::BufferTooSmall)
}

/// Deserialises a bounded list whose length is read as a u32 varint (at most 5 bytes), so that
/// it decodes the same on 32- and 64-bit targets. The encoding is postcard's own for a list: a
/// varint length, then the items. Use with `#[serde(deserialize_with = "codec::u32_len_vec")]`.
pub(crate) fn u32_len_vec<'de, D, T, const N: usize>(d: D) -> Result<heapless::Vec<T, N>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    if d.is_human_readable() {
        // JSON and the like (tests, tools) have lists of their own.
        return heapless::Vec::deserialize(d);
    }
    let mut out = heapless::Vec::new();
    serde::de::DeserializeSeed::deserialize(ListInto(&mut out), d)?;
    Ok(out)
}

/// Reads a list encoded as [`u32_len_vec`] reads it (a u32 varint length, then up to `N`
/// items) into an existing list, in place: for lists too large to be returned by value on a
/// door's stack. The list is cleared first; on an error it holds the items read so far.
/// Binary formats only (postcard): a human-readable one has lists of its own.
pub(crate) struct ListInto<'a, T, const N: usize>(pub(crate) &'a mut heapless::Vec<T, N>);

impl<'de, T: Deserialize<'de>, const N: usize> serde::de::DeserializeSeed<'de>
    for ListInto<'_, T, N>
{
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        // postcard reads a tuple's items with no length of its own: the length, then the items.
        d.deserialize_tuple(N + 1, self)
    }
}

impl<'de, T: Deserialize<'de>, const N: usize> serde::de::Visitor<'de> for ListInto<'_, T, N> {
    type Value = ();

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "a u32 length and at most {N} items")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        use serde::de::Error as _;
        self.0.clear();
        let len: u32 = seq.next_element()?.ok_or_else(|| A::Error::invalid_length(0, &self))?;
        for i in 0..len {
            let item = seq.next_element()?.ok_or_else(|| A::Error::invalid_length(1, &self))?;
            if self.0.push(item).is_err() {
                return Err(A::Error::invalid_length(i as usize + 1, &self));
            }
        }
        Ok(())
    }
}

/// Serialises a byte string with `serialize_bytes` (one slice to the output, where serde's
/// default for `[u8]` hands over one byte at a time). Same encoding: a varint length, the bytes.
pub(crate) fn as_bytes<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bytes(v)
}

/// [`as_bytes`] for an optional byte string.
pub(crate) fn option_as_bytes<S: serde::Serializer>(
    v: &Option<&[u8]>,
    s: S,
) -> Result<S::Ok, S::Error> {
    struct Bytes<'a>(&'a [u8]);
    impl Serialize for Bytes<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }
    match v {
        Some(bytes) => s.serialize_some(&Bytes(bytes)),
        None => s.serialize_none(),
    }
}

/// serde for `[T; N]` as a fixed-length tuple, for any N (serde's own impls stop at 32).
/// Used through `#[serde(with = "byte_array")]` on byte and word arrays alike. The wire
/// format is serde's own for arrays; the code is one loop per array type instead of serde's
/// unrolled impls (about 1 KB of the door's flash), so the firmware uses it for its own records
/// too.
pub mod byte_array {
    use core::fmt;
    use core::marker::PhantomData;
    use serde::de::{Error as _, SeqAccess, Visitor};
    use serde::ser::SerializeTuple;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes `v` as a tuple of `N` elements.
    pub fn serialize<S, T, const N: usize>(v: &[T; N], s: S) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
        T: Serialize,
    {
        let mut t = s.serialize_tuple(N)?;
        for item in v {
            t.serialize_element(item)?;
        }
        t.end()
    }

    /// Reads a tuple of exactly `N` elements.
    // Not inlined: one copy per array type instead of one per field (the door's flash).
    #[inline(never)]
    pub fn deserialize<'de, D, T, const N: usize>(d: D) -> Result<[T; N], D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de> + Copy + Default,
    {
        struct ArrayVisitor<T, const N: usize>(PhantomData<T>);
        impl<'de, T: Deserialize<'de> + Copy + Default, const N: usize> Visitor<'de>
            for ArrayVisitor<T, N>
        {
            type Value = [T; N];
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{N} items")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<[T; N], A::Error> {
                let mut out = [T::default(); N];
                for (i, slot) in out.iter_mut().enumerate() {
                    *slot =
                        seq.next_element()?.ok_or_else(|| A::Error::invalid_length(i, &self))?;
                }
                Ok(out)
            }
        }
        d.deserialize_tuple(N, ArrayVisitor::<T, N>(PhantomData))
    }
}

/// The decoder before [`crate::wire`]: postcard and serde's derived `Deserialize` impls, then
/// the value re-encoded and compared with the input. Kept for tests only, as the reference the
/// hand-written decoders are checked against (`crate::wire_equivalence`).
#[cfg(test)]
pub(crate) mod reference {
    use postcard::ser_flavors::Flavor;
    use serde::{Deserialize, Serialize};

    use crate::Error;

    /// Decodes exactly one canonical `T` from all of `bytes`, as `codec::decode` did.
    pub(crate) fn decode<'a, T>(bytes: &'a [u8], max_len: usize) -> Result<T, Error>
    where
        T: Deserialize<'a> + Serialize,
    {
        if bytes.len() > max_len {
            return Err(Error::DecodeTooLarge);
        }
        let (value, rest) =
            postcard::take_from_bytes::<T>(bytes).map_err(|_| Error::DecodeMalformed)?;
        if !rest.is_empty() {
            return Err(Error::DecodeTrailingBytes);
        }
        let matched =
            postcard::serialize_with_flavor(&value, CompareWith { expected: bytes, at: 0 })
                .map_err(|_| Error::DecodeNonCanonical)?;
        if matched != bytes.len() {
            return Err(Error::DecodeNonCanonical);
        }
        Ok(value)
    }

    /// Takes one canonical `T` from the front of `bytes`, as `codec::take_canonical` did.
    pub(crate) fn take_canonical<'a, T>(bytes: &'a [u8]) -> Result<(T, &'a [u8]), Error>
    where
        T: Deserialize<'a> + Serialize,
    {
        let (value, rest) =
            postcard::take_from_bytes::<T>(bytes).map_err(|_| Error::DecodeMalformed)?;
        let used = bytes.get(..bytes.len() - rest.len()).ok_or(Error::DecodeMalformed)?;
        let matched =
            postcard::serialize_with_flavor(&value, CompareWith { expected: used, at: 0 })
                .map_err(|_| Error::DecodeNonCanonical)?;
        if matched != used.len() {
            return Err(Error::DecodeNonCanonical);
        }
        Ok((value, rest))
    }

    /// A length prefix as `codec::take_len` read it, through postcard.
    pub(crate) fn take_len(bytes: &[u8]) -> Result<(usize, &[u8]), Error> {
        let (len, rest) =
            postcard::take_from_bytes::<u32>(bytes).map_err(|_| Error::DecodeMalformed)?;
        Ok((usize::try_from(len).map_err(|_| Error::DecodeMalformed)?, rest))
    }

    /// A serialiser output that compares each byte with the received input instead of
    /// storing it.
    struct CompareWith<'a> {
        expected: &'a [u8],
        at: usize,
    }

    impl Flavor for CompareWith<'_> {
        type Output = usize;

        fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
            match self.expected.get(self.at) {
                Some(&b) if b == byte => {
                    self.at += 1;
                    Ok(())
                }
                _ => Err(postcard::Error::SerializeBufferFull),
            }
        }

        fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
            let end =
                self.at.checked_add(data.len()).ok_or(postcard::Error::SerializeBufferFull)?;
            match self.expected.get(self.at..end) {
                Some(expected) if expected == data => {
                    self.at = end;
                    Ok(())
                }
                _ => Err(postcard::Error::SerializeBufferFull),
            }
        }

        fn finalize(self) -> postcard::Result<usize> {
            Ok(self.at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Pair {
        a: u32,
        b: u8,
    }

    impl Decode<'_> for Pair {
        fn decode(r: &mut Reader<'_>) -> Pair {
            Pair { a: r.u32(), b: r.u8() }
        }
    }

    #[test]
    fn accepts_the_canonical_encoding_only() {
        assert_eq!(decode::<Pair>(&[0x05, 0x07], 16), Ok(Pair { a: 5, b: 7 }));
        // 5 as an overlong two-byte varint.
        assert_eq!(decode::<Pair>(&[0x85, 0x00, 0x07], 16), Err(Error::DecodeNonCanonical));
        assert_eq!(decode::<Pair>(&[0x05, 0x07, 0x00], 16), Err(Error::DecodeTrailingBytes));
        assert_eq!(decode::<Pair>(&[0x05], 16), Err(Error::DecodeMalformed));
        assert_eq!(decode::<Pair>(&[0x05, 0x07], 1), Err(Error::DecodeTooLarge));
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct List {
        #[serde(deserialize_with = "u32_len_vec")]
        items: heapless::Vec<u16, 4>,
    }

    impl Decode<'_> for List {
        fn decode(r: &mut Reader<'_>) -> List {
            List { items: r.list() }
        }
    }

    /// Issue 8, item 5: a list length as an overlong varint gets one verdict on every target:
    /// up to 5 bytes it decodes and is refused as non-canonical, from 6 bytes it is malformed.
    /// (postcard alone reads lengths as `usize`: on a 64-bit host a 6-byte length decoded and
    /// was refused as non-canonical, on the 32-bit door as malformed.)
    #[test]
    fn list_lengths_are_u32_varints_on_every_target() {
        assert_eq!(decode::<List>(&[0x01, 0x07], 16).unwrap().items, [7]);
        let five = [0x81, 0x80, 0x80, 0x80, 0x00, 0x07];
        assert_eq!(decode::<List>(&five, 16), Err(Error::DecodeNonCanonical));
        let six = [0x81, 0x80, 0x80, 0x80, 0x80, 0x00, 0x07];
        assert_eq!(decode::<List>(&six, 16), Err(Error::DecodeMalformed));
        // Longer than the bound, and a length beyond u32.
        assert_eq!(decode::<List>(&[0x05, 1, 2, 3, 4, 5], 16), Err(Error::DecodeMalformed));
        let huge = [0xff, 0xff, 0xff, 0xff, 0x1f, 0x07];
        assert_eq!(decode::<List>(&huge, 16), Err(Error::DecodeMalformed));
        let mut six = Reader::new(&[0x85, 0x80, 0x80, 0x80, 0x80, 0x00]);
        six.len();
        assert!(six.failed());
    }

    #[test]
    fn split_signed_needs_a_whole_signature() {
        assert_eq!(split_signed(&[0; 63]), Err(Error::DecodeMalformed));
        let (body, sig) = split_signed(&[1; 70]).unwrap();
        assert_eq!(body.len(), 6);
        assert_eq!(sig, [1; 64]);
    }
}
