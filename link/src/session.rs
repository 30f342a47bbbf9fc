//! The phone's side of one visit to a door, sans-IO (`spec/link.md`, "The exchange").
//!
//! The app owns the transport and the clock. It calls [`PhoneSession::transmit`] for the next
//! fragment to send, [`PhoneSession::receive`] with every fragment that arrives,
//! [`PhoneSession::tick`] at [`PhoneSession::deadline`], and [`PhoneSession::reconnected`]
//! after a new link to the same door. Nothing blocks and nothing is allocated: the session
//! writes into the caller's [`Buffers`].
//!
//! The order: `info` (only if the app does not know the device key), `challenge`, `present`
//! (the relay moves here: two round trips from a connected link), then, after any verdict, the
//! signed log head and the log records from where the app's server left off.
//!
//! Never twice: a presentation answers one challenge, and the door decides on a challenge once.
//! The session re-sends the same presentation bytes after a lost answer (the door then either
//! decides, if it never got them, or refuses with `NoChallenge`); it signs a new presentation
//! only when no copy of the old one can have been decided ([`Outcome::VerdictUnknown`]
//! otherwise).

use porter_protocol::{
    holder_proof_message, present, AuditEvent, AuditRecord, Challenge, Coarse, DoorId, Grant,
    LogHead, Presentation, PublicKey, SigningKey, SiteId, MAX_CHALLENGE_LEN, MAX_RECEIPT_LEN,
};

use crate::error::LinkError;
use crate::frame::{self, Progress, Reassembler};
use crate::message::{
    kind, Answer, Info, Refusal, Refused, Request, MAX_ANSWER_LEN, MAX_LOG_RECORDS,
    MAX_REQUEST_LEN, MAX_SIGNED_HEAD_LEN,
};

/// Who signs the holder proof.
#[derive(Clone, Copy, Debug)]
pub enum Holder<'k> {
    /// The session signs with this key.
    Key(&'k SigningKey),
    /// A signer elsewhere (a platform keystore): the session stops at [`Status::NeedSignature`]
    /// until [`PhoneSession::provide_signature`].
    External,
}

/// What the session needs to know.
#[derive(Clone, Copy, Debug)]
pub struct SessionConfig<'a> {
    /// The link's MTU (20..=255; BLE with a 247-byte ATT MTU: 244).
    pub mtu: usize,
    /// The door's device key, from the server. `None`: the session asks the door (`info`, one
    /// more round trip) and trusts the answer for this visit only.
    pub device_key: Option<PublicKey>,
    /// The door the phone means to open: a challenge or info from another door ends the
    /// session with [`Outcome::WrongDoor`] before anything is signed. `None`: not checked.
    pub expected_door: Option<(SiteId, DoorId)>,
    /// The signed grant, exact bytes.
    pub grant: &'a [u8],
    /// The issuer certificate, exact bytes.
    pub certificate: &'a [u8],
    /// A signed door state to carry to the door inside the presentation.
    pub door_state: Option<&'a [u8]>,
    /// Carry the log back from this sequence (what the server already holds); `None`: do not.
    pub log_from: Option<u64>,
    /// How long to wait for a whole answer after the last fragment of a request (ms).
    pub answer_timeout_ms: u32,
    /// How many times one request is sent again (lost answer, link lost, frame refusal,
    /// back-off) before the session gives up.
    pub max_retries: u8,
}

impl<'a> SessionConfig<'a> {
    /// A configuration with the spec's defaults: BLE MTU, 3 s answer timeout, 4 retries, no
    /// door state, no log.
    pub fn new(grant: &'a [u8], certificate: &'a [u8]) -> SessionConfig<'a> {
        SessionConfig {
            mtu: frame::BLE_MTU,
            device_key: None,
            expected_door: None,
            grant,
            certificate,
            door_state: None,
            log_from: None,
            answer_timeout_ms: 3_000,
            max_retries: 4,
        }
    }
}

