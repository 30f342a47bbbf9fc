//! The phone's side of a visit to a door (`porter_link::PhoneSession`, `spec/link.md`), sans-IO:
//! the app owns the transport (BLE, NFC, TCP) and the clock; the session turns fragments in into
//! fragments out and ends in a `porter_outcome`.
//!
//! A `porter_session` owns copies of everything it reads (grant, certificate, door state,
//! holder key) and its three buffers (request, answer, log), so the caller's inputs may be freed
//! as soon as `porter_session_new` returns. One thread at a time. What a visit brings back
//! (receipt, log head, log records) is read by the functions in `session_log.rs`.

use core::ffi::c_char;

use porter_link::frame::MAX_MTU;
use porter_link::{
    Buffers, Holder, PhoneSession, SessionConfig, Status, StreamDecoder, MAX_ANSWER_LEN,
    MAX_REQUEST_LEN,
};
use porter_protocol::{
    verify_raw, Certificate, DoorId, DoorState, Grant, PublicKey, SigningKey, SiteId,
    MAX_PROOF_MESSAGE_LEN,
};

use crate::ffi::{
    boundary, boundary_value, check_out, copy_out, free_box, new_box, try_array,
    try_optional_slice, try_ref, try_slice, try_slice_mut, write_out, SelfBorrowing,
};
use crate::holder::porter_holder_key;
use crate::outcome::porter_outcome;
use crate::result::{porter_result, protocol};

/// The most bytes of log records a session may carry (`log_capacity`).
pub const PORTER_MAX_SESSION_LOG_LEN: usize = 65536;
/// `porter_session_deadline` when no timer runs.
pub const PORTER_SESSION_NO_DEADLINE: u64 = 0xFFFF_FFFF_FFFF_FFFF;

/// How a session talks to the door. Start from `porter_session_options_default`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct porter_session_options {
    /// The link's MTU, 20..=255 (BLE with a 247-byte ATT MTU: 244; TCP to the simulator: 244).
    pub mtu: u16,
    /// How often one request is sent again before the session gives up (4).
    pub max_retries: u8,
    /// 1: carry the door's log back from `log_from` (what the server already holds); 0: not.
    pub carry_log: u8,
    /// How long to wait for a whole answer after a request's last fragment, ms (3000).
    pub answer_timeout_ms: u32,
    /// The first log sequence to carry when `carry_log` is 1.
    pub log_from: u64,
    /// Bytes for the log records carried (at most `PORTER_MAX_SESSION_LOG_LEN`; 4096).
    pub log_capacity: u32,
    /// With `check_door` 1: the site the phone means to open a door of.
    pub expected_site: u32,
    /// With `check_door` 1: the door; another door ends the session with `WRONG_DOOR`.
    pub expected_door: u16,
    /// 1: check the door's identity (`expected_site`, `expected_door`) before signing.
    pub check_door: u8,
}

/// Where a session is.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum porter_session_state {
    /// Exchanging messages: call `porter_session_transmit`, `_receive` and `_tick`.
    Running = 0,
    /// Waiting for the external signer: `porter_session_proof_message`, then
    /// `porter_session_provide_signature`.
    NeedSignature = 1,
    /// Finished: `porter_session_outcome` says how.
    Done = 2,
    /// Returned for a NULL session.
    Invalid = 255,
}

/// What the session borrows, owned by the `porter_session`.
struct Owned {
    grant: Vec<u8>,
    certificate: Vec<u8>,
    door_state: Option<Vec<u8>>,
    key: Option<SigningKey>,
    request: Vec<u8>,
    answer: Vec<u8>,
    log: Vec<u8>,
}

struct Running {
    session: PhoneSession<'static, 'static, 'static>,
    stream: StreamDecoder,
}

/// One visit to a door: made by `porter_session_new`, freed by `porter_session_free`.
/// Mutable: one thread at a time.
pub struct porter_session {
    inner: SelfBorrowing<Owned, Running>,
    mtu: usize,
    holder: PublicKey,
}

impl porter_session {
    pub(crate) fn session(&self) -> &PhoneSession<'static, 'static, 'static> {
        &self.inner.get().session
    }

    fn session_mut(&mut self) -> &mut PhoneSession<'static, 'static, 'static> {
        &mut self.inner.get_mut().session
    }
}

