//! Messages over a link that carries at most `mtu` bytes at a time (`spec/link.md`, "Framing").
//!
//! A message is split into fragments. Every fragment starts with a 3-byte header:
//!
//! | byte | meaning |
//! |------|---------|
//! | 0 | message id: a request's id is chosen by the phone, different from its previous request's; an answer carries its request's id |
//! | 1 | fragment index, from 0 |
//! | 2 | flags: bit 0 set on the last fragment; other bits zero |
//!
//! Fragment 0 then carries the message's total length (u16, little endian, 1..=
//! [`MAX_MESSAGE_LEN`]) and every fragment carries data up to the MTU. Every fragment but the
//! last carries at least one data byte. The byte format is the one `porter-device` spoke before
//! this crate; the rules above are stricter only where the old sender never went.
//!
//! Stream links (UART, TCP) put a length byte (1..=255) before each fragment;
//! [`StreamDecoder`] splits the byte stream back into fragments.

use crate::error::LinkError;

/// Fragment header: message id, index, flags.
pub const HEADER_LEN: usize = 3;
/// Fragment 0 also carries the total length.
pub const FIRST_HEADER_LEN: usize = HEADER_LEN + 2;
/// The largest message: a request type byte and the largest presentation
/// ([`porter_protocol::MAX_PRESENTATION_LEN`] = 4160) is 4161; rounded up to 4176, the value
/// `porter-device` used.
pub const MAX_MESSAGE_LEN: usize = 4176;
/// The smallest MTU: the largest message must fit 256 fragments (the index is one byte):
/// (20 - 5) + 255 x (20 - 3) = 4350 >= 4176, and 19 would give 4094.
pub const MIN_MTU: usize = 20;
/// The largest MTU: a stream link's length byte counts to 255.
pub const MAX_MTU: usize = 255;
/// The MTU of BLE with a 247-byte ATT MTU (the most phones negotiate): 247 - 3 (ATT header).
pub const BLE_MTU: usize = 244;
/// How long a receiver keeps a partial message without a new fragment (ms).
pub const REASSEMBLY_TIMEOUT_MS: u32 = 3_000;

const FLAG_LAST: u8 = 1;

/// Whether `mtu` is one the framing accepts.
pub fn valid_mtu(mtu: usize) -> bool {
    (MIN_MTU..=MAX_MTU).contains(&mtu)
}

/// How many fragments a message of `len` bytes takes at `mtu` (0 if it cannot be framed).
pub fn fragment_count(len: usize, mtu: usize) -> usize {
    if !valid_mtu(mtu) || len == 0 || len > MAX_MESSAGE_LEN {
        return 0;
    }
    let first = mtu - FIRST_HEADER_LEN;
    if len <= first {
        return 1;
    }
    1 + (len - first).div_ceil(mtu - HEADER_LEN)
}

/// Writes fragment `index` of `message` under message id `id` into `out`; returns its length.
/// `None` past the last fragment, for an invalid MTU or message length, or when `out` is
/// shorter than the fragment.
pub fn fragment(id: u8, message: &[u8], mtu: usize, index: usize, out: &mut [u8]) -> Option<usize> {
    let count = fragment_count(message.len(), mtu);
    if index >= count {
        return None;
    }
    let first = mtu - FIRST_HEADER_LEN;
    let (start, room, header) = if index == 0 {
        (0, first, FIRST_HEADER_LEN)
    } else {
        (first + (index - 1) * (mtu - HEADER_LEN), mtu - HEADER_LEN, HEADER_LEN)
    };
    let end = message.len().min(start + room);
    let chunk = message.get(start..end)?;
    let last = index + 1 == count;
    let len = u16::try_from(message.len()).ok()?.to_le_bytes();
    let head = [id, u8::try_from(index).ok()?, if last { FLAG_LAST } else { 0 }, len[0], len[1]];
    out.get_mut(..header)?.copy_from_slice(head.get(..header)?);
    out.get_mut(header..header + chunk.len())?.copy_from_slice(chunk);
    Some(header + chunk.len())
}

