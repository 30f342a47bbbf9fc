//! The door's side, for controllers made by other vendors: the very admission decision
//! Porter's own firmware runs, over caller-owned buffers.
//!
//! The door's memory (door state, clock floor, replay windows, certificate cache) lives in a
//! buffer the caller owns and persists: `PORTER_MAX_DOOR_MEMORY_LEN` bytes, in the encoding of
//! `DoorMemory::encode`. Each call decodes it strictly, decides, and on success writes the new
//! memory back; on any refusal the buffer and its length are left byte-identical. Nothing here
//! allocates on the heap or calls back into the caller. Stack: reserve 32 KiB (ffi/README.md,
//! "Measured", has the peaks; CI fails above 32 KiB).
//!
//! The stack is mostly the decoded memory itself (about 9 KiB): it is decoded in place, into the
//! one `DoorMemory` each call holds, and encoded straight into the caller's buffer once its
//! length is known to fit, so no second copy and no encode scratch ever sit on the stack.
//!
//! The spend is recorded in the returned memory: persist the buffer before moving the relay.

use porter_protocol::{
    Challenge, Decision, DoorConfig, DoorId, DoorMemory, PublicKey, Role, SiteId, Time,
    MAX_CHALLENGE_LEN, MAX_DOOR_MEMORY_LEN,
};

use crate::ffi::{
    boundary, check_out, copy_out, try_array, try_mut, try_ref, try_slice, try_slice_mut,
    write_out, Outcome,
};
use crate::result::{porter_result, protocol};

/// Why the holder may enter: the grant's role, by its wire number.
#[allow(non_camel_case_types, reason = "C naming: the header spells it porter_role")]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum porter_role {
    /// A carrier's driver delivering a package.
    Delivery = 0,
    /// A contractor on a service call booked by the property manager.
    Service = 1,
    /// Returned for a NULL grant.
    Invalid = 255,
}

/// A door's configuration from commissioning. Plain data, owned by the caller.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct porter_door_config {
    /// The door's site.
    pub site: u32,
    /// This door.
    pub door: u16,
    /// The site root public key: the only key the door trusts directly.
    pub root: [u8; 32],
    /// How far, in seconds, the door's clock may disagree with an issuer's (60 is typical).
    pub clock_skew: u32,
    /// How long, in seconds, a challenge stays answerable (30 is typical).
    pub challenge_lifetime: u32,
}

impl porter_door_config {
    fn core(&self) -> DoorConfig {
        DoorConfig {
            site: SiteId(self.site),
            door: DoorId(self.door),
            root: PublicKey(self.root),
            clock_skew: self.clock_skew,
            challenge_lifetime: self.challenge_lifetime,
        }
    }
}

/// Why the door opened: what its audit log and receipt record. Written only on admission.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct porter_admission {
    /// The first 8 bytes of the issuer key that signed the grant.
    pub issuer: [u8; 8],
    /// The grant's first serial: with the issuer, what the server matches to an issued grant.
    pub grant_serial: u64,
    /// Which of the grant's entries this was, from 0.
    pub use_index: u8,
    /// How many entries the grant allows at this door.
    pub uses: u8,
    /// The grant's role.
    pub role: porter_role,
    /// The first 8 bytes of the holder key.
    pub holder: [u8; 8],
    /// The package commitment (a salted hash; never the tracking number).
    pub package: [u8; 32],
    /// The door state sequence in force after the attempt.
    pub state_sequence: u64,
    /// The door time used for the decision, Unix seconds UTC.
    pub at: u32,
}

/// The caller's memory buffer: its capacity and the length of the memory it holds.
struct MemoryBuffer<'a> {
    bytes: &'a mut [u8],
    len: &'a mut usize,
}

impl<'a> MemoryBuffer<'a> {
    fn borrow(memory: *mut u8, capacity: usize, len: *mut usize) -> Result<Self, porter_result> {
        let len = try_mut(len)?;
        let bytes = try_slice_mut(memory, capacity)?;
        if capacity < MAX_DOOR_MEMORY_LEN {
            return Err(porter_result::BufferTooSmall);
        }
        Ok(MemoryBuffer { bytes, len })
    }

