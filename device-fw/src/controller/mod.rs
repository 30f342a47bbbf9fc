//! The door controller: boot and recovery, commissioning, the attempt state machine, door
//! watching, back-off, and the audit log.
//!
//! ```text
//!            challenge request                 presentation
//!   Idle ---------------------> Challenged ---------------------> verifying (DoorMemory::admit)
//!    ^   (refused while backing off)  |  expiry: audited as a          |            |
//!    |                                |  failed attempt                | admit      | reject
//!    +--------------------------------+                                v            v
//!    +------------------------- relocked <--- unlocked (pulse) <-- spend durable   audit, back-off
//! ```
//!
//! One attempt at a time: a challenge is answered once, then forgotten. Every challenge issued
//! ends in exactly one audit record: admitted, rejected with the protocol's reason code, or
//! rejected as expired. On admission the spend and its audit record are written to flash before
//! the relay moves, and a receipt signed with the device key goes back to the phone.

//!
//! | module | what |
//! |--------|------|
//! | `boot` | mounting, recovery of storage and memory, the back-off rebuilt from the log |
//! | `handlers` | one function per request type |
//! | `watch` | timers and the door sensor: relay pulse, challenge expiry, alarms |
//! | `journal` | the audit log, alarms and the indicator |
//! | `backoff` | the one rule for slowing down failed attempts |
//! | `writer` | the answer buffer's cursor |
//!
//! The link (`spec/link.md`) is `porter-link`'s: [`DoorLink`] reassembles requests and frames
//! answers under their request's id, and [`Request::decode`] types each request before a
//! handler sees it.

mod backoff;
mod boot;
mod handlers;
mod journal;
mod watch;
mod writer;

use porter_protocol::{
    ChainHash, Challenge, DoorConfig, DoorMemory, Error, LogMask, PublicKey, SigningKey,
    MAX_AUDIT_RECORD_LEN,
};

use porter_link::{DoorEvent, DoorLink, Refusal, Refused, Request, MAX_ANSWER_LEN};

use crate::hal::{
    Clock, DoorSensor, Entropy, Indicator, InstallerButton, LockActuator, NorFlash, Transport,
    MAX_FRAGMENT,
};
use crate::storage::{Storage, StorageError};

use self::backoff::Backoff;
use self::writer::{Full, Writer};

/// The largest answer: a log page of [`porter_link::MAX_LOG_RECORDS`] records of at most
/// [`MAX_AUDIT_RECORD_LEN`] bytes, each with a length byte, plus the type and count.
pub const MAX_RESPONSE_LEN: usize = MAX_ANSWER_LEN;
const _: () = assert!(
    MAX_RESPONSE_LEN == 2 + porter_link::MAX_LOG_RECORDS as usize * (1 + MAX_AUDIT_RECORD_LEN)
);

/// The fragments taken from the transport per [`Controller::poll`]: bounds the work of one poll.
const FRAGMENTS_PER_POLL: usize = 24;

/// What the installer configures; the defaults suit a street door.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// How long the relay is released on admission, in ms.
    pub unlock_ms: u32,
    /// How long a challenge stays answerable, in seconds (also the protocol's
    /// `challenge_lifetime`).
    pub challenge_lifetime_s: u32,
    /// The clock skew allowed against issuers, in seconds.
    pub clock_skew_s: u32,
    /// How long the door may stay open after an admission before the held-open alarm, in ms.
    pub held_open_ms: u32,
    /// Consecutive failures that cost a signature check allowed before back-off starts.
    pub free_failures: u32,
    /// The first back-off delay of the next signature check; it doubles with each further
    /// failure, in ms.
    pub backoff_base_ms: u32,
    /// The longest back-off delay, in ms: the most an honest holder waits under attack.
    pub backoff_max_ms: u32,
    /// After a noise record (a refusal, a forced or held-open alarm), how long further noise is
    /// counted into one tally record instead of logged one by one, in ms.
    pub coalesce_ms: u32,
    /// How long after a request to exit the door may open without a forced-open alarm, in ms.
    pub egress_window_ms: u32,
    /// How long a press of the installer button lets an unenrolled door take an enrolment,
    /// in ms.
    pub enrol_window_ms: u32,
    /// How long a partly received message may stay silent, in ms.
    pub reassembly_timeout_ms: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            unlock_ms: 5_000,
            challenge_lifetime_s: 30,
            clock_skew_s: 60,
            held_open_ms: 60_000,
            free_failures: 3,
            backoff_base_ms: 2_000,
            backoff_max_ms: 8_000,
            coalesce_ms: 60_000,
            egress_window_ms: 10_000,
            enrol_window_ms: 600_000,
            reassembly_timeout_ms: 3_000,
        }
    }
}