/// Writes the spec's defaults to `*options`: MTU 244, 3 s answer timeout, 4 retries, no log
/// (a 4096-byte log buffer once `carry_log` is set), the door not checked.
/// Errors: `NULL_PARAMETER`.
#[no_mangle]
pub extern "C" fn porter_session_options_default(
    options: *mut porter_session_options,
) -> porter_result {
    boundary(|| {
        write_out(
            options,
            porter_session_options {
                mtu: porter_link::frame::BLE_MTU as u16,
                max_retries: 4,
                carry_log: 0,
                answer_timeout_ms: 3_000,
                log_from: 0,
                log_capacity: 4096,
                expected_site: 0,
                expected_door: 0,
                check_door: 0,
            },
        )
    })
}

/// Starts a visit at `now_ms` (the app's monotonic clock, ms) on a connected link.
///
/// `grant` and `certificate` are the exact bytes from the server; `door_state` (optional, NULL
/// for none) a newer signed door state to carry; `device_key` (optional, NULL: the session asks
/// the door, one more round trip, and trusts the answer for this visit) the door's 32-byte
/// device key from the server. `key` signs the presentation; NULL means an external signer (the
/// platform keystore): the session then stops at `NEED_SIGNATURE`. All inputs are copied.
///
/// Writes a new session to `*session_out`. Errors: `NULL_PARAMETER`; `INVALID_PARAMETER` (an MTU
/// outside 20..=255, a device key not 32 bytes, `log_capacity` above
/// `PORTER_MAX_SESSION_LOG_LEN`); a `DECODE_*` code if the grant, certificate or door state is
/// not a Porter message; `HOLDER_MISMATCH` if `key` is not the grant's holder.
#[no_mangle]
#[allow(clippy::too_many_arguments, reason = "C has no slices: every input is pointer + length")]
pub extern "C" fn porter_session_new(
    options: *const porter_session_options,
    grant: *const u8,
    grant_len: usize,
    certificate: *const u8,
    certificate_len: usize,
    door_state: *const u8,
    door_state_len: usize,
    device_key: *const u8,
    device_key_len: usize,
    key: *const porter_holder_key,
    now_ms: u64,
    session_out: *mut *mut porter_session,
) -> porter_result {
    boundary(|| {
        check_out(session_out)?;
        let options = *try_ref(options)?;
        let grant = try_slice(grant, grant_len)?;
        let certificate = try_slice(certificate, certificate_len)?;
        let door_state = try_optional_slice(door_state, door_state_len)?;
        let device_key = match device_key.is_null() {
            true => None,
            false => Some(PublicKey(try_array(device_key, device_key_len)?)),
        };
        let key = match key.is_null() {
            true => None,
            false => Some(try_ref(key)?),
        };
        let mtu = usize::from(options.mtu);
        let log_capacity = options.log_capacity as usize;
        if !porter_link::frame::valid_mtu(mtu) || log_capacity > PORTER_MAX_SESSION_LOG_LEN {
            return Err(porter_result::InvalidParameter);
        }
        // What the session would find out only after a round trip, found out now.
        let holder = protocol(Grant::decode(grant))?.claims().holder;
        protocol(Certificate::decode(certificate))?;
        if let Some(state) = door_state {
            protocol(DoorState::decode(state))?;
        }
        if key.is_some_and(|k| k.key.public_key() != holder) {
            return Err(porter_result::HolderMismatch);
        }
        let key = match key {
            Some(k) => Some(protocol(SigningKey::from_seed(k.key.seed()))?),
            None => None,
        };
        let owned = Box::new(Owned {
            grant: grant.to_vec(),
            certificate: certificate.to_vec(),
            door_state: door_state.map(<[u8]>::to_vec),
            key,
            request: vec![0; MAX_REQUEST_LEN],
            answer: vec![0; MAX_ANSWER_LEN],
            log: vec![0; if options.carry_log != 0 { log_capacity } else { 0 }],
        });
        let inner = SelfBorrowing::new(owned, |o| {
            let Owned { grant, certificate, door_state, key, request, answer, log } = o;
            let mut cfg = SessionConfig::new(grant, certificate);
            cfg.mtu = mtu;
            cfg.device_key = device_key;
            cfg.door_state = door_state.as_deref();
            cfg.log_from = (options.carry_log != 0).then_some(options.log_from);
            cfg.answer_timeout_ms = options.answer_timeout_ms;
            cfg.max_retries = options.max_retries;
            cfg.expected_door = (options.check_door != 0)
                .then_some((SiteId(options.expected_site), DoorId(options.expected_door)));
            let holder = match key {
                Some(key) => Holder::Key(key),
                None => Holder::External,
            };
            let buffers = Buffers { request, answer, log };
            Running {
                session: PhoneSession::new(cfg, holder, buffers, now_ms),
                stream: StreamDecoder::new(),
            }
        });
        write_out(session_out, new_box(porter_session { inner, mtu, holder }))
    })
}

