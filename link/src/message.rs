//! The typed requests and answers carried whole by [`crate::frame`] (`spec/link.md`,
//! "Messages"). The first byte is the type; integers are little endian; Porter messages travel
//! as their exact protocol bytes. Decoding is strict: every length is bounded, a body has
//! exactly the bytes its type allows (no trailing bytes), flags are 0 or 1, codes are known,
//! and embedded Porter messages are length-checked (the challenge and the device key are also
//! decoded, since a phone acts on them before any signature covers them).
//!
//! The byte values are those `porter-device` (branch `fw`) speaks.

use porter_protocol::{
    Challenge, Coarse, DoorId, PublicKey, SiteId, MAX_AUDIT_RECORD_LEN, MAX_CHALLENGE_LEN,
    MAX_DOOR_STATE_LEN, MAX_ENROLMENT_LEN, MAX_LOG_HEAD_LEN, MAX_PRESENTATION_LEN, MAX_RECEIPT_LEN,
};

use crate::error::LinkError;

/// Request type bytes.
pub mod kind {
    /// Who are you.
    pub const INFO: u8 = 0x01;
    /// Store the site root key and the root's enrolment of this device.
    pub const ENROL: u8 = 0x02;
    /// A fresh challenge.
    pub const CHALLENGE: u8 = 0x03;
    /// Answer the outstanding challenge with a presentation.
    pub const PRESENT: u8 = 0x04;
    /// Take this signed door state if newer.
    pub const DOOR_STATE: u8 = 0x05;
    /// Audit records from a sequence number.
    pub const READ_LOG: u8 = 0x06;
    /// The device-signed head of the audit log.
    pub const LOG_HEAD: u8 = 0x07;
    /// The site server acknowledges it holds the log up to a length.
    pub const LOG_ACK: u8 = 0x08;

    /// Answer to `INFO`.
    pub const A_INFO: u8 = 0x81;
    /// Answer to `ENROL`: stored.
    pub const A_ENROLLED: u8 = 0x82;
    /// Answer to `CHALLENGE`.
    pub const A_CHALLENGE: u8 = 0x83;
    /// Answer to `PRESENT`: admitted, with the device-signed receipt.
    pub const A_ADMITTED: u8 = 0x84;
    /// Answer to `PRESENT`: denied, coarsely.
    pub const A_DENIED: u8 = 0x85;
    /// Answer to `DOOR_STATE`: the sequence now held.
    pub const A_STATE: u8 = 0x86;
    /// Answer to `READ_LOG`.
    pub const A_LOG: u8 = 0x87;
    /// Answer to `LOG_HEAD`.
    pub const A_HEAD: u8 = 0x88;
    /// Answer to `LOG_ACK`.
    pub const A_ACKED: u8 = 0x89;
    /// Answer to anything: refused.
    pub const A_REFUSED: u8 = 0xEE;
}

/// The most records one log answer carries (8 x 129 + 2 = 1,034 bytes).
pub const MAX_LOG_RECORDS: u8 = 8;
/// The length of an info answer: type, version, enrolled, key, site, door, log length, boots.
pub const INFO_ANSWER_LEN: usize = 1 + 1 + 1 + 32 + 4 + 2 + 8 + 4;
/// The largest signed log head.
pub const MAX_SIGNED_HEAD_LEN: usize = MAX_LOG_HEAD_LEN + 64;
/// The largest answer: a full log answer.
pub const MAX_ANSWER_LEN: usize = 2 + MAX_LOG_RECORDS as usize * (1 + MAX_AUDIT_RECORD_LEN);
/// The largest request: a presentation and its type byte.
pub const MAX_REQUEST_LEN: usize = 1 + MAX_PRESENTATION_LEN;

