//! Messages over a link that carries at most [`MTU`] bytes at a time.
//!
//! A message is split into fragments. Every fragment starts with a 3-byte header:
//!
//! | byte | meaning |
//! |------|---------|
//! | 0 | message id, chosen by the sender, different from the previous message's |
//! | 1 | fragment index, from 0 |
//! | 2 | flags: bit 0 set on the last fragment; other bits zero |
//!
//! Fragment 0 then carries the message's total length (u16, little endian) and every fragment
//! carries data up to the MTU. The receiver reassembles one message at a time into a buffer of
//! [`MAX_MESSAGE_LEN`] bytes and refuses, with a distinct [`FrameError`], a length above it, a
//! fragment of another message while one is in progress, a skipped or repeated index, more data
//! than announced, a last fragment that leaves the message short, and silence longer than the
//! reassembly timeout. After any error the partial message is discarded and the receiver waits
//! for a fragment 0.
//!
//! Stream links (UART, TCP) put a length byte (1..=[`MTU`]) before each fragment;
//! [`LinkDecoder`] splits the byte stream back into fragments.

use crate::hal::{Transport, TransportError, MTU};

/// Fragment header: message id, index, flags.
pub const HEADER_LEN: usize = 3;
/// Fragment 0 also carries the total length.
pub const FIRST_HEADER_LEN: usize = HEADER_LEN + 2;
/// The largest message: a request type byte and the largest presentation
/// ([`porter_protocol::MAX_PRESENTATION_LEN`] = 4160), rounded up to a whole number of bytes
/// that still fits 19 fragments: 239 + 18 x 241 = 4577 >= 4176.
pub const MAX_MESSAGE_LEN: usize = 4176;

const FLAG_LAST: u8 = 1;

/// Why a message was dropped during reassembly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// A fragment shorter than its header, or with unknown flag bits.
    BadFragment,
    /// The announced or received length exceeds [`MAX_MESSAGE_LEN`] or the announcement.
    Oversized,
    /// A fragment of another message arrived before this one was complete.
    Interleaved,
    /// A fragment index was skipped or repeated.
    OutOfOrder,
    /// The last fragment arrived before the announced length was reached.
    Truncated,
    /// No fragment arrived within the reassembly timeout.
    Timeout,
    /// A continuation fragment arrived with no message in progress.
    Orphan,
}

/// What one fragment did to the reassembly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// More fragments are needed.
    Partial,
    /// A whole message of this many bytes is in [`Reassembler::message`].
    Complete(usize),
}

/// One message at a time, bounded by [`MAX_MESSAGE_LEN`].
pub struct Reassembler {
    buf: [u8; MAX_MESSAGE_LEN],
    state: Option<InProgress>,
    /// Set after an `Oversized` start: continuation fragments of that id are dropped quietly.
    discarding: Option<u8>,
    complete: usize,
}

#[derive(Clone, Copy)]
struct InProgress {
    id: u8,
    next_index: u8,
    total: usize,
    have: usize,
    last_ms: u64,
}

impl Default for Reassembler {
    fn default() -> Self {
        Self::new()
    }
}

impl Reassembler {
    /// An idle reassembler.
    pub const fn new() -> Reassembler {
        Reassembler { buf: [0; MAX_MESSAGE_LEN], state: None, discarding: None, complete: 0 }
    }

    /// The message completed by the last [`Progress::Complete`].
    pub fn message(&self) -> &[u8] {
        self.buf.get(..self.complete).unwrap_or(&[])
    }

    /// The whole buffer as scratch space, for boot-time work while no message is expected.
    /// Drops any partial or completed message.
    pub fn scratch(&mut self) -> &mut [u8] {
        self.state = None;
        self.discarding = None;
        self.complete = 0;
        &mut self.buf
    }

    /// Whether a message is partly received.
    pub fn in_progress(&self) -> bool {
        self.state.is_some()
    }

    /// Drops a partial message that has been silent for more than `timeout_ms`.
    pub fn expire(&mut self, now_ms: u64, timeout_ms: u32) -> Result<(), FrameError> {
        match self.state {
            Some(s) if now_ms.saturating_sub(s.last_ms) > u64::from(timeout_ms) => {
                self.state = None;
                Err(FrameError::Timeout)
            }
            _ => Ok(()),
        }
    }

    /// Takes one fragment received at `now_ms`.
    pub fn push(&mut self, fragment: &[u8], now_ms: u64) -> Result<Progress, FrameError> {
        let result = self.push_inner(fragment, now_ms);
        if result.is_err() {
            self.state = None;
        }
        result
    }

    fn push_inner(&mut self, fragment: &[u8], now_ms: u64) -> Result<Progress, FrameError> {
        let (&[id, index, flags], rest) = split_header(fragment)?;
        if flags & !FLAG_LAST != 0 || fragment.len() > MTU {
            return Err(FrameError::BadFragment);
        }
        let last = flags & FLAG_LAST != 0;
        let data = if index == 0 {
            let (len, data) = match rest {
                [lo, hi, data @ ..] => (usize::from(u16::from_le_bytes([*lo, *hi])), data),
                _ => return Err(FrameError::BadFragment),
            };
            // A fragment 0 while a message is in progress restarts reassembly: a phone that gave
            // up on a message starts over at once, and the old partial message is dropped.
            self.discarding = None;
            if len > MAX_MESSAGE_LEN || len == 0 {
                self.discarding = Some(id);
                return Err(FrameError::Oversized);
            }
            self.state =
                Some(InProgress { id, next_index: 0, total: len, have: 0, last_ms: now_ms });
            data
        } else {
            if self.discarding == Some(id) {
                return Err(FrameError::Oversized);
            }
            let Some(state) = self.state else { return Err(FrameError::Orphan) };
            if state.id != id {
                return Err(FrameError::Interleaved);
            }
            if state.next_index != index {
                return Err(FrameError::OutOfOrder);
            }
            rest
        };
        self.accept(data, last, now_ms)
    }

