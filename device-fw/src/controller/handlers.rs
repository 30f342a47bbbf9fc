//! The request handlers, one per [`porter_link::Request`] type, each taking the request's
//! decoded fields. Each writes its answer with the [`Writer`] or returns the [`Refused`] the
//! dispatcher encodes.

use porter_protocol::{
    record, Alarm, AuditEvent, AuditRecord, Challenge, Decision, DoorConfig, DoorId, DoorMemory,
    Enrolment, Error, LogHead, PublicKey, SiteId, Time, MAX_AUDIT_RECORD_LEN, MAX_CHALLENGE_LEN,
    MAX_LOG_HEAD_LEN, MAX_RECEIPT_LEN, VERSION,
};

use porter_link::{kind, Answer, Info, Refusal, Refused};

use crate::hal::{
    Clock, DoorSensor, Entropy, Indicator, InstallerButton, LockActuator, Mark, NorFlash, Signal,
};
use crate::storage::{PendingAudit, ReplayRecordRef, StorageError, StoredEnrolment};

use super::journal::Noise;
use super::writer::Writer;
use super::{refused, rejected, retry, Core, Fault, Phase, Site, FAULT};

impl<F, L, S, C, E, I, B> Core<F, L, S, C, E, I, B>
where
    F: NorFlash,
    L: LockActuator,
    S: DoorSensor,
    C: Clock,
    E: Entropy,
    I: Indicator,
    B: InstallerButton,
{
    /// The site, if the door may decide: not faulted, and enrolled. Back-off is not checked
    /// here: it delays only what would cost a signature (see `backoff`).
    fn ready(&self) -> Result<&Site, Refused> {
        if self.fault.is_some() {
            return Err(FAULT);
        }
        self.site.as_ref().ok_or(refused(Refusal::NotEnrolled))
    }

    /// Refuses, with the time to wait, a request whose decision may cost a signature while the
    /// door backs off.
    fn signature_budget(&self, now_ms: u64) -> Result<(), Refused> {
        match self.backoff.wait(now_ms) {
            Some(wait_ms) => Err(retry(Refusal::BackOff, wait_ms)),
            None => Ok(()),
        }
    }

    /// Enters the storage fault state; the answer is a fault.
    fn storage_refusal(&mut self, e: StorageError) -> Refused {
        self.fail(Fault::Storage(e));
        FAULT
    }

    pub(super) fn info(&mut self, w: &mut Writer<'_>) -> Result<(), Refused> {
        let (site, door) =
            self.site.as_ref().map_or((0, 0), |s| (s.config.site.0, s.config.door.0));
        w.answer(&Answer::Info(Info {
            version: VERSION,
            enrolled: self.site.is_some(),
            device_key: self.device_public,
            site: SiteId(site),
            door: DoorId(door),
            log_length: self.audit_len,
            boot_count: self.boot_count,
        }))?;
        Ok(())
    }

    // Not inlined: keeps this handler's locals out of its callers' stack frames (the
    // Cortex-M4 build measures peak stack against a 32 KiB budget).
    #[inline(never)]
    pub(super) fn enrol(
        &mut self,
        root: PublicKey,
        bytes: &[u8],
        w: &mut Writer<'_>,
    ) -> Result<(), Refused> {
        if self.fault.is_some() {
            return Err(FAULT);
        }
        if self.site.is_some() {
            return Err(refused(Refusal::AlreadyEnrolled));
        }
        let now_ms = self.hw.clock.millis();
        // Only with the installer there: a stranger in radio range cannot claim the door.
        if !self.watch.enrolment_open(now_ms) {
            return Err(refused(Refusal::EnrolmentClosed));
        }
        self.signature_budget(now_ms)?;
        // The root key is a valid point: `Request::decode` checked it.
        let enrolment = match Enrolment::decode_for_device(bytes, &root, &self.device_public) {
            Ok(e) => e,
            Err(e) => {
                self.count_failure(e, now_ms);
                return Err(rejected(e));
            }
        };
        let device = self.device.as_ref().ok_or(FAULT)?;
        let mask = super::boot::log_mask(device, &enrolment).map_err(rejected)?;
        let stored = StoredEnrolment {
            root,
            bytes: heapless::Vec::from_slice(bytes).map_err(|_| refused(Refusal::Malformed))?,
        };
        let identity = self.storage.identity().map_err(|e| self.storage_refusal(e))?;
        let Some(mut identity) = identity else { return Err(FAULT) };
        identity.enrolment = Some(stored);
        identity.boot_count = self.boot_count;
        self.storage.write_identity(&identity).map_err(|e| self.storage_refusal(e))?;
        let config = self.config_for(&enrolment, root);
        let memory = DoorMemory::new(enrolment.site, enrolment.issued_at);
        self.site = Some(Site { config, memory, mask });
        self.watch.close_enrolment();
        self.backoff.clear();
        let at = self.door_now();
        self.log(at, AuditEvent::Enrolled);
        self.show_rest();
        w.answer(&Answer::Enrolled)?;
        Ok(())
    }

    // Not inlined: keeps this handler's locals out of its callers' stack frames (the
    // Cortex-M4 build measures peak stack against a 32 KiB budget).
    #[inline(never)]
    pub(super) fn challenge(&mut self, w: &mut Writer<'_>) -> Result<(), Refused> {
        let (site, door, floor) = {
            let site = self.ready()?;
            (site.config.site, site.config.door, site.memory.floor())
        };
        // The phone may have lost our answer: the outstanding challenge again, unchanged
        // (`spec/link.md` 6). One presentation is decided per challenge whoever asks, so a
        // second phone gains nothing it would not get from `Busy`, and the first does not wait
        // out the challenge's lifetime.
        if let Phase::Challenged { challenge, .. } = self.phase {
            return write_challenge(&challenge, w);
        }
        let now_ms = self.hw.clock.millis();
        // Unpredictable (entropy) and unique by construction: the boot counter and the attempt
        // counter are XORed in, so even a stuck entropy source never repeats a nonce.
        let mut nonce = [0u8; 16];
        if self.hw.entropy.fill(&mut nonce).is_err() {
            self.fail(Fault::Entropy);
            return Err(FAULT);
        }
        for (n, m) in nonce.iter_mut().zip(self.nonce_mask()) {
            *n ^= m;
        }
        self.attempts = self.attempts.wrapping_add(1);

        let clock = self.hw.clock.now();
        if clock < floor && !self.clock_alarm_raised {
            self.clock_alarm_raised = true;
            self.alarm(Alarm::ClockBehindFloor);
        }
        let challenge = Challenge::new(site, door, nonce, clock.max(floor));
        let lifetime = u64::from(self.settings.challenge_lifetime_s) * 1000;
        self.phase = Phase::Challenged { challenge, expires_ms: now_ms.saturating_add(lifetime) };
        self.hw.indicator.show(Signal::Waiting);
        write_challenge(&challenge, w)
    }

    // Not inlined: keeps this handler's locals out of its callers' stack frames (the
    // Cortex-M4 build measures peak stack against a 32 KiB budget).
    #[inline(never)]
    pub(super) fn present(&mut self, body: &[u8], w: &mut Writer<'_>) -> Result<(), Refused> {
        let now_ms = self.hw.clock.millis();
        self.ready()?;
        let Phase::Challenged { challenge, .. } = self.phase else {
            return Err(refused(Refusal::NoChallenge));
        };
        // Backing off: the challenge stays outstanding, and the phone presents the same bytes
        // again after the wait (at most `backoff_max_ms`, well within the challenge's life).
        self.signature_budget(now_ms)?;
        // The challenge is answered once, whatever the verdict.
        self.phase = Phase::Idle;
        let clock = self.hw.clock.now();
        let Some(site) = self.site.as_mut() else { return Err(refused(Refusal::NotEnrolled)) };
        self.hw.clock.mark(Mark::DecisionStart);
        let decision = decide(&mut site.memory, &site.config, clock, &challenge, body);
        self.hw.clock.mark(Mark::DecisionEnd);
        match decision {
            Decision::Admit(a) => {
                // Only the site's server can tell whose visit this was.
                let holder = match &site.mask {
                    Some(mask) => mask.apply(self.audit_len, a.holder),
                    None => a.holder,
                };
                let event = AuditEvent::Admitted {
                    issuer: a.issuer,
                    grant_serial: a.grant_serial,
                    use_index: a.use_index,
                    holder,
                    role: a.role,
                    package: a.package,
                };
                // The newer door state it carried, where the decision found it: never decoded
                // a second time.
                let state_bytes = a.carried_state.and_then(|(offset, len)| {
                    let start = usize::try_from(offset).ok()?;
                    body.get(start..start.checked_add(usize::try_from(len).ok()?)?)
                });
                // Noise counted before this admission goes first: the record's sequence is
                // fixed before the spend is written.
                self.flush_tally(a.at).map_err(|e| self.storage_refusal(e))?;
                let pending = PendingAudit { sequence: self.audit_len, at: a.at, event };
                // 1. The spend (and any newer door state) durable; the audit record rides along.
                match self.persist(state_bytes, Some(pending)) {
                    Ok(()) => {}
                    // The replay record would outgrow what the door can write: this grant is
                    // refused as the core refuses a full memory, and nothing was written. The
                    // spend stays in RAM (so the grant stays refused) until the next boot.
                    Err(StorageError::TooLarge) => {
                        return self.deny(Error::ReplayFull, now_ms, w);
                    }
                    Err(e) => return Err(self.storage_refusal(e)),
                }
                self.hw.clock.mark(Mark::SpendDurable);
                // 2. The audit record in the log.
                let Some(site) = self.site.as_ref() else { return Err(FAULT) };
                let r = record(
                    site.config.site,
                    site.config.door,
                    self.audit_len,
                    a.at,
                    self.audit_prev,
                    event,
                );
                let lost =
                    self.admissions_overwritten_by(&r).map_err(|e| self.storage_refusal(e))?;
                self.storage.append_audit(&r).map_err(|e| self.storage_refusal(e))?;
                self.audit_len += 1;
                self.hw.clock.mark(Mark::Logged);
                // 3. Only now the relay.
                self.hw.lock.release();
                // The next record's link is hashed after the relay moved: it is not needed
                // before, and boot recomputes it from flash if power fails first.
                self.audit_prev =
                    r.chain_hash().map_err(|_| self.storage_refusal(StorageError::TooLarge))?;
                self.releases = self.releases.wrapping_add(1);
                self.watch.released_at(now_ms, self.settings.unlock_ms);
                self.backoff.clear();
                self.hw.indicator.show(Signal::Admitted);
                if let Some((admissions, before)) = lost {
                    self.log(a.at, AuditEvent::Overwritten { admissions, before });
                }
                // 4. The receipt.
                self.receipt(&r, w)
            }
            Decision::Reject(e) => self.deny(e, now_ms, w),
        }
    }

    /// The admission's answer: the receipt, the very record the log holds sealed by the device
    /// key.
    // Not inlined: the receipt's buffer and the signing stay out of `present`'s frame, which
    // is on the door's deepest path (the decision's signature checks run under it).
    #[inline(never)]
    fn receipt(&self, r: &AuditRecord, w: &mut Writer<'_>) -> Result<(), Refused> {
        let mut buf = [0u8; MAX_RECEIPT_LEN];
        let device = self.device.as_ref().ok_or(FAULT)?;
        let receipt = r.seal_receipt(device, &mut buf).map_err(|_| FAULT)?;
        w.answer(&Answer::Admitted(receipt))?;
        Ok(())
    }

    /// A refused presentation: logged (or counted), back-off, the coarse answer.
    fn deny(&mut self, e: Error, now_ms: u64, w: &mut Writer<'_>) -> Result<(), Refused> {
        let sequence = self.note(Noise::Refused(e));
        if self.fault.is_some() {
            return Err(FAULT);
        }
        self.count_failure(e, now_ms);
        self.hw.indicator.show(Signal::Denied);
        w.answer(&Answer::Denied { coarse: e.coarse(), sequence })?;
        Ok(())
    }

    /// Writes the door state (if it changed) and then the replay record.
    // Not inlined: keeps this handler's locals out of its callers' stack frames (the
    // Cortex-M4 build measures peak stack against a 32 KiB budget).
    #[inline(never)]
    fn persist(
        &mut self,
        state: Option<&[u8]>,
        pending: Option<PendingAudit>,
    ) -> Result<(), StorageError> {
        if let Some(bytes) = state {
            self.storage.write_door_state(bytes)?;
        }
        let Some(site) = self.site.as_ref() else { return Ok(()) };
        let record = ReplayRecordRef {
            floor: site.memory.floor(),
            replay: site.memory.replay(),
            certs: site.memory.certs(),
            audit_length: self.audit_len,
            state_sequence: site.memory.state().sequence,
            pending,
        };
        self.storage.write_replay(&record)
    }

    // Not inlined: keeps this handler's locals out of its callers' stack frames (the
    // Cortex-M4 build measures peak stack against a 32 KiB budget).
    #[inline(never)]
    pub(super) fn door_state(&mut self, body: &[u8], w: &mut Writer<'_>) -> Result<(), Refused> {
        let now_ms = self.hw.clock.millis();
        self.ready()?;
        self.signature_budget(now_ms)?;
        let Some(site) = self.site.as_mut() else { return Err(refused(Refusal::NotEnrolled)) };
        match site.memory.apply_door_state(&site.config, body) {
            Ok(sequence) => {
                self.persist(Some(body), None).map_err(|e| self.storage_refusal(e))?;
                let at = self.door_now();
                self.log(at, AuditEvent::DoorStateApplied { sequence });
                w.answer(&Answer::State(sequence))?;
                Ok(())
            }
            Err(e) => {
                self.count_failure(e, now_ms);
                Err(rejected(e))
            }
        }
    }

    // Not inlined: keeps this handler's locals out of its callers' stack frames (the
    // Cortex-M4 build measures peak stack against a 32 KiB budget).
    #[inline(never)]
    pub(super) fn read_log(
        &mut self,
        from: u64,
        max: u8,
        w: &mut Writer<'_>,
    ) -> Result<(), Refused> {
        // Written field by field (`spec/link.md` 3.2, `0x87`): the records come from flash one
        // at a time, and a decoded `Answer::Log` would need the whole page twice on the stack.
        w.u8(kind::A_LOG)?;
        let count_at = w.len();
        w.u8(0)?;
        let mut count = 0u8;
        let mut buf = [0u8; MAX_AUDIT_RECORD_LEN];
        // Records the ring has overwritten are gone: start at the oldest still held.
        let oldest = self.storage.audit_oldest().map_err(|e| self.storage_refusal(e))?;
        let mut seq = from.max(oldest);
        while count < max && seq < self.audit_len {
            let bytes = match self.storage.audit_record(seq, &mut buf) {
                Ok(Some(b)) => b,
                Ok(None) => break,
                Err(e) => return Err(self.storage_refusal(e)),
            };
            let len = u8::try_from(bytes.len()).map_err(|_| FAULT)?;
            w.u8(len)?.bytes(bytes)?;
            count += 1;
            seq += 1;
        }
        w.patch(count_at, count);
        Ok(())
    }

    // Not inlined: keeps this handler's locals out of its callers' stack frames (the
    // Cortex-M4 build measures peak stack against a 32 KiB budget).
    #[inline(never)]
    pub(super) fn log_head(&mut self, w: &mut Writer<'_>) -> Result<(), Refused> {
        let at = self.door_now();
        let Some(site) = self.site.as_ref() else { return Err(refused(Refusal::NotEnrolled)) };
        let head = LogHead {
            version: VERSION,
            site: site.config.site,
            door: site.config.door,
            length: self.audit_len,
            head: self.audit_prev,
            at,
        };
        let mut buf = [0u8; MAX_LOG_HEAD_LEN + 64];
        let device = self.device.as_ref().ok_or(FAULT)?;
        let signed = head.seal(device, &mut buf).map_err(|_| FAULT)?;
        w.answer(&Answer::Head(signed))?;
        Ok(())
    }

    /// `0x08 log ack`: the site server holds the log up to `length`; records below it may be
    /// overwritten. Needs the log key (the tag is keyed with the door's `LogMask`).
    // Not inlined: keeps this handler's locals out of its callers' stack frames.
    #[inline(never)]
    pub(super) fn log_ack(
        &mut self,
        length: u64,
        tag: &[u8; 16],
        w: &mut Writer<'_>,
    ) -> Result<(), Refused> {
        let site = self.ready()?;
        let Some(mask) = site.mask.as_ref() else {
            return Err(rejected(Error::AuditBadSignature));
        };
        // Compared in constant time: the tag is a secret until it matches.
        let expected = mask.ack_tag(length);
        let differs = expected.iter().zip(tag).fold(0u8, |d, (a, b)| d | (a ^ b));
        if differs != 0 || length > self.audit_len {
            return Err(rejected(Error::AuditBadSignature));
        }
        if length > self.log_acked {
            let identity = self.storage.identity().map_err(|e| self.storage_refusal(e))?;
            let Some(mut identity) = identity else { return Err(FAULT) };
            identity.log_acked = length;
            identity.boot_count = self.boot_count;
            self.storage.write_identity(&identity).map_err(|e| self.storage_refusal(e))?;
            self.log_acked = length;
        }
        w.answer(&Answer::Acked(self.log_acked))?;
        Ok(())
    }
}

/// The `0x83` answer: the challenge's exact bytes.
fn write_challenge(challenge: &Challenge, w: &mut Writer<'_>) -> Result<(), Refused> {
    let mut buf = [0u8; MAX_CHALLENGE_LEN];
    let bytes = challenge.encode(&mut buf).map_err(|_| FAULT)?;
    w.answer(&Answer::Challenge(bytes, *challenge))?;
    Ok(())
}

/// The protocol's decision, in a frame of its own: `admit` holds several door states on the
/// stack, and the handler's own locals need not add to that.
#[inline(never)]
fn decide(
    memory: &mut DoorMemory,
    config: &DoorConfig,
    clock: Time,
    challenge: &Challenge,
    presentation: &[u8],
) -> Decision {
    memory.admit(config, clock, challenge, presentation)
}
