//! The door's accountability, for controllers made by other vendors: the hash-chained audit
//! records, the device-signed receipt a door hands the phone after an admission, and the signed
//! log head, in exactly the formats Porter's own firmware writes and the server ingests.
//!
//! Like the decision, none of this allocates or calls back (it is in the `no_std` build). The
//! door's device key is its 32-byte seed, which the caller keeps in its secure storage and
//! passes to each signing call; it is read during the call only.

use porter_protocol::{
    record, Alarm, AuditEvent, AuditRecord, ChainHash, DoorId, KeyId, LogHead, PackageCommitment,
    Role, SigningKey, SiteId, Time, MAX_AUDIT_RECORD_LEN, MAX_LOG_HEAD_LEN, MAX_RECEIPT_LEN,
    VERSION,
};

use crate::door::{porter_admission, porter_door_config, porter_role};
use crate::ffi::{boundary, copy_out, try_array, try_ref, try_slice, Outcome};
use crate::result::{porter_result, protocol};

/// What an audit record says happened.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum porter_event {
    /// Returned for a NULL receipt.
    Invalid = 0,
    /// The door opened for a grant.
    Admitted = 1,
    /// The door refused an attempt (`porter_receipt_reason` says why).
    Rejected = 2,
    /// The door took newer signed door state.
    DoorStateApplied = 3,
    /// An alarm.
    Alarm = 4,
    /// The controller started.
    Boot = 5,
    /// The controller stored its enrolment.
    Enrolled = 6,
    /// An event this build of porter-ffi has no name for.
    Other = 7,
}

/// Something a door noticed that a person should look at.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum porter_alarm {
    /// The door stayed open longer than allowed after an admission.
    HeldOpen = 1,
    /// The door opened without an admission (forced, or the mechanical egress used).
    ForcedOpen = 2,
    /// Too many failed attempts: the door stopped answering for a while.
    Lockout = 3,
    /// The real-time clock read earlier than the signed floor (reset or tampered).
    ClockBehindFloor = 4,
    /// The door found and repaired a torn write at boot.
    StorageRepaired = 5,
}

/// Encodes a record at position `sequence` of the door's log, linked to the previous record's
/// 32-byte hash (all zeros for the first record), into the caller's buffer.
#[allow(clippy::too_many_arguments, reason = "the C argument list, pointer and length")]
fn write_record(
    config: *const porter_door_config,
    sequence: u64,
    at: u32,
    previous: *const u8,
    previous_len: usize,
    event: AuditEvent,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> Outcome {
    let config = try_ref(config)?;
    let previous = ChainHash(try_array(previous, previous_len)?);
    let r = record(SiteId(config.site), DoorId(config.door), sequence, Time(at), previous, event);
    let mut buf = [0u8; MAX_AUDIT_RECORD_LEN];
    copy_out(protocol(r.encode(&mut buf))?, out, out_len, written)
}

/// Encodes the audit record of an admission (`admission` as `porter_door_admit` wrote it, its
/// `at` the record's time) as entry `sequence` of the log, linked to the `previous` record's
/// 32-byte hash (`porter_audit_record_hash`; zeros for the first record). Writes at most
/// `PORTER_MAX_AUDIT_RECORD_LEN` bytes. Append it to the log, then seal the receipt over it.
/// Errors: `NULL_PARAMETER`; `INVALID_PARAMETER` (`previous_len` not 32, a role out of range);
/// `BUFFER_TOO_SMALL`.
#[no_mangle]
#[allow(clippy::too_many_arguments, reason = "C has no slices: every input is pointer + length")]
pub extern "C" fn porter_audit_record_admitted(
    config: *const porter_door_config,
    sequence: u64,
    previous: *const u8,
    previous_len: usize,
    admission: *const porter_admission,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        let a = try_ref(admission)?;
        let role = match a.role {
            porter_role::Delivery => Role::Delivery,
            porter_role::Service => Role::Service,
            porter_role::Invalid => return Err(porter_result::InvalidParameter),
        };
        let event = AuditEvent::Admitted {
            issuer: KeyId(a.issuer),
            grant_serial: a.grant_serial,
            use_index: a.use_index,
            holder: KeyId(a.holder),
            role,
            package: PackageCommitment(a.package),
        };
        write_record(config, sequence, a.at, previous, previous_len, event, out, out_len, written)
    })
}

/// Encodes the audit record of a refused attempt at door time `at`, for `reason` (the code
/// `porter_door_admit` returned). Otherwise as `porter_audit_record_admitted`;
/// `INVALID_PARAMETER` if `reason` is not a protocol code (1..=999).
#[no_mangle]
#[allow(clippy::too_many_arguments, reason = "C has no slices: every input is pointer + length")]
pub extern "C" fn porter_audit_record_rejected(
    config: *const porter_door_config,
    sequence: u64,
    at: u32,
    previous: *const u8,
    previous_len: usize,
    reason: u32,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        let reason = u16::try_from(reason)
            .ok()
            .filter(|r| (1..1000).contains(r))
            .ok_or(porter_result::InvalidParameter)?;
        let event = AuditEvent::Rejected { reason };
        write_record(config, sequence, at, previous, previous_len, event, out, out_len, written)
    })
}

