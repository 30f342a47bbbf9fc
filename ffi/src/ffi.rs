//! The pointer helpers and the panic boundary: the only place in this crate with `unsafe`.
//!
//! Every exported function runs its body inside [`boundary`] (or [`boundary_value`]), turns
//! each pointer it receives into a reference or slice with one of the `try_*` helpers, and
//! writes its outputs with [`write_out`] / [`copy_out`] only once everything has succeeded.
//! ci.sh fails if an `unsafe` block appears in any other file.

#[cfg(feature = "std")]
use core::ffi::c_void;
#[cfg(feature = "std")]
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::result::porter_result;

/// What the body of an exported function returns: `Ok` or the code to hand back.
pub(crate) type Outcome = Result<(), porter_result>;

/// Runs `body` inside a panic boundary: a panic (always a bug in this crate or the core)
/// becomes [`porter_result::Panic`] instead of unwinding into C.
#[cfg(feature = "std")]
pub(crate) fn boundary(body: impl FnOnce() -> Outcome) -> porter_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => porter_result::Ok,
        Ok(Err(code)) => code,
        Err(_) => porter_result::Panic,
    }
}

/// Without std (bare-metal firmware) there is no unwinding: panics abort (`panic = "abort"`
/// is the default there) into the panic handler in lib.rs. The door path has no panicking
/// code to begin with: the core denies unwrap, expect, panic and indexing on input.
#[cfg(not(feature = "std"))]
pub(crate) fn boundary(body: impl FnOnce() -> Outcome) -> porter_result {
    match body() {
        Ok(()) => porter_result::Ok,
        Err(code) => code,
    }
}

/// [`boundary`] for accessors that return a plain value: `fallback` on a NULL handle or panic.
#[cfg(feature = "std")]
pub(crate) fn boundary_value<T>(fallback: T, body: impl FnOnce() -> Option<T>) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Some(value)) => value,
        Ok(None) | Err(_) => fallback,
    }
}

/// [`boundary_value`] without std (see the no-std [`boundary`]).
#[cfg(not(feature = "std"))]
pub(crate) fn boundary_value<T>(fallback: T, body: impl FnOnce() -> Option<T>) -> T {
    body().unwrap_or(fallback)
}

/// Borrows `*ptr` for the duration of the call.
///
/// The caller of the exported function promises (see the header's conventions) that a non-NULL
/// pointer points to a live, properly aligned `T` that nobody mutates during the call.
pub(crate) fn try_ref<'a, T>(ptr: *const T) -> Result<&'a T, porter_result> {
    // SAFETY: `as_ref` checks NULL; alignment, liveness and the absence of concurrent
    // mutation are the caller's documented obligations.
    unsafe { ptr.as_ref() }.ok_or(porter_result::NullParameter)
}

/// Borrows `*ptr` mutably for the duration of the call (same promises as [`try_ref`], and
/// nobody else reads or writes it meanwhile).
pub(crate) fn try_mut<'a, T>(ptr: *mut T) -> Result<&'a mut T, porter_result> {
    // SAFETY: `as_mut` checks NULL; the caller guarantees exclusive access during the call.
    unsafe { ptr.as_mut() }.ok_or(porter_result::NullParameter)
}

/// Borrows `len` bytes at `ptr`. NULL is refused even when `len` is 0: pass any valid pointer
/// with `len` 0 for an empty input.
pub(crate) fn try_slice<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], porter_result> {
    if ptr.is_null() {
        return Err(porter_result::NullParameter);
    }
    if len > isize::MAX as usize {
        return Err(porter_result::InvalidParameter);
    }
    // SAFETY: `ptr` is non-NULL and `len` fits `isize`; the caller guarantees `len` readable
    // bytes at `ptr` that stay unchanged during the call.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// [`try_slice`] where NULL means "absent" (an optional input such as door state).
#[cfg(feature = "std")]
pub(crate) fn try_optional_slice<'a>(
    ptr: *const u8,
    len: usize,
) -> Result<Option<&'a [u8]>, porter_result> {
    if ptr.is_null() {
        Ok(None)
    } else {
        try_slice(ptr, len).map(Some)
    }
}

/// Borrows `len` writable items at `ptr`.
pub(crate) fn try_slice_mut<'a, T>(ptr: *mut T, len: usize) -> Result<&'a mut [T], porter_result> {
    if ptr.is_null() {
        return Err(porter_result::NullParameter);
    }
    if len.checked_mul(core::mem::size_of::<T>()).is_none_or(|bytes| bytes > isize::MAX as usize) {
        return Err(porter_result::InvalidParameter);
    }
    // SAFETY: `ptr` is non-NULL and the span fits `isize`; the caller guarantees `len`
    // writable, aligned items at `ptr` (any bit pattern is valid for the integer types used
    // here) that nobody else touches during the call.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
}

/// Reads exactly `N` bytes at `ptr` (a key, a seed, a nonce). `len` must be `N`.
pub(crate) fn try_array<const N: usize>(
    ptr: *const u8,
    len: usize,
) -> Result<[u8; N], porter_result> {
    let bytes = try_slice(ptr, len)?;
    bytes.try_into().map_err(|_| porter_result::InvalidParameter)
}