    fn accept(&mut self, data: &[u8], last: bool, now_ms: u64) -> Result<Progress, FrameError> {
        let Some(mut state) = self.state else { return Err(FrameError::Orphan) };
        let end = state.have.checked_add(data.len()).ok_or(FrameError::Oversized)?;
        if end > state.total {
            return Err(FrameError::Oversized);
        }
        self.buf.get_mut(state.have..end).ok_or(FrameError::Oversized)?.copy_from_slice(data);
        state.have = end;
        state.next_index = state.next_index.checked_add(1).ok_or(FrameError::Oversized)?;
        state.last_ms = now_ms;
        if last {
            if state.have != state.total {
                return Err(FrameError::Truncated);
            }
            self.state = None;
            self.complete = state.have;
            return Ok(Progress::Complete(state.have));
        }
        self.state = Some(state);
        Ok(Progress::Partial)
    }
}

fn split_header(fragment: &[u8]) -> Result<(&[u8; HEADER_LEN], &[u8]), FrameError> {
    let (header, rest) =
        fragment.split_first_chunk::<HEADER_LEN>().ok_or(FrameError::BadFragment)?;
    Ok((header, rest))
}

/// Splits messages into fragments and sends them.
pub struct Fragmenter {
    next_id: u8,
}

impl Default for Fragmenter {
    fn default() -> Self {
        Self::new()
    }
}

impl Fragmenter {
    /// Starts numbering messages at 0.
    pub const fn new() -> Fragmenter {
        Fragmenter { next_id: 0 }
    }

    /// Sends `message` (at most [`MAX_MESSAGE_LEN`] bytes) as fragments over `transport`.
    pub fn send<T: Transport>(
        &mut self,
        transport: &mut T,
        message: &[u8],
    ) -> Result<(), TransportError> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        for_each_fragment(id, message, |fragment| transport.send(fragment))
    }
}

/// Calls `emit` with each fragment of `message` under message id `id`.
pub fn for_each_fragment<E>(
    id: u8,
    message: &[u8],
    mut emit: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let len = u16::try_from(message.len()).unwrap_or(u16::MAX).to_le_bytes();
    let mut fragment = [0u8; MTU];
    let mut rest = message;
    let mut index: u8 = 0;
    loop {
        let header = if index == 0 { FIRST_HEADER_LEN } else { HEADER_LEN };
        let room = MTU - header;
        let (chunk, tail) = rest.split_at(rest.len().min(room));
        let last = tail.is_empty();
        let head: [u8; FIRST_HEADER_LEN] =
            [id, index, if last { FLAG_LAST } else { 0 }, len[0], len[1]];
        if let (Some(h), Some(h_src)) = (fragment.get_mut(..header), head.get(..header)) {
            h.copy_from_slice(h_src);
        }
        let end = header + chunk.len();
        if let Some(body) = fragment.get_mut(header..end) {
            body.copy_from_slice(chunk);
        }
        emit(fragment.get(..end).unwrap_or(&[]))?;
        if last {
            return Ok(());
        }
        rest = tail;
        index = index.wrapping_add(1);
    }
}

/// Splits a byte stream (UART, TCP) into fragments: each is sent as one length byte
/// (1..=[`MTU`]) and the fragment. A length byte of 0 or above the MTU is skipped (resync).
pub struct LinkDecoder {
    buf: [u8; MTU],
    want: usize,
    have: usize,
}

impl Default for LinkDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl LinkDecoder {
    /// A decoder waiting for a length byte.
    pub const fn new() -> LinkDecoder {
        LinkDecoder { buf: [0; MTU], want: 0, have: 0 }
    }

    /// Takes one byte; returns a whole fragment when this byte completes one.
    pub fn push(&mut self, byte: u8) -> Option<&[u8]> {
        if self.want == 0 {
            let len = usize::from(byte);
            if (1..=MTU).contains(&len) {
                self.want = len;
                self.have = 0;
            }
            return None;
        }
        if let Some(slot) = self.buf.get_mut(self.have) {
            *slot = byte;
        }
        self.have += 1;
        if self.have == self.want {
            self.want = 0;
            return self.buf.get(..self.have);
        }
        None
    }

    /// Whether the decoder waits for a length byte (no fragment in progress).
    pub fn idle(&self) -> bool {
        self.want == 0
    }

    /// Forgets a partial fragment (after a link timeout).
    pub fn reset(&mut self) {
        self.want = 0;
        self.have = 0;
    }
}

/// Writes the length byte and `fragment` with `put` (one call per byte), for stream links.
pub fn encode_link<E>(fragment: &[u8], mut put: impl FnMut(u8) -> Result<(), E>) -> Result<(), E> {
    put(u8::try_from(fragment.len()).unwrap_or(0))?;
    for &b in fragment {
        put(b)?;
    }
    Ok(())
}
