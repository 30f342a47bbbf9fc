//! Back-off: the one rule for how failed attempts slow the next ones down.
//!
//! What it bounds is signature work, and only that. A failure counts when the attempt cost
//! the door a signature check (see [`costs_a_signature`]); anything refused by the cheap
//! checks (decoding, the challenge, scope, time, limits, fences, deny-list, replay) costs a few
//! microseconds and never counts, so garbage from someone with no credential delays no one.
//! And the back-off delays only the next signature check, never the cheap ones, never the
//! challenge: a door under attack keeps answering, and a holder who presents during a back-off
//! is told when to present the same bytes again, at most [`Settings::backoff_max_ms`] later.
//! There is no lockout.

use porter_protocol::Error;

use super::Settings;

/// Consecutive failures that cost a signature, and when the next signature check may start.
///
/// The rule, in one place: the first [`Settings::free_failures`] failures cost nothing; each
/// further one makes the next signature check wait [`Settings::backoff_base_ms`], doubling
/// with every failure up to [`Settings::backoff_max_ms`]. An admission clears it. So under a
/// sustained flood of forged credentials the door checks at most one signature-failing attempt
/// per `backoff_max_ms` (8 s by default), and an honest holder waits at most that long.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Backoff {
    failures: u32,
    until_ms: u64,
}

/// What a failure led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Penalty {
    /// Nothing, or a wait shorter than the cap.
    Wait,
    /// This failure took the wait to the cap for the first time since the last admission: the
    /// door logs [`porter_protocol::Alarm::Lockout`] once.
    AtCap,
}

impl Backoff {
    /// Counts one failure at `now_ms` if it cost a signature.
    pub(super) fn fail(&mut self, reason: Error, now_ms: u64, settings: &Settings) -> Penalty {
        if !costs_a_signature(reason) {
            return Penalty::Wait;
        }
        let was_at_cap = self.at_cap(settings);
        self.failures = self.failures.saturating_add(1);
        self.until_ms = now_ms.saturating_add(self.delay_ms(settings));
        if self.at_cap(settings) && !was_at_cap {
            Penalty::AtCap
        } else {
            Penalty::Wait
        }
    }

    /// An admission: no more waiting.
    pub(super) fn clear(&mut self) {
        *self = Backoff::default();
    }

    /// Rebuilt at boot from the log: `failures` that cost a signature since the last success.
    /// The wait restarts from `now_ms`, so power cycling the door never shortens it.
    pub(super) fn restore(failures: u32, now_ms: u64, settings: &Settings) -> Backoff {
        let mut b = Backoff { failures, until_ms: 0 };
        b.until_ms = now_ms.saturating_add(b.delay_ms(settings));
        b
    }

    /// How many ms a signature check at `now_ms` must wait; `None` when it need not.
    pub(super) fn wait(&self, now_ms: u64) -> Option<u64> {
        (now_ms < self.until_ms).then(|| self.until_ms - now_ms)
    }

    /// Consecutive failures that cost a signature.
    pub(super) fn failures(&self) -> u32 {
        self.failures
    }

    fn at_cap(&self, settings: &Settings) -> bool {
        self.delay_ms(settings) >= u64::from(settings.backoff_max_ms)
    }

    fn delay_ms(&self, settings: &Settings) -> u64 {
        let over = self.failures.saturating_sub(settings.free_failures);
        if over == 0 {
            return 0;
        }
        let doubled = u64::from(settings.backoff_base_ms) << (over - 1).min(32);
        doubled.min(u64::from(settings.backoff_max_ms))
    }
}

/// Whether refusing for `reason` cost the door a signature check (or the key validation that
/// comes with one): the failures that back-off counts. Every other reason is found by the
/// cheap checks, which run before any signature.
pub(super) fn costs_a_signature(reason: Error) -> bool {
    matches!(
        reason,
        Error::CertBadSignature
            | Error::CertWeakKey
            | Error::GrantBadSignature
            | Error::ProofBadSignature
            | Error::HolderWeakKey
            | Error::StateBadSignature
            | Error::EnrolmentBadSignature
    )
}
