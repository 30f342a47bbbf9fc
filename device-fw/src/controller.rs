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

use porter_protocol::Alarm;
use porter_protocol::{
    record, AuditEvent, AuditRecord, ChainHash, Challenge, Decision, DoorConfig, DoorMemory,
    Enrolment, Error, LogHead, Presentation, PublicKey, SigningKey, Time, MAX_AUDIT_RECORD_LEN,
    MAX_CHALLENGE_LEN, MAX_LOG_HEAD_LEN, MAX_RECEIPT_LEN, VERSION,
};

use crate::frame::{Fragmenter, FrameError, Progress, Reassembler};
use crate::hal::{
    Clock, DoorSensor, Entropy, Indicator, LockActuator, Mark, NorFlash, Signal, Transport, MTU,
};
use crate::storage::{
    IdentityRecord, PendingAudit, ReplayRecord, Storage, StorageError, StoredEnrolment,
};
use crate::wire::{self, Refusal, Writer};

/// The largest answer: a log page of [`wire::MAX_LOG_RECORDS`] records of at most
/// [`MAX_AUDIT_RECORD_LEN`] bytes, each with a length byte, plus the type and count.
pub const MAX_RESPONSE_LEN: usize = 2 + wire::MAX_LOG_RECORDS as usize * (1 + MAX_AUDIT_RECORD_LEN);

/// The fragments taken from the transport per [`Controller::poll`]: bounds the work of one poll.
const FRAGMENTS_PER_POLL: usize = 24;

/// How far back boot looks in the audit log to restore the back-off state.
const BACKOFF_LOOKBACK: u64 = 64;

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
    /// Consecutive failures allowed before back-off starts.
    pub free_failures: u32,
    /// The first back-off delay; it doubles with each further failure, in ms.
    pub backoff_base_ms: u32,
    /// Consecutive failures that lock the door out.
    pub lockout_after: u32,
    /// How long a lockout lasts, in ms.
    pub lockout_ms: u32,
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
            lockout_after: 10,
            lockout_ms: 300_000,
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
pub struct Peripherals<L, S, C, E, I> {
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
}

struct Site {
    config: DoorConfig,
    memory: DoorMemory,
}

#[derive(Clone, Copy)]
enum Phase {
    Idle,
    Challenged { challenge: Challenge, expires_ms: u64 },
}

/// Everything but the transport and the message buffers, so that a handler can read the
/// received message and write the answer while changing the controller.
struct Core<F: NorFlash, L, S, C, E, I> {
    storage: Storage<F>,
    hw: Peripherals<L, S, C, E, I>,
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
    failures: u32,
    blocked_until_ms: u64,
    locked_out: bool,
    unlocked_until_ms: Option<u64>,
    door_open: bool,
    open_authorised: bool,
    opened_at_ms: u64,
    held_alarm_raised: bool,
    clock_alarm_raised: bool,
    fault: Option<Fault>,
    releases: u32,
}

/// The door controller.
pub struct Controller<F: NorFlash, T, L, S, C, E, I> {
    core: Core<F, L, S, C, E, I>,
    transport: T,
    reassembler: Reassembler,
    fragmenter: Fragmenter,
    out: [u8; MAX_RESPONSE_LEN],
}

