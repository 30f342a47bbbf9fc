//! The door's messages, carried whole by [`crate::frame`]. The first byte is the type; integers
//! are little endian; Porter messages (challenge, presentation, door state, enrolment, receipt,
//! log head, audit records) travel as their exact protocol bytes.
//!
//! | request | body | answer |
//! |---------|------|--------|
//! | `0x01` info | - | `0x81` version u8, enrolled u8, device key (32 bytes), site u32, door u16, log length u64, boot count u32 |
//! | `0x02` enrol | root key (32 bytes), signed enrolment | `0x82` |
//! | `0x03` challenge | - | `0x83` challenge bytes |
//! | `0x04` present | presentation bytes | `0x84` receipt bytes, or `0x85` coarse u8, audit sequence u64 |
//! | `0x05` door state | signed door state | `0x86` sequence u64 |
//! | `0x06` read log | from u64, max count u8 | `0x87` count u8, then per record: length u8, record bytes (from the oldest record still held if `from` was overwritten) |
//! | `0x07` log head | - | `0x88` signed log head |
//! | `0x08` log ack | length u64, tag (16 bytes, `porter_protocol::LogMask::ack_tag`) | `0x89` acknowledged length u64 |
//!
//! Any request may instead be answered `0xEE` [`Refusal`] u8, detail u16, retry after (ms) u32.
//! A refused presentation is answered only coarsely (`0x85`, see [`porter_protocol::Coarse`]);
//! the precise reason is in the audit record whose sequence the answer names.

use porter_protocol::Coarse;

/// Request: who are you.
pub const REQ_INFO: u8 = 0x01;
/// Request: store the site root key and the root's enrolment of this device.
pub const REQ_ENROL: u8 = 0x02;
/// Request: a fresh challenge.
pub const REQ_CHALLENGE: u8 = 0x03;
/// Request: answer the outstanding challenge with a presentation.
pub const REQ_PRESENT: u8 = 0x04;
/// Request: take this signed door state if newer.
pub const REQ_DOOR_STATE: u8 = 0x05;
/// Request: audit records from a sequence number.
pub const REQ_READ_LOG: u8 = 0x06;
/// Request: the device-signed head of the audit log.
pub const REQ_LOG_HEAD: u8 = 0x07;
/// Request: the site server acknowledges it holds the log up to a length (`LogMask::ack_tag`).
pub const REQ_LOG_ACK: u8 = 0x08;

/// Answer to [`REQ_INFO`].
pub const RESP_INFO: u8 = 0x81;
/// Answer to [`REQ_ENROL`]: stored.
pub const RESP_ENROLLED: u8 = 0x82;
/// Answer to [`REQ_CHALLENGE`].
pub const RESP_CHALLENGE: u8 = 0x83;
/// Answer to [`REQ_PRESENT`]: admitted, with the device-signed receipt.
pub const RESP_ADMITTED: u8 = 0x84;
/// Answer to [`REQ_PRESENT`]: denied.
pub const RESP_DENIED: u8 = 0x85;
/// Answer to [`REQ_DOOR_STATE`]: taken.
pub const RESP_STATE: u8 = 0x86;
/// Answer to [`REQ_READ_LOG`].
pub const RESP_LOG: u8 = 0x87;
/// Answer to [`REQ_LOG_HEAD`].
pub const RESP_HEAD: u8 = 0x88;
/// Answer to [`REQ_LOG_ACK`]: the acknowledged length now in force.
pub const RESP_ACKED: u8 = 0x89;
/// Answer to anything: refused, see [`Refusal`].
pub const RESP_REFUSED: u8 = 0xEE;

/// The most records one [`REQ_READ_LOG`] answer carries.
pub const MAX_LOG_RECORDS: u8 = 8;

