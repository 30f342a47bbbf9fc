//! The audit log, alarms, failures and the indicator: what the controller records and shows.
//!
//! Noise is counted, not logged one by one: a refusal, a forced-open or held-open alarm is
//! written as its own record only if none of its kind was written in the last
//! [`super::Settings::coalesce_ms`] (or, for a refusal, if its reason differs from the last one
//! written, up to four a window); otherwise it is counted in a [`Tally`] kept in RAM and
//! written as one `AuditEvent::Tally` record before the next other record, or once the
//! tally is `coalesce_ms` old. Exits after a request to exit are only counted. So a flood, or
//! ordinary traffic, writes at most four refusal records, one forced-open, one held-open and
//! one tally a minute.
//!
//! And admissions are kept: when the ring would overwrite admission records the site server
//! has not acknowledged (`0x08 log ack`), noise is held in the tally instead of being written;
//! a record that must be written anyway (an admission, a boot, door state) overwrites them and
//! is followed by an `AuditEvent::Overwritten` record that says how many were lost.

use porter_protocol::{record, Alarm, AuditEvent, AuditRecord, Error, Time, MAX_AUDIT_RECORD_LEN};

use crate::hal::{
    Clock, DoorSensor, Entropy, Indicator, InstallerButton, LockActuator, NorFlash, Signal,
};
use crate::storage::StorageError;

use super::backoff::{costs_a_signature, Penalty};
use super::{Core, Fault, Phase};

/// Something that happens often and says little on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Noise {
    /// An attempt refused for this reason.
    Refused(Error),
    /// The door opened with no admission and no request to exit.
    ForcedOpen,
    /// The door stayed open too long.
    HeldOpen,
    /// The door opened after a request to exit.
    Egress,
}

/// Noise counted since the last record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Tally {
    refused: u32,
    refused_signature: u32,
    forced_open: u32,
    held_open: u32,
    egress: u32,
    last_reason: u16,
    /// When the first counted event happened.
    since_ms: Option<u64>,
    /// Per kind (refusal, forced open, held open): until when more of it is counted rather than
    /// written, because a record of that kind was written or counted within the last minute.
    quiet_until_ms: [u64; 3],
    /// The reason of the last refusal written as its own record, and how many were written in
    /// the current quiet window: a refusal for a new reason is written (up to
    /// [`DISTINCT_REFUSALS`] a window), a repeated one is counted.
    last_written_reason: u16,
    written_in_window: u8,
}

/// Refusals with distinct reasons written as their own records per `coalesce_ms` window.
const DISTINCT_REFUSALS: u8 = 4;

impl Tally {
    fn count(&mut self, noise: Noise, now_ms: u64) {
        let bump = |n: &mut u32| *n = n.saturating_add(1);
        match noise {
            Noise::Refused(e) => {
                bump(&mut self.refused);
                if costs_a_signature(e) {
                    bump(&mut self.refused_signature);
                }
                self.last_reason = e.code();
            }
            Noise::ForcedOpen => bump(&mut self.forced_open),
            Noise::HeldOpen => bump(&mut self.held_open),
            Noise::Egress => bump(&mut self.egress),
        }
        self.since_ms.get_or_insert(now_ms);
    }

    fn event(&self) -> Option<AuditEvent> {
        self.since_ms?;
        Some(AuditEvent::Tally {
            refused: self.refused,
            refused_signature: self.refused_signature,
            forced_open: self.forced_open,
            held_open: self.held_open,
            egress: self.egress,
            last_reason: self.last_reason,
        })
    }

    fn clear(&mut self) {
        *self = Tally {
            quiet_until_ms: self.quiet_until_ms,
            last_written_reason: self.last_written_reason,
            written_in_window: self.written_in_window,
            ..Tally::default()
        };
    }

    /// Which `quiet_until_ms` slot a noise uses (egress is always counted).
    fn kind(noise: Noise) -> Option<usize> {
        match noise {
            Noise::Refused(_) => Some(0),
            Noise::ForcedOpen => Some(1),
            Noise::HeldOpen => Some(2),
            Noise::Egress => None,
        }
    }

    /// Quiet every kind this tally counted until `until_ms`: the tally was just written.
    fn quiet_counted(&mut self, until_ms: u64) {
        for (count, quiet) in [self.refused, self.forced_open, self.held_open]
            .into_iter()
            .zip(self.quiet_until_ms.iter_mut())
        {
            if count > 0 {
                *quiet = until_ms;
            }
        }
    }
}

