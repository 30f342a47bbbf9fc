//! What a visit brings back from the door, read out of a `porter_session`: the verified
//! receipt, the device-signed log head and the log records, exact bytes for the server.

use crate::ffi::{boundary, boundary_value, copy_out, try_ref};
use crate::result::porter_result;
use crate::session::porter_session;

/// Copies the door's receipt (verified under the device key; at most `PORTER_MAX_RECEIPT_LEN`
/// bytes, for `porter_receipt_check` and the server) once admitted; `*written` is 0 without
/// one. Errors: `NULL_PARAMETER`; `BUFFER_TOO_SMALL`.
#[no_mangle]
pub extern "C" fn porter_session_receipt(
    session: *const porter_session,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        let s = try_ref(session)?;
        copy_out(s.session().receipt().unwrap_or(&[]), out, out_len, written)
    })
}

/// Copies the door's device-signed log head (at most `PORTER_MAX_LOG_HEAD_LEN` bytes, for
/// `porter_audit_batch_check_head`) if it was carried; `*written` is 0 otherwise.
/// Errors: `NULL_PARAMETER`; `BUFFER_TOO_SMALL`.
#[no_mangle]
pub extern "C" fn porter_session_log_head(
    session: *const porter_session,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        let s = try_ref(session)?;
        copy_out(s.session().log_head().unwrap_or(&[]), out, out_len, written)
    })
}

/// How many log records the session carried (0 for NULL).
#[no_mangle]
pub extern "C" fn porter_session_log_count(session: *const porter_session) -> usize {
    boundary_value(0, || Some(try_ref(session).ok()?.session().log_count()))
}

/// 1 if the log was carried up to the signed head, else 0 (also for NULL).
#[no_mangle]
pub extern "C" fn porter_session_log_complete(session: *const porter_session) -> u8 {
    boundary_value(0, || Some(u8::from(try_ref(session).ok()?.session().log_complete())))
}

/// Copies log record `index` (0 ..< `porter_session_log_count`), its exact bytes (at most
/// `PORTER_MAX_AUDIT_RECORD_LEN`), for `porter_audit_batch_push` and the server.
/// Errors: `NULL_PARAMETER`; `INVALID_PARAMETER` past the end; `BUFFER_TOO_SMALL`.
#[no_mangle]
pub extern "C" fn porter_session_log_record(
    session: *const porter_session,
    index: usize,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        let s = try_ref(session)?;
        let record = wire_records(s.session().log_records())
            .nth(index)
            .ok_or(porter_result::InvalidParameter)?;
        copy_out(record, out, out_len, written)
    })
}

/// The records in the door's wire form (a length byte, the record), in order.
fn wire_records(mut rest: &[u8]) -> impl Iterator<Item = &[u8]> {
    core::iter::from_fn(move || {
        let (&len, tail) = rest.split_first()?;
        let (record, tail) = tail.split_at_checked(usize::from(len))?;
        rest = tail;
        Some(record)
    })
}