/// The caller's memory.
#[derive(Debug)]
pub struct Buffers<'b> {
    /// The request being sent: at least [`MAX_REQUEST_LEN`] (4,161) bytes.
    pub request: &'b mut [u8],
    /// The answer being reassembled: at least [`MAX_ANSWER_LEN`] (1,034) bytes.
    pub answer: &'b mut [u8],
    /// The log records carried back, in the door's wire form (length byte, record). Any size;
    /// when full, the session stops reading and reports the log incomplete.
    pub log: &'b mut [u8],
}

/// Every way a session ends, with a stable number (`spec/link.md`, "Outcomes").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// The door opened, and its receipt verified under the device key.
    Admitted,
    /// Denied: the presentation was not well formed.
    DeniedMalformed,
    /// Denied: the grant does not open this door now (scope, hours, revoked, signatures).
    Denied,
    /// Denied: the grant or certificate is outside its validity.
    DeniedExpired,
    /// Denied: the grant's uses are spent.
    DeniedSpent,
    /// A presentation was sent and may have been decided, but its answer was lost. The door
    /// opened at most once; the log (if carried) tells the server which.
    VerdictUnknown,
    /// The door is not commissioned.
    NotEnrolled,
    /// The door is faulted (storage or entropy): it needs service.
    DoorFault,
    /// The door refused for another reason ([`PhoneSession::refused`] has it).
    DoorRefused,
    /// The door answered "admitted" but the receipt does not verify: the relay may have moved;
    /// report it, never retry.
    BadReceipt,
    /// The door's answer did not decode, or did not fit the request.
    BadAnswer,
    /// No answer after every retry (no presentation was sent).
    TimedOut,
    /// The door is not the one the phone meant to open ([`SessionConfig::expected_door`]).
    WrongDoor,
    /// The configuration or buffers are unusable (MTU, buffer sizes, grant too long).
    BadConfig,
    /// The presentation could not be built (the grant, certificate or door state are not
    /// Porter messages), or the external signer's answer came at the wrong time.
    SignerFailed,
}

impl Outcome {
    /// The stable number.
    pub const fn code(self) -> u16 {
        match self {
            Outcome::Admitted => 0,
            Outcome::DeniedMalformed => 11,
            Outcome::Denied => 12,
            Outcome::DeniedExpired => 13,
            Outcome::DeniedSpent => 14,
            Outcome::VerdictUnknown => 20,
            Outcome::NotEnrolled => 21,
            Outcome::DoorFault => 22,
            Outcome::DoorRefused => 23,
            Outcome::WrongDoor => 24,
            Outcome::BadReceipt => 30,
            Outcome::BadAnswer => 31,
            Outcome::TimedOut => 32,
            Outcome::BadConfig => 33,
            Outcome::SignerFailed => 34,
        }
    }

    /// The variant's name.
    pub const fn name(self) -> &'static str {
        match self {
            Outcome::Admitted => "Admitted",
            Outcome::DeniedMalformed => "DeniedMalformed",
            Outcome::Denied => "Denied",
            Outcome::DeniedExpired => "DeniedExpired",
            Outcome::DeniedSpent => "DeniedSpent",
            Outcome::VerdictUnknown => "VerdictUnknown",
            Outcome::NotEnrolled => "NotEnrolled",
            Outcome::DoorFault => "DoorFault",
            Outcome::DoorRefused => "DoorRefused",
            Outcome::WrongDoor => "WrongDoor",
            Outcome::BadReceipt => "BadReceipt",
            Outcome::BadAnswer => "BadAnswer",
            Outcome::TimedOut => "TimedOut",
            Outcome::BadConfig => "BadConfig",
            Outcome::SignerFailed => "SignerFailed",
        }
    }

    fn of_coarse(coarse: Coarse) -> Outcome {
        match coarse {
            Coarse::Malformed => Outcome::DeniedMalformed,
            Coarse::Denied => Outcome::Denied,
            Coarse::Expired => Outcome::DeniedExpired,
            Coarse::Spent => Outcome::DeniedSpent,
        }
    }
}

