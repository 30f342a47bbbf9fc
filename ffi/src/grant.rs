//! Reading a grant to show the driver what it allows: site, doors, window, uses, role.
//!
//! The app decodes a grant strictly but does not verify it: only the door can, against its
//! site root key. What the app shows is what the server claims; the door decides.

use porter_protocol::{Grant, Role, MAX_GRANT_DOORS};

use crate::ffi::{boundary, boundary_value, check_out, copy_out, free_box, new_box, try_ref};
use crate::ffi::{try_slice, write_out};

use crate::door::porter_role;
use crate::result::{porter_result, protocol};

/// A decoded (unverified) grant. Immutable: may be shared between threads.
pub struct porter_grant {
    grant: Grant,
}

/// Decodes `grant` (its exact bytes) strictly, without checking its signature, and writes a
/// new `porter_grant` to `*grant_out` (free it with `porter_grant_free`).
/// Errors: `NULL_PARAMETER`; a `DECODE_*` code.
#[no_mangle]
pub extern "C" fn porter_grant_decode(
    grant: *const u8,
    grant_len: usize,
    grant_out: *mut *mut porter_grant,
) -> porter_result {
    boundary(|| {
        check_out(grant_out)?;
        let bytes = try_slice(grant, grant_len)?;
        let grant = protocol(Grant::decode(bytes))?.claims().clone();
        write_out(grant_out, new_box(porter_grant { grant }))
    })
}

/// Frees a grant made by `porter_grant_decode`. NULL is a no-op.
#[no_mangle]
pub extern "C" fn porter_grant_free(grant: *mut porter_grant) {
    let _ = boundary(|| {
        free_box(grant);
        Ok(())
    });
}

fn get<T>(grant: *const porter_grant, fallback: T, field: impl FnOnce(&Grant) -> T) -> T {
    boundary_value(fallback, || try_ref(grant).ok().map(|g| field(&g.grant)))
}

/// The site the grant is for (0 for NULL).
#[no_mangle]
pub extern "C" fn porter_grant_site(grant: *const porter_grant) -> u32 {
    get(grant, 0, |g| g.site.0)
}

/// The grant's first replay serial: with the issuer, what receipts and the server name it by
/// (0 for NULL).
#[no_mangle]
pub extern "C" fn porter_grant_serial(grant: *const porter_grant) -> u64 {
    get(grant, 0, |g| g.serial)
}

/// How many entries the grant allows at each door it names, 1..=32 (0 for NULL).
#[no_mangle]
pub extern "C" fn porter_grant_uses(grant: *const porter_grant) -> u8 {
    get(grant, 0, |g| g.uses)
}

/// Start of validity, Unix seconds UTC (0 for NULL).
#[no_mangle]
pub extern "C" fn porter_grant_not_before(grant: *const porter_grant) -> u32 {
    get(grant, 0, |g| g.not_before.0)
}

/// End of validity, Unix seconds UTC (0 for NULL). Doors allow their configured clock skew.
#[no_mangle]
pub extern "C" fn porter_grant_not_after(grant: *const porter_grant) -> u32 {
    get(grant, 0, |g| g.not_after.0)
}

/// The grant's role (`PORTER_ROLE_INVALID` for NULL).
#[no_mangle]
pub extern "C" fn porter_grant_role(grant: *const porter_grant) -> porter_role {
    get(grant, porter_role::Invalid, |g| match g.role {
        Role::Delivery => porter_role::Delivery,
        Role::Service => porter_role::Service,
    })
}

/// How many doors the grant names, 1..=`PORTER_MAX_GRANT_DOORS` (0 for NULL).
#[no_mangle]
pub extern "C" fn porter_grant_door_count(grant: *const porter_grant) -> usize {
    get(grant, 0, |g| g.doors.len())
}

/// Copies the door ids the grant opens (strictly increasing) into `out`, which has room for
/// `out_len` ids, and their number to `*written`.
/// Errors: `NULL_PARAMETER`; `BUFFER_TOO_SMALL` (`PORTER_MAX_GRANT_DOORS` always suffices).
#[no_mangle]
pub extern "C" fn porter_grant_doors(
    grant: *const porter_grant,
    out: *mut u16,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        let grant = &try_ref(grant)?.grant;
        let mut doors = [0u16; MAX_GRANT_DOORS];
        for (id, door) in doors.iter_mut().zip(&grant.doors) {
            *id = door.0;
        }
        let doors = doors.get(..grant.doors.len()).ok_or(porter_result::Panic)?;
        copy_out(doors, out, out_len, written)
    })
}

/// Copies the 32-byte holder public key the grant is bound to into `out`.
/// Errors: `NULL_PARAMETER`; `BUFFER_TOO_SMALL` if `out_len` < 32.
#[no_mangle]
pub extern "C" fn porter_grant_holder(
    grant: *const porter_grant,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| copy_out(&try_ref(grant)?.grant.holder.0, out, out_len, written))
}

/// Copies the 32-byte package commitment (a salted hash of the tracking number, which the
/// server can open for the driver) into `out`.
/// Errors: `NULL_PARAMETER`; `BUFFER_TOO_SMALL` if `out_len` < 32.
#[no_mangle]
pub extern "C" fn porter_grant_package(
    grant: *const porter_grant,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| copy_out(&try_ref(grant)?.grant.package.0, out, out_len, written))
}
