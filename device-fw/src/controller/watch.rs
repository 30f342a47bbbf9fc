//! The door watch: timers and the door sensor, run on every poll. The relay pulse ends, an
//! unanswered challenge expires (audited as a failed attempt), and the door position raises the
//! forced-open and held-open alarms.

use porter_protocol::Error;

use crate::hal::{Clock, DoorSensor, Entropy, Indicator, InstallerButton, LockActuator, NorFlash};

use super::journal::Noise;
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
    /// Until when the door may open as an exit (a request to exit was seen).
    exit_until_ms: Option<u64>,
    /// The installer button at the last poll.
    button: bool,
    /// Until when an unenrolled door takes an enrolment (a press of the installer button).
    enrol_until_ms: Option<u64>,
}

impl DoorWatch {
    /// The door position at boot: a door already open is not an event. A button held at
    /// power-on counts as a press.
    pub(super) fn start(&mut self, open: bool) {
        self.open = open;
    }

    /// Whether an enrolment may be taken at `now_ms`.
    pub(super) fn enrolment_open(&self, now_ms: u64) -> bool {
        self.enrol_until_ms.is_some_and(|until| now_ms < until)
    }

    /// Closes the enrolment window (the door is enrolled).
    pub(super) fn close_enrolment(&mut self) {
        self.enrol_until_ms = None;
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
                self.note(Noise::Refused(Error::ChallengeExpired));
                self.show_rest();
            }
        }
        self.watch_door(now_ms);
        self.watch_button(now_ms);
        self.tally_due(now_ms);
    }

    /// A press (the button going down, or held at the first poll after power-on) opens the
    /// enrolment window of an unenrolled door.
    fn watch_button(&mut self, now_ms: u64) {
        let pressed = self.hw.button.pressed();
        if pressed && !self.watch.button && self.site.is_none() {
            let window = u64::from(self.settings.enrol_window_ms);
            self.watch.enrol_until_ms = Some(now_ms.saturating_add(window));
        }
        self.watch.button = pressed;
    }

    fn watch_door(&mut self, now_ms: u64) {
        if self.hw.sensor.exit_requested() {
            let window = u64::from(self.settings.egress_window_ms);
            self.watch.exit_until_ms = Some(now_ms.saturating_add(window));
        }
        let open = self.hw.sensor.is_open();
        let w = &mut self.watch;
        if open && !w.open {
            w.opened_at_ms = now_ms;
            w.held_alarm_raised = false;
            let egress = w.exit_until_ms.is_some_and(|until| now_ms <= until);
            w.authorised = w.unlocked_until_ms.is_some() || egress;
            if egress && w.unlocked_until_ms.is_none() {
                // Someone inside asked to leave: an exit, counted, not an alarm.
                w.exit_until_ms = None;
                self.note(Noise::Egress);
            } else if !w.authorised {
                self.note(Noise::ForcedOpen);
                self.show_alarm();
            }
        }
        let w = &mut self.watch;
        if open
            && w.authorised
            && !w.held_alarm_raised
            && now_ms.saturating_sub(w.opened_at_ms) > u64::from(self.settings.held_open_ms)
        {
            w.held_alarm_raised = true;
            self.note(Noise::HeldOpen);
            self.show_alarm();
        }
        let w = &mut self.watch;
        if !open && w.open {
            w.authorised = false;
        }
        w.open = open;
    }
}