    /// Decodes the stored memory into `door`, in place (never a second copy on the stack).
    fn decode_into(&self, door: &mut DoorMemory) -> Outcome {
        decode_memory(self.bytes.get(..*self.len), door)
    }

    /// Replaces the stored memory. Measures the encoding first and writes it straight into the
    /// buffer only once it is known to fit, so a failure leaves the buffer unchanged and no
    /// encode scratch is needed.
    fn store(&mut self, memory: &DoorMemory) -> Outcome {
        let len = postcard::serialize_with_flavor(memory, postcard::ser_flavors::Size::default())
            .map_err(|_| porter_result::BufferTooSmall)?;
        let dest = self.bytes.get_mut(..len).ok_or(porter_result::BufferTooSmall)?;
        let encoded = protocol(memory.encode(dest))?;
        *self.len = encoded.len();
        Ok(())
    }
}

/// Decodes stored door memory (`None`: the stored length exceeds the buffer) into `door`,
/// strictly; anything that does not decode is `DOOR_MEMORY_CORRUPT`.
fn decode_memory(stored: Option<&[u8]>, door: &mut DoorMemory) -> Outcome {
    let stored = stored.ok_or(porter_result::DoorMemoryCorrupt)?;
    door.decode_into(stored).map_err(|_| porter_result::DoorMemoryCorrupt)
}

/// The memory a call decodes into: blank, made in place.
fn blank_memory() -> DoorMemory {
    DoorMemory::new(SiteId(0), Time(0))
}

/// Writes the memory of a freshly commissioned door of `site` (nothing spent, nothing
/// denied, clock floor at `floor`, Unix seconds) into `memory`, which has `memory_capacity`
/// bytes (at least `PORTER_MAX_DOOR_MEMORY_LEN`), and its length to `*memory_len`.
/// Errors: `NULL_PARAMETER`; `BUFFER_TOO_SMALL`.
#[no_mangle]
pub extern "C" fn porter_door_memory_init(
    site: u32,
    floor: u32,
    memory: *mut u8,
    memory_capacity: usize,
    memory_len: *mut usize,
) -> porter_result {
    boundary(|| {
        let mut buffer = MemoryBuffer::borrow(memory, memory_capacity, memory_len)?;
        buffer.store(&DoorMemory::new(SiteId(site), Time(floor)))
    })
}

/// Decides one attempt: the door's `config`, its memory (`*memory_len` bytes at `memory`, in a
/// buffer of `memory_capacity` >= `PORTER_MAX_DOOR_MEMORY_LEN` bytes), its real-time `clock`
/// (Unix seconds; the decision uses it but never below the memory's signed floor), the exact
/// `challenge` bytes it sent and the phone's `presentation`.
///
/// Returns `PORTER_RESULT_OK` to admit: `*admission` is written, and the memory (buffer and
/// `*memory_len`) now records the spend and any newer door state the phone carried. Persist it,
/// then open. Any other code refuses entry and changes nothing: a protocol reason (send the
/// phone only `porter_result_coarse` of it), `DOOR_MEMORY_CORRUPT`, `NULL_PARAMETER`,
/// `BUFFER_TOO_SMALL`, `PANIC`.
#[no_mangle]
#[allow(clippy::too_many_arguments, reason = "C has no slices: every input is pointer + length")]
pub extern "C" fn porter_door_admit(
    config: *const porter_door_config,
    memory: *mut u8,
    memory_capacity: usize,
    memory_len: *mut usize,
    clock: u32,
    challenge: *const u8,
    challenge_len: usize,
    presentation: *const u8,
    presentation_len: usize,
    admission: *mut porter_admission,
) -> porter_result {
    boundary(|| {
        let config = try_ref(config)?.core();
        check_out(admission)?;
        let mut buffer = MemoryBuffer::borrow(memory, memory_capacity, memory_len)?;
        let challenge = protocol(Challenge::decode(try_slice(challenge, challenge_len)?))?;
        let presentation = try_slice(presentation, presentation_len)?;
        let mut door = blank_memory();
        buffer.decode_into(&mut door)?;
        match door.admit(&config, Time(clock), &challenge, presentation) {
            Decision::Reject(reason) => Err(porter_result::from(reason)),
            Decision::Admit(a) => {
                buffer.store(&door)?;
                write_out(
                    admission,
                    porter_admission {
                        issuer: a.issuer.0,
                        grant_serial: a.grant_serial,
                        use_index: a.use_index,
                        uses: a.uses,
                        role: match a.role {
                            Role::Delivery => porter_role::Delivery,
                            Role::Service => porter_role::Service,
                        },
                        holder: a.holder.0,
                        package: a.package.0,
                        state_sequence: a.state_sequence,
                        at: a.at.0,
                    },
                )
            }
        }
    })
}

