//! The phone's side of the door link (`spec/link.md`), over the simulator's TCP stand-in for
//! BLE: a stream link, each fragment preceded by its length byte, MTU 255. Visits are
//! `porter_link::PhoneSession`s whose holder proof the driver's FFI key signs; the maintenance
//! calls (info, enrolment, door state, log) are typed `porter_link::Request`s and `Answer`s.
//! Nothing here knows a byte offset of the link.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use porter_link::frame::{for_each_fragment, stream_prefix, MAX_MTU};
use porter_link::{
    Answer, Buffers, Holder, Outcome, PhoneSession, Progress, Reassembler, Refused, Request,
    SessionConfig, Status, StreamDecoder, MAX_ANSWER_LEN, MAX_LOG_RECORDS, MAX_REQUEST_LEN,
};
use porter_protocol::{AuditRecord, Challenge, Coarse, DoorId, Error, LogHead, PublicKey, SiteId};

use crate::phone::HolderKey;
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
    /// The door opened; the device-signed receipt (verified by the session).
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

/// One visit at the door, as the phone saw it.
#[derive(Clone, Debug)]
pub struct Visit {
    /// The verdict.
    pub verdict: Verdict,
    /// The challenge the phone answered, exact bytes and decoded.
    pub challenge: (Vec<u8>, Challenge),
    /// The size of the presentation it sent.
    pub presentation_len: usize,
}

/// Which door a visit means to open, and what the driver's phone carries to it.
pub struct Errand<'a> {
    /// The door's device key, from the server (the session checks the receipt under it).
    pub device_key: PublicKey,
    /// The door: a challenge from another one ends the visit before anything is signed.
    pub door: (SiteId, DoorId),
    /// The signed grant, exact bytes.
    pub grant: &'a [u8],
    /// The issuer's certificate, exact bytes.
    pub certificate: &'a [u8],
    /// A signed door state to carry, if any.
    pub door_state: Option<&'a [u8]>,
}

/// The simulator's stream link MTU (`spec/link.md` 2.4).
const MTU: usize = MAX_MTU;
/// How long the demo waits for one maintenance answer.
const ANSWER_WAIT: Duration = Duration::from_secs(10);

/// A phone connected to a door.
pub struct Link {
    stream: TcpStream,
    next_id: u8,
    decoder: StreamDecoder,
}

impl Link {
    /// Connects to the door at `addr` (a new phone replaces the previous one there).
    pub fn connect(addr: &str) -> Result<Link, Failure> {
        let stream = TcpStream::connect(addr)
            .map_err(|e| Failure::new(format!("cannot reach the door at {addr}: {e}")))?;
        stream
            .set_read_timeout(Some(ANSWER_WAIT))
            .and_then(|()| stream.set_nodelay(true))
            .map_err(|e| Failure::new(format!("the door link: {e}")))?;
        Ok(Link { stream, next_id: 0x40, decoder: StreamDecoder::new() })
    }

    fn send_fragment(&mut self, fragment: &[u8]) -> Result<(), Failure> {
        let prefix =
            stream_prefix(fragment).ok_or_else(|| Failure::new("an unframable fragment"))?;
        self.stream
            .write_all(&[&[prefix][..], fragment].concat())
            .map_err(|e| Failure::new(format!("sending to the door: {e}")))
    }

    /// Sends one request and returns the door's whole answer to it.
    fn call(&mut self, request: Request<'_>) -> Result<Vec<u8>, Failure> {
        let mut buf = vec![0u8; MAX_REQUEST_LEN];
        let message = request
            .encode(&mut buf)
            .map_err(|e| Failure::new(format!("cannot encode the request: {e}")))?;
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let mut fragments = Vec::new();
        for_each_fragment::<()>(id, message, MTU, |f| {
            fragments.push(f.to_vec());
            Ok(())
        })
        .map_err(|e| Failure::new(format!("cannot frame the request: {e}")))?
        .map_err(|()| Failure::new("cannot frame the request"))?;
        for f in &fragments {
            self.send_fragment(f)?;
        }
        let mut rx = Reassembler::new(vec![0u8; MAX_ANSWER_LEN], MTU);
        let mut bytes = [0u8; 512];
        loop {
            let n = self
                .stream
                .read(&mut bytes)
                .map_err(|e| Failure::new(format!("no answer from the door: {e}")))?;
            if n == 0 {
                return Err(Failure::new("the door closed the link"));
            }
            for &b in bytes.get(..n).unwrap_or(&[]) {
                if let Some(fragment) = self.decoder.push(b) {
                    if let Ok(Progress::Complete { id: answered, .. }) = rx.push(fragment, 0) {
                        if answered == id {
                            return Ok(rx.message().to_vec());
                        }
                    }
                }
            }
        }
    }