/// Encodes the audit record of newer door state taken at door time `at` (`state_sequence`
/// as `porter_door_apply_state` wrote it). Otherwise as `porter_audit_record_admitted`.
#[no_mangle]
#[allow(clippy::too_many_arguments, reason = "C has no slices: every input is pointer + length")]
pub extern "C" fn porter_audit_record_state_applied(
    config: *const porter_door_config,
    sequence: u64,
    at: u32,
    previous: *const u8,
    previous_len: usize,
    state_sequence: u64,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        let event = AuditEvent::DoorStateApplied { sequence: state_sequence };
        write_record(config, sequence, at, previous, previous_len, event, out, out_len, written)
    })
}

/// Encodes the audit record of an alarm at door time `at`. Otherwise as
/// `porter_audit_record_admitted`; `INVALID_PARAMETER` for an unknown alarm.
#[no_mangle]
#[allow(clippy::too_many_arguments, reason = "C has no slices: every input is pointer + length")]
pub extern "C" fn porter_audit_record_alarm(
    config: *const porter_door_config,
    sequence: u64,
    at: u32,
    previous: *const u8,
    previous_len: usize,
    alarm: u32,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        let alarm = match alarm {
            1 => Alarm::HeldOpen,
            2 => Alarm::ForcedOpen,
            3 => Alarm::Lockout,
            4 => Alarm::ClockBehindFloor,
            5 => Alarm::StorageRepaired,
            _ => return Err(porter_result::InvalidParameter),
        };
        let event = AuditEvent::Alarm(alarm);
        write_record(config, sequence, at, previous, previous_len, event, out, out_len, written)
    })
}

/// Encodes the audit record of the controller starting at door time `at`. Otherwise as
/// `porter_audit_record_admitted`.
#[no_mangle]
#[allow(clippy::too_many_arguments, reason = "C has no slices: every input is pointer + length")]
pub extern "C" fn porter_audit_record_boot(
    config: *const porter_door_config,
    sequence: u64,
    at: u32,
    previous: *const u8,
    previous_len: usize,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        write_record(
            config,
            sequence,
            at,
            previous,
            previous_len,
            AuditEvent::Boot,
            out,
            out_len,
            written,
        )
    })
}

/// Writes the 32-byte hash of `record` (its exact bytes, decoded strictly first): what the
/// next record links to, and what a log head names.
/// Errors: `NULL_PARAMETER`; `DECODE_*`; `BUFFER_TOO_SMALL` if `out_len` < 32.
#[no_mangle]
pub extern "C" fn porter_audit_record_hash(
    record: *const u8,
    record_len: usize,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        let bytes = try_slice(record, record_len)?;
        protocol(AuditRecord::decode(bytes))?;
        copy_out(&ChainHash::of(bytes).0, out, out_len, written)
    })
}

/// The door's device key from its 32-byte `seed`.
fn device_key(seed: *const u8, seed_len: usize) -> Result<SigningKey, porter_result> {
    protocol(SigningKey::from_seed(try_array(seed, seed_len)?))
}

/// Copies the 32-byte public half of the door's device key (made from `seed`) into `out`: what
/// the site root enrols, and what phones and the server check receipts and log heads under.
/// Errors: `NULL_PARAMETER`; `INVALID_PARAMETER` if `seed_len` is not 32; `KEY_INVALID_SEED`;
/// `BUFFER_TOO_SMALL`.
#[no_mangle]
pub extern "C" fn porter_device_key_public(
    seed: *const u8,
    seed_len: usize,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| copy_out(&device_key(seed, seed_len)?.public_key().0, out, out_len, written))
}

/// Seals the receipt the door hands the phone: `record` (exact bytes, decoded strictly)
/// signed with the device key made from `seed`. Writes at most `PORTER_MAX_RECEIPT_LEN`
/// bytes; the phone checks it with `porter_receipt_check`.
/// Errors: `NULL_PARAMETER`; `INVALID_PARAMETER`; `KEY_INVALID_SEED`; `DECODE_*`;
/// `BUFFER_TOO_SMALL`.
#[no_mangle]
pub extern "C" fn porter_receipt_seal(
    seed: *const u8,
    seed_len: usize,
    record: *const u8,
    record_len: usize,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        let key = device_key(seed, seed_len)?;
        let record = protocol(AuditRecord::decode(try_slice(record, record_len)?))?;
        let mut buf = [0u8; MAX_RECEIPT_LEN];
        copy_out(protocol(record.seal_receipt(&key, &mut buf))?, out, out_len, written)
    })
}

/// Seals the head of the door's log: `length` records written so far, the last one hashing to
/// `head` (32 bytes; zeros for an empty log), at door time `at`, signed with the device key
/// made from `seed`. Writes at most `PORTER_MAX_LOG_HEAD_LEN` bytes; the phone passes it on with
/// the records (`porter_audit_batch_check_head`).
/// Errors: `NULL_PARAMETER`; `INVALID_PARAMETER`; `KEY_INVALID_SEED`; `BUFFER_TOO_SMALL`.
#[no_mangle]
#[allow(clippy::too_many_arguments, reason = "C has no slices: every input is pointer + length")]
pub extern "C" fn porter_log_head_seal(
    seed: *const u8,
    seed_len: usize,
    config: *const porter_door_config,
    length: u64,
    head: *const u8,
    head_len: usize,
    at: u32,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        let key = device_key(seed, seed_len)?;
        let config = try_ref(config)?;
        let log_head = LogHead {
            version: VERSION,
            site: SiteId(config.site),
            door: DoorId(config.door),
            length,
            head: ChainHash(try_array(head, head_len)?),
            at: Time(at),
        };
        let mut buf = [0u8; MAX_LOG_HEAD_LEN];
        copy_out(protocol(log_head.seal(&key, &mut buf))?, out, out_len, written)
    })
}
