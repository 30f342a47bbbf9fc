//! The phone's side of the door link: the framed protocol of `porter_device::wire` over the
//! simulator's TCP stand-in for BLE (each fragment preceded by its length byte).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use porter_device::frame::{encode_link, for_each_fragment, LinkDecoder, Progress, Reassembler};
use porter_device::wire::{self, Refusal};
use porter_protocol::{AuditRecord, Challenge, Coarse, Error, LogHead, PublicKey};

use crate::Failure;

/// What `0x01 info` answers.
#[derive(Clone, Debug)]
pub struct Info {
    /// Whether the root's enrolment is stored.
    pub enrolled: bool,
    /// The device key.
    pub device_key: PublicKey,
    /// Site number (0 before enrolment).
    pub site: u32,
    /// Door number (0 before enrolment).
    pub door: u16,
    /// Records in the door's log.
    pub log_length: u64,
    /// Boots so far.
    pub boot_count: u32,
}

/// The door's answer to a presentation.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// The door opened; the device-signed receipt.
    Admitted(Vec<u8>),
    /// The door stayed shut: the coarse reason it told the phone, and the audit record that
    /// holds the precise one.
    Denied {
        /// What the door may tell a phone.
        coarse: Coarse,
        /// The log sequence of the rejection record.
        sequence: u64,
    },
}

/// A phone connected to a door.
pub struct Link {
    stream: TcpStream,
    next_id: u8,
}

impl Link {
    /// Connects to the door at `addr` (a new phone replaces the previous one there).
    pub fn connect(addr: &str) -> Result<Link, Failure> {
        let stream = TcpStream::connect(addr)
            .map_err(|e| Failure::new(format!("cannot reach the door at {addr}: {e}")))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .and_then(|()| stream.set_nodelay(true))
            .map_err(|e| Failure::new(format!("the door link: {e}")))?;
        Ok(Link { stream, next_id: 0x40 })
    }

    /// Sends one request and returns the door's whole answer.
    pub fn call(&mut self, request: &[u8]) -> Result<Vec<u8>, Failure> {
        let mut bytes = Vec::new();
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        for_each_fragment::<()>(id, request, |f| {
            encode_link::<()>(f, |b| {
                bytes.push(b);
                Ok(())
            })
        })
        .map_err(|()| Failure::new("cannot frame the request"))?;
        self.stream
            .write_all(&bytes)
            .map_err(|e| Failure::new(format!("sending to the door: {e}")))?;
        let mut decoder = LinkDecoder::new();
        let mut reassembler = Reassembler::new();
        let mut buf = [0u8; 512];
        loop {
            let n = self
                .stream
                .read(&mut buf)
                .map_err(|e| Failure::new(format!("no answer from the door: {e}")))?;
            if n == 0 {
                return Err(Failure::new("the door closed the link"));
            }
            for &b in buf.get(..n).unwrap_or(&[]) {
                if let Some(fragment) = decoder.push(b) {
                    if let Ok(Progress::Complete(len)) = reassembler.push(fragment, 0) {
                        return Ok(reassembler.message().get(..len).unwrap_or(&[]).to_vec());
                    }
                }
            }
        }
    }