    /// `info`.
    pub fn info(&mut self) -> Result<Info, Failure> {
        let a = self.call(Request::Info)?;
        match Answer::decode(&a) {
            Ok(Answer::Info(i)) => Ok(Info {
                enrolled: i.enrolled,
                device_key: i.device_key,
                site: i.site.0,
                door: i.door.0,
                log_length: i.log_length,
                boot_count: i.boot_count,
            }),
            _ => Err(Failure::new(format!("no info from the door: {}", describe(&a)))),
        }
    }

    /// `enrol`: stores the root key and the root's enrolment of this device.
    pub fn enrol(&mut self, root: &PublicKey, enrolment: &[u8]) -> Result<(), Failure> {
        let a = self.call(Request::Enrol { root: *root, enrolment })?;
        match Answer::decode(&a) {
            Ok(Answer::Enrolled) => Ok(()),
            _ => Err(Failure::new(format!("the door refused its enrolment: {}", describe(&a)))),
        }
    }

    /// A whole visit: `porter_link::PhoneSession` over this link (challenge, presentation,
    /// receipt checked under the device key), the holder proof signed by the driver's key in
    /// the FFI. Ends in a verdict, or a failure naming the session's outcome.
    pub fn visit(&mut self, phone: &HolderKey, errand: &Errand<'_>) -> Result<Visit, Failure> {
        let mut cfg = SessionConfig::new(errand.grant, errand.certificate);
        cfg.mtu = MTU;
        cfg.device_key = Some(errand.device_key);
        cfg.expected_door = Some(errand.door);
        cfg.door_state = errand.door_state;
        let (mut request, mut answer) = (vec![0u8; MAX_REQUEST_LEN], vec![0u8; MAX_ANSWER_LEN]);
        let buffers = Buffers { request: &mut request, answer: &mut answer, log: &mut [] };
        let start = Instant::now();
        let now = || u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let mut session = PhoneSession::new(cfg, Holder::External, buffers, now());
        let mut signed: Option<(Vec<u8>, usize)> = None;
        self.stream
            .set_read_timeout(Some(Duration::from_millis(5)))
            .map_err(|e| Failure::new(format!("the door link: {e}")))?;
        let mut fragment = [0u8; MAX_MTU];
        let mut bytes = [0u8; 1024];
        let outcome = loop {
            if let Status::Done(outcome) = session.status() {
                break outcome;
            }
            if start.elapsed() > Duration::from_secs(60) {
                return Err(Failure::new("the visit did not end within a minute"));
            }
            if session.status() == Status::NeedSignature {
                // The driver's key lives behind the FFI: it signs the proof by building the
                // presentation for the session's challenge; the session takes its signature.
                let challenge = session.challenge().unwrap_or(&[]).to_vec();
                let p = phone.present(
                    &challenge,
                    errand.grant,
                    errand.certificate,
                    errand.door_state,
                )?;
                let signature: [u8; 64] = p
                    .get(p.len().saturating_sub(64)..)
                    .and_then(|s| s.try_into().ok())
                    .ok_or_else(|| Failure::new("the phone's presentation has no proof"))?;
                session.provide_signature(now(), &signature);
                signed = Some((challenge, p.len()));
                continue;
            }
            while let Some(n) = session.transmit(now(), &mut fragment) {
                self.send_fragment(fragment.get(..n).unwrap_or(&[]))?;
            }
            match self.stream.read(&mut bytes) {
                Ok(0) => return Err(Failure::new("the door closed the link")),
                Ok(n) => {
                    for &b in bytes.get(..n).unwrap_or(&[]) {
                        if let Some(f) = self.decoder.push(b) {
                            session.receive(now(), f);
                        }
                    }
                }
                Err(e)
                    if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                Err(e) => return Err(Failure::new(format!("the door link: {e}"))),
            }
            session.tick(now());
        };
        self.stream
            .set_read_timeout(Some(ANSWER_WAIT))
            .map_err(|e| Failure::new(format!("the door link: {e}")))?;
        let verdict = match outcome {
            Outcome::Admitted => Verdict::Admitted(session.receipt().unwrap_or(&[]).to_vec()),
            Outcome::DeniedMalformed
            | Outcome::Denied
            | Outcome::DeniedExpired
            | Outcome::DeniedSpent => Verdict::Denied {
                coarse: match outcome {
                    Outcome::DeniedMalformed => Coarse::Malformed,
                    Outcome::DeniedExpired => Coarse::Expired,
                    Outcome::DeniedSpent => Coarse::Spent,
                    _ => Coarse::Denied,
                },
                sequence: session.denied_sequence().unwrap_or(0),
            },
            other => {
                let refused = session.refused().map(|r| format!(" ({})", refusal(r)));
                return Err(Failure::new(format!(
                    "the visit ended {} (outcome {}){}",
                    other.name(),
                    other.code(),
                    refused.unwrap_or_default()
                )));
            }
        };
        let (challenge, presentation_len) =
            signed.ok_or_else(|| Failure::new("a verdict without a presentation"))?;
        let decoded = Challenge::decode(&challenge).map_err(|e| {
            Failure::new(format!("the door's challenge does not decode: {}", e.name()))
        })?;
        Ok(Visit { verdict, challenge: (challenge, decoded), presentation_len })
    }

