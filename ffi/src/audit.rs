//! What the phone carries back from the door: a device-signed receipt for its own entry, and
//! batches of the door's audit records, which it passes to the server byte for byte.

use porter_protocol::{AuditEvent, AuditRecord, ChainFollower, ChainHash, LogHead, PublicKey};

use crate::door_audit::porter_event;
use crate::ffi::{
    boundary, boundary_value, check_out, copy_out, free_box, new_box, try_array, try_mut, try_ref,
    try_slice, write_out,
};
use crate::result::{porter_result, protocol};

/// A receipt whose device signature verified. Immutable: may be shared between threads.
pub struct porter_receipt {
    record: AuditRecord,
}

/// Decodes `receipt` strictly and verifies its signature under the door's 32-byte `device_key`
/// (from the door's enrolment, which the server holds). Writes a new `porter_receipt` to
/// `*receipt_out` (free it with `porter_receipt_free`).
/// Errors: `NULL_PARAMETER`; `INVALID_PARAMETER` if `device_key_len` is not 32; `DECODE_*`;
/// `AUDIT_BAD_SIGNATURE` if another key signed it or it was altered.
#[no_mangle]
pub extern "C" fn porter_receipt_check(
    receipt: *const u8,
    receipt_len: usize,
    device_key: *const u8,
    device_key_len: usize,
    receipt_out: *mut *mut porter_receipt,
) -> porter_result {
    boundary(|| {
        check_out(receipt_out)?;
        let bytes = try_slice(receipt, receipt_len)?;
        let device = PublicKey(try_array(device_key, device_key_len)?);
        let record = protocol(AuditRecord::decode_receipt(bytes, &device))?;
        write_out(receipt_out, new_box(porter_receipt { record }))
    })
}

/// Frees a receipt made by `porter_receipt_check`. NULL is a no-op.
#[no_mangle]
pub extern "C" fn porter_receipt_free(receipt: *mut porter_receipt) {
    let _ = boundary(|| {
        free_box(receipt);
        Ok(())
    });
}

fn get<T>(receipt: *const porter_receipt, fallback: T, f: impl FnOnce(&AuditRecord) -> T) -> T {
    boundary_value(fallback, || try_ref(receipt).ok().map(|r| f(&r.record)))
}

/// The site of the door that signed (0 for NULL).
#[no_mangle]
pub extern "C" fn porter_receipt_site(receipt: *const porter_receipt) -> u32 {
    get(receipt, 0, |r| r.site.0)
}

/// The door that signed (0 for NULL).
#[no_mangle]
pub extern "C" fn porter_receipt_door(receipt: *const porter_receipt) -> u16 {
    get(receipt, 0, |r| r.door.0)
}

/// The record's position in the door's log (0 for NULL).
#[no_mangle]
pub extern "C" fn porter_receipt_sequence(receipt: *const porter_receipt) -> u64 {
    get(receipt, 0, |r| r.sequence)
}

/// The door's time of the event, Unix seconds UTC (0 for NULL).
#[no_mangle]
pub extern "C" fn porter_receipt_at(receipt: *const porter_receipt) -> u32 {
    get(receipt, 0, |r| r.at.0)
}

/// What the record says happened.
#[no_mangle]
pub extern "C" fn porter_receipt_event(receipt: *const porter_receipt) -> porter_event {
    get(receipt, porter_event::Invalid, |r| match r.event {
        AuditEvent::Admitted { .. } => porter_event::Admitted,
        AuditEvent::Rejected { .. } => porter_event::Rejected,
        AuditEvent::DoorStateApplied { .. } => porter_event::DoorStateApplied,
        AuditEvent::Alarm(_) => porter_event::Alarm,
        AuditEvent::Boot => porter_event::Boot,
        AuditEvent::Enrolled => porter_event::Enrolled,
        #[allow(unreachable_patterns, reason = "AuditEvent may grow")]
        _ => porter_event::Other,
    })
}

/// For an `ADMITTED` receipt, the grant's first serial (compare with `porter_grant_serial`);
/// 0 otherwise.
#[no_mangle]
pub extern "C" fn porter_receipt_grant_serial(receipt: *const porter_receipt) -> u64 {
    get(receipt, 0, |r| match r.event {
        AuditEvent::Admitted { grant_serial, .. } => grant_serial,
        _ => 0,
    })
}

/// For an `ADMITTED` receipt, which of the grant's entries this was, from 0; 0 otherwise.
#[no_mangle]
pub extern "C" fn porter_receipt_use_index(receipt: *const porter_receipt) -> u8 {
    get(receipt, 0, |r| match r.event {
        AuditEvent::Admitted { use_index, .. } => use_index,
        _ => 0,
    })
}

/// For a `REJECTED` record, the reason's result code; 0 otherwise.
#[no_mangle]
pub extern "C" fn porter_receipt_reason(receipt: *const porter_receipt) -> u32 {
    get(receipt, 0, |r| match r.event {
        AuditEvent::Rejected { reason } => u32::from(reason),
        _ => 0,
    })
}

