//! Boot and recovery: storage mounted, the device key made or loaded, the door's memory
//! rebuilt from flash and checked against the log, an admission cut short by power loss
//! completed, and the back-off restored from the log's tail.

use porter_protocol::wire::Stream;
use porter_protocol::{
    Alarm, AuditEvent, AuditRecord, ChainHash, DoorConfig, DoorMemory, Enrolment, Error, LogMask,
    PublicKey, SigningKey, MAX_AUDIT_RECORD_LEN,
};

use porter_link::DoorLink;

use crate::hal::{
    Clock, DoorSensor, Entropy, Indicator, InstallerButton, LockActuator, NorFlash, Transport,
};
use crate::storage::{
    read_replay_record, IdentityRecord, ReplayRecordRest, Snapshot, Storage, StorageError,
};

use super::backoff::{costs_a_signature, Backoff};
use super::journal::Tally;
use super::watch::DoorWatch;
use super::{
    BootError, Controller, Core, Fault, Peripherals, Phase, Settings, Site, MAX_RESPONSE_LEN,
};

/// How far back boot looks in the audit log to restore the back-off state.
const BACKOFF_LOOKBACK: u64 = 64;

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
    /// Boots: recovers storage, makes the device key on first boot, restores the door's memory,
    /// completes an admission's audit record cut short by power loss, logs the boot, and
    /// restores back-off from the log. Storage or entropy trouble does not stop the boot: the
    /// controller comes up refusing attempts ([`Controller::fault`]).
    pub fn boot(
        flash: F,
        transport: T,
        hw: Peripherals<L, S, C, E, I, B>,
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
        mut hw: Peripherals<L, S, C, E, I, B>,
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
            backoff: Backoff::default(),
            watch: DoorWatch::default(),
            tally: Tally::default(),
            log_acked: 0,
            clock_alarm_raised: false,
            // Until `start` has run, the controller refuses everything.
            fault: Some(Fault::Storage(StorageError::Corrupt)),
            releases: 0,
        };
        Ok(Controller {
            core,
            link: DoorLink::new(transport.mtu()),
            transport,
            out: [0; MAX_RESPONSE_LEN],
        })
    }

    /// The second half of [`Controller::boot`]: recovery. Call it once.
    pub fn start(&mut self) {
        let core = &mut self.core;
        core.fault = None;
        if let Err(fault) = core.recover(self.link.scratch()) {
            core.fault = Some(fault);
        }
        let open = core.hw.sensor.is_open();
        core.watch.start(open);
        core.show_rest();
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
                IdentityRecord { seed, boot_count: 0, enrolment: None, log_acked: 0 }
            }
        };
        identity.boot_count = identity.boot_count.wrapping_add(1);
        // An all-zero seed is what a dead entropy source gives: refused, the door faults.
        let device = SigningKey::from_seed(identity.seed).map_err(|_| Fault::Entropy)?;
        self.device_public = device.public_key();
        // The boot counter must be durable before any nonce uses it.
        self.storage.write_identity(&identity).map_err(Fault::Storage)?;
        self.boot_count = identity.boot_count;
        self.log_acked = identity.log_acked;

        let (len, prev) = self.storage.audit_head().map_err(Fault::Storage)?;
        self.audit_len = len;
        self.audit_prev = prev;

        let Some(stored) = identity.enrolment else {
            self.device = Some(device);
            return Ok(());
        };
        let enrolment =
            Enrolment::decode_for_device(&stored.bytes, &stored.root, &self.device_public)
                .map_err(Fault::Config)?;
        let config = self.config_for(&enrolment, stored.root);
        let mask = log_mask(&device, &enrolment).map_err(Fault::Config)?;
        // Built in place, so that the 3.5 KB memory is not copied about on the stack.
        self.site = Some(Site {
            config,
            memory: DoorMemory::new(enrolment.site, enrolment.issued_at),
            mask,
        });
        self.device = Some(device);
        let Some(site) = self.site.as_mut() else {
            return Err(Fault::Storage(StorageError::Corrupt));
        };
        // The stored door state is read into the (idle) reassembly buffer.
        if let Some(state) = self.storage.door_state(scratch).map_err(Fault::Storage)? {
            site.memory.apply_door_state(&site.config, state).map_err(Fault::Config)?;
        }
        // The replay record, read part by part through the same buffer and put back in place.
        let replay = match self.storage.replay_snapshot().map_err(Fault::Storage)? {
            Some(mut snapshot) => {
                Some(restore(&mut site.memory, &mut snapshot, scratch).map_err(Fault::Storage)?)
            }
            None => None,
        };
        let pending = replay.as_ref().and_then(|r| r.pending);
        let (since, state_sequence) = replay.as_ref().map_or((0, 0), |r| {
            (r.audit_length + u64::from(r.pending.is_some()), r.state_sequence)
        });

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

    pub(super) fn config_for(&self, enrolment: &Enrolment, root: PublicKey) -> DoorConfig {
        DoorConfig {
            site: enrolment.site,
            door: enrolment.door,
            root,
            clock_skew: self.settings.clock_skew_s,
            challenge_lifetime: self.settings.challenge_lifetime_s,
        }
    }

    /// Counts the failed attempts that cost a signature at the end of the log (across boots, so
    /// that power cycling does not reset the back-off) and restarts their penalty from now.
    // Not inlined: keeps this handler's locals out of its callers' stack frames (the
    // Cortex-M4 build measures peak stack against a 32 KiB budget).
    #[inline(never)]
    fn restore_backoff(&mut self) {
        let mut failures = 0u32;
        let mut buf = [0u8; MAX_AUDIT_RECORD_LEN];
        let mut seq = self.audit_len;
        while seq > 0 && self.audit_len - seq < BACKOFF_LOOKBACK {
            seq -= 1;
            let Ok(Some(bytes)) = self.storage.audit_record(seq, &mut buf) else { break };
            let Ok(record) = AuditRecord::decode(bytes) else { break };
            match record.event {
                AuditEvent::Rejected { reason } => {
                    if Error::from_code(reason).is_some_and(costs_a_signature) {
                        failures += 1;
                    }
                }
                AuditEvent::Tally { refused_signature, .. } => {
                    failures = failures.saturating_add(refused_signature);
                }
                AuditEvent::Admitted { .. } | AuditEvent::Enrolled => break,
                AuditEvent::Boot
                | AuditEvent::Alarm(_)
                | AuditEvent::DoorStateApplied { .. }
                | AuditEvent::Overwritten { .. } => {}
            }
        }
        let now_ms = self.hw.clock.millis();
        self.backoff = Backoff::restore(failures, now_ms, &self.settings);
    }
}