/// Writes the next fragment to send into `out` (at least the MTU) and its length to `*written`;
/// `*written` is 0 when there is nothing to send now (wait for an answer or the deadline).
/// Errors: `NULL_PARAMETER`; `BUFFER_TOO_SMALL` (nothing taken from the session).
#[no_mangle]
pub extern "C" fn porter_session_transmit(
    session: *mut porter_session,
    now_ms: u64,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        let s = crate::ffi::try_mut(session)?;
        check_out(written)?;
        try_slice_mut(out, out_len)?;
        if out_len < s.mtu {
            return Err(porter_result::BufferTooSmall);
        }
        let mut fragment = [0u8; MAX_MTU];
        let n = s.session_mut().transmit(now_ms, &mut fragment).unwrap_or(0);
        copy_out(fragment.get(..n).unwrap_or(&[]), out, out_len, written)
    })
}

/// `porter_session_transmit` for a stream link (TCP, a UART): the fragment preceded by its
/// length byte, as `spec/link.md` frames fragments on a stream. `out` holds at least MTU + 1.
#[no_mangle]
pub extern "C" fn porter_session_transmit_stream(
    session: *mut porter_session,
    now_ms: u64,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        let s = crate::ffi::try_mut(session)?;
        check_out(written)?;
        try_slice_mut(out, out_len)?;
        if out_len < s.mtu + 1 {
            return Err(porter_result::BufferTooSmall);
        }
        let mut framed = [0u8; MAX_MTU + 1];
        let (prefix, fragment) = framed.split_at_mut(1);
        let n = s.session_mut().transmit(now_ms, fragment).unwrap_or(0);
        let sent = fragment.get(..n).unwrap_or(&[]);
        let len = match porter_link::frame::stream_prefix(sent) {
            Some(byte) => {
                if let Some(p) = prefix.first_mut() {
                    *p = byte;
                }
                n + 1
            }
            None => 0,
        };
        copy_out(framed.get(..len).unwrap_or(&[]), out, out_len, written)
    })
}

/// Takes one fragment that arrived from the door (a BLE notification, an NFC response).
/// Noise and stale answers are dropped by the session. Errors: `NULL_PARAMETER`.
#[no_mangle]
pub extern "C" fn porter_session_receive(
    session: *mut porter_session,
    now_ms: u64,
    fragment: *const u8,
    fragment_len: usize,
) -> porter_result {
    boundary(|| {
        let s = crate::ffi::try_mut(session)?;
        let fragment = try_slice(fragment, fragment_len)?;
        s.session_mut().receive(now_ms, fragment);
        Ok(())
    })
}

/// Takes bytes read from a stream link (TCP), any amount, split anywhere: each whole
/// length-prefixed fragment goes to the session. Errors: `NULL_PARAMETER`.
#[no_mangle]
pub extern "C" fn porter_session_receive_stream(
    session: *mut porter_session,
    now_ms: u64,
    bytes: *const u8,
    bytes_len: usize,
) -> porter_result {
    boundary(|| {
        let s = crate::ffi::try_mut(session)?;
        let bytes = try_slice(bytes, bytes_len)?;
        let running = s.inner.get_mut();
        for &byte in bytes {
            if let Some(fragment) = running.stream.push(byte) {
                running.session.receive(now_ms, fragment);
            }
        }
        Ok(())
    })
}

/// Runs the session's timers at `now_ms`: call it at `porter_session_deadline`.
/// Errors: `NULL_PARAMETER`.
#[no_mangle]
pub extern "C" fn porter_session_tick(session: *mut porter_session, now_ms: u64) -> porter_result {
    boundary(|| {
        crate::ffi::try_mut(session)?.session_mut().tick(now_ms);
        Ok(())
    })
}

/// When to call `porter_session_tick` next (the app's clock, ms), or
/// `PORTER_SESSION_NO_DEADLINE` when no timer runs (also for a NULL session).
#[no_mangle]
pub extern "C" fn porter_session_deadline(session: *const porter_session) -> u64 {
    boundary_value(PORTER_SESSION_NO_DEADLINE, || {
        let s = try_ref(session).ok()?;
        Some(s.session().deadline().unwrap_or(PORTER_SESSION_NO_DEADLINE))
    })
}