/// A request, phone to door.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// `0x01`: who are you.
    Info,
    /// `0x02`: the root key and the root-signed enrolment (1..=`MAX_ENROLMENT_LEN` bytes).
    Enrol {
        /// The site root key.
        root: PublicKey,
        /// The signed enrolment, exact bytes.
        enrolment: &'a [u8],
    },
    /// `0x03`: a fresh challenge.
    Challenge,
    /// `0x04`: a presentation (1..=4160 bytes).
    Present(&'a [u8]),
    /// `0x05`: a signed door state (1..=3584 bytes).
    DoorState(&'a [u8]),
    /// `0x06`: up to `max` (1..=8) records from sequence `from`.
    ReadLog {
        /// The first sequence wanted.
        from: u64,
        /// How many at most.
        max: u8,
    },
    /// `0x07`: the signed log head.
    LogHead,
    /// `0x08`: the site server holds the log up to `length`; `tag` proves it.
    LogAck {
        /// The acknowledged length.
        length: u64,
        /// `porter_protocol::LogMask::ack_tag(length)`.
        tag: [u8; 16],
    },
}

fn bounded(body: &[u8], max: usize) -> Result<&[u8], LinkError> {
    if body.is_empty() || body.len() > max {
        return Err(LinkError::DecodeLength);
    }
    Ok(body)
}

fn exact<const N: usize>(body: &[u8]) -> Result<[u8; N], LinkError> {
    match body.len() {
        n if n < N => Err(LinkError::DecodeLength),
        n if n > N => Err(LinkError::DecodeTrailingBytes),
        _ => body.try_into().map_err(|_| LinkError::DecodeLength),
    }
}

fn empty(body: &[u8]) -> Result<(), LinkError> {
    if body.is_empty() {
        Ok(())
    } else {
        Err(LinkError::DecodeTrailingBytes)
    }
}

fn u64_at(b: &[u8], at: usize) -> Result<u64, LinkError> {
    let bytes = b.get(at..at + 8).ok_or(LinkError::DecodeLength)?;
    Ok(u64::from_le_bytes(bytes.try_into().map_err(|_| LinkError::DecodeLength)?))
}

fn key(bytes: [u8; 32]) -> Result<PublicKey, LinkError> {
    let key = PublicKey(bytes);
    key.validate().map_err(|_| LinkError::DecodeBadValue)?;
    Ok(key)
}

/// Appends bytes to an output buffer, checking room.
struct Out<'b> {
    out: &'b mut [u8],
    at: usize,
}

impl<'b> Out<'b> {
    fn new(out: &'b mut [u8]) -> Out<'b> {
        Out { out, at: 0 }
    }

    fn put(mut self, b: &[u8]) -> Result<Self, LinkError> {
        let end = self.at + b.len();
        self.out.get_mut(self.at..end).ok_or(LinkError::BufferTooSmall)?.copy_from_slice(b);
        self.at = end;
        Ok(self)
    }

    fn done(self) -> Result<&'b [u8], LinkError> {
        let at = self.at;
        let out: &'b [u8] = self.out;
        out.get(..at).ok_or(LinkError::BufferTooSmall)
    }
}

impl<'a> Request<'a> {
    /// Decodes one whole request.
    pub fn decode(bytes: &'a [u8]) -> Result<Request<'a>, LinkError> {
        let (&t, body) = bytes.split_first().ok_or(LinkError::DecodeEmpty)?;
        Ok(match t {
            kind::INFO => empty(body).map(|()| Request::Info)?,
            kind::ENROL => {
                let (root, enrolment) =
                    body.split_first_chunk::<32>().ok_or(LinkError::DecodeLength)?;
                Request::Enrol {
                    root: key(*root)?,
                    enrolment: bounded(enrolment, MAX_ENROLMENT_LEN)?,
                }
            }
            kind::CHALLENGE => empty(body).map(|()| Request::Challenge)?,
            kind::PRESENT => Request::Present(bounded(body, MAX_PRESENTATION_LEN)?),
            kind::DOOR_STATE => Request::DoorState(bounded(body, MAX_DOOR_STATE_LEN)?),
            kind::READ_LOG => {
                let b = exact::<9>(body)?;
                let max = b[8];
                if max == 0 || max > MAX_LOG_RECORDS {
                    return Err(LinkError::DecodeBadValue);
                }
                Request::ReadLog { from: u64_at(&b, 0)?, max }
            }
            kind::LOG_HEAD => empty(body).map(|()| Request::LogHead)?,
            kind::LOG_ACK => {
                let b = exact::<24>(body)?;
                let (length, tag) = b.split_at(8);
                Request::LogAck {
                    length: u64_at(length, 0)?,
                    tag: tag.try_into().map_err(|_| LinkError::DecodeLength)?,
                }
            }
            _ => return Err(LinkError::DecodeUnknownType),
        })
    }

    /// Encodes the request into `out`, checking the same limits as [`Request::decode`].
    pub fn encode<'b>(&self, out: &'b mut [u8]) -> Result<&'b [u8], LinkError> {
        let w = Out::new(out);
        let w = match *self {
            Request::Info => w.put(&[kind::INFO])?,
            Request::Enrol { root, enrolment } => {
                w.put(&[kind::ENROL])?.put(&root.0)?.put(bounded(enrolment, MAX_ENROLMENT_LEN)?)?
            }
            Request::Challenge => w.put(&[kind::CHALLENGE])?,
            Request::Present(p) => {
                w.put(&[kind::PRESENT])?.put(bounded(p, MAX_PRESENTATION_LEN)?)?
            }
            Request::DoorState(s) => {
                w.put(&[kind::DOOR_STATE])?.put(bounded(s, MAX_DOOR_STATE_LEN)?)?
            }
            Request::ReadLog { from, max } => {
                if max == 0 || max > MAX_LOG_RECORDS {
                    return Err(LinkError::DecodeBadValue);
                }
                w.put(&[kind::READ_LOG])?.put(&from.to_le_bytes())?.put(&[max])?
            }
            Request::LogHead => w.put(&[kind::LOG_HEAD])?,
            Request::LogAck { length, tag } => {
                w.put(&[kind::LOG_ACK])?.put(&length.to_le_bytes())?.put(&tag)?
            }
        };
        w.done()
    }
}