/// The key that masks holder ids in the log, if the enrolment names the site server's log key:
/// one X25519 agreement, at enrolment and at boot.
pub(super) fn log_mask(
    device: &SigningKey,
    enrolment: &Enrolment,
) -> Result<Option<LogMask>, porter_protocol::Error> {
    enrolment.log_key.as_ref().map(|key| LogMask::for_door(device, key)).transpose()
}

/// What boot needs of the replay record besides the memory it restores in place.
struct Restored {
    audit_length: u64,
    state_sequence: u64,
    pending: Option<crate::storage::PendingAudit>,
}

/// Decodes the replay record straight into `memory`, in a frame of its own, through `window`
/// (the idle link buffer). The replay table (5 KiB) is decoded in place
/// (`DoorMemory::replay_in_place`): decoded by value, the record and its moves into the memory
/// took an 18 KB frame, which no painted admission or first boot showed but every reboot with
/// a replay record needed.
#[inline(never)]
fn restore<F: NorFlash>(
    memory: &mut DoorMemory,
    snapshot: &mut Snapshot<'_, F>,
    window: &mut [u8],
) -> Result<Restored, StorageError> {
    let mut stream = Stream::new(window, snapshot);
    let rest = read_replay_record(&mut stream, |s| memory.replay_in_place().read(s));
    let read = !stream.failed() && stream.at_end();
    snapshot.verdict(read)?;
    let ReplayRecordRest { floor, certs, audit_length, state_sequence, pending } = rest;
    memory.restore_floor_and_certs(floor, certs);
    Ok(Restored { audit_length, state_sequence, pending })
}