/// A new link to the same door after a disconnect: the current request is sent again under a
/// new message id (never a second decision on one presentation). Errors: `NULL_PARAMETER`.
#[no_mangle]
pub extern "C" fn porter_session_reconnected(
    session: *mut porter_session,
    now_ms: u64,
) -> porter_result {
    boundary(|| {
        let running = crate::ffi::try_mut(session)?.inner.get_mut();
        running.stream.reset();
        running.session.reconnected(now_ms);
        Ok(())
    })
}

/// Where the session is; `PORTER_SESSION_STATE_INVALID` for NULL.
#[no_mangle]
pub extern "C" fn porter_session_status(session: *const porter_session) -> porter_session_state {
    boundary_value(porter_session_state::Invalid, || {
        Some(match try_ref(session).ok()?.session().status() {
            Status::Running => porter_session_state::Running,
            Status::NeedSignature => porter_session_state::NeedSignature,
            Status::Done(_) => porter_session_state::Done,
        })
    })
}

/// How the session ended (`PORTER_OUTCOME_*`, the stable numbers of `spec/link.md`);
/// `PORTER_OUTCOME_PENDING` while it runs, `PORTER_OUTCOME_INVALID` for NULL.
#[no_mangle]
pub extern "C" fn porter_session_outcome(session: *const porter_session) -> porter_outcome {
    boundary_value(porter_outcome::Invalid, || {
        Some(match try_ref(session).ok()?.session().status() {
            Status::Done(outcome) => porter_outcome::from(outcome),
            _ => porter_outcome::Pending,
        })
    })
}

/// The door's verdict as soon as it is known (the session may still be carrying the log):
/// `PORTER_OUTCOME_PENDING` before, `PORTER_OUTCOME_INVALID` for NULL.
#[no_mangle]
pub extern "C" fn porter_session_verdict(session: *const porter_session) -> porter_outcome {
    boundary_value(porter_outcome::Invalid, || {
        let s = try_ref(session).ok()?;
        Some(s.session().verdict().map_or(porter_outcome::Pending, porter_outcome::from))
    })
}

/// For an external signer, while the status is `NEED_SIGNATURE`: the message to sign (the
/// holder proof over the door's challenge and the presentation), at most
/// `PORTER_MAX_PROOF_MESSAGE_LEN` bytes. Errors: `NULL_PARAMETER`; `WRONG_STATE` if the session
/// is not waiting for a signature; `BUFFER_TOO_SMALL`.
#[no_mangle]
pub extern "C" fn porter_session_proof_message(
    session: *const porter_session,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> porter_result {
    boundary(|| {
        let s = try_ref(session)?;
        check_out(written)?;
        if s.session().status() != Status::NeedSignature {
            return Err(porter_result::WrongState);
        }
        let mut message = [0u8; MAX_PROOF_MESSAGE_LEN];
        let message =
            s.session().proof_message(&mut message).map_err(|_| porter_result::BufferTooSmall)?;
        copy_out(message, out, out_len, written)
    })
}

/// The external signer's 64-byte Ed25519 `signature` over `porter_session_proof_message`. It is
/// verified under the grant's holder key first: a keystore holding another key is
/// `PROOF_BAD_SIGNATURE` and the session still waits. Errors: `NULL_PARAMETER`;
/// `INVALID_PARAMETER` if `signature_len` is not 64; `WRONG_STATE`; `PROOF_BAD_SIGNATURE`.
#[no_mangle]
pub extern "C" fn porter_session_provide_signature(
    session: *mut porter_session,
    now_ms: u64,
    signature: *const u8,
    signature_len: usize,
) -> porter_result {
    boundary(|| {
        let s = crate::ffi::try_mut(session)?;
        let signature: [u8; 64] = try_array(signature, signature_len)?;
        if s.session().status() != Status::NeedSignature {
            return Err(porter_result::WrongState);
        }
        let mut message = [0u8; MAX_PROOF_MESSAGE_LEN];
        let message =
            s.session().proof_message(&mut message).map_err(|_| porter_result::BufferTooSmall)?;
        if !verify_raw(&s.holder.0, message, &signature) {
            return Err(porter_result::ProofBadSignature);
        }
        s.session_mut().provide_signature(now_ms, &signature);
        Ok(())
    })
}

/// Frees a session made by `porter_session_new`. NULL is a no-op.
#[no_mangle]
pub extern "C" fn porter_session_free(session: *mut porter_session) {
    let _ = boundary(|| {
        free_box(session);
        Ok(())
    });
}

/// `"<name>: <what it means for the driver>"` for an outcome number (static; never free it).
#[no_mangle]
pub extern "C" fn porter_outcome_str(code: u32) -> *const c_char {
    crate::outcome::describe(code)
}