/// Why the controller stopped deciding (it still answers info and log requests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A flash operation failed or a stored record was unreadable.
    Storage(StorageError),
    /// The entropy source failed.
    Entropy,
    /// The stored enrolment or door state no longer verifies.
    Config(Error),
}

/// Boot could not start the controller at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootError {
    /// The flash region is too small or oddly shaped, see [`crate::storage::Layout`].
    Geometry,
}

/// The hardware a controller drives, besides flash and transport.
pub struct Peripherals<L, S, C, E, I, B> {
    /// The strike or release relay.
    pub lock: L,
    /// The door position switch.
    pub sensor: S,
    /// RTC and monotonic time.
    pub clock: C,
    /// Randomness.
    pub entropy: E,
    /// LEDs or buzzer.
    pub indicator: I,
    /// The installer's commissioning button.
    pub button: B,
}

struct Site {
    config: DoorConfig,
    memory: DoorMemory,
    /// Masks holder ids in the log, when the enrolment named the site server's log key.
    mask: Option<LogMask>,
}

#[derive(Clone, Copy)]
enum Phase {
    Idle,
    Challenged { challenge: Challenge, expires_ms: u64 },
}

/// Everything but the transport and the message buffers, so that a handler can read the
/// received message and write the answer while changing the controller.
struct Core<F: NorFlash, L, S, C, E, I, B> {
    storage: Storage<F>,
    hw: Peripherals<L, S, C, E, I, B>,
    settings: Settings,
    /// The device key, once made or loaded (never in a controller that failed before that).
    device: Option<SigningKey>,
    device_public: PublicKey,
    boot_count: u32,
    site: Option<Site>,
    audit_len: u64,
    audit_prev: ChainHash,
    phase: Phase,
    attempts: u32,
    backoff: Backoff,
    watch: watch::DoorWatch,
    /// Noise counted since the last record.
    tally: journal::Tally,
    /// The log length the site server has acknowledged.
    log_acked: u64,
    clock_alarm_raised: bool,
    fault: Option<Fault>,
    releases: u32,
}

/// The door controller.
pub struct Controller<F: NorFlash, T, L, S, C, E, I, B> {
    core: Core<F, L, S, C, E, I, B>,
    transport: T,
    link: DoorLink,
    out: [u8; MAX_RESPONSE_LEN],
}