    /// `door state`: returns the sequence the door now holds.
    pub fn door_state(&mut self, state: &[u8]) -> Result<u64, Failure> {
        let a = self.call(Request::DoorState(state))?;
        match Answer::decode(&a) {
            Ok(Answer::State(sequence)) => Ok(sequence),
            _ => {
                Err(Failure::new(format!("the door did not take the door state: {}", describe(&a))))
            }
        }
    }

    /// `log ack`: carries the server's acknowledgement (`log_ack` of an audit batch) for
    /// `length` records; returns the acknowledged length the door now holds.
    pub fn log_ack(&mut self, length: u64, tag: &[u8]) -> Result<u64, Failure> {
        let tag: [u8; 16] = tag
            .try_into()
            .map_err(|_| Failure::new(format!("a log ack tag is 16 bytes, not {}", tag.len())))?;
        let a = self.call(Request::LogAck { length, tag })?;
        match Answer::decode(&a) {
            Ok(Answer::Acked(acked)) => Ok(acked),
            _ => Err(Failure::new(format!("the door did not take the log ack: {}", describe(&a)))),
        }
    }

    /// `read log` until the end: every record from `from`, exact bytes.
    pub fn read_log(&mut self, from: u64) -> Result<Vec<Vec<u8>>, Failure> {
        let mut out: Vec<Vec<u8>> = Vec::new();
        loop {
            let next = from + out.len() as u64;
            let a = self.call(Request::ReadLog { from: next, max: MAX_LOG_RECORDS })?;
            let Ok(Answer::Log(page)) = Answer::decode(&a) else {
                return Err(Failure::new(format!("a malformed log answer: {}", describe(&a))));
            };
            out.extend(page.iter().map(<[u8]>::to_vec));
            if page.count() == 0 {
                return Ok(out);
            }
        }
    }

    /// One record of the log, decoded.
    pub fn record(&mut self, sequence: u64) -> Result<AuditRecord, Failure> {
        let a = self.call(Request::ReadLog { from: sequence, max: 1 })?;
        let bytes = match Answer::decode(&a) {
            Ok(Answer::Log(page)) if page.count() == 1 => page.iter().next().unwrap_or(&[]),
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

    /// `log head`: the device-signed head, exact bytes.
    pub fn log_head(&mut self) -> Result<Vec<u8>, Failure> {
        let a = self.call(Request::LogHead)?;
        match Answer::decode(&a) {
            Ok(Answer::Head(head)) => Ok(head.to_vec()),
            _ => Err(Failure::new(format!("no log head: {}", describe(&a)))),
        }
    }

    /// Checks a log head under the device key.
    pub fn verify_head(head: &[u8], device: &PublicKey) -> Result<LogHead, Failure> {
        LogHead::decode_verified(head, device)
            .map_err(|e| Failure::new(format!("the door's log head does not verify: {}", e.name())))
    }
}

/// A refusal spelled out.
fn refusal(r: Refused) -> String {
    let detail = match Error::from_code(r.detail) {
        Some(e) if r.detail != 0 => format!(", reason {} {}", r.detail, e.name()),
        _ if r.detail != 0 => format!(", detail {}", r.detail),
        _ => String::new(),
    };
    let retry =
        if r.retry_ms > 0 { format!(", retry after {} ms", r.retry_ms) } else { String::new() };
    format!("refused: {:?}{detail}{retry}", r.refusal)
}

/// A readable account of an answer, refusals spelled out.
pub fn describe(answer: &[u8]) -> String {
    match Answer::decode(answer) {
        Ok(Answer::Refused(r)) => refusal(r),
        Ok(other) => format!("an unexpected answer {other:?}"),
        Err(e) => format!("an answer that does not decode ({e}), {} bytes", answer.len()),
    }
}