/// Why the door refused a request before (or instead of) deciding on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Refusal {
    /// Unknown request type or a body of the wrong shape.
    Malformed = 1,
    /// Not commissioned: send an enrolment first.
    NotEnrolled = 2,
    /// Already commissioned: enrolment is once only.
    AlreadyEnrolled = 3,
    /// A challenge is outstanding: one attempt at a time. Retry after the given time.
    Busy = 4,
    /// Recent failures that cost signature checks: send the same request again after the given
    /// time (at most `Settings::backoff_max_ms`). A presentation's challenge stays outstanding.
    BackOff = 5,
    /// Retired: the door no longer locks out (issue 8). The number is not reused.
    LockedOut = 6,
    /// A presentation arrived with no outstanding challenge (expired, or never asked).
    NoChallenge = 7,
    /// The enrolment or door state was refused; detail is the `porter_protocol::Error` code.
    Rejected = 8,
    /// Storage or entropy failed: the door refuses everything until it is serviced.
    Fault = 9,
    /// A message could not be reassembled; detail is [`crate::frame::FrameError`] as a number.
    Frame = 10,
    /// An enrolment arrived outside the enrolment window: press the installer button inside
    /// the door's housing, then send it again within the window (10 minutes by default).
    EnrolmentClosed = 11,
}

impl Refusal {
    /// The refusal with wire number `n`.
    pub fn from_u8(n: u8) -> Option<Refusal> {
        use Refusal::*;
        [
            Malformed,
            NotEnrolled,
            AlreadyEnrolled,
            Busy,
            BackOff,
            LockedOut,
            NoChallenge,
            Rejected,
            Fault,
            Frame,
            EnrolmentClosed,
        ]
        .into_iter()
        .find(|r| *r as u8 == n)
    }
}

/// The wire number of a coarse verdict.
pub fn coarse_code(coarse: Coarse) -> u8 {
    match coarse {
        Coarse::Malformed => 1,
        Coarse::Denied => 2,
        Coarse::Expired => 3,
        Coarse::Spent => 4,
    }
}

/// A small cursor writer over an output buffer; every write checks room.
pub struct Writer<'b> {
    out: &'b mut [u8],
    at: usize,
}

/// The output buffer was too small.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

impl<'b> Writer<'b> {
    /// Writes into `out` from the start.
    pub fn new(out: &'b mut [u8]) -> Writer<'b> {
        Writer { out, at: 0 }
    }

    /// Appends bytes.
    pub fn bytes(&mut self, b: &[u8]) -> Result<&mut Self, Full> {
        let end = self.at.checked_add(b.len()).ok_or(Full)?;
        self.out.get_mut(self.at..end).ok_or(Full)?.copy_from_slice(b);
        self.at = end;
        Ok(self)
    }

    /// Appends one byte.
    pub fn u8(&mut self, v: u8) -> Result<&mut Self, Full> {
        self.bytes(&[v])
    }

    /// Appends a u16.
    pub fn u16(&mut self, v: u16) -> Result<&mut Self, Full> {
        self.bytes(&v.to_le_bytes())
    }

    /// Appends a u32.
    pub fn u32(&mut self, v: u32) -> Result<&mut Self, Full> {
        self.bytes(&v.to_le_bytes())
    }

    /// Appends a u64.
    pub fn u64(&mut self, v: u64) -> Result<&mut Self, Full> {
        self.bytes(&v.to_le_bytes())
    }

    /// Overwrites the byte at `at`, already written (a count filled in afterwards).
    pub fn patch(&mut self, at: usize, v: u8) {
        if at < self.at {
            if let Some(b) = self.out.get_mut(at) {
                *b = v;
            }
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.at
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.at == 0
    }

    /// The unwritten rest, for encoders that write in place; call [`Writer::advance`] after.
    pub fn rest(&mut self) -> &mut [u8] {
        self.out.get_mut(self.at..).unwrap_or(&mut [])
    }

    /// Marks `n` bytes of [`Writer::rest`] as written.
    pub fn advance(&mut self, n: usize) -> Result<(), Full> {
        let end = self.at.checked_add(n).ok_or(Full)?;
        if end > self.out.len() {
            return Err(Full);
        }
        self.at = end;
        Ok(())
    }
}

/// Reads little-endian integers from a request body.
pub fn read_u64(b: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(..8)?.try_into().ok()?))
}
