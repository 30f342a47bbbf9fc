//! The audit log, alarms, failures and the indicator: what the controller records and shows.

use porter_protocol::{record, Alarm, AuditEvent, Error, Time};

use crate::hal::{
    Clock, DoorSensor, Entropy, Indicator, InstallerButton, LockActuator, NorFlash, Signal,
};
use crate::storage::StorageError;

use super::backoff::Penalty;
use super::{Core, Fault, Phase};

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

    /// Appends a record to the log (once enrolled: the log names the site and door).
    pub(super) fn append(&mut self, at: Time, event: AuditEvent) -> Result<(), StorageError> {
        let Some(site) = &self.site else { return Ok(()) };
        let r =
            record(site.config.site, site.config.door, self.audit_len, at, self.audit_prev, event);
        self.storage.append_audit(&r)?;
        self.audit_prev = r.chain_hash().map_err(|_| StorageError::TooLarge)?;
        self.audit_len += 1;
        Ok(())
    }

    /// Appends, or enters the storage fault state.
    pub(super) fn log(&mut self, at: Time, event: AuditEvent) {
        if let Err(e) = self.append(at, event) {
            self.fail(Fault::Storage(e));
        }
    }

    /// Stops deciding: the controller refuses every attempt from now on.
    pub(super) fn fail(&mut self, fault: Fault) {
        self.fault = Some(fault);
        self.phase = Phase::Idle;
        self.hw.indicator.show(Signal::Fault);
    }

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