/// Whether a record may be held back (counted) rather than overwrite unacknowledged admissions.
fn is_noise(event: &AuditEvent) -> bool {
    matches!(
        event,
        AuditEvent::Rejected { .. }
            | AuditEvent::Tally { .. }
            | AuditEvent::Alarm(Alarm::ForcedOpen | Alarm::HeldOpen)
    )
}

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
    /// The door's time: the RTC, never below the signed floor.
    pub(super) fn door_now(&mut self) -> Time {
        let clock = self.hw.clock.now();
        match &self.site {
            Some(site) => site.memory.now(clock),
            None => clock,
        }
    }

    /// Appends a record to the log (once enrolled: the log names the site and door), after the
    /// tally of noise counted before it.
    pub(super) fn append(&mut self, at: Time, event: AuditEvent) -> Result<(), StorageError> {
        self.flush_tally(at)?;
        if !self.write(at, event)? {
            // Noise that would have overwritten unacknowledged admissions: counted instead.
            let noise = match event {
                AuditEvent::Rejected { reason } => {
                    Noise::Refused(Error::from_code(reason).unwrap_or(Error::DecodeMalformed))
                }
                AuditEvent::Alarm(Alarm::ForcedOpen) => Noise::ForcedOpen,
                _ => Noise::HeldOpen,
            };
            let now_ms = self.hw.clock.millis();
            self.tally.count(noise, now_ms);
        }
        Ok(())
    }

    /// Writes the tally, if anything was counted; kept in RAM if writing it would overwrite
    /// unacknowledged admissions.
    pub(super) fn flush_tally(&mut self, at: Time) -> Result<(), StorageError> {
        let Some(event) = self.tally.event() else { return Ok(()) };
        if self.write(at, event)? {
            self.tally.clear();
        }
        Ok(())
    }

    /// Writes one record; false if it was noise held back to keep unacknowledged admissions.
    fn write(&mut self, at: Time, event: AuditEvent) -> Result<bool, StorageError> {
        let Some(site) = &self.site else { return Ok(true) };
        let r =
            record(site.config.site, site.config.door, self.audit_len, at, self.audit_prev, event);
        let lost = self.admissions_overwritten_by(&r)?;
        if lost.is_some() && is_noise(&event) {
            return Ok(false);
        }
        self.storage.append_audit(&r)?;
        self.audit_prev = r.chain_hash().map_err(|_| StorageError::TooLarge)?;
        self.audit_len += 1;
        if let Some((admissions, before)) = lost {
            self.write(at, AuditEvent::Overwritten { admissions, before })?;
        }
        Ok(true)
    }

    /// Admission records the site server has not acknowledged that writing `r` would
    /// overwrite: how many, and the first sequence kept. Only with a log key (without one no
    /// acknowledgement is possible, and the ring wraps as it must).
    pub(super) fn admissions_overwritten_by(
        &mut self,
        r: &AuditRecord,
    ) -> Result<Option<(u32, u64)>, StorageError> {
        if self.site.as_ref().is_none_or(|s| s.mask.is_none()) {
            return Ok(None);
        }
        let mut buf = [0u8; MAX_AUDIT_RECORD_LEN];
        let len = r.encode(&mut buf).map_err(|_| StorageError::TooLarge)?.len();
        let Some((from, to)) = self.storage.audit_overwrites(len) else { return Ok(None) };
        let mut admissions = 0u32;
        for seq in from.max(self.log_acked)..to {
            let Some(bytes) = self.storage.audit_record(seq, &mut buf)? else { continue };
            if let Ok(AuditRecord { event: AuditEvent::Admitted { .. }, .. }) =
                AuditRecord::decode(bytes)
            {
                admissions += 1;
            }
        }
        Ok((admissions > 0).then_some((admissions, to)))
    }

    /// Appends, or enters the storage fault state.
    pub(super) fn log(&mut self, at: Time, event: AuditEvent) {
        if let Err(e) = self.append(at, event) {
            self.fail(Fault::Storage(e));
        }
    }

    /// Logs noise: as its own record after a quiet spell, counted otherwise. Returns the
    /// sequence of the record that holds it (for a counted one, the tally's, written next).
    pub(super) fn note(&mut self, noise: Noise) -> u64 {
        let now_ms = self.hw.clock.millis();
        let event = match noise {
            Noise::Refused(e) => AuditEvent::Rejected { reason: e.code() },
            Noise::ForcedOpen => AuditEvent::Alarm(Alarm::ForcedOpen),
            Noise::HeldOpen => AuditEvent::Alarm(Alarm::HeldOpen),
            Noise::Egress => {
                self.tally.count(noise, now_ms);
                return self.audit_len;
            }
        };
        let slot = Tally::kind(noise).unwrap_or(0);
        let quiet = self.tally.quiet_until_ms.get(slot).is_some_and(|&until| now_ms < until);
        // Within a window, a refusal for a reason not just written is still news (a revoked
        // holder after a spent grant, say), up to a few a window; repeats are counted.
        let news = match noise {
            Noise::Refused(e) => {
                e.code() != self.tally.last_written_reason
                    && self.tally.written_in_window < DISTINCT_REFUSALS
            }
            _ => false,
        };
        if quiet && !news {
            self.tally.count(noise, now_ms);
            return self.audit_len;
        }
        let at = self.door_now();
        let before = self.audit_len;
        self.log(at, event);
        if let Noise::Refused(e) = noise {
            self.tally.last_written_reason = e.code();
            self.tally.written_in_window =
                if quiet { self.tally.written_in_window.saturating_add(1) } else { 1 };
        }
        if !quiet {
            if let Some(until) = self.tally.quiet_until_ms.get_mut(slot) {
                *until = now_ms.saturating_add(u64::from(self.settings.coalesce_ms));
            }
        }
        if self.audit_len > before {
            self.audit_len - 1
        } else {
            self.audit_len
        }
    }

    /// Writes a tally that has waited `coalesce_ms` (from the door watch).
    pub(super) fn tally_due(&mut self, now_ms: u64) {
        let window = u64::from(self.settings.coalesce_ms);
        if self.tally.since_ms.is_some_and(|since| now_ms.saturating_sub(since) >= window) {
            // What was counted stays counted for another minute: a sustained flood writes one
            // tally a minute, not a record of its own after each tally.
            self.tally.quiet_counted(now_ms.saturating_add(window));
            let at = self.door_now();
            if let Err(e) = self.flush_tally(at) {
                self.fail(Fault::Storage(e));
            }
        }
    }

    /// Stops deciding: the controller refuses every attempt from now on.
    pub(super) fn fail(&mut self, fault: Fault) {
        self.fault = Some(fault);
        self.phase = Phase::Idle;
        self.hw.indicator.show(Signal::Fault);
    }

    /// Shows an alarm on the indicator.
    pub(super) fn show_alarm(&mut self) {
        if self.fault.is_none() {
            self.hw.indicator.show(Signal::Alarm);
        }
    }

    /// Logs an alarm that is never counted away (lockout, clock, storage).
    pub(super) fn alarm(&mut self, alarm: Alarm) {
        let at = self.door_now();
        self.log(at, AuditEvent::Alarm(alarm));
        if self.fault.is_none() {
            self.hw.indicator.show(Signal::Alarm);
        }
    }

    /// Counts a failure toward the back-off (if it cost a signature); the first time the
    /// back-off reaches its cap, logs [`Alarm::Lockout`]: someone is trying forged credentials.
    pub(super) fn count_failure(&mut self, reason: Error, now_ms: u64) {
        if self.backoff.fail(reason, now_ms, &self.settings) == Penalty::AtCap {
            self.alarm(Alarm::Lockout);
        }
    }

    /// What the indicator shows between attempts.
    pub(super) fn show_rest(&mut self) {
        let signal = if self.fault.is_some() {
            Signal::Fault
        } else if self.site.is_none() {
            Signal::NotEnrolled
        } else {
            Signal::Idle
        };
        self.hw.indicator.show(signal);
    }

    /// What the next challenge's nonce is XORed with: boot counter, attempt counter, zeros.
    pub(super) fn nonce_mask(&self) -> [u8; 16] {
        let mut mask = [0u8; 16];
        let (boot, attempt) = mask.split_at_mut(4);
        boot.copy_from_slice(&self.boot_count.to_le_bytes());
        if let Some(a) = attempt.get_mut(..4) {
            a.copy_from_slice(&self.attempts.to_le_bytes());
        }
        mask
    }
}