/// For an `ADMITTED` receipt, copies the 8-byte holder key id (the first 8 bytes of the
/// holder public key: compare with `porter_holder_key_public`) into `out`.
/// Errors: `NULL_PARAMETER`; `INVALID_PARAMETER` if the receipt is not for an admission;
/// `BUFFER_TOO_SMALL` if `out_len` < 8.
#[no_mangle]
pub extern "C" fn porter_receipt_holder(
    receipt: *const porter_receipt,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| match try_ref(receipt)?.record.event {
        AuditEvent::Admitted { holder, .. } => copy_out(&holder.0, out, out_len, written),
        _ => Err(porter_result::InvalidParameter),
    })
}

/// An ordered batch of a door's audit records, kept as the exact bytes the door sent.
///
/// Each record pushed is decoded strictly and must follow the one before (next sequence
/// number, hash link); the first may start anywhere. The bytes come back unchanged for the
/// upload: the server verifies the chain against the door's signed log head, and any
/// re-encoding would break the hashes. Not thread-safe: one thread at a time.
pub struct porter_audit_batch {
    records: Vec<Vec<u8>>,
    follower: Option<ChainFollower>,
}

/// Writes a new, empty batch to `*batch_out` (free it with `porter_audit_batch_free`).
#[no_mangle]
pub extern "C" fn porter_audit_batch_new(batch_out: *mut *mut porter_audit_batch) -> porter_result {
    boundary(|| {
        let batch = porter_audit_batch { records: Vec::new(), follower: None };
        write_out(batch_out, new_box(batch))
    })
}

/// Appends one record (its exact bytes). On error the batch is unchanged.
/// Errors: `NULL_PARAMETER`; `DECODE_*`; `AUDIT_GAP` if its sequence number is not the next
/// one; `AUDIT_CHAIN_BROKEN` if it does not link to the previous record's hash.
#[no_mangle]
pub extern "C" fn porter_audit_batch_push(
    batch: *mut porter_audit_batch,
    record: *const u8,
    record_len: usize,
) -> porter_result {
    boundary(|| {
        let batch = try_mut(batch)?;
        let bytes = try_slice(record, record_len)?;
        let mut follower = match batch.follower {
            Some(follower) => follower,
            None => {
                let first = protocol(AuditRecord::decode(bytes))?;
                ChainFollower { next_sequence: first.sequence, previous: first.previous }
            }
        };
        protocol(follower.follow(bytes))?;
        batch.records.push(bytes.to_vec());
        batch.follower = Some(follower);
        Ok(())
    })
}

/// The number of records in the batch (0 for NULL).
#[no_mangle]
pub extern "C" fn porter_audit_batch_len(batch: *const porter_audit_batch) -> usize {
    boundary_value(0, || try_ref(batch).ok().map(|b| b.records.len()))
}

/// Copies record `index` (0-based), byte for byte as pushed, into `out`.
/// Errors: `NULL_PARAMETER`; `INVALID_PARAMETER` if `index` is past the end;
/// `BUFFER_TOO_SMALL` (`PORTER_MAX_AUDIT_RECORD_LEN` always suffices).
#[no_mangle]
pub extern "C" fn porter_audit_batch_get(
    batch: *const porter_audit_batch,
    index: usize,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        let batch = try_ref(batch)?;
        let record = batch.records.get(index).ok_or(porter_result::InvalidParameter)?;
        copy_out(record, out, out_len, written)
    })
}

/// Copies the 32-byte hash the record after this batch must link to (what the server's chain
/// follower should stand at once the batch is ingested).
/// Errors: `NULL_PARAMETER`; `INVALID_PARAMETER` for an empty batch; `BUFFER_TOO_SMALL`.
#[no_mangle]
pub extern "C" fn porter_audit_batch_head(
    batch: *const porter_audit_batch,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        let follower = try_ref(batch)?.follower.ok_or(porter_result::InvalidParameter)?;
        let ChainHash(hash) = follower.previous;
        copy_out(&hash, out, out_len, written)
    })
}

/// Checks the door's signed log head against the batch: `head` must verify under the door's
/// 32-byte `device_key` and name exactly the batch's end (its length and last record's hash).
/// With a head that matches, the server can prove no record was dropped from the batch's end.
/// Errors: `NULL_PARAMETER`; `INVALID_PARAMETER` if `device_key_len` is not 32 or the batch is
/// empty; `DECODE_*`; `AUDIT_BAD_SIGNATURE`; `AUDIT_GAP` (the head counts other records than
/// the batch ends with); `AUDIT_CHAIN_BROKEN` (same length, another last record).
#[no_mangle]
pub extern "C" fn porter_audit_batch_check_head(
    batch: *const porter_audit_batch,
    head: *const u8,
    head_len: usize,
    device_key: *const u8,
    device_key_len: usize,
) -> porter_result {
    boundary(|| {
        let follower = try_ref(batch)?.follower.ok_or(porter_result::InvalidParameter)?;
        let head = try_slice(head, head_len)?;
        let device = PublicKey(try_array(device_key, device_key_len)?);
        let head = protocol(LogHead::decode_verified(head, &device))?;
        protocol(follower.matches(&head))
    })
}

/// Frees a batch. NULL is a no-op.
#[no_mangle]
pub extern "C" fn porter_audit_batch_free(batch: *mut porter_audit_batch) {
    let _ = boundary(|| {
        free_box(batch);
        Ok(())
    });
}