/// Why a door refused a request before (or instead of) deciding on it. The numbers are the
/// ones `porter-device` sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Refusal {
    /// Unknown request type or a body of the wrong shape.
    Malformed = 1,
    /// Not commissioned: send an enrolment first.
    NotEnrolled = 2,
    /// Already commissioned: enrolment is once only.
    AlreadyEnrolled = 3,
    /// A challenge is outstanding: retry after the given time.
    Busy = 4,
    /// Recent failures that cost signature checks: send the same request again after the
    /// given time. A presentation's challenge stays outstanding.
    BackOff = 5,
    /// Retired (doors no longer lock out); decoded so that an old door is understood.
    LockedOut = 6,
    /// A presentation arrived with no outstanding challenge (expired, answered, or the door
    /// restarted).
    NoChallenge = 7,
    /// The enrolment, door state or log acknowledgement was refused; the detail is the
    /// `porter_protocol::Error` code.
    Rejected = 8,
    /// Storage or entropy failed: the door refuses everything until it is serviced.
    Fault = 9,
    /// The request could not be reassembled; the detail is the [`LinkError`] number (1..=7).
    Frame = 10,
    /// An enrolment outside the enrolment window: press the installer button, then resend.
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

/// The coarse verdict with wire number `n`.
pub fn coarse_from_code(n: u8) -> Option<Coarse> {
    [Coarse::Malformed, Coarse::Denied, Coarse::Expired, Coarse::Spent]
        .into_iter()
        .find(|c| coarse_code(*c) == n)
}

/// What the door says about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    /// Its protocol version.
    pub version: u8,
    /// Whether the root's enrolment is stored.
    pub enrolled: bool,
    /// The device key (validated).
    pub device_key: PublicKey,
    /// Site number (0 before enrolment).
    pub site: SiteId,
    /// Door number (0 before enrolment).
    pub door: DoorId,
    /// Records in the door's log.
    pub log_length: u64,
    /// Boots so far.
    pub boot_count: u32,
}

/// A door's refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused {
    /// Why.
    pub refusal: Refusal,
    /// A detail whose meaning depends on the refusal (an error number, or 0).
    pub detail: u16,
    /// When to try again, in ms (0: do not retry as is).
    pub retry_ms: u32,
}

/// The records of a log answer, each exact bytes (1..=128 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogRecords<'a> {
    count: u8,
    bytes: &'a [u8],
}

impl<'a> LogRecords<'a> {
    /// How many records.
    pub fn count(&self) -> u8 {
        self.count
    }

    /// The records in the door's wire form: per record a length byte and the record.
    pub fn wire_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The records, in order.
    pub fn iter(&self) -> LogIter<'a> {
        LogIter { rest: self.bytes }
    }
}

/// The records of a [`LogRecords`].
#[derive(Clone, Debug)]
pub struct LogIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for LogIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (&len, tail) = self.rest.split_first()?;
        let (record, tail) = tail.split_at_checked(usize::from(len))?;
        self.rest = tail;
        Some(record)
    }
}