/// Where a session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Exchanging messages: call `transmit`, `receive`, `tick`.
    Running,
    /// Waiting for the external signer: [`PhoneSession::proof_message`], then
    /// [`PhoneSession::provide_signature`].
    NeedSignature,
    /// Finished.
    Done(Outcome),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Info,
    Challenge,
    Sign,
    Present,
    LogHead,
    ReadLog,
    Done(Outcome),
}

/// The phone's side of one visit to a door. See the module documentation.
#[derive(Debug)]
pub struct PhoneSession<'a, 'k, 'b> {
    rx: Reassembler<&'b mut [u8]>,
    m: Machine<'a, 'k, 'b>,
}

#[derive(Debug)]
struct Machine<'a, 'k, 'b> {
    cfg: SessionConfig<'a>,
    holder: Holder<'k>,
    request: &'b mut [u8],
    log: &'b mut [u8],
    step: Step,
    request_len: usize,
    body_len: usize,
    id: u8,
    next_fragment: usize,
    sent_at: Option<u64>,
    wait_until: Option<u64>,
    retries: u8,
    challenge: Option<([u8; MAX_CHALLENGE_LEN], usize, Challenge)>,
    challenges: u8,
    maybe_decided: bool,
    verdict: Option<Outcome>,
    denied_sequence: Option<u64>,
    info: Option<Info>,
    refused: Option<Refused>,
    receipt: [u8; MAX_RECEIPT_LEN],
    receipt_len: usize,
    head: [u8; MAX_SIGNED_HEAD_LEN],
    head_len: usize,
    head_length: u64,
    log_next: u64,
    log_used: usize,
    log_count: usize,
    log_complete: bool,
}