impl<F, T, L, S, C, E, I, B> Controller<F, T, L, S, C, E, I, B>
where
    F: NorFlash,
    T: Transport,
    L: LockActuator,
    S: DoorSensor,
    C: Clock,
    E: Entropy,
    I: Indicator,
    B: InstallerButton,
{
    /// Runs timers, watches the door and answers received messages. Call it often (every few
    /// milliseconds); it does a bounded amount of work.
    pub fn poll(&mut self) {
        let now_ms = self.core.hw.clock.millis();
        self.core.tick(now_ms);
        if let Some(event) = self.link.expire(now_ms, self.core.settings.reassembly_timeout_ms) {
            self.answer(event);
        }
        let mut fragment = [0u8; MAX_FRAGMENT];
        for _ in 0..FRAGMENTS_PER_POLL {
            let Some(len) = self.transport.receive(&mut fragment) else { break };
            let now_ms = self.core.hw.clock.millis();
            let event = self.link.push(fragment.get(..len).unwrap_or(&[]), now_ms);
            self.answer(event);
        }
    }

    /// Answers what one fragment (or a timeout) completed: a request, or a broken one.
    fn answer(&mut self, event: DoorEvent) {
        let transport = &mut self.transport;
        // A lost link loses the answer only; the phone asks again.
        let _ = match event {
            DoorEvent::Nothing => Ok(()),
            DoorEvent::Request(id) => {
                let n = self.core.handle(self.link.request(), &mut self.out);
                let reply = self.out.get(..n).unwrap_or(&[]);
                self.link.send(id, reply, |f| transport.send(f))
            }
            DoorEvent::Refuse(id, refused) => {
                self.link.send_refusal(id, refused, |f| transport.send(f))
            }
        };
    }

    /// Handles one whole request and returns the answer (for callers that do their own
    /// framing, and for tests).
    pub fn handle(&mut self, request: &[u8]) -> &[u8] {
        let now_ms = self.core.hw.clock.millis();
        self.core.tick(now_ms);
        let n = self.core.handle(request, &mut self.out);
        self.out.get(..n).unwrap_or(&[])
    }

    /// The device's public key (to be enrolled by the site root).
    pub fn device_key(&self) -> PublicKey {
        self.core.device_public
    }

    /// Whether the site root's enrolment is stored.
    pub fn enrolled(&self) -> bool {
        self.core.site.is_some()
    }

    /// Why the controller refuses everything, if it does.
    pub fn fault(&self) -> Option<Fault> {
        self.core.fault
    }

    /// The audit log's length.
    pub fn audit_length(&self) -> u64 {
        self.core.audit_len
    }

    /// The door's memory, once enrolled.
    pub fn memory(&self) -> Option<&DoorMemory> {
        self.core.site.as_ref().map(|s| &s.memory)
    }

    /// The door configuration, once enrolled.
    pub fn config(&self) -> Option<&DoorConfig> {
        self.core.site.as_ref().map(|s| &s.config)
    }

    /// How many times the relay was released since boot.
    pub fn releases(&self) -> u32 {
        self.core.releases
    }

    /// Whether the relay is released now.
    pub fn released(&self) -> bool {
        self.core.watch.released()
    }

    /// Consecutive failed attempts that cost a signature check (what back-off counts).
    pub fn failures(&self) -> u32 {
        self.core.backoff.failures()
    }

    /// What the next challenge's nonce is XORed with: the boot counter and the attempt counter
    /// (little endian), then zeros. For replaying recorded challenges through a scripted entropy
    /// source in tests.
    pub fn next_nonce_mask(&self) -> [u8; 16] {
        self.core.nonce_mask()
    }

    /// The boot counter.
    pub fn boot_count(&self) -> u32 {
        self.core.boot_count
    }

    /// The storage (audit reads, wear counters).
    pub fn storage(&mut self) -> &mut Storage<F> {
        &mut self.core.storage
    }

    /// The peripherals.
    pub fn peripherals(&mut self) -> &mut Peripherals<L, S, C, E, I, B> {
        &mut self.core.hw
    }

    /// The transport.
    pub fn transport(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Powers down: gives the flash back.
    pub fn into_flash(self) -> F {
        self.core.storage.into_flash()
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
    /// Handles one request; writes the answer to `out` and returns its length. A request that
    /// does not decode (`spec/link.md` 3) is refused `Malformed` before any handler runs.
    fn handle(&mut self, request: &[u8], out: &mut [u8]) -> usize {
        let mut w = Writer::new(out);
        let result = match Request::decode(request) {
            Ok(Request::Info) => self.info(&mut w),
            Ok(Request::Enrol { root, enrolment }) => self.enrol(root, enrolment, &mut w),
            Ok(Request::Challenge) => self.challenge(&mut w),
            Ok(Request::Present(presentation)) => self.present(presentation, &mut w),
            Ok(Request::DoorState(state)) => self.door_state(state, &mut w),
            Ok(Request::ReadLog { from, max }) => self.read_log(from, max, &mut w),
            Ok(Request::LogHead) => self.log_head(&mut w),
            Ok(Request::LogAck { length, tag }) => self.log_ack(length, &tag, &mut w),
            Err(_) => Err(refused(Refusal::Malformed)),
        };
        match result {
            Ok(()) => w.len(),
            Err(refused) => {
                let mut w = Writer::new(out);
                match w.answer(&porter_link::Answer::Refused(refused)) {
                    Ok(w) => w.len(),
                    Err(Full) => 0,
                }
            }
        }
    }
}

/// The door storage or entropy failed: it refuses everything until serviced.
const FAULT: Refused = refused(Refusal::Fault);

/// A refusal without detail.
const fn refused(refusal: Refusal) -> Refused {
    Refused { refusal, detail: 0, retry_ms: 0 }
}

/// An enrolment, door state or log acknowledgement the protocol refused.
fn rejected(e: Error) -> Refused {
    Refused { refusal: Refusal::Rejected, detail: e.code(), retry_ms: 0 }
}

/// Come back in `wait_ms`.
fn retry(refusal: Refusal, wait_ms: u64) -> Refused {
    Refused { refusal, detail: 0, retry_ms: u32::try_from(wait_ms).unwrap_or(u32::MAX) }
}

/// An answer that did not fit the output buffer: the firmware's bug, answered as a fault.
impl From<Full> for Refused {
    fn from(_: Full) -> Refused {
        FAULT
    }
}
