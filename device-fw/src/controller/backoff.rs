//! Back-off: the one rule for how failed attempts slow the next ones down.

use crate::wire::Refusal;

use super::Settings;

/// Consecutive failures and the time before which the next attempt is refused.
///
/// The rule, in one place: the first [`Settings::free_failures`] failures cost nothing; each
/// further one makes the door wait [`Settings::backoff_base_ms`], doubling with every failure;
/// the [`Settings::lockout_after`]-th locks the door out for [`Settings::lockout_ms`], after
/// which the count starts again. An admission clears it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Backoff {
    failures: u32,
    until_ms: u64,
    locked_out: bool,
}

/// What a failure led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Penalty {
    /// A wait (possibly none) before the next attempt.
    Wait,
    /// This failure locked the door out.
    LockedOut,
}

impl Backoff {
    /// Counts one failure at `now_ms`.
    pub(super) fn fail(&mut self, now_ms: u64, settings: &Settings) -> Penalty {
        self.failures = self.failures.saturating_add(1);
        if self.failures >= settings.lockout_after {
            self.locked_out = true;
            self.until_ms = now_ms.saturating_add(u64::from(settings.lockout_ms));
            Penalty::LockedOut
        } else {
            self.until_ms = now_ms.saturating_add(self.delay_ms(settings));
            Penalty::Wait
        }
    }

    /// An admission: no more waiting.
    pub(super) fn clear(&mut self) {
        *self = Backoff::default();
    }

    /// Rebuilt at boot from the log: `failures` since the last success, or a lockout that was
    /// the last thing logged. The penalty restarts from `now_ms`.
    pub(super) fn restore(
        failures: u32,
        locked_out: bool,
        now_ms: u64,
        settings: &Settings,
    ) -> Backoff {
        let mut b = Backoff { failures, until_ms: 0, locked_out };
        b.until_ms = if locked_out {
            b.failures = 0;
            now_ms.saturating_add(u64::from(settings.lockout_ms))
        } else {
            now_ms.saturating_add(b.delay_ms(settings))
        };
        b
    }

    /// Ends a lockout whose time is up; true when it just ended.
    pub(super) fn expire(&mut self, now_ms: u64) -> bool {
        if self.locked_out && now_ms >= self.until_ms {
            self.clear();
            return true;
        }
        false
    }

    /// Why, and for how many ms, an attempt at `now_ms` must wait; `None` when it need not.
    pub(super) fn wait(&self, now_ms: u64) -> Option<(Refusal, u64)> {
        if now_ms >= self.until_ms {
            return None;
        }
        let why = if self.locked_out { Refusal::LockedOut } else { Refusal::BackOff };
        Some((why, self.until_ms - now_ms))
    }

    /// Whether the door is locked out.
    pub(super) fn locked_out(&self) -> bool {
        self.locked_out
    }

    /// Consecutive failures.
    pub(super) fn failures(&self) -> u32 {
        self.failures
    }

    fn delay_ms(&self, settings: &Settings) -> u64 {
        let over = self.failures.saturating_sub(settings.free_failures);
        if over == 0 {
            return 0;
        }
        u64::from(settings.backoff_base_ms) << (over - 1).min(16)
    }
}