impl<'a, 'k, 'b> PhoneSession<'a, 'k, 'b> {
    /// A session for one visit, starting at `now_ms` on a connected link.
    pub fn new(
        cfg: SessionConfig<'a>,
        holder: Holder<'k>,
        buffers: Buffers<'b>,
        now_ms: u64,
    ) -> PhoneSession<'a, 'k, 'b> {
        let ok = frame::valid_mtu(cfg.mtu)
            && buffers.request.len() >= MAX_REQUEST_LEN
            && buffers.answer.len() >= MAX_ANSWER_LEN;
        let rx = Reassembler::new(buffers.answer, cfg.mtu);
        let mut m = Machine {
            cfg,
            holder,
            request: buffers.request,
            log: buffers.log,
            step: Step::Info,
            request_len: 0,
            body_len: 0,
            id: 0,
            next_fragment: 0,
            sent_at: None,
            wait_until: None,
            retries: 0,
            challenge: None,
            challenges: 0,
            maybe_decided: false,
            verdict: None,
            denied_sequence: None,
            info: None,
            refused: None,
            receipt: [0; MAX_RECEIPT_LEN],
            receipt_len: 0,
            head: [0; MAX_SIGNED_HEAD_LEN],
            head_len: 0,
            head_length: 0,
            log_next: cfg.log_from.unwrap_or(0),
            log_used: 0,
            log_count: 0,
            log_complete: false,
        };
        if !ok {
            m.step = Step::Done(Outcome::BadConfig);
        } else if cfg.device_key.is_some() {
            m.start(Step::Challenge, now_ms);
        } else {
            m.start(Step::Info, now_ms);
        }
        PhoneSession { rx, m }
    }

    /// Where the session is.
    pub fn status(&self) -> Status {
        match self.m.step {
            Step::Done(o) => Status::Done(o),
            Step::Sign => Status::NeedSignature,
            _ => Status::Running,
        }
    }

    /// Writes the next fragment to send into `out` (at least the MTU) and returns its length;
    /// `None` when there is nothing to send now.
    pub fn transmit(&mut self, now_ms: u64, out: &mut [u8]) -> Option<usize> {
        self.tick(now_ms);
        let m = &mut self.m;
        if m.wait_until.is_some() || m.request_len == 0 {
            return None;
        }
        let message = m.request.get(..m.request_len)?;
        let n = frame::fragment(m.id, message, m.cfg.mtu, m.next_fragment, out)?;
        m.next_fragment += 1;
        if m.next_fragment >= frame::fragment_count(m.request_len, m.cfg.mtu) {
            m.sent_at = Some(now_ms);
        }
        Some(n)
    }

    /// Takes one fragment from the door. Fragments of other messages than the answer to the
    /// current request (stale answers, noise) are dropped.
    pub fn receive(&mut self, now_ms: u64, fragment: &[u8]) {
        if matches!(self.m.step, Step::Done(_) | Step::Sign) {
            return;
        }
        if let Ok(Progress::Complete { id, .. }) = self.rx.push(fragment, now_ms) {
            if id == self.m.id && self.m.request_len > 0 {
                let answer = Answer::decode(self.rx.message());
                self.m.on_answer(now_ms, answer);
            }
        }
    }

    /// When [`PhoneSession::tick`] should next be called, if a timer runs.
    pub fn deadline(&self) -> Option<u64> {
        let m = &self.m;
        if matches!(m.step, Step::Done(_) | Step::Sign) {
            return None;
        }
        m.wait_until
            .or_else(|| m.sent_at.map(|t| t.saturating_add(u64::from(m.cfg.answer_timeout_ms))))
    }

    /// Runs the timers: a back-off wait that ended sends the request again; an answer that did
    /// not come in time counts as lost.
    pub fn tick(&mut self, now_ms: u64) {
        let Some(deadline) = self.deadline() else { return };
        if now_ms < deadline {
            return;
        }
        if self.m.wait_until.take().is_some() {
            self.m.resend();
        } else {
            self.rx.reset();
            self.m.lost(now_ms);
        }
    }

    /// A new link to the same door (after a disconnect): the current request is sent again,
    /// from its first fragment, under a new message id.
    pub fn reconnected(&mut self, now_ms: u64) {
        self.rx.reset();
        if matches!(self.m.step, Step::Done(_) | Step::Sign) {
            return;
        }
        if self.m.wait_until.is_none() {
            self.m.lost(now_ms);
        }
    }

    /// The message the external signer signs (for [`Holder::External`], while
    /// [`Status::NeedSignature`]): `porter_protocol::holder_proof_message`.
    pub fn proof_message<'o>(&self, out: &'o mut [u8]) -> Result<&'o [u8], LinkError> {
        let m = &self.m;
        let (Step::Sign, Some((c, n, _))) = (m.step, &m.challenge) else {
            return Err(LinkError::DecodeUnknownType);
        };
        let challenge = c.get(..*n).ok_or(LinkError::BufferTooSmall)?;
        let body = m.request.get(1..1 + m.body_len).ok_or(LinkError::BufferTooSmall)?;
        holder_proof_message(challenge, body, out).map_err(|_| LinkError::BufferTooSmall)
    }

    /// The exact bytes of the challenge being answered, once the door sent one: for an
    /// external signer that builds the proof from the challenge itself (the FFI's
    /// `porter_presentation_build_with_signer`, a keystore API) rather than from
    /// [`PhoneSession::proof_message`].
    pub fn challenge(&self) -> Option<&[u8]> {
        self.m.challenge.as_ref().and_then(|(c, n, _)| c.get(..*n))
    }

    /// The external signer's Ed25519 signature over [`PhoneSession::proof_message`].
    pub fn provide_signature(&mut self, now_ms: u64, signature: &[u8; 64]) {
        let m = &mut self.m;
        if m.step != Step::Sign {
            return;
        }
        // `Presentation::assemble` is body || proof; the body is already in place.
        let end = 1 + m.body_len + signature.len();
        match m.request.get_mut(1 + m.body_len..end) {
            Some(slot) => {
                slot.copy_from_slice(signature);
                m.request_len = end;
                m.start_prepared(Step::Present, now_ms);
            }
            None => m.step = Step::Done(Outcome::SignerFailed),
        }
    }

    /// The verified receipt's exact bytes, once admitted.
    pub fn receipt(&self) -> Option<&[u8]> {
        (self.m.receipt_len > 0).then(|| self.m.receipt.get(..self.m.receipt_len)).flatten()
    }

    /// The verdict, once known (also while the log is still being read).
    pub fn verdict(&self) -> Option<Outcome> {
        self.m.verdict
    }

    /// The audit sequence of the record holding a denial's precise reason.
    pub fn denied_sequence(&self) -> Option<u64> {
        self.m.denied_sequence
    }

    /// The door's info answer, if it was asked.
    pub fn info(&self) -> Option<Info> {
        self.m.info
    }

    /// The door's last refusal, if any.
    pub fn refused(&self) -> Option<Refused> {
        self.m.refused
    }

    /// The verified, device-signed log head's exact bytes, if carried.
    pub fn log_head(&self) -> Option<&[u8]> {
        (self.m.head_len > 0).then(|| self.m.head.get(..self.m.head_len)).flatten()
    }

    /// The log records carried, in the door's wire form (length byte, record), in order.
    pub fn log_records(&self) -> &[u8] {
        self.m.log.get(..self.m.log_used).unwrap_or(&[])
    }

    /// How many log records were carried.
    pub fn log_count(&self) -> usize {
        self.m.log_count
    }

    /// Whether the log was carried up to the signed head.
    pub fn log_complete(&self) -> bool {
        self.m.log_complete
    }
}

