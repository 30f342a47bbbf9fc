//! A minimal door behind the link, for tests and the vectors' generator (feature
//! `door-model`, never in a product): `porter-protocol`'s [`DoorMemory`] decides, a `Vec` holds
//! the log, and the door answers as `spec/link.md` says a door answers. It is the reference the
//! phone session is tested against, not the firmware: the firmware's controller adds storage,
//! back-off, the relay and the alarms.

use std::vec::Vec;

use porter_protocol::{
    record, AuditEvent, ChainHash, Challenge, Decision, DoorConfig, DoorMemory, Error, LogHead,
    SigningKey, Time, MAX_CHALLENGE_LEN, MAX_LOG_HEAD_LEN, MAX_RECEIPT_LEN, VERSION,
};

use crate::door::{DoorEvent, DoorLink};
use crate::frame;
use crate::message::{Answer, Info, Refusal, Refused, Request, MAX_LOG_RECORDS};

/// A door for tests.
#[derive(Debug)]
pub struct DoorModel {
    /// Its configuration.
    pub config: DoorConfig,
    /// Its memory (survives [`DoorModel::reboot`], as the firmware persists it).
    pub memory: DoorMemory,
    /// Its wall clock.
    pub clock: Time,
    /// How many times the relay moved.
    pub releases: u32,
    /// Refuse the next presentation with `BackOff` and this wait (ms), once.
    pub back_off_next_present: Option<u32>,
    device: SigningKey,
    rx: std::boxed::Box<DoorLink>,
    challenge: Option<Challenge>,
    log: Vec<Vec<u8>>,
    prev: ChainHash,
    boots: u32,
    attempts: u32,
}

impl DoorModel {
    /// An enrolled door with a fresh memory (floor 0), at `clock`, on a link of `mtu`.
    pub fn new(config: DoorConfig, device: SigningKey, mtu: usize, clock: Time) -> DoorModel {
        DoorModel {
            memory: DoorMemory::new(config.site, Time(0)),
            config,
            clock,
            releases: 0,
            back_off_next_present: None,
            device,
            rx: std::boxed::Box::new(DoorLink::new(mtu)),
            challenge: None,
            log: Vec::new(),
            prev: ChainHash::GENESIS,
            boots: 1,
            attempts: 0,
        }
    }

    /// Power lost and back: the outstanding challenge and any partial message are gone; the
    /// memory and the log stay; a `Boot` record is logged.
    pub fn reboot(&mut self) {
        self.challenge = None;
        self.rx.reset();
        self.boots += 1;
        self.append(AuditEvent::Boot);
    }

    /// The log's records, exact bytes.
    pub fn log(&self) -> &[Vec<u8>] {
        &self.log
    }

    /// Takes one fragment; returns the fragments of the answer, if one is due.
    pub fn receive(&mut self, now_ms: u64, fragment: &[u8]) -> Vec<Vec<u8>> {
        let (id, answer) = match self.rx.push(fragment, now_ms) {
            DoorEvent::Nothing => return Vec::new(),
            DoorEvent::Request(id) => {
                let request = self.rx.request().to_vec();
                (id, self.handle(&request))
            }
            DoorEvent::Refuse(id, refused) => (id, encode(&Answer::Refused(refused))),
        };
        let mut out = Vec::new();
        let _ = self.rx.send::<()>(id, &answer, |f| {
            out.push(f.to_vec());
            Ok(())
        });
        out
    }