/// Calls `emit` with each fragment of `message` under message id `id`, at `mtu`.
pub fn for_each_fragment<E>(
    id: u8,
    message: &[u8],
    mtu: usize,
    mut emit: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<Result<(), E>, LinkError> {
    if !valid_mtu(mtu) {
        return Err(LinkError::BadMtu);
    }
    if message.is_empty() || message.len() > MAX_MESSAGE_LEN {
        return Err(LinkError::FrameOversized);
    }
    let mut buf = [0u8; MAX_MTU];
    let mut index = 0;
    while let Some(n) = fragment(id, message, mtu, index, &mut buf) {
        if let Err(e) = emit(buf.get(..n).unwrap_or(&[])) {
            return Ok(Err(e));
        }
        index += 1;
    }
    Ok(Ok(()))
}

/// What one fragment did to the reassembly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// More fragments are needed.
    Partial,
    /// A whole message with this id and length is in [`Reassembler::message`].
    Complete {
        /// The message id of its fragments.
        id: u8,
        /// Its length in bytes.
        len: usize,
    },
}

#[derive(Clone, Copy, Debug)]
struct InProgress {
    id: u8,
    next_index: u8,
    total: usize,
    have: usize,
    last_ms: u64,
}

/// One message at a time into a caller's buffer `B` (`[u8; N]` on a door, `&mut [u8]` on a
/// phone). A message longer than the buffer (or than [`MAX_MESSAGE_LEN`]) is refused.
///
/// After any error the partial message is discarded and the receiver waits for a fragment 0;
/// the later fragments of a refused message are dropped as [`LinkError::FrameOrphan`] with
/// [`FrameRefusal::first`] false, so that a door answers each broken message once.
#[derive(Debug)]
pub struct Reassembler<B> {
    buf: B,
    mtu: usize,
    state: Option<InProgress>,
    discarding: Option<u8>,
    complete: usize,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Reassembler<B> {
    /// An idle reassembler that takes fragments of at most `mtu` bytes (clamped to
    /// [`MIN_MTU`]..=[`MAX_MTU`]) into `buf`.
    pub fn new(buf: B, mtu: usize) -> Reassembler<B> {
        let mtu = mtu.clamp(MIN_MTU, MAX_MTU);
        Reassembler { buf, mtu, state: None, discarding: None, complete: 0 }
    }

    /// The message completed by the last [`Progress::Complete`].
    pub fn message(&self) -> &[u8] {
        self.buf.as_ref().get(..self.complete).unwrap_or(&[])
    }

    /// Whether a message is partly received.
    pub fn in_progress(&self) -> bool {
        self.state.is_some()
    }

    /// The id of the message partly received, if any.
    pub fn in_progress_id(&self) -> Option<u8> {
        self.state.map(|s| s.id)
    }

    /// Forgets everything (a new link).
    pub fn reset(&mut self) {
        self.state = None;
        self.discarding = None;
        self.complete = 0;
    }

    /// The whole buffer as scratch space, for work done while no message is expected (a door
    /// reads its stored state through it at boot instead of holding a second 4 KiB buffer).
    /// Forgets any partial or completed message, as [`Reassembler::reset`] does.
    pub fn scratch(&mut self) -> &mut [u8] {
        self.reset();
        self.buf.as_mut()
    }

    /// Drops a partial message that has been silent for more than `timeout_ms`
    /// ([`LinkError::FrameTimeout`]).
    pub fn expire(&mut self, now_ms: u64, timeout_ms: u32) -> Result<(), LinkError> {
        match self.state {
            Some(s) if now_ms.saturating_sub(s.last_ms) > u64::from(timeout_ms) => {
                self.state = None;
                // A late fragment of the expired message is then dropped quietly: the door
                // refuses each broken message once (`spec/link.md` 2.3).
                self.discarding = Some(s.id);
                Err(LinkError::FrameTimeout)
            }
            _ => Ok(()),
        }
    }

    /// Takes one fragment received at `now_ms`. An error carries the fragment's message id
    /// (when it had a header) and whether it is the first error for that message.
    pub fn push(&mut self, fragment: &[u8], now_ms: u64) -> Result<Progress, FrameRefusal> {
        let id = fragment.first().copied();
        let quiet = id.is_some() && self.discarding == id;
        let result = self.push_inner(fragment, now_ms);
        if let Err(error) = result {
            self.state = None;
            if let Some(id) = id {
                self.discarding = Some(id);
            }
            return Err(FrameRefusal { error, id, first: !quiet });
        }
        result.map_err(|error| FrameRefusal { error, id, first: true })
    }

    fn push_inner(&mut self, fragment: &[u8], now_ms: u64) -> Result<Progress, LinkError> {
        let (&[id, index, flags], rest) =
            fragment.split_first_chunk::<HEADER_LEN>().ok_or(LinkError::FrameBadFragment)?;
        if flags & !FLAG_LAST != 0 || fragment.len() > self.mtu {
            return Err(LinkError::FrameBadFragment);
        }
        let last = flags & FLAG_LAST != 0;
        let data = if index == 0 {
            let (len, data) = match rest {
                [lo, hi, data @ ..] => (usize::from(u16::from_le_bytes([*lo, *hi])), data),
                _ => return Err(LinkError::FrameBadFragment),
            };
            // A fragment 0 restarts reassembly: a phone that gave up on a message starts over
            // at once, and the old partial message is dropped.
            self.discarding = None;
            if len == 0 || len > MAX_MESSAGE_LEN || len > self.buf.as_ref().len() {
                return Err(LinkError::FrameOversized);
            }
            self.state =
                Some(InProgress { id, next_index: 0, total: len, have: 0, last_ms: now_ms });
            data
        } else {
            if self.discarding == Some(id) {
                return Err(LinkError::FrameOrphan);
            }
            let Some(state) = self.state else { return Err(LinkError::FrameOrphan) };
            if state.id != id {
                return Err(LinkError::FrameInterleaved);
            }
            if state.next_index != index {
                return Err(LinkError::FrameOutOfOrder);
            }
            rest
        };
        if data.is_empty() && !last {
            return Err(LinkError::FrameBadFragment);
        }
        let Some(mut state) = self.state else { return Err(LinkError::FrameOrphan) };
        let end = state.have.checked_add(data.len()).ok_or(LinkError::FrameOversized)?;
        if end > state.total {
            return Err(LinkError::FrameOversized);
        }
        self.buf
            .as_mut()
            .get_mut(state.have..end)
            .ok_or(LinkError::FrameOversized)?
            .copy_from_slice(data);
        state.have = end;
        state.next_index = state.next_index.checked_add(1).ok_or(LinkError::FrameOversized)?;
        state.last_ms = now_ms;
        if last {
            if state.have != state.total {
                return Err(LinkError::FrameTruncated);
            }
            self.state = None;
            self.complete = state.have;
            return Ok(Progress::Complete { id: state.id, len: state.have });
        }
        self.state = Some(state);
        Ok(Progress::Partial)
    }
}

/// A fragment the [`Reassembler`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRefusal {
    /// Why.
    pub error: LinkError,
    /// The fragment's message id, if it had one.
    pub id: Option<u8>,
    /// Whether this is the first refusal for this message id (a door answers only that one).
    pub first: bool,
}

