//! The door watch: timers and the door sensor, run on every poll. The relay pulse ends, an
//! unanswered challenge expires (audited as a failed attempt), and the door position raises the
//! forced-open and held-open alarms.

use porter_protocol::{Alarm, AuditEvent, Error};

use crate::hal::{Clock, DoorSensor, Entropy, Indicator, LockActuator, NorFlash};

use super::{Core, Phase};

/// What the watch remembers between polls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct DoorWatch {
    /// When the relay pulse ends, while it is released.
    unlocked_until_ms: Option<u64>,
    /// The door position at the last poll.
    open: bool,
    /// The door opened during a relay pulse (an admitted entry).
    authorised: bool,
    opened_at_ms: u64,
    held_alarm_raised: bool,
}

impl DoorWatch {
    /// The door position at boot: a door already open is not an event.
    pub(super) fn start(&mut self, open: bool) {
        self.open = open;
    }

    /// The relay was released at `now_ms` for `pulse_ms`.
    pub(super) fn released_at(&mut self, now_ms: u64, pulse_ms: u32) {
        self.unlocked_until_ms = Some(now_ms.saturating_add(u64::from(pulse_ms)));
    }

    /// Whether the relay is released now.
    pub(super) fn released(&self) -> bool {
        self.unlocked_until_ms.is_some()
    }
}

impl<F, L, S, C, E, I> Core<F, L, S, C, E, I>
where
    F: NorFlash,
    L: LockActuator,
    S: DoorSensor,
    C: Clock,
    E: Entropy,
    I: Indicator,
{
    /// Timers and the door sensor.
    pub(super) fn tick(&mut self, now_ms: u64) {
        if let Some(until) = self.watch.unlocked_until_ms {
            if now_ms >= until {
                self.hw.lock.secure();
                self.watch.unlocked_until_ms = None;
                self.show_rest();
            }
        }
        if let Phase::Challenged { expires_ms, .. } = self.phase {
            // Answerable up to and including the lifetime, as in the protocol's check.
            if now_ms > expires_ms {
                self.phase = Phase::Idle;
                let at = self.door_now();
                self.log(at, AuditEvent::Rejected { reason: Error::ChallengeExpired.code() });
                self.show_rest();
            }
        }
        self.watch_door(now_ms);
    }

    fn watch_door(&mut self, now_ms: u64) {
        let open = self.hw.sensor.is_open();
        let w = &mut self.watch;
        if open && !w.open {
            w.opened_at_ms = now_ms;
            w.held_alarm_raised = false;
            w.authorised = w.unlocked_until_ms.is_some();
            if !w.authorised {
                self.alarm(Alarm::ForcedOpen);
            }
        }
        let w = &mut self.watch;
        if open
            && w.authorised
            && !w.held_alarm_raised
            && now_ms.saturating_sub(w.opened_at_ms) > u64::from(self.settings.held_open_ms)
        {
            w.held_alarm_raised = true;
            self.alarm(Alarm::HeldOpen);
        }
        let w = &mut self.watch;
        if !open && w.open {
            w.authorised = false;
        }
        w.open = open;
    }
}