/// An answer, door to phone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer<'a> {
    /// `0x81`.
    Info(Info),
    /// `0x82`: the enrolment is stored.
    Enrolled,
    /// `0x83`: the challenge, exact bytes (they are signed over) and decoded.
    Challenge(&'a [u8], Challenge),
    /// `0x84`: admitted; the device-signed receipt (1..=192 bytes), not yet verified.
    Admitted(&'a [u8]),
    /// `0x85`: denied, coarsely; the log sequence of the record that holds the reason.
    Denied {
        /// What the door tells a phone.
        coarse: Coarse,
        /// The audit record with the precise reason.
        sequence: u64,
    },
    /// `0x86`: the door state sequence now held.
    State(u64),
    /// `0x87`: up to 8 log records.
    Log(LogRecords<'a>),
    /// `0x88`: the device-signed log head (1..=192 bytes), not yet verified.
    Head(&'a [u8]),
    /// `0x89`: the acknowledged log length now in force.
    Acked(u64),
    /// `0xEE`: refused.
    Refused(Refused),
}

impl<'a> Answer<'a> {
    /// Decodes one whole answer.
    pub fn decode(bytes: &'a [u8]) -> Result<Answer<'a>, LinkError> {
        let (&t, body) = bytes.split_first().ok_or(LinkError::DecodeEmpty)?;
        Ok(match t {
            kind::A_INFO => {
                let b = exact::<{ INFO_ANSWER_LEN - 1 }>(body)?;
                let (&[version, enrolled], rest) =
                    b.split_first_chunk::<2>().ok_or(LinkError::DecodeLength)?;
                let (k, rest) = rest.split_first_chunk::<32>().ok_or(LinkError::DecodeLength)?;
                let (site, rest) = rest.split_first_chunk::<4>().ok_or(LinkError::DecodeLength)?;
                let (door, rest) = rest.split_first_chunk::<2>().ok_or(LinkError::DecodeLength)?;
                let (len, rest) = rest.split_first_chunk::<8>().ok_or(LinkError::DecodeLength)?;
                let boots: [u8; 4] = rest.try_into().map_err(|_| LinkError::DecodeLength)?;
                let enrolled = match enrolled {
                    0 => false,
                    1 => true,
                    _ => return Err(LinkError::DecodeBadValue),
                };
                Answer::Info(Info {
                    version,
                    enrolled,
                    device_key: key(*k)?,
                    site: SiteId(u32::from_le_bytes(*site)),
                    door: DoorId(u16::from_le_bytes(*door)),
                    log_length: u64::from_le_bytes(*len),
                    boot_count: u32::from_le_bytes(boots),
                })
            }
            kind::A_ENROLLED => empty(body).map(|()| Answer::Enrolled)?,
            kind::A_CHALLENGE => {
                let b = bounded(body, MAX_CHALLENGE_LEN)?;
                let c = Challenge::decode(b).map_err(|_| LinkError::DecodeBadValue)?;
                Answer::Challenge(b, c)
            }
            kind::A_ADMITTED => Answer::Admitted(bounded(body, MAX_RECEIPT_LEN)?),
            kind::A_DENIED => {
                let b = exact::<9>(body)?;
                let coarse = coarse_from_code(b[0]).ok_or(LinkError::DecodeBadValue)?;
                Answer::Denied { coarse, sequence: u64_at(&b, 1)? }
            }
            kind::A_STATE => Answer::State(u64_at(&exact::<8>(body)?, 0)?),
            kind::A_LOG => {
                let (&count, records) = body.split_first().ok_or(LinkError::DecodeLength)?;
                if count > MAX_LOG_RECORDS {
                    return Err(LinkError::DecodeBadValue);
                }
                let mut rest = records;
                for _ in 0..count {
                    let (&len, tail) = rest.split_first().ok_or(LinkError::DecodeLength)?;
                    if len == 0 || usize::from(len) > MAX_AUDIT_RECORD_LEN {
                        return Err(LinkError::DecodeLength);
                    }
                    rest = tail.get(usize::from(len)..).ok_or(LinkError::DecodeLength)?;
                }
                empty(rest)?;
                Answer::Log(LogRecords { count, bytes: records })
            }
            kind::A_HEAD => Answer::Head(bounded(body, MAX_SIGNED_HEAD_LEN)?),
            kind::A_ACKED => Answer::Acked(u64_at(&exact::<8>(body)?, 0)?),
            kind::A_REFUSED => {
                let b = exact::<7>(body)?;
                let refusal = Refusal::from_u8(b[0]).ok_or(LinkError::DecodeBadValue)?;
                Answer::Refused(Refused {
                    refusal,
                    detail: u16::from_le_bytes([b[1], b[2]]),
                    retry_ms: u32::from_le_bytes([b[3], b[4], b[5], b[6]]),
                })
            }
            _ => return Err(LinkError::DecodeUnknownType),
        })
    }

    /// Encodes the answer into `out` (a door's side; the tests' door model uses it). Every
    /// answer is a head of fixed-size fields (at most [`INFO_ANSWER_LEN`] bytes) and at most one
    /// variable-length tail, written with one `Out`: one copy of the output checks for all
    /// the answer types (the door's flash).
    pub fn encode<'b>(&self, out: &'b mut [u8]) -> Result<&'b [u8], LinkError> {
        let mut head = Head { bytes: [0; INFO_ANSWER_LEN], len: 0 };
        // The tail's bound is checked after the head is written, as it always was: a buffer too
        // small for the head is `BufferTooSmall` whatever the tail.
        let tail: Result<&[u8], LinkError> = match *self {
            Answer::Info(i) => {
                head.put(&[kind::A_INFO, i.version, u8::from(i.enrolled)]);
                head.put(&i.device_key.0);
                head.put(&i.site.0.to_le_bytes());
                head.put(&i.door.0.to_le_bytes());
                head.put(&i.log_length.to_le_bytes());
                head.put(&i.boot_count.to_le_bytes());
                Ok(&[])
            }
            Answer::Enrolled => {
                head.put(&[kind::A_ENROLLED]);
                Ok(&[])
            }
            Answer::Challenge(b, _) => {
                head.put(&[kind::A_CHALLENGE]);
                bounded(b, MAX_CHALLENGE_LEN)
            }
            Answer::Admitted(r) => {
                head.put(&[kind::A_ADMITTED]);
                bounded(r, MAX_RECEIPT_LEN)
            }
            Answer::Denied { coarse, sequence } => {
                head.put(&[kind::A_DENIED, coarse_code(coarse)]);
                head.put(&sequence.to_le_bytes());
                Ok(&[])
            }
            Answer::State(s) => {
                head.put(&[kind::A_STATE]);
                head.put(&s.to_le_bytes());
                Ok(&[])
            }
            Answer::Log(records) => {
                head.put(&[kind::A_LOG, records.count]);
                Ok(records.bytes)
            }
            Answer::Head(h) => {
                head.put(&[kind::A_HEAD]);
                bounded(h, MAX_SIGNED_HEAD_LEN)
            }
            Answer::Acked(n) => {
                head.put(&[kind::A_ACKED]);
                head.put(&n.to_le_bytes());
                Ok(&[])
            }
            Answer::Refused(r) => {
                head.put(&[kind::A_REFUSED, r.refusal as u8]);
                head.put(&r.detail.to_le_bytes());
                head.put(&r.retry_ms.to_le_bytes());
                Ok(&[])
            }
        };
        Out::new(out).put(head.bytes())?.put(tail?)?.done()
    }
}

/// An answer's fixed-size fields, gathered before they are written (see [`Answer::encode`]).
struct Head {
    bytes: [u8; INFO_ANSWER_LEN],
    len: usize,
}

impl Head {
    /// Appends `b`; the answers' heads fit by construction (the info answer is the longest).
    fn put(&mut self, b: &[u8]) {
        let end = self.len + b.len();
        if let Some(slot) = self.bytes.get_mut(self.len..end) {
            slot.copy_from_slice(b);
            self.len = end;
        }
    }

    fn bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

/// Writes a log answer's records (already in wire form: length byte, record) for
/// [`Answer::Log`]; checks them as [`Answer::decode`] would.
pub fn log_records(count: u8, wire_bytes: &[u8]) -> Result<LogRecords<'_>, LinkError> {
    let mut probe = [0u8; MAX_ANSWER_LEN];
    let w = Out::new(&mut probe).put(&[kind::A_LOG, count])?.put(wire_bytes)?;
    let bytes = w.done()?;
    match Answer::decode(bytes)? {
        Answer::Log(r) => Ok(LogRecords { count: r.count, bytes: wire_bytes }),
        _ => Err(LinkError::DecodeUnknownType),
    }
}

#[cfg(test)]
#[path = "message_equivalence.rs"]
mod equivalence;