impl Machine<'_, '_, '_> {
    fn start(&mut self, step: Step, now_ms: u64) {
        let request = match step {
            Step::Info => Request::Info,
            Step::Challenge => Request::Challenge,
            Step::LogHead => Request::LogHead,
            Step::ReadLog => Request::ReadLog { from: self.log_next, max: MAX_LOG_RECORDS },
            Step::Sign | Step::Present | Step::Done(_) => return,
        };
        match request.encode(self.request) {
            Ok(bytes) => {
                self.request_len = bytes.len();
                self.start_prepared(step, now_ms);
            }
            Err(_) => self.step = Step::Done(Outcome::BadConfig),
        }
    }

    /// Sends `request[..request_len]` as the request of `step`, from a fresh retry count.
    fn start_prepared(&mut self, step: Step, _now_ms: u64) {
        self.step = step;
        self.retries = 0;
        self.resend();
    }

    /// Sends the current request again from its first fragment, under a new id.
    fn resend(&mut self) {
        self.id = self.id.wrapping_add(1);
        self.next_fragment = 0;
        self.sent_at = None;
    }

    /// The answer to the current request did not come (timeout or link lost).
    fn lost(&mut self, now_ms: u64) {
        let fully_sent = self.sent_at.is_some();
        if self.step == Step::Present && fully_sent {
            self.maybe_decided = true;
        }
        if self.retries >= self.cfg.max_retries {
            self.give_up(now_ms);
            return;
        }
        self.retries += 1;
        self.resend();
    }

    fn give_up(&mut self, now_ms: u64) {
        match self.step {
            Step::Present if self.maybe_decided => {
                self.verdict_known(Outcome::VerdictUnknown, now_ms)
            }
            Step::LogHead | Step::ReadLog => self.finish(),
            _ => self.step = Step::Done(Outcome::TimedOut),
        }
    }

    fn finish(&mut self) {
        self.request_len = 0;
        self.step = Step::Done(self.verdict.unwrap_or(Outcome::BadAnswer));
    }

    fn verdict_known(&mut self, verdict: Outcome, now_ms: u64) {
        self.verdict = Some(verdict);
        if self.cfg.log_from.is_some() && self.cfg.device_key.is_some() {
            self.start(Step::LogHead, now_ms);
        } else {
            self.finish();
        }
    }

    fn done(&mut self, outcome: Outcome) {
        self.request_len = 0;
        self.step = Step::Done(outcome);
    }

    fn on_answer(&mut self, now_ms: u64, answer: Result<Answer<'_>, LinkError>) {
        self.sent_at = None;
        let answer = match answer {
            Ok(a) => a,
            Err(_) => return self.bad_answer(now_ms),
        };
        if let Answer::Refused(r) = answer {
            self.refused = Some(r);
            return self.on_refused(now_ms, r);
        }
        match (self.step, answer) {
            (Step::Info, Answer::Info(info)) => {
                self.info = Some(info);
                if !info.enrolled {
                    return self.done(Outcome::NotEnrolled);
                }
                if self.cfg.expected_door.is_some_and(|d| d != (info.site, info.door)) {
                    return self.done(Outcome::WrongDoor);
                }
                self.cfg.device_key = Some(info.device_key);
                self.start(Step::Challenge, now_ms);
            }
            (Step::Challenge, Answer::Challenge(bytes, challenge)) => {
                if self.cfg.expected_door.is_some_and(|d| d != (challenge.site, challenge.door)) {
                    return self.done(Outcome::WrongDoor);
                }
                let mut copy = [0u8; MAX_CHALLENGE_LEN];
                if let Some(slot) = copy.get_mut(..bytes.len()) {
                    slot.copy_from_slice(bytes);
                }
                self.challenge = Some((copy, bytes.len(), challenge));
                self.challenges = self.challenges.saturating_add(1);
                self.maybe_decided = false;
                self.prepare_presentation(now_ms, &challenge);
            }
            (Step::Present, Answer::Admitted(receipt)) => {
                let verdict = self.check_receipt(receipt);
                self.verdict_known(verdict, now_ms);
            }
            (Step::Present, Answer::Denied { coarse, sequence }) => {
                self.denied_sequence = Some(sequence);
                self.verdict_known(Outcome::of_coarse(coarse), now_ms);
            }
            (Step::LogHead, Answer::Head(bytes)) => {
                let Some(device) = self.cfg.device_key else { return self.finish() };
                let Ok(head) = LogHead::decode_verified(bytes, &device) else {
                    return self.finish();
                };
                if let Some(slot) = self.head.get_mut(..bytes.len()) {
                    slot.copy_from_slice(bytes);
                    self.head_len = bytes.len();
                }
                self.head_length = head.length;
                self.next_log_step(now_ms);
            }
            (Step::ReadLog, Answer::Log(records)) => {
                if records.count() == 0 {
                    return self.finish();
                }
                for record in records.iter() {
                    let Ok(r) = AuditRecord::decode(record) else { return self.finish() };
                    if r.sequence < self.log_next || r.sequence >= self.head_length {
                        return self.finish();
                    }
                    let end = self.log_used + 1 + record.len();
                    let (Some(slot), Ok(len)) =
                        (self.log.get_mut(self.log_used..end), u8::try_from(record.len()))
                    else {
                        return self.finish();
                    };
                    if let Some((first, rest)) = slot.split_first_mut() {
                        *first = len;
                        rest.copy_from_slice(record);
                    }
                    self.log_used = end;
                    self.log_count += 1;
                    self.log_next = r.sequence + 1;
                }
                self.next_log_step(now_ms);
            }
            _ => self.bad_answer(now_ms),
        }
    }

    fn next_log_step(&mut self, now_ms: u64) {
        if self.log_next >= self.head_length {
            self.log_complete = true;
            self.finish();
        } else {
            self.start(Step::ReadLog, now_ms);
        }
    }

    fn bad_answer(&mut self, now_ms: u64) {
        match self.step {
            // The door decided (or not) already: a garbled verdict is an unknown verdict.
            Step::Present => self.verdict_known(Outcome::VerdictUnknown, now_ms),
            Step::LogHead | Step::ReadLog => self.finish(),
            _ => self.done(Outcome::BadAnswer),
        }
    }

    fn on_refused(&mut self, now_ms: u64, r: Refused) {
        let retry = |m: &mut Self, wait: u32| {
            if m.retries >= m.cfg.max_retries {
                return m.give_up(now_ms);
            }
            m.retries += 1;
            if wait == 0 {
                m.resend();
            } else {
                m.wait_until = Some(now_ms.saturating_add(u64::from(wait)));
            }
        };
        match r.refusal {
            // The request did not arrive whole: nothing was decided on it.
            Refusal::Frame => retry(self, 0),
            Refusal::BackOff | Refusal::Busy => retry(self, r.retry_ms.max(1)),
            Refusal::NoChallenge if self.step == Step::Present => {
                if self.maybe_decided {
                    self.verdict_known(Outcome::VerdictUnknown, now_ms);
                } else if self.challenges < 2 {
                    // No copy of this presentation was decided: a fresh challenge is safe.
                    self.start(Step::Challenge, now_ms);
                } else {
                    self.done(Outcome::DoorRefused);
                }
            }
            _ => {
                let outcome = match r.refusal {
                    Refusal::NotEnrolled => Outcome::NotEnrolled,
                    Refusal::Fault => Outcome::DoorFault,
                    _ => Outcome::DoorRefused,
                };
                match (self.step, self.verdict) {
                    (Step::LogHead | Step::ReadLog, Some(_)) => self.finish(),
                    _ => self.done(outcome),
                }
            }
        }
    }

    fn prepare_presentation(&mut self, now_ms: u64, challenge: &Challenge) {
        let Some((kind_byte, out)) = self.request.split_first_mut() else {
            return self.done(Outcome::BadConfig);
        };
        *kind_byte = kind::PRESENT;
        let cfg = self.cfg;
        match self.holder {
            Holder::Key(key) => {
                match present(key, challenge, cfg.grant, cfg.certificate, cfg.door_state, out) {
                    Ok(p) => {
                        self.request_len = 1 + p.len();
                        self.start_prepared(Step::Present, now_ms);
                    }
                    Err(_) => self.done(Outcome::SignerFailed),
                }
            }
            Holder::External => {
                let body = Presentation::new(cfg.grant, cfg.certificate, cfg.door_state);
                let room = out.len();
                match body.encode_body(out).map(|b| b.len()) {
                    Ok(n) if n + 64 <= room => {
                        self.body_len = n;
                        self.request_len = 0;
                        self.step = Step::Sign;
                    }
                    _ => self.done(Outcome::SignerFailed),
                }
            }
        }
    }

    fn check_receipt(&mut self, receipt: &[u8]) -> Outcome {
        let (Some(device), Some((_, _, challenge))) = (self.cfg.device_key, self.challenge) else {
            return Outcome::BadReceipt;
        };
        let Ok(record) = AuditRecord::decode_receipt(receipt, &device) else {
            return Outcome::BadReceipt;
        };
        // The receipt names the door that challenged us and this grant (its serial; the door
        // checked the rest). The site and the door are also held against the grant itself, not
        // only the challenge: the challenge comes over the radio unsigned, so without an
        // expected door a relay could name any door in it, and only the grant says where this
        // visit may end.
        let Ok(grant) = Grant::decode(self.cfg.grant) else {
            return Outcome::BadReceipt;
        };
        let claims = grant.claims();
        let ours = record.site == challenge.site
            && record.site == claims.site
            && record.door == challenge.door
            && claims.doors.contains(&record.door)
            && matches!(record.event, AuditEvent::Admitted { grant_serial, .. }
                if grant_serial == claims.serial);
        if !ours {
            return Outcome::BadReceipt;
        }
        if let Some(slot) = self.receipt.get_mut(..receipt.len()) {
            slot.copy_from_slice(receipt);
            self.receipt_len = receipt.len();
        }
        Outcome::Admitted
    }
}
