//! The link's framing and messages (`porter_link`, `spec/link.md`) for apps that handle
//! fragments themselves (a maintenance tool) and for the shared link vectors: reassembling
//! fragments into a message, and checking requests and answers. A driver app needs neither:
//! `porter_session` does both.

use porter_link::{Answer, Progress, Reassembler, Request, MAX_MESSAGE_LEN};

use crate::ffi::write_out;
use crate::ffi::{boundary, check_out, copy_out, free_box, new_box, try_mut, try_ref, try_slice};
use crate::result::porter_result;

/// What one fragment did (`porter_link_reassembler_push`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum porter_link_progress {
    /// More fragments are needed.
    Partial = 0,
    /// A whole message is ready: `porter_link_reassembler_message`.
    Complete = 1,
}

/// Fragments of one message at a time into a buffer of `PORTER_MAX_LINK_MESSAGE_LEN` bytes.
/// Mutable: one thread at a time.
pub struct porter_link_reassembler {
    reassembler: Reassembler<Vec<u8>>,
}

/// A reassembler for fragments of at most `mtu` bytes (20..=255). Writes it to `*out`.
/// Errors: `NULL_PARAMETER`; `LINK_BAD_MTU`.
#[no_mangle]
pub extern "C" fn porter_link_reassembler_new(
    mtu: u16,
    out: *mut *mut porter_link_reassembler,
) -> porter_result {
    boundary(|| {
        check_out(out)?;
        if !porter_link::frame::valid_mtu(usize::from(mtu)) {
            return Err(porter_result::LinkBadMtu);
        }
        let reassembler = Reassembler::new(vec![0u8; MAX_MESSAGE_LEN], usize::from(mtu));
        write_out(out, new_box(porter_link_reassembler { reassembler }))
    })
}

/// Takes one `fragment` received at `now_ms` and writes what it did to `*progress`. A broken
/// fragment is a `LINK_FRAME_*` code: the partial message is dropped and the reassembler waits
/// for the next message's first fragment. Errors: `NULL_PARAMETER`; `LINK_FRAME_*`.
#[no_mangle]
pub extern "C" fn porter_link_reassembler_push(
    reassembler: *mut porter_link_reassembler,
    fragment: *const u8,
    fragment_len: usize,
    now_ms: u64,
    progress: *mut porter_link_progress,
) -> porter_result {
    boundary(|| {
        let r = try_mut(reassembler)?;
        check_out(progress)?;
        let fragment = try_slice(fragment, fragment_len)?;
        match r.reassembler.push(fragment, now_ms) {
            Ok(Progress::Partial) => write_out(progress, porter_link_progress::Partial),
            Ok(Progress::Complete { .. }) => write_out(progress, porter_link_progress::Complete),
            Err(refusal) => Err(porter_result::from(refusal.error)),
        }
    })
}

/// Copies the message the last `COMPLETE` fragment finished (at most
/// `PORTER_MAX_LINK_MESSAGE_LEN` bytes). Errors: `NULL_PARAMETER`; `BUFFER_TOO_SMALL`.
#[no_mangle]
pub extern "C" fn porter_link_reassembler_message(
    reassembler: *const porter_link_reassembler,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| copy_out(try_ref(reassembler)?.reassembler.message(), out, out_len, written))
}

/// Frees a reassembler. NULL is a no-op.
#[no_mangle]
pub extern "C" fn porter_link_reassembler_free(reassembler: *mut porter_link_reassembler) {
    let _ = boundary(|| {
        free_box(reassembler);
        Ok(())
    });
}

/// Checks that `message` is a well-formed request to a door (decoded strictly, as the door
/// decodes it). Errors: `NULL_PARAMETER`; `LINK_DECODE_*`.
#[no_mangle]
pub extern "C" fn porter_link_request_validate(
    message: *const u8,
    message_len: usize,
) -> porter_result {
    boundary(|| {
        Request::decode(try_slice(message, message_len)?).map_err(porter_result::from)?;
        Ok(())
    })
}

/// Checks that `message` is a well-formed answer from a door (decoded strictly, as the
/// session decodes it). Errors: `NULL_PARAMETER`; `LINK_DECODE_*`.
#[no_mangle]
pub extern "C" fn porter_link_answer_validate(
    message: *const u8,
    message_len: usize,
) -> porter_result {
    boundary(|| {
        Answer::decode(try_slice(message, message_len)?).map_err(porter_result::from)?;
        Ok(())
    })
}