/// Takes newer signed door state (from any phone, or an uplink) into the memory and writes
/// its sequence number to `*sequence`. On error nothing changes: `STATE_NOT_NEWER` is
/// routine (the door already has it); `STATE_BAD_SIGNATURE` and `STATE_WRONG_SITE` deserve a
/// log entry. Other errors as `porter_door_admit`.
#[no_mangle]
pub extern "C" fn porter_door_apply_state(
    config: *const porter_door_config,
    memory: *mut u8,
    memory_capacity: usize,
    memory_len: *mut usize,
    state: *const u8,
    state_len: usize,
    sequence: *mut u64,
) -> porter_result {
    boundary(|| {
        let config = try_ref(config)?.core();
        check_out(sequence)?;
        let mut buffer = MemoryBuffer::borrow(memory, memory_capacity, memory_len)?;
        let state = try_slice(state, state_len)?;
        let mut door = blank_memory();
        buffer.decode_into(&mut door)?;
        let applied = protocol(door.apply_door_state(&config, state))?;
        buffer.store(&door)?;
        write_out(sequence, applied)
    })
}

/// Writes the door's time to `*now`: its real-time `clock`, but never below the signed floor
/// in the memory. Use it for a challenge's `issued_at`. Errors: `NULL_PARAMETER`,
/// `DOOR_MEMORY_CORRUPT`.
#[no_mangle]
pub extern "C" fn porter_door_now(
    memory: *const u8,
    memory_len: usize,
    clock: u32,
    now: *mut u32,
) -> porter_result {
    boundary(|| {
        check_out(now)?;
        let stored = try_slice(memory, memory_len)?;
        let mut door = blank_memory();
        decode_memory(Some(stored), &mut door)?;
        write_out(now, door.now(Time(clock)).0)
    })
}

/// Encodes the challenge a door sends before each attempt: its `site` and `door`, a 16-byte
/// `nonce` that never repeats at this door (also across reboots) and `issued_at` (from
/// `porter_door_now`). Writes at most `PORTER_MAX_CHALLENGE_LEN` bytes to `out`.
/// Errors: `NULL_PARAMETER`; `INVALID_PARAMETER` if `nonce_len` is not 16; `BUFFER_TOO_SMALL`.
#[no_mangle]
#[allow(clippy::too_many_arguments, reason = "C has no slices: every input is pointer + length")]
pub extern "C" fn porter_challenge_encode(
    site: u32,
    door: u16,
    nonce: *const u8,
    nonce_len: usize,
    issued_at: u32,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        let nonce: [u8; 16] = try_array(nonce, nonce_len)?;
        let challenge = Challenge::new(SiteId(site), DoorId(door), nonce, Time(issued_at));
        let mut buf = [0u8; MAX_CHALLENGE_LEN];
        copy_out(protocol(challenge.encode(&mut buf))?, out, out_len, written)
    })
}