/// Splits a byte stream (UART, TCP) into fragments: each is sent as one length byte
/// (1..=255) and the fragment. A length byte of 0 is skipped (resync).
#[derive(Debug)]
pub struct StreamDecoder {
    buf: [u8; MAX_MTU],
    want: usize,
    have: usize,
}

impl Default for StreamDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamDecoder {
    /// A decoder waiting for a length byte.
    pub const fn new() -> StreamDecoder {
        StreamDecoder { buf: [0; MAX_MTU], want: 0, have: 0 }
    }

    /// Takes one byte; returns a whole fragment when this byte completes one.
    pub fn push(&mut self, byte: u8) -> Option<&[u8]> {
        if self.want == 0 {
            self.want = usize::from(byte);
            self.have = 0;
            return None;
        }
        *self.buf.get_mut(self.have)? = byte;
        self.have += 1;
        if self.have == self.want {
            self.want = 0;
            return self.buf.get(..self.have);
        }
        None
    }

    /// Forgets a partial fragment (a new link).
    pub fn reset(&mut self) {
        self.want = 0;
        self.have = 0;
    }

    /// Whether the next byte is a length byte (no fragment is partly read): a reader that
    /// stops at a boundary (a test checking the board wrote whole fragments) looks here.
    pub fn idle(&self) -> bool {
        self.want == 0
    }
}

/// The length byte to send before `fragment` on a stream link (`None` if it is empty or longer
/// than [`MAX_MTU`]).
pub fn stream_prefix(fragment: &[u8]) -> Option<u8> {
    u8::try_from(fragment.len()).ok().filter(|&n| n > 0)
}