/// Checks an output pointer before any work, so that a call fails early and changes nothing.
pub(crate) fn check_out<T>(ptr: *mut T) -> Result<(), porter_result> {
    if ptr.is_null() {
        Err(porter_result::NullParameter)
    } else {
        Ok(())
    }
}

/// Writes `value` to the output `*ptr`. Call last, once the function has succeeded.
pub(crate) fn write_out<T>(ptr: *mut T, value: T) -> Outcome {
    check_out(ptr)?;
    // SAFETY: non-NULL; the caller guarantees `ptr` is valid for writing a `T`. `write` does
    // not drop the old contents, which may be uninitialised.
    unsafe { ptr.write(value) };
    Ok(())
}

/// Copies `bytes` into the caller's buffer `out` of `out_len` items and writes the count to
/// `*written`. Fails with `BUFFER_TOO_SMALL`, writing nothing, when they do not fit.
pub(crate) fn copy_out<T: Copy>(
    bytes: &[T],
    out: *mut T,
    out_len: usize,
    written: *mut usize,
) -> Outcome {
    check_out(written)?;
    let out = try_slice_mut(out, out_len)?;
    let dest = out.get_mut(..bytes.len()).ok_or(porter_result::BufferTooSmall)?;
    dest.copy_from_slice(bytes);
    write_out(written, bytes.len())
}

/// Moves `value` to the heap and hands the caller an owning pointer, freed by [`free_box`].
#[cfg(feature = "std")]
pub(crate) fn new_box<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Frees a pointer made by [`new_box`]. NULL is a no-op.
#[cfg(feature = "std")]
pub(crate) fn free_box<T>(ptr: *mut T) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: non-NULL pointers passed to a `_free` function come from `new_box::<T>` of the
    // same type (each opaque type has its own `_free`), and the caller frees each one once.
    drop(unsafe { Box::from_raw(ptr) });
}

/// An external signer: the platform keystore signs `message` with the holder key.
///
/// Contract (also in the header): write exactly 64 bytes of Ed25519 signature to `signature`
/// and return 0, or return non-zero to refuse. The callback must not call back into Porter
/// with the same objects and must not unwind (throw) across the C boundary.
#[cfg(feature = "std")]
pub type porter_sign_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        message: *const u8,
        message_len: usize,
        signature: *mut u8,
    ) -> u32,
>;

/// Calls an external signer over `message`; `None` if it refused.
#[cfg(feature = "std")]
pub(crate) fn call_signer(
    callback: unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut u8) -> u32,
    userdata: *mut c_void,
    message: &[u8],
) -> Option<[u8; 64]> {
    let mut signature = [0u8; 64];
    // SAFETY: the callback comes from the caller with the documented contract above; we pass
    // a valid message of `message.len()` bytes and a writable 64-byte buffer, both alive for
    // the whole call, and `userdata` unchanged.
    let status =
        unsafe { callback(userdata, message.as_ptr(), message.len(), signature.as_mut_ptr()) };
    (status == 0).then_some(signature)
}

/// An object that borrows heap memory it owns (a `porter_session` borrows its copies of the
/// grant, the certificate and its buffers): the owner is leaked when the borrower is made,
/// lent to it as `&'static mut`, and reclaimed after the borrower is dropped.
///
/// The `'static` is a promise kept by this type, not by the compiler: `make` (in this crate)
/// must put the references only into the value it returns, and the value is reachable only
/// through this wrapper, so no reference outlives the owner.
#[cfg(feature = "std")]
pub(crate) struct SelfBorrowing<O: 'static, T> {
    value: core::mem::ManuallyDrop<T>,
    owner: core::ptr::NonNull<O>,
}

#[cfg(feature = "std")]
impl<O: 'static, T> SelfBorrowing<O, T> {
    /// Leaks `owner`, builds the borrower from it with `make`, and keeps both.
    pub(crate) fn new(owner: Box<O>, make: impl FnOnce(&'static mut O) -> T) -> Self {
        let owner = core::ptr::NonNull::from(Box::leak(owner));
        // SAFETY: `owner` comes from `Box::leak` just above: valid, aligned and unaliased. The
        // reference lives in the value `make` returns, which `drop` drops before the owner is
        // reclaimed; nothing else reads or writes the owner meanwhile.
        let lent = unsafe { &mut *owner.as_ptr() };
        SelfBorrowing { value: core::mem::ManuallyDrop::new(make(lent)), owner }
    }

    /// The borrower.
    pub(crate) fn get(&self) -> &T {
        &self.value
    }

    /// The borrower, mutably.
    pub(crate) fn get_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

#[cfg(feature = "std")]
impl<O: 'static, T> Drop for SelfBorrowing<O, T> {
    fn drop(&mut self) {
        // SAFETY: dropped exactly once, here; `self.value` is never used again.
        unsafe { core::mem::ManuallyDrop::drop(&mut self.value) };
        // SAFETY: `owner` came from `Box::leak` in `new` and is reclaimed once, here, after the
        // only borrower of it (the value) was dropped above.
        drop(unsafe { Box::from_raw(self.owner.as_ptr()) });
    }
}