    /// `0x01 info`.
    pub fn info(&mut self) -> Result<Info, Failure> {
        let a = self.call(&[wire::REQ_INFO])?;
        let bad = || Failure::new(format!("a malformed info answer: {}", describe(&a)));
        if a.first() != Some(&wire::RESP_INFO) || a.len() != 1 + 1 + 1 + 32 + 4 + 2 + 8 + 4 {
            return Err(bad());
        }
        let key: [u8; 32] = a.get(3..35).and_then(|k| k.try_into().ok()).ok_or_else(bad)?;
        let le = |r: std::ops::Range<usize>| -> Result<u64, Failure> {
            let b = a.get(r).ok_or_else(bad)?;
            Ok(b.iter().rev().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
        };
        Ok(Info {
            enrolled: a.get(2) == Some(&1),
            device_key: PublicKey(key),
            site: le(35..39)? as u32,
            door: le(39..41)? as u16,
            log_length: le(41..49)?,
            boot_count: le(49..53)? as u32,
        })
    }

    /// `0x02 enrol`: stores the root key and the root's enrolment of this device.
    pub fn enrol(&mut self, root: &PublicKey, enrolment: &[u8]) -> Result<(), Failure> {
        let mut m = vec![wire::REQ_ENROL];
        m.extend_from_slice(&root.0);
        m.extend_from_slice(enrolment);
        let a = self.call(&m)?;
        if a != [wire::RESP_ENROLLED] {
            return Err(Failure::new(format!("the door refused its enrolment: {}", describe(&a))));
        }
        Ok(())
    }

    /// `0x03 challenge`: the door's fresh challenge, exact bytes and decoded.
    pub fn challenge(&mut self) -> Result<(Vec<u8>, Challenge), Failure> {
        let a = self.call(&[wire::REQ_CHALLENGE])?;
        match a.split_first() {
            Some((&wire::RESP_CHALLENGE, bytes)) => {
                let c = Challenge::decode(bytes).map_err(|e| {
                    Failure::new(format!("the door's challenge does not decode: {}", e.name()))
                })?;
                Ok((bytes.to_vec(), c))
            }
            _ => Err(Failure::new(format!("no challenge from the door: {}", describe(&a)))),
        }
    }

    /// `0x04 present`.
    pub fn present(&mut self, presentation: &[u8]) -> Result<Verdict, Failure> {
        let mut m = vec![wire::REQ_PRESENT];
        m.extend_from_slice(presentation);
        let a = self.call(&m)?;
        match a.split_first() {
            Some((&wire::RESP_ADMITTED, receipt)) => Ok(Verdict::Admitted(receipt.to_vec())),
            Some((&wire::RESP_DENIED, [coarse, seq @ ..])) if seq.len() == 8 => {
                let coarse = match coarse {
                    1 => Coarse::Malformed,
                    2 => Coarse::Denied,
                    3 => Coarse::Expired,
                    4 => Coarse::Spent,
                    n => return Err(Failure::new(format!("unknown coarse verdict {n}"))),
                };
                let sequence = wire::read_u64(seq).unwrap_or(0);
                Ok(Verdict::Denied { coarse, sequence })
            }
            _ => Err(Failure::new(format!("no verdict from the door: {}", describe(&a)))),
        }
    }

    /// `0x05 door state`: returns the sequence the door now holds.
    pub fn door_state(&mut self, state: &[u8]) -> Result<u64, Failure> {
        let mut m = vec![wire::REQ_DOOR_STATE];
        m.extend_from_slice(state);
        let a = self.call(&m)?;
        match a.split_first() {
            Some((&wire::RESP_STATE, seq)) if seq.len() == 8 => {
                Ok(wire::read_u64(seq).unwrap_or(0))
            }
            _ => {
                Err(Failure::new(format!("the door did not take the door state: {}", describe(&a))))
            }
        }
    }

    /// `0x08 log ack`: carries the server's acknowledgement (`log_ack` of an audit batch) for
    /// `length` records; returns the acknowledged length the door now holds.
    pub fn log_ack(&mut self, length: u64, tag: &[u8]) -> Result<u64, Failure> {
        let mut m = vec![wire::REQ_LOG_ACK];
        m.extend_from_slice(&length.to_le_bytes());
        m.extend_from_slice(tag);
        let a = self.call(&m)?;
        match a.split_first() {
            Some((&wire::RESP_ACKED, acked)) if acked.len() == 8 => {
                Ok(wire::read_u64(acked).unwrap_or(0))
            }
            _ => Err(Failure::new(format!("the door did not take the log ack: {}", describe(&a)))),
        }
    }

    /// `0x06 read log` until the end: every record from `from`, exact bytes.
    pub fn read_log(&mut self, from: u64) -> Result<Vec<Vec<u8>>, Failure> {
        let mut out = Vec::new();
        loop {
            let mut m = vec![wire::REQ_READ_LOG];
            m.extend_from_slice(&(from + out.len() as u64).to_le_bytes());
            m.push(wire::MAX_LOG_RECORDS);
            let a = self.call(&m)?;
            let bad = || Failure::new(format!("a malformed log answer: {}", describe(&a)));
            let (&kind, rest) = a.split_first().ok_or_else(bad)?;
            let (&count, mut rest) = rest.split_first().ok_or_else(bad)?;
            if kind != wire::RESP_LOG {
                return Err(bad());
            }
            for _ in 0..count {
                let (&len, tail) = rest.split_first().ok_or_else(bad)?;
                let (record, tail) = tail.split_at_checked(usize::from(len)).ok_or_else(bad)?;
                out.push(record.to_vec());
                rest = tail;
            }
            if count == 0 {
                return Ok(out);
            }
        }
    }

    /// One record of the log, decoded.
    pub fn record(&mut self, sequence: u64) -> Result<AuditRecord, Failure> {
        let mut m = vec![wire::REQ_READ_LOG];
        m.extend_from_slice(&sequence.to_le_bytes());
        m.push(1);
        let a = self.call(&m)?;
        let bytes = match a.as_slice() {
            [wire::RESP_LOG, 1, len, rest @ ..] if rest.len() == usize::from(*len) => rest,
            _ => return Err(Failure::new(format!("no log record {sequence}: {}", describe(&a)))),
        };
        let r = AuditRecord::decode(bytes).map_err(|e| {
            Failure::new(format!("log record {sequence} does not decode: {}", e.name()))
        })?;
        if r.sequence != sequence {
            return Err(Failure::new(format!(
                "asked for log record {sequence}, the door sent {} (overwritten?)",
                r.sequence
            )));
        }
        Ok(r)
    }

    /// `0x07 log head`: the device-signed head, exact bytes.
    pub fn log_head(&mut self) -> Result<Vec<u8>, Failure> {
        let a = self.call(&[wire::REQ_LOG_HEAD])?;
        match a.split_first() {
            Some((&wire::RESP_HEAD, head)) => Ok(head.to_vec()),
            _ => Err(Failure::new(format!("no log head: {}", describe(&a)))),
        }
    }

    /// Checks a log head under the device key.
    pub fn verify_head(head: &[u8], device: &PublicKey) -> Result<LogHead, Failure> {
        LogHead::decode_verified(head, device)
            .map_err(|e| Failure::new(format!("the door's log head does not verify: {}", e.name())))
    }
}

/// A readable account of an answer, refusals spelled out.
pub fn describe(answer: &[u8]) -> String {
    match answer {
        [wire::RESP_REFUSED, why, d0, d1, r0, r1, r2, r3] => {
            let detail = u16::from_le_bytes([*d0, *d1]);
            let retry = u32::from_le_bytes([*r0, *r1, *r2, *r3]);
            let why = Refusal::from_u8(*why)
                .map_or_else(|| format!("refusal {why}"), |r| format!("{r:?}"));
            let detail = match Error::from_code(detail) {
                Some(e) if detail != 0 => format!(", reason {detail} {}", e.name()),
                _ if detail != 0 => format!(", detail {detail}"),
                _ => String::new(),
            };
            let retry = if retry > 0 { format!(", retry after {retry} ms") } else { String::new() };
            format!("refused: {why}{detail}{retry}")
        }
        [] => "an empty answer".into(),
        [kind, ..] => format!("answer type 0x{kind:02x}, {} bytes", answer.len()),
    }
}