    /// Answers one whole request.
    pub fn handle(&mut self, request: &[u8]) -> Vec<u8> {
        let refuse = |refusal: Refusal, detail: u16| {
            encode(&Answer::Refused(Refused { refusal, detail, retry_ms: 0 }))
        };
        let Ok(request) = Request::decode(request) else {
            return refuse(Refusal::Malformed, 0);
        };
        match request {
            Request::Info => encode(&Answer::Info(Info {
                version: VERSION,
                enrolled: true,
                device_key: self.device.public_key(),
                site: self.config.site,
                door: self.config.door,
                log_length: self.log.len() as u64,
                boot_count: self.boots,
            })),
            Request::Enrol { .. } => refuse(Refusal::AlreadyEnrolled, 0),
            // A lost answer costs one round trip, not the challenge's lifetime: the
            // outstanding challenge is answered again (spec/link.md, section 6).
            Request::Challenge if self.challenge.is_some() => {
                let mut buf = [0u8; MAX_CHALLENGE_LEN];
                match self.challenge.map(|c| (c, c.encode(&mut buf))) {
                    Some((c, Ok(bytes))) => encode(&Answer::Challenge(bytes, c)),
                    _ => refuse(Refusal::Fault, 0),
                }
            }
            Request::Challenge => {
                self.attempts += 1;
                let mut nonce = [0u8; 16];
                for (n, b) in nonce
                    .iter_mut()
                    .zip(self.boots.to_le_bytes().into_iter().chain(self.attempts.to_le_bytes()))
                {
                    *n = b;
                }
                let c = Challenge::new(self.config.site, self.config.door, nonce, self.clock);
                self.challenge = Some(c);
                let mut buf = [0u8; MAX_CHALLENGE_LEN];
                match c.encode(&mut buf) {
                    Ok(bytes) => encode(&Answer::Challenge(bytes, c)),
                    Err(_) => refuse(Refusal::Fault, 0),
                }
            }
            Request::Present(p) => {
                let Some(challenge) = self.challenge else {
                    return refuse(Refusal::NoChallenge, 0);
                };
                if let Some(wait) = self.back_off_next_present.take() {
                    return encode(&Answer::Refused(Refused {
                        refusal: Refusal::BackOff,
                        detail: 0,
                        retry_ms: wait,
                    }));
                }
                self.challenge = None;
                match self.memory.admit(&self.config, self.clock, &challenge, p) {
                    Decision::Admit(a) => {
                        let r = self.append(AuditEvent::Admitted {
                            issuer: a.issuer,
                            grant_serial: a.grant_serial,
                            use_index: a.use_index,
                            holder: a.holder,
                            role: a.role,
                            package: a.package,
                        });
                        self.releases += 1;
                        let mut buf = [0u8; MAX_RECEIPT_LEN];
                        match r.seal_receipt(&self.device, &mut buf) {
                            Ok(receipt) => encode(&Answer::Admitted(receipt)),
                            Err(_) => refuse(Refusal::Fault, 0),
                        }
                    }
                    Decision::Reject(e) => {
                        let sequence = self.log.len() as u64;
                        self.append(AuditEvent::Rejected { reason: e.code() });
                        encode(&Answer::Denied { coarse: e.coarse(), sequence })
                    }
                }
            }
            Request::DoorState(s) => match self.memory.apply_door_state(&self.config, s) {
                Ok(sequence) => encode(&Answer::State(sequence)),
                Err(e) => refuse(Refusal::Rejected, e.code()),
            },
            Request::ReadLog { from, max } => {
                let mut wire = Vec::new();
                let mut count = 0u8;
                for r in self.log.iter().skip(usize::try_from(from).unwrap_or(usize::MAX)) {
                    if count == max.min(MAX_LOG_RECORDS) {
                        break;
                    }
                    wire.push(r.len() as u8);
                    wire.extend_from_slice(r);
                    count += 1;
                }
                match crate::message::log_records(count, &wire) {
                    Ok(records) => encode(&Answer::Log(records)),
                    Err(_) => refuse(Refusal::Fault, 0),
                }
            }
            Request::LogHead => {
                let head = LogHead {
                    version: VERSION,
                    site: self.config.site,
                    door: self.config.door,
                    length: self.log.len() as u64,
                    head: self.prev,
                    at: self.clock,
                };
                let mut buf = [0u8; MAX_LOG_HEAD_LEN + 64];
                match head.seal(&self.device, &mut buf) {
                    Ok(bytes) => encode(&Answer::Head(bytes)),
                    Err(_) => refuse(Refusal::Fault, 0),
                }
            }
            Request::LogAck { .. } => refuse(Refusal::Rejected, Error::AuditBadSignature.code()),
        }
    }

    fn append(&mut self, event: AuditEvent) -> porter_protocol::AuditRecord {
        let r = record(
            self.config.site,
            self.config.door,
            self.log.len() as u64,
            self.clock,
            self.prev,
            event,
        );
        let mut buf = [0u8; porter_protocol::MAX_AUDIT_RECORD_LEN];
        if let (Ok(bytes), Ok(hash)) = (r.encode(&mut buf), r.chain_hash()) {
            self.prev = hash;
            self.log.push(bytes.to_vec());
        }
        r
    }
}

fn encode(answer: &Answer<'_>) -> Vec<u8> {
    let mut buf = std::vec![0u8; crate::MAX_ANSWER_LEN];
    match answer.encode(&mut buf) {
        Ok(bytes) => bytes.to_vec(),
        Err(_) => Vec::new(),
    }
}