impl<F, T, L, S, C, E, I> Controller<F, T, L, S, C, E, I>
where
    F: NorFlash,
    T: Transport,
    L: LockActuator,
    S: DoorSensor,
    C: Clock,
    E: Entropy,
    I: Indicator,
{
    /// Boots: recovers storage, makes the device key on first boot, restores the door's memory,
    /// completes an admission's audit record cut short by power loss, logs the boot, and
    /// restores back-off from the log. Storage or entropy trouble does not stop the boot: the
    /// controller comes up refusing attempts ([`Controller::fault`]).
    pub fn boot(
        flash: F,
        transport: T,
        hw: Peripherals<L, S, C, E, I>,
        settings: Settings,
    ) -> Result<Self, (F, BootError)> {
        let mut controller = Self::new(flash, transport, hw, settings)?;
        controller.start();
        Ok(controller)
    }

    /// The first half of [`Controller::boot`]: mounts storage and secures the lock, but recovers
    /// nothing yet; call [`Controller::start`] next. A board that keeps the controller in a
    /// static writes it there between the two, so that recovery's stack and the controller's
    /// temporary copy are never live at once.
    pub fn new(
        flash: F,
        transport: T,
        mut hw: Peripherals<L, S, C, E, I>,
        settings: Settings,
    ) -> Result<Self, (F, BootError)> {
        hw.lock.secure();
        let storage = Storage::mount(flash).map_err(|(f, _)| (f, BootError::Geometry))?;
        let core = Core {
            storage,
            device_public: PublicKey([0; 32]),
            device: None,
            hw,
            settings,
            boot_count: 0,
            site: None,
            audit_len: 0,
            audit_prev: ChainHash::GENESIS,
            phase: Phase::Idle,
            attempts: 0,
            failures: 0,
            blocked_until_ms: 0,
            locked_out: false,
            unlocked_until_ms: None,
            door_open: false,
            open_authorised: false,
            opened_at_ms: 0,
            held_alarm_raised: false,
            clock_alarm_raised: false,
            // Until `start` has run, the controller refuses everything.
            fault: Some(Fault::Storage(StorageError::Corrupt)),
            releases: 0,
        };
        Ok(Controller {
            core,
            transport,
            reassembler: Reassembler::new(),
            fragmenter: Fragmenter::new(),
            out: [0; MAX_RESPONSE_LEN],
        })
    }

    /// The second half of [`Controller::boot`]: recovery. Call it once.
    pub fn start(&mut self) {
        let core = &mut self.core;
        core.fault = None;
        if let Err(fault) = core.recover(self.reassembler.scratch()) {
            core.fault = Some(fault);
        }
        core.door_open = core.hw.sensor.is_open();
        core.show_rest();
    }

    /// Runs timers, watches the door and answers received messages. Call it often (every few
    /// milliseconds); it does a bounded amount of work.
    pub fn poll(&mut self) {
        let now_ms = self.core.hw.clock.millis();
        self.core.tick(now_ms);
        if self.reassembler.expire(now_ms, self.core.settings.reassembly_timeout_ms).is_err() {
            self.refuse_frame(FrameError::Timeout);
        }
        let mut fragment = [0u8; MTU];
        for _ in 0..FRAGMENTS_PER_POLL {
            let Some(len) = self.transport.receive(&mut fragment) else { break };
            let now_ms = self.core.hw.clock.millis();
            match self.reassembler.push(fragment.get(..len).unwrap_or(&[]), now_ms) {
                Ok(Progress::Partial) => {}
                Ok(Progress::Complete(_)) => {
                    let n = self.core.handle(self.reassembler.message(), &mut self.out);
                    let reply = self.out.get(..n).unwrap_or(&[]);
                    // A lost link loses the answer only; the phone asks again.
                    let _ = self.fragmenter.send(&mut self.transport, reply);
                }
                Err(e) => self.refuse_frame(e),
            }
        }
    }

    fn refuse_frame(&mut self, e: FrameError) {
        let n = refusal(&mut self.out, Refusal::Frame, frame_error_code(e), 0);
        let _ = self.fragmenter.send(&mut self.transport, self.out.get(..n).unwrap_or(&[]));
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
        self.core.unlocked_until_ms.is_some()
    }

    /// Consecutive failed attempts.
    pub fn failures(&self) -> u32 {
        self.core.failures
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
    pub fn peripherals(&mut self) -> &mut Peripherals<L, S, C, E, I> {
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

impl<F, L, S, C, E, I> Core<F, L, S, C, E, I>
where
    F: NorFlash,
    L: LockActuator,
    S: DoorSensor,
    C: Clock,
    E: Entropy,
    I: Indicator,
{
    // Not inlined: keeps this handler's locals out of its callers' stack frames (the
    // Cortex-M4 build measures peak stack against a 32 KiB budget).
    #[inline(never)]
    fn recover(&mut self, scratch: &mut [u8]) -> Result<(), Fault> {
        // Corruption (not a power cut) destroyed committed records the door decides with: it
        // cannot know what it forgot (spends, revocations), so it refuses everything.
        if self.storage.decisions_lost() {
            return Err(Fault::Storage(StorageError::Corrupt));
        }
        let identity = self.storage.identity().map_err(Fault::Storage)?;
        let mut identity = match identity {
            Some(id) => id,
            None => {
                let mut seed = [0u8; 32];
                self.hw.entropy.fill(&mut seed).map_err(|_| Fault::Entropy)?;
                IdentityRecord { seed, boot_count: 0, enrolment: None }
            }
        };
        identity.boot_count = identity.boot_count.wrapping_add(1);
        // An all-zero seed is what a dead entropy source gives: refused, the door faults.
        let device = SigningKey::from_seed(identity.seed).map_err(|_| Fault::Entropy)?;
        self.device_public = device.public_key();
        self.device = Some(device);
        // The boot counter must be durable before any nonce uses it.
        self.storage.write_identity(&identity).map_err(Fault::Storage)?;
        self.boot_count = identity.boot_count;

        let (len, prev) = self.storage.audit_head().map_err(Fault::Storage)?;
        self.audit_len = len;
        self.audit_prev = prev;

        let Some(stored) = identity.enrolment else { return Ok(()) };
        let enrolment =
            Enrolment::decode_for_device(&stored.bytes, &stored.root, &self.device_public)
                .map_err(Fault::Config)?;
        let config = self.config_for(&enrolment, stored.root);
        // Built in place, so that the 3.5 KB memory is not copied about on the stack.
        self.site =
            Some(Site { config, memory: DoorMemory::new(enrolment.site, enrolment.issued_at) });
        let Some(site) = self.site.as_mut() else {
            return Err(Fault::Storage(StorageError::Corrupt));
        };
        // The stored door state is read into the (idle) reassembly buffer.
        if let Some(state) = self.storage.door_state(scratch).map_err(Fault::Storage)? {
            site.memory.apply_door_state(&site.config, state).map_err(Fault::Config)?;
        }
        let replay = self.storage.replay().map_err(Fault::Storage)?;
        let pending = replay.as_ref().and_then(|r| r.pending);
        let (since, state_sequence) = replay.as_ref().map_or((0, 0), |r| {
            (r.audit_length + u64::from(r.pending.is_some()), r.state_sequence)
        });
        if let Some(r) = replay {
            let floor = r.floor.max(site.memory.floor());
            site.memory =
                DoorMemory::from_parts(site.memory.state().clone(), floor, r.replay, r.certs);
        }

        // The replay and door state records must be at least as new as the log says: an
        // admission logged after the replay record, or a door state newer than the one
        // recovered, means flash corruption rolled them back. Fail closed.
        let recovered_state = self.site.as_ref().map_or(0, |s| s.memory.state().sequence);
        if recovered_state < state_sequence
            || self.logged_since(since, recovered_state).map_err(Fault::Storage)?
        {
            return Err(Fault::Storage(StorageError::Corrupt));
        }

        // An admission whose spend is durable but whose audit record was cut off. The relay
        // moves only after the record is written, so this door did not open: the record keeps
        // the spend accountable (the grant's entry is used up), and the repair alarm that
        // follows it tells the reader that no receipt was issued and the door stayed shut.
        let mut interrupted = false;
        if let Some(p) = pending {
            if p.sequence == self.audit_len {
                self.append(p.at, p.event).map_err(Fault::Storage)?;
                interrupted = true;
            }
        }
        let at = self.door_now();
        self.append(at, AuditEvent::Boot).map_err(Fault::Storage)?;
        if self.storage.repaired() || interrupted {
            self.append(at, AuditEvent::Alarm(Alarm::StorageRepaired)).map_err(Fault::Storage)?;
        }
        self.restore_backoff();
        Ok(())
    }

    /// Whether the audit log holds, from `since` on, an admission (which would have written a
    /// newer replay record) or a door state newer than `state`.
    fn logged_since(&mut self, since: u64, state: u64) -> Result<bool, StorageError> {
        let mut buf = [0u8; MAX_AUDIT_RECORD_LEN];
        let from = since.max(self.storage.audit_oldest()?);
        for seq in from..self.audit_len {
            let Some(bytes) = self.storage.audit_record(seq, &mut buf)? else { continue };
            let Ok(record) = AuditRecord::decode(bytes) else { continue };
            match record.event {
                AuditEvent::Admitted { .. } => return Ok(true),
                AuditEvent::DoorStateApplied { sequence } if sequence > state => return Ok(true),
                _ => {}
            }
        }
        Ok(false)
    }

    fn nonce_mask(&self) -> [u8; 16] {
        let mut mask = [0u8; 16];
        let (boot, attempt) = mask.split_at_mut(4);
        boot.copy_from_slice(&self.boot_count.to_le_bytes());
        if let Some(a) = attempt.get_mut(..4) {
            a.copy_from_slice(&self.attempts.to_le_bytes());
        }
        mask
    }

    fn config_for(&self, enrolment: &Enrolment, root: PublicKey) -> DoorConfig {
        DoorConfig {
            site: enrolment.site,
            door: enrolment.door,
            root,
            clock_skew: self.settings.clock_skew_s,
            challenge_lifetime: self.settings.challenge_lifetime_s,
        }
    }

    /// Counts the failed attempts at the end of the log (across boots, so that power cycling
    /// does not reset the back-off) and restarts their penalty from now.
    // Not inlined: keeps this handler's locals out of its callers' stack frames (the
    // Cortex-M4 build measures peak stack against a 32 KiB budget).
    #[inline(never)]
    fn restore_backoff(&mut self) {
        let mut failures = 0u32;
        let mut locked = false;
        let mut buf = [0u8; MAX_AUDIT_RECORD_LEN];
        let mut seq = self.audit_len;
        while seq > 0 && self.audit_len - seq < BACKOFF_LOOKBACK {
            seq -= 1;
            let Ok(Some(bytes)) = self.storage.audit_record(seq, &mut buf) else { break };
            let Ok(record) = AuditRecord::decode(bytes) else { break };
            match record.event {
                AuditEvent::Rejected { .. } => failures += 1,
                AuditEvent::Alarm(Alarm::Lockout) => {
                    locked = failures == 0;
                    break;
                }
                AuditEvent::Admitted { .. } | AuditEvent::Enrolled => break,
                AuditEvent::Boot | AuditEvent::Alarm(_) | AuditEvent::DoorStateApplied { .. } => {}
            }
        }
        let now_ms = self.hw.clock.millis();
        if locked {
            self.failures = 0;
            self.locked_out = true;
            self.blocked_until_ms = now_ms.saturating_add(u64::from(self.settings.lockout_ms));
        } else {
            self.failures = failures;
            self.blocked_until_ms = now_ms.saturating_add(self.backoff_ms());
        }
    }

    fn backoff_ms(&self) -> u64 {
        let over = self.failures.saturating_sub(self.settings.free_failures);
        if over == 0 {
            return 0;
        }
        u64::from(self.settings.backoff_base_ms) << (over - 1).min(16)
    }

    fn door_now(&mut self) -> Time {
        let clock = self.hw.clock.now();
        match &self.site {
            Some(site) => site.memory.now(clock),
            None => clock,
        }
    }

    fn append(&mut self, at: Time, event: AuditEvent) -> Result<(), StorageError> {
        let Some(site) = &self.site else { return Ok(()) };
        let r =
            record(site.config.site, site.config.door, self.audit_len, at, self.audit_prev, event);
        self.storage.append_audit(&r)?;
        self.audit_prev = r.chain_hash().map_err(|_| StorageError::TooLarge)?;
        self.audit_len += 1;
        Ok(())
    }

    /// Appends, or enters the storage fault state.
    fn log(&mut self, at: Time, event: AuditEvent) {
        if let Err(e) = self.append(at, event) {
            self.fail(Fault::Storage(e));
        }
    }

    fn fail(&mut self, fault: Fault) {
        self.fault = Some(fault);
        self.phase = Phase::Idle;
        self.hw.indicator.show(Signal::Fault);
    }

    fn alarm(&mut self, alarm: Alarm) {
        let at = self.door_now();
        self.log(at, AuditEvent::Alarm(alarm));
        if self.fault.is_none() {
            self.hw.indicator.show(Signal::Alarm);
        }
    }

    fn show_rest(&mut self) {
        let signal = if self.fault.is_some() {
            Signal::Fault
        } else if self.site.is_none() {
            Signal::NotEnrolled
        } else if self.locked_out {
            Signal::LockedOut
        } else {
            Signal::Idle
        };
        self.hw.indicator.show(signal);
    }

    /// Timers and the door sensor.
    fn tick(&mut self, now_ms: u64) {
        if let Some(until) = self.unlocked_until_ms {
            if now_ms >= until {
                self.hw.lock.secure();
                self.unlocked_until_ms = None;
                self.show_rest();
            }
        }
        if let Phase::Challenged { expires_ms, .. } = self.phase {
            // Answerable up to and including the lifetime, as in the protocol's check.
            if now_ms > expires_ms {
                self.phase = Phase::Idle;
                let at = self.door_now();
                self.log(at, AuditEvent::Rejected { reason: Error::ChallengeExpired.code() });
                self.count_failure(now_ms);
                if !self.locked_out {
                    self.show_rest();
                }
            }
        }
        if self.locked_out && now_ms >= self.blocked_until_ms {
            self.locked_out = false;
            self.failures = 0;
            self.show_rest();
        }
        let open = self.hw.sensor.is_open();
        if open && !self.door_open {
            self.opened_at_ms = now_ms;
            self.held_alarm_raised = false;
            self.open_authorised = self.unlocked_until_ms.is_some();
            if !self.open_authorised {
                self.alarm(Alarm::ForcedOpen);
            }
        }
        if open
            && self.open_authorised
            && !self.held_alarm_raised
            && now_ms.saturating_sub(self.opened_at_ms) > u64::from(self.settings.held_open_ms)
        {
            self.held_alarm_raised = true;
            self.alarm(Alarm::HeldOpen);
        }
        if !open && self.door_open {
            self.open_authorised = false;
        }
        self.door_open = open;
    }

    fn count_failure(&mut self, now_ms: u64) {
        self.failures = self.failures.saturating_add(1);
        if self.failures >= self.settings.lockout_after {
            self.locked_out = true;
            self.blocked_until_ms = now_ms.saturating_add(u64::from(self.settings.lockout_ms));
            self.alarm(Alarm::Lockout);
            self.hw.indicator.show(Signal::LockedOut);
        } else {
            self.blocked_until_ms = now_ms.saturating_add(self.backoff_ms());
        }
    }

    /// Handles one request; writes the answer to `out` and returns its length.
    fn handle(&mut self, request: &[u8], out: &mut [u8]) -> usize {
        let Some((&kind, body)) = request.split_first() else {
            return refusal(out, Refusal::Malformed, 0, 0);
        };
        let mut w = Writer::new(out);
        let result = match kind {
            wire::REQ_INFO => self.info(&mut w),
            wire::REQ_ENROL => self.enrol(body, &mut w),
            wire::REQ_CHALLENGE => self.challenge(body, &mut w),
            wire::REQ_PRESENT => self.present(body, &mut w),
            wire::REQ_DOOR_STATE => self.door_state(body, &mut w),
            wire::REQ_READ_LOG => self.read_log(body, &mut w),
            wire::REQ_LOG_HEAD => self.log_head(body, &mut w),
            _ => Err((Refusal::Malformed, 0, 0)),
        };
        match result {
            Ok(()) => w.len(),
            Err((r, detail, retry)) => refusal(out, r, detail, retry),
        }
    }

    fn ready(&self, now_ms: u64) -> Result<&Site, Refused> {
        if self.fault.is_some() {
            return Err((Refusal::Fault, 0, 0));
        }
        let site = self.site.as_ref().ok_or((Refusal::NotEnrolled, 0, 0))?;
        if now_ms < self.blocked_until_ms {
            let wait = u32::try_from(self.blocked_until_ms - now_ms).unwrap_or(u32::MAX);
            let why = if self.locked_out { Refusal::LockedOut } else { Refusal::BackOff };
            return Err((why, 0, wait));
        }
        Ok(site)
    }

    fn info(&mut self, w: &mut Writer<'_>) -> Result<(), Refused> {
        let (site, door) =
            self.site.as_ref().map_or((0, 0), |s| (s.config.site.0, s.config.door.0));
        w.u8(wire::RESP_INFO)
            .and_then(|w| w.u8(VERSION))
            .and_then(|w| w.u8(u8::from(self.site.is_some())))
            .and_then(|w| w.bytes(&self.device_public.0))
            .and_then(|w| w.u32(site))
            .and_then(|w| w.u16(door))
            .and_then(|w| w.u64(self.audit_len))
            .and_then(|w| w.u32(self.boot_count))
            .map(|_| ())
            .map_err(|_| (Refusal::Fault, 0, 0))
    }

    // Not inlined: keeps this handler's locals out of its callers' stack frames (the
    // Cortex-M4 build measures peak stack against a 32 KiB budget).
    #[inline(never)]
    fn enrol(&mut self, body: &[u8], w: &mut Writer<'_>) -> Result<(), Refused> {
        if self.fault.is_some() {
            return Err((Refusal::Fault, 0, 0));
        }
        if self.site.is_some() {
            return Err((Refusal::AlreadyEnrolled, 0, 0));
        }
        let now_ms = self.hw.clock.millis();
        if now_ms < self.blocked_until_ms {
            return Err((Refusal::BackOff, 0, 0));
        }
        let (root, bytes) = body.split_first_chunk::<32>().ok_or((Refusal::Malformed, 0, 0))?;
        let root = PublicKey(*root);
        let rejected = |e: Error| (Refusal::Rejected, e.code(), 0);
        if root.validate().is_err() {
            return Err(rejected(Error::EnrolmentBadSignature));
        }
        let enrolment = match Enrolment::decode_for_device(bytes, &root, &self.device_public) {
            Ok(e) => e,
            Err(e) => {
                self.failures = self.failures.saturating_add(1);
                self.blocked_until_ms = now_ms.saturating_add(self.backoff_ms());
                return Err(rejected(e));
            }
        };
        let stored = StoredEnrolment {
            root,
            bytes: heapless::Vec::from_slice(bytes).map_err(|_| (Refusal::Malformed, 0, 0))?,
        };
        let identity = self.storage.identity().map_err(|e| self.storage_refusal(e))?;
        let Some(mut identity) = identity else { return Err((Refusal::Fault, 0, 0)) };
        identity.enrolment = Some(stored);
        identity.boot_count = self.boot_count;
        self.storage.write_identity(&identity).map_err(|e| self.storage_refusal(e))?;
        let config = self.config_for(&enrolment, root);
        let memory = DoorMemory::new(enrolment.site, enrolment.issued_at);
        self.site = Some(Site { config, memory });
        self.failures = 0;
        let at = self.door_now();
        self.log(at, AuditEvent::Enrolled);
        self.show_rest();
        w.u8(wire::RESP_ENROLLED).map(|_| ()).map_err(|_| (Refusal::Fault, 0, 0))
    }

    fn storage_refusal(&mut self, e: StorageError) -> Refused {
        self.fail(Fault::Storage(e));
        (Refusal::Fault, 0, 0)
    }

    // Not inlined: keeps this handler's locals out of its callers' stack frames (the
    // Cortex-M4 build measures peak stack against a 32 KiB budget).
    #[inline(never)]
    fn challenge(&mut self, body: &[u8], w: &mut Writer<'_>) -> Result<(), Refused> {
        if !body.is_empty() {
            return Err((Refusal::Malformed, 0, 0));
        }
        let now_ms = self.hw.clock.millis();
        let (site, door, floor) = {
            let site = self.ready(now_ms)?;
            (site.config.site, site.config.door, site.memory.floor())
        };
        if let Phase::Challenged { expires_ms, .. } = self.phase {
            let wait = u32::try_from(expires_ms.saturating_sub(now_ms)).unwrap_or(u32::MAX);
            return Err((Refusal::Busy, 0, wait));
        }
        // Unpredictable (entropy) and unique by construction: the boot counter and the attempt
        // counter are XORed in, so even a stuck entropy source never repeats a nonce.
        let mut nonce = [0u8; 16];
        if self.hw.entropy.fill(&mut nonce).is_err() {
            self.fail(Fault::Entropy);
            return Err((Refusal::Fault, 0, 0));
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
        let mut buf = [0u8; MAX_CHALLENGE_LEN];
        let bytes = challenge.encode(&mut buf).map_err(|_| (Refusal::Fault, 0, 0))?;
        w.u8(wire::RESP_CHALLENGE)
            .and_then(|w| w.bytes(bytes))
            .map(|_| ())
            .map_err(|_| (Refusal::Fault, 0, 0))
    }

    // Not inlined: keeps this handler's locals out of its callers' stack frames (the
    // Cortex-M4 build measures peak stack against a 32 KiB budget).
    #[inline(never)]
    fn present(&mut self, body: &[u8], w: &mut Writer<'_>) -> Result<(), Refused> {
        let now_ms = self.hw.clock.millis();
        self.ready(now_ms)?;
        let Phase::Challenged { challenge, .. } = self.phase else {
            return Err((Refusal::NoChallenge, 0, 0));
        };
        // The challenge is answered once, whatever the verdict.
        self.phase = Phase::Idle;
        let clock = self.hw.clock.now();
        let Some(site) = self.site.as_mut() else { return Err((Refusal::NotEnrolled, 0, 0)) };
        let sequence_before = site.memory.state().sequence;
        self.hw.clock.mark(Mark::DecisionStart);
        let decision = decide(&mut site.memory, &site.config, clock, &challenge, body);
        self.hw.clock.mark(Mark::DecisionEnd);
        match decision {
            Decision::Admit(a) => {
                let event = AuditEvent::Admitted {
                    issuer: a.issuer,
                    grant_serial: a.grant_serial,
                    use_index: a.use_index,
                    holder: a.holder,
                    role: a.role,
                    package: a.package,
                };
                let state_bytes = if site.memory.state().sequence > sequence_before {
                    Presentation::decode(body).ok().and_then(|p| p.claims().door_state)
                } else {
                    None
                };
                let pending = PendingAudit { sequence: self.audit_len, at: a.at, event };
                // 1. The spend (and any newer door state) durable; the audit record rides along.
                self.persist(state_bytes, Some(pending)).map_err(|e| self.storage_refusal(e))?;
                self.hw.clock.mark(Mark::SpendDurable);
                // 2. The audit record in the log.
                let Some(site) = self.site.as_ref() else { return Err((Refusal::Fault, 0, 0)) };
                let r = record(
                    site.config.site,
                    site.config.door,
                    self.audit_len,
                    a.at,
                    self.audit_prev,
                    event,
                );
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
                self.unlocked_until_ms =
                    Some(now_ms.saturating_add(u64::from(self.settings.unlock_ms)));
                self.failures = 0;
                self.blocked_until_ms = 0;
                self.hw.indicator.show(Signal::Admitted);
                // 4. The receipt.
                let mut buf = [0u8; MAX_RECEIPT_LEN];
                let device = self.device.as_ref().ok_or((Refusal::Fault, 0, 0))?;
                let receipt =
                    r.seal_receipt(device, &mut buf).map_err(|_| (Refusal::Fault, 0, 0))?;
                w.u8(wire::RESP_ADMITTED)
                    .and_then(|w| w.bytes(receipt))
                    .map(|_| ())
                    .map_err(|_| (Refusal::Fault, 0, 0))
            }
            Decision::Reject(e) => {
                let at = site.memory.now(clock);
                let sequence = self.audit_len;
                self.log(at, AuditEvent::Rejected { reason: e.code() });
                if self.fault.is_some() {
                    return Err((Refusal::Fault, 0, 0));
                }
                self.count_failure(now_ms);
                if !self.locked_out {
                    self.hw.indicator.show(Signal::Denied);
                }
                w.u8(wire::RESP_DENIED)
                    .and_then(|w| w.u8(wire::coarse_code(e.coarse())))
                    .and_then(|w| w.u64(sequence))
                    .map(|_| ())
                    .map_err(|_| (Refusal::Fault, 0, 0))
            }
        }
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
        let record = ReplayRecord {
            floor: site.memory.floor(),
            replay: site.memory.replay().clone(),
            certs: site.memory.certs().clone(),
            audit_length: self.audit_len,
            state_sequence: site.memory.state().sequence,
            pending,
        };
        self.storage.write_replay(&record)
    }

    // Not inlined: keeps this handler's locals out of its callers' stack frames (the
    // Cortex-M4 build measures peak stack against a 32 KiB budget).
    #[inline(never)]
    fn door_state(&mut self, body: &[u8], w: &mut Writer<'_>) -> Result<(), Refused> {
        let now_ms = self.hw.clock.millis();
        self.ready(now_ms)?;
        let Some(site) = self.site.as_mut() else { return Err((Refusal::NotEnrolled, 0, 0)) };
        match site.memory.apply_door_state(&site.config, body) {
            Ok(sequence) => {
                self.persist(Some(body), None).map_err(|e| self.storage_refusal(e))?;
                let at = self.door_now();
                self.log(at, AuditEvent::DoorStateApplied { sequence });
                w.u8(wire::RESP_STATE)
                    .and_then(|w| w.u64(sequence))
                    .map(|_| ())
                    .map_err(|_| (Refusal::Fault, 0, 0))
            }
            Err(e) => {
                // An old state is what an honest phone carries; anything else cost a signature
                // check or was garbage, and counts toward back-off.
                if e != Error::StateNotNewer {
                    self.failures = self.failures.saturating_add(1);
                    self.blocked_until_ms = now_ms.saturating_add(self.backoff_ms());
                }
                Err((Refusal::Rejected, e.code(), 0))
            }
        }
    }

    // Not inlined: keeps this handler's locals out of its callers' stack frames (the
    // Cortex-M4 build measures peak stack against a 32 KiB budget).
    #[inline(never)]
    fn read_log(&mut self, body: &[u8], w: &mut Writer<'_>) -> Result<(), Refused> {
        let (Some(from), Some(&max)) = (wire::read_u64(body), body.get(8)) else {
            return Err((Refusal::Malformed, 0, 0));
        };
        if body.len() != 9 {
            return Err((Refusal::Malformed, 0, 0));
        }
        let full = (Refusal::Fault, 0, 0);
        w.u8(wire::RESP_LOG).map_err(|_| full)?;
        let count_at = w.len();
        w.u8(0).map_err(|_| full)?;
        let mut count = 0u8;
        let mut buf = [0u8; MAX_AUDIT_RECORD_LEN];
        // Records the ring has overwritten are gone: start at the oldest still held.
        let oldest = self.storage.audit_oldest().map_err(|e| self.storage_refusal(e))?;
        let mut seq = from.max(oldest);
        while count < max.min(wire::MAX_LOG_RECORDS) && seq < self.audit_len {
            let bytes = match self.storage.audit_record(seq, &mut buf) {
                Ok(Some(b)) => b,
                Ok(None) => break,
                Err(e) => return Err(self.storage_refusal(e)),
            };
            let len = u8::try_from(bytes.len()).map_err(|_| full)?;
            w.u8(len).and_then(|w| w.bytes(bytes)).map_err(|_| full)?;
            count += 1;
            seq += 1;
        }
        w.patch(count_at, count);
        Ok(())
    }

    // Not inlined: keeps this handler's locals out of its callers' stack frames (the
    // Cortex-M4 build measures peak stack against a 32 KiB budget).
    #[inline(never)]
    fn log_head(&mut self, body: &[u8], w: &mut Writer<'_>) -> Result<(), Refused> {
        if !body.is_empty() {
            return Err((Refusal::Malformed, 0, 0));
        }
        let at = self.door_now();
        let Some(site) = self.site.as_ref() else { return Err((Refusal::NotEnrolled, 0, 0)) };
        let head = LogHead {
            version: VERSION,
            site: site.config.site,
            door: site.config.door,
            length: self.audit_len,
            head: self.audit_prev,
            at,
        };
        let mut buf = [0u8; MAX_LOG_HEAD_LEN + 64];
        let device = self.device.as_ref().ok_or((Refusal::Fault, 0, 0))?;
        let signed = head.seal(device, &mut buf).map_err(|_| (Refusal::Fault, 0, 0))?;
        w.u8(wire::RESP_HEAD)
            .and_then(|w| w.bytes(signed))
            .map(|_| ())
            .map_err(|_| (Refusal::Fault, 0, 0))
    }
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

/// A refusal: reason, detail, retry-after in ms.
type Refused = (Refusal, u16, u32);

fn refusal(out: &mut [u8], why: Refusal, detail: u16, retry_ms: u32) -> usize {
    let mut w = Writer::new(out);
    match w
        .u8(wire::RESP_REFUSED)
        .and_then(|w| w.u8(why as u8))
        .and_then(|w| w.u16(detail))
        .and_then(|w| w.u32(retry_ms))
    {
        Ok(w) => w.len(),
        Err(_) => 0,
    }
}

/// The wire number of a reassembly error (the detail of a [`Refusal::Frame`]).
pub fn frame_error_code(e: FrameError) -> u16 {
    match e {
        FrameError::BadFragment => 1,
        FrameError::Oversized => 2,
        FrameError::Interleaved => 3,
        FrameError::OutOfOrder => 4,
        FrameError::Truncated => 5,
        FrameError::Timeout => 6,
        FrameError::Orphan => 7,
    }
}