/// What happens to the radio at a phone-to-door fragment (counted from 0 over the session).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RadioEvent {
    /// The fragment is lost.
    LoseUp,
    /// The fragment arrives; every fragment of the door's answer to it is lost.
    LoseAnswer,
    /// The link drops as the phone sends this fragment (lost); the phone reconnects.
    Disconnect,
    /// The door restarts just before this fragment arrives.
    RebootBefore,
    /// The fragment arrives, the door acts on it, then restarts before answering.
    RebootAfter,
}

/// Which way a recorded fragment went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Phone to door.
    Up,
    /// Door to phone.
    Down,
    /// The phone reconnected (no bytes).
    Reconnect,
}

/// A simulated radio between a [`crate::PhoneSession`] and a [`DoorModel`]: per-fragment
/// latency, scripted losses, disconnects and door restarts; it records the transcript.
#[derive(Debug, Default)]
pub struct Radio {
    /// Time per fragment in flight (ms).
    pub latency_ms: u64,
    /// Scripted events by phone-to-door fragment number.
    pub events: Vec<(usize, RadioEvent)>,
    /// Every fragment delivered or lost: direction, time (a phone fragment's: when the session
    /// gave it; a door fragment's: when it arrived), bytes, whether it was delivered.
    pub transcript: Vec<(Direction, u64, Vec<u8>, bool)>,
    /// Requests started (fragments with index 0 sent by the phone).
    pub requests: usize,
    /// The clock (ms).
    pub now: u64,
}

impl Radio {
    /// Runs `session` against `door` until it ends (or 10,000 steps); signs with `external`
    /// when the session asks for an external signature.
    pub fn run(
        &mut self,
        session: &mut crate::PhoneSession<'_, '_, '_>,
        door: &mut DoorModel,
        external: Option<&SigningKey>,
    ) -> crate::Status {
        let mut up = 0usize;
        let mut buf = [0u8; frame::MAX_MTU];
        for _ in 0..10_000 {
            while let Some(n) = session.transmit(self.now, &mut buf) {
                let fragment = buf.get(..n).unwrap_or(&[]).to_vec();
                if fragment.get(1) == Some(&0) {
                    self.requests += 1;
                }
                let event = self.events.iter().find(|(i, _)| *i == up).map(|(_, e)| *e);
                up += 1;
                let delivered = !matches!(event, Some(RadioEvent::LoseUp | RadioEvent::Disconnect));
                self.transcript.push((Direction::Up, self.now, fragment.clone(), delivered));
                self.now += self.latency_ms;
                if event == Some(RadioEvent::Disconnect) {
                    self.now += 100;
                    self.transcript.push((Direction::Reconnect, self.now, Vec::new(), true));
                    session.reconnected(self.now);
                    continue;
                }
                if !delivered {
                    continue;
                }
                if event == Some(RadioEvent::RebootBefore) {
                    door.reboot();
                }
                let answers = door.receive(self.now, &fragment);
                let lost = matches!(event, Some(RadioEvent::LoseAnswer | RadioEvent::RebootAfter));
                if event == Some(RadioEvent::RebootAfter) {
                    door.reboot();
                }
                for a in answers {
                    self.now += self.latency_ms;
                    self.transcript.push((Direction::Down, self.now, a.clone(), !lost));
                    if !lost {
                        session.receive(self.now, &a);
                    }
                }
            }
            match session.status() {
                crate::Status::Done(_) => return session.status(),
                crate::Status::NeedSignature => {
                    let Some(key) = external else { return session.status() };
                    let mut msg = [0u8; porter_protocol::MAX_PROOF_MESSAGE_LEN];
                    let Ok(m) = session.proof_message(&mut msg) else { return session.status() };
                    // A platform signer signs the whole message; the fixture key adds the tag
                    // itself, so it signs what follows the tag.
                    let tag = porter_protocol::Domain::HolderProof.tag();
                    let rest = m.get(tag.len()..).unwrap_or(&[]);
                    let Ok(sig) = key.sign_parts_in::<{ porter_protocol::MAX_PROOF_MESSAGE_LEN }>(
                        porter_protocol::Domain::HolderProof,
                        &[rest],
                    ) else {
                        return session.status();
                    };
                    session.provide_signature(self.now, &sig.0);
                }
                crate::Status::Running => {
                    if let Some(d) = session.deadline() {
                        self.now = self.now.max(d);
                        session.tick(self.now);
                    }
                }
            }
        }
        session.status()
    }
}
