//! Result codes: one number per outcome, stable forever, with a readable string for each.
//!
//! * `0` is success.
//! * `1..=999` are the protocol core's reasons, `porter_protocol::Error::code()`, the same
//!   numbers the door's audit log, the server, the shared vectors and `spec/protocol.md` use.
//!   The 8xx group ("the caller's buffers") belongs to the core too: a short output buffer is
//!   `PORTER_RESULT_BUFFER_TOO_SMALL` (801) here as everywhere.
//! * `1000..=1999` are the FFI layer's own: what went wrong at the boundary itself.
//!
//! Numbers are never reused. Retired numbers: none yet.

use core::ffi::{c_char, CStr};
#[cfg(feature = "std")]
use std::{ffi::CString, sync::OnceLock};

use porter_protocol::{Coarse, Error};

use crate::ffi::boundary_value;

/// The outcome of every fallible Porter function. `PORTER_RESULT_OK` (0) is success; any other
/// value names the reason, and `porter_result_str` describes it.
#[allow(non_camel_case_types, reason = "C naming: the header spells it porter_result")]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum porter_result {
    /// Success: the outputs were written.
    Ok = 0,
    // --- 1xx: decoding (the sender's fault: bytes that are not a Porter message) ---
    /// The bytes are not a valid encoding of the expected message (truncated, bad tag,
    /// bad length, a list longer than its bound).
    DecodeMalformed = 101,
    /// The message decoded but bytes were left over after it.
    DecodeTrailingBytes = 102,
    /// The message decoded but is not in its one canonical encoding (an overlong varint, say):
    /// a second encoding of the same value is refused so that signatures are unambiguous.
    DecodeNonCanonical = 103,
    /// The message names a format version this build does not know.
    DecodeUnsupportedVersion = 104,
    /// The message is longer than the largest message of its kind.
    DecodeTooLarge = 105,
    /// A field is out of its range: an empty or unsorted door list, zero uses, a window that
    /// ends before it starts, an unsorted deny-list.
    DecodeInvalidField = 106,
    // --- 2xx: the issuer certificate (root -> issuer) ---
    /// The certificate's signature does not verify under the door's site root key.
    CertBadSignature = 201,
    /// The certificate was made for another site.
    CertWrongSite = 202,
    /// The certificate is not valid yet at the door's time.
    CertNotYetValid = 203,
    /// The certificate has expired at the door's time.
    CertExpired = 204,
    /// The issuer is on the door's deny-list: the site root cut it off.
    CertRevoked = 205,
    /// The certificate's epoch is below the door state's certificate fence.
    CertFenced = 206,
    /// The issuer key is not a canonical point of large order: it could verify forgeries.
    CertWeakKey = 207,
    // --- 3xx: the grant (issuer -> holder) ---
    /// The grant's signature does not verify under the certificate's issuer key.
    GrantBadSignature = 301,
    /// The grant was made for another site.
    GrantWrongSite = 302,
    /// The grant does not name this door.
    GrantWrongDoor = 303,
    /// The grant is not valid yet at the door's time (beyond the allowed clock skew).
    GrantNotYetValid = 304,
    /// The grant has expired at the door's time (beyond the allowed clock skew).
    GrantExpired = 305,
    /// The grant is on the door's deny-list.
    GrantRevoked = 306,
    /// The grant was issued before the door state's grant fence.
    GrantFenced = 307,
    /// The issuer certificate does not allow this door.
    GrantDoorNotAllowed = 308,
    /// The issuer certificate does not allow the grant's role.
    GrantRoleNotAllowed = 309,
    /// The grant lives longer than the issuer certificate allows.
    GrantLifetimeTooLong = 310,
    /// The grant allows more entries than the issuer certificate allows.
    GrantTooManyUses = 311,
    /// The issuer certificate does not allow entry at this hour or on this weekday.
    GrantOutsideHours = 312,
    // --- 4xx: the holder's proof of possession ---
    /// The holder's signature over the door's challenge and the grant does not verify.
    ProofBadSignature = 401,
    /// The holder key in the grant is not a canonical point of large order.
    HolderWeakKey = 402,
    /// The holder key is on the door's deny-list.
    HolderRevoked = 403,
    /// The door's challenge expired before the presentation arrived, or names another door.
    ChallengeExpired = 404,
    // --- 5xx: the replay window ---
    /// Every entry this grant allows has already been spent at this door.
    ReplayDuplicate = 501,
    /// The grant expired before the door's latest admission (the door's clock went back), so
    /// the door may have forgotten that it was spent.
    ReplayTooOld = 502,
    /// The door's replay memory has no room for another unexpired grant: try again later.
    ReplayFull = 503,
    // --- 6xx: signed door state ---
    /// The door state's signature does not verify under the site root key.
    StateBadSignature = 601,
    /// The door state was made for another site.
    StateWrongSite = 602,
    /// The door state is not newer than the one the door holds: never roll back.
    StateNotNewer = 603,
    // --- 7xx: enrolment, receipts and the audit log ---
    /// The device enrolment's signature does not verify under the site root key.
    EnrolmentBadSignature = 701,
    /// The enrolment names another site or door than expected.
    EnrolmentMismatch = 702,
    /// A receipt or log head's signature does not verify under the device key.
    AuditBadSignature = 703,
    /// An audit record does not link to the hash of the record before it.
    AuditChainBroken = 704,
    /// An audit record's sequence number skips or repeats: records are missing.
    AuditGap = 705,
    // --- 8xx: the caller's buffers and inputs ---
    /// An output buffer is too small for the encoded message.
    BufferTooSmall = 801,
    /// A key seed was all zeros: the entropy source failed. Draw the seed again.
    KeyInvalidSeed = 802,

    // --- 1xxx: the FFI boundary (the caller's fault unless noted) ---
    /// A protocol reason this build of porter-ffi has no name for (a newer porter-protocol);
    /// the request was refused. Update porter-ffi.
    OtherProtocolError = 1000,
    /// A required pointer argument was NULL. Nothing was done.
    NullParameter = 1001,
    /// An argument is out of range: a fixed-size input (key, seed, nonce) of the wrong length,
    /// an index past the end, a length over `SIZE_MAX / 2`. Nothing was done.
    InvalidParameter = 1002,
    /// Porter panicked: a bug in Porter, caught at the boundary. Nothing was committed; please
    /// report it with the inputs.
    Panic = 1003,
    /// The external signer callback returned non-zero: the keystore refused or failed.
    SignerFailed = 1004,
    /// The door memory buffer does not decode: corrupt or not written by
    /// `porter_door_memory_init` / `porter_door_admit`. The attempt was refused (fail closed);
    /// restore the memory from a good copy, never re-initialise it silently.
    DoorMemoryCorrupt = 1005,
    /// The grant is bound to another holder key than the one signing: the door would refuse
    /// the presentation. Fetch a grant for this phone's key.
    HolderMismatch = 1006,
    /// A phone session was asked for something its state does not allow (a proof message or
    /// signature while it is not waiting for one): check `porter_session_status` first.
    WrongState = 1007,
    // --- 2001..=2099: the link (`porter_link::LinkError::code()` + 2000, spec/link.md) ---
    /// Link: a fragment shorter than its header, longer than the MTU, or with unknown flags.
    LinkFrameBadFragment = 2001,
    /// Link: an announced length of 0 or above the buffer, or more bytes than announced.
    LinkFrameOversized = 2002,
    /// Link: a fragment of another message arrived before this one was complete.
    LinkFrameInterleaved = 2003,
    /// Link: a fragment index was skipped or repeated (a fragment was lost).
    LinkFrameOutOfOrder = 2004,
    /// Link: the last fragment came before the announced length was reached.
    LinkFrameTruncated = 2005,
    /// Link: no fragment within the reassembly timeout.
    LinkFrameTimeout = 2006,
    /// Link: a continuation fragment with no message in progress.
    LinkFrameOrphan = 2007,
    /// Link: an MTU outside 20..=255.
    LinkBadMtu = 2008,
    /// Link: a message with no bytes.
    LinkDecodeEmpty = 2020,
    /// Link: a type byte this version does not know (or a request where an answer belongs).
    LinkDecodeUnknownType = 2021,
    /// Link: a body shorter or longer than its type allows, or a field above its limit.
    LinkDecodeLength = 2022,
    /// Link: bytes after the last field.
    LinkDecodeTrailingBytes = 2023,
    /// Link: a field outside its range (a flag, a code, a key, an embedded Porter message).
    LinkDecodeBadValue = 2024,
    /// Link: the output buffer is too small for the message.
    LinkBufferTooSmall = 2025,
}

/// The link's errors: `LinkError::code()` + 2000.
#[cfg(feature = "std")]
impl From<porter_link::LinkError> for porter_result {
    fn from(error: porter_link::LinkError) -> porter_result {
        use porter_link::LinkError as L;
        match error {
            L::FrameBadFragment => porter_result::LinkFrameBadFragment,
            L::FrameOversized => porter_result::LinkFrameOversized,
            L::FrameInterleaved => porter_result::LinkFrameInterleaved,
            L::FrameOutOfOrder => porter_result::LinkFrameOutOfOrder,
            L::FrameTruncated => porter_result::LinkFrameTruncated,
            L::FrameTimeout => porter_result::LinkFrameTimeout,
            L::FrameOrphan => porter_result::LinkFrameOrphan,
            L::BadMtu => porter_result::LinkBadMtu,
            L::DecodeEmpty => porter_result::LinkDecodeEmpty,
            L::DecodeUnknownType => porter_result::LinkDecodeUnknownType,
            L::DecodeLength => porter_result::LinkDecodeLength,
            L::DecodeTrailingBytes => porter_result::LinkDecodeTrailingBytes,
            L::DecodeBadValue => porter_result::LinkDecodeBadValue,
            L::BufferTooSmall => porter_result::LinkBufferTooSmall,
            // `LinkError` is non-exhaustive: a newer link error still fails, under a code that
            // says so (a test pins that none maps here today).
            _ => porter_result::OtherProtocolError,
        }
    }
}

impl From<Error> for porter_result {
    fn from(error: Error) -> porter_result {
        match error {
            Error::DecodeMalformed => porter_result::DecodeMalformed,
            Error::DecodeTrailingBytes => porter_result::DecodeTrailingBytes,
            Error::DecodeNonCanonical => porter_result::DecodeNonCanonical,
            Error::DecodeUnsupportedVersion => porter_result::DecodeUnsupportedVersion,
            Error::DecodeTooLarge => porter_result::DecodeTooLarge,
            Error::DecodeInvalidField => porter_result::DecodeInvalidField,
            Error::CertBadSignature => porter_result::CertBadSignature,
            Error::CertWrongSite => porter_result::CertWrongSite,
            Error::CertNotYetValid => porter_result::CertNotYetValid,
            Error::CertExpired => porter_result::CertExpired,
            Error::CertRevoked => porter_result::CertRevoked,
            Error::CertFenced => porter_result::CertFenced,
            Error::CertWeakKey => porter_result::CertWeakKey,
            Error::GrantBadSignature => porter_result::GrantBadSignature,
            Error::GrantWrongSite => porter_result::GrantWrongSite,
            Error::GrantWrongDoor => porter_result::GrantWrongDoor,
            Error::GrantNotYetValid => porter_result::GrantNotYetValid,
            Error::GrantExpired => porter_result::GrantExpired,
            Error::GrantRevoked => porter_result::GrantRevoked,
            Error::GrantFenced => porter_result::GrantFenced,
            Error::GrantDoorNotAllowed => porter_result::GrantDoorNotAllowed,
            Error::GrantRoleNotAllowed => porter_result::GrantRoleNotAllowed,
            Error::GrantLifetimeTooLong => porter_result::GrantLifetimeTooLong,
            Error::GrantTooManyUses => porter_result::GrantTooManyUses,
            Error::GrantOutsideHours => porter_result::GrantOutsideHours,
            Error::ProofBadSignature => porter_result::ProofBadSignature,
            Error::HolderWeakKey => porter_result::HolderWeakKey,
            Error::HolderRevoked => porter_result::HolderRevoked,
            Error::ChallengeExpired => porter_result::ChallengeExpired,
            Error::ReplayDuplicate => porter_result::ReplayDuplicate,
            Error::ReplayTooOld => porter_result::ReplayTooOld,
            Error::ReplayFull => porter_result::ReplayFull,
            Error::StateBadSignature => porter_result::StateBadSignature,
            Error::StateWrongSite => porter_result::StateWrongSite,
            Error::StateNotNewer => porter_result::StateNotNewer,
            Error::EnrolmentBadSignature => porter_result::EnrolmentBadSignature,
            Error::EnrolmentMismatch => porter_result::EnrolmentMismatch,
            Error::AuditBadSignature => porter_result::AuditBadSignature,
            Error::AuditChainBroken => porter_result::AuditChainBroken,
            Error::AuditGap => porter_result::AuditGap,
            Error::BufferTooSmall => porter_result::BufferTooSmall,
            Error::KeyInvalidSeed => porter_result::KeyInvalidSeed,
            // `Error` is non-exhaustive: a reason added to the core after this build still
            // refuses, under a code that says so (a test pins that none maps here today).
            _ => porter_result::OtherProtocolError,
        }
    }
}

/// The FFI layer's own codes, with their description.
#[cfg(feature = "std")]
const FFI_STRINGS: [(porter_result, &CStr); 23] = [
        (porter_result::Ok, c"ok: success"),
        (
            porter_result::OtherProtocolError,
            c"other_protocol_error: a protocol reason this porter-ffi build cannot name; update porter-ffi",
        ),
        (porter_result::NullParameter, c"null_parameter: a required pointer argument was NULL"),
        (
            porter_result::InvalidParameter,
            c"invalid_parameter: an argument is out of range (wrong key/seed/nonce length, index past the end)",
        ),
        (porter_result::Panic, c"panic: a bug in Porter was caught at the boundary; please report it"),
        (porter_result::SignerFailed, c"signer_failed: the external signer refused or failed"),
        (
            porter_result::DoorMemoryCorrupt,
            c"door_memory_corrupt: the door memory buffer does not decode; restore it from a good copy",
        ),
        (
            porter_result::HolderMismatch,
            c"holder_mismatch: the grant is for another holder key; fetch a grant for this key",
        ),
        (
            porter_result::WrongState,
            c"wrong_state: the session is not waiting for that; check porter_session_status first",
        ),
        (porter_result::LinkFrameBadFragment, c"link_frame_bad_fragment: a fragment is shorter than its header, longer than the MTU, or has unknown flags"),
        (porter_result::LinkFrameOversized, c"link_frame_oversized: a message announced 0 bytes or more than the buffer holds, or carried more than announced"),
        (porter_result::LinkFrameInterleaved, c"link_frame_interleaved: a fragment of another message arrived before this one was complete"),
        (porter_result::LinkFrameOutOfOrder, c"link_frame_out_of_order: a fragment was lost (an index skipped or repeated); the message is dropped"),
        (porter_result::LinkFrameTruncated, c"link_frame_truncated: the last fragment came before the announced length"),
        (porter_result::LinkFrameTimeout, c"link_frame_timeout: no fragment within the reassembly timeout"),
        (porter_result::LinkFrameOrphan, c"link_frame_orphan: a continuation fragment arrived with no message in progress"),
        (porter_result::LinkBadMtu, c"link_bad_mtu: the MTU is outside 20..=255"),
        (porter_result::LinkDecodeEmpty, c"link_decode_empty: a link message with no bytes"),
        (porter_result::LinkDecodeUnknownType, c"link_decode_unknown_type: a message type this version does not know"),
        (porter_result::LinkDecodeLength, c"link_decode_length: a message body is shorter or longer than its type allows"),
        (porter_result::LinkDecodeTrailingBytes, c"link_decode_trailing_bytes: bytes after the message's last field"),
        (porter_result::LinkDecodeBadValue, c"link_decode_bad_value: a field of the message is outside its range"),
        (porter_result::LinkBufferTooSmall, c"link_buffer_too_small: the output buffer is too small for the message"),
];

/// `"<name>: <message>"` for every protocol reason, NUL-terminated, built once.
#[cfg(feature = "std")]
fn protocol_strings() -> &'static [(u16, CString)] {
    static STRINGS: OnceLock<Vec<(u16, CString)>> = OnceLock::new();
    STRINGS.get_or_init(|| {
        Error::ALL
            .iter()
            .filter_map(|e| {
                let text = format!("{}: {}", e.name(), e.message());
                CString::new(text).ok().map(|c| (e.code(), c))
            })
            .collect()
    })
}

/// The description of `code` as a static C string: `"<name>: <what happened and what to do>"`,
/// e.g. `"grant_expired: the grant has expired; ask the server for a fresh one"`.
/// Never NULL; unknown codes give `"unknown: ..."`. The string lives as long as the program:
/// do not free it. (Not in the bare-metal `no_std` build: firmware logs the numbers.)
#[cfg(feature = "std")]
#[no_mangle]
pub extern "C" fn porter_result_str(code: u32) -> *const c_char {
    const UNKNOWN: &CStr = c"unknown: not a Porter result code";
    boundary_value(UNKNOWN.as_ptr(), || {
        if let Some((_, text)) = FFI_STRINGS.iter().find(|(r, _)| *r as u32 == code) {
            return Some(text.as_ptr());
        }
        let code = u16::try_from(code).ok()?;
        protocol_strings().iter().find(|(c, _)| *c == code).map(|(_, text)| text.as_ptr())
    })
}

/// `"porter-ffi <semver>"`, checked at compile time.
const VERSION: &CStr = match CStr::from_bytes_with_nul(
    concat!("porter-ffi ", env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
) {
    Ok(version) => version,
    Err(_) => panic!("the version string has an interior NUL"),
};

/// This library's name and version, `"porter-ffi <semver>"`, as a static C string (never
/// free it). Log it beside result codes.
#[no_mangle]
pub extern "C" fn porter_version() -> *const c_char {
    boundary_value(VERSION.as_ptr(), || Some(VERSION.as_ptr()))
}

/// What a door may tell the phone about a refusal: coarse, so that it does not help probing.
#[allow(non_camel_case_types, reason = "C naming: the header spells it porter_coarse")]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum porter_coarse {
    /// Not a protocol refusal: success, an FFI code, or an unknown number.
    NotARefusal = 0,
    /// The bytes were not a well-formed presentation.
    Malformed = 1,
    /// The presentation does not authorise entry here and now.
    Denied = 2,
    /// The grant or challenge is outside its time window: fetch a fresh one.
    Expired = 3,
    /// The grant has no entries left at this door.
    Spent = 4,
}

/// The coarse class of a protocol refusal `code`, for the answer a door sends to a phone.
#[no_mangle]
pub extern "C" fn porter_result_coarse(code: u32) -> porter_coarse {
    boundary_value(porter_coarse::NotARefusal, || {
        let error = Error::from_code(u16::try_from(code).ok()?)?;
        Some(match error.coarse() {
            Coarse::Malformed => porter_coarse::Malformed,
            Coarse::Denied => porter_coarse::Denied,
            Coarse::Expired => porter_coarse::Expired,
            Coarse::Spent => porter_coarse::Spent,
        })
    })
}

/// Maps a core result to an [`crate::ffi::Outcome`].
pub(crate) fn protocol<T>(result: Result<T, Error>) -> Result<T, porter_result> {
    result.map_err(porter_result::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_protocol_reason_keeps_its_number_and_has_a_string() {
        for error in Error::ALL {
            let result = porter_result::from(error);
            assert_eq!(result as u32, u32::from(error.code()), "{error:?}");
            assert_ne!(result, porter_result::OtherProtocolError, "{error:?} has no variant");
            let text = unsafe_free_str(porter_result_str(result as u32));
            assert!(text.starts_with(&format!("{}: ", error.name())), "{text}");
        }
    }

    /// The core's reason table is the one source: every row is a `porter_result` variant of
    /// the same number and, in the committed C header, `PORTER_RESULT_<NAME>` of that number;
    /// and the header has no protocol code (1..=999) that the table lacks.
    #[test]
    fn the_c_header_lists_exactly_the_core_reason_table() {
        let header = include_str!("../include/porter.h");
        let mut listed: Vec<(String, u32)> = header
            .lines()
            .filter_map(|line| {
                let (name, value) = line.trim().trim_end_matches(',').split_once(" = ")?;
                let name = name.strip_prefix("PORTER_RESULT_")?;
                Some((name.to_string(), value.parse().ok()?))
            })
            .filter(|(_, code)| (1..1000).contains(code))
            .collect();
        listed.sort_by_key(|(_, code)| *code);
        let table: Vec<(String, u32)> = Error::ALL
            .iter()
            .map(|e| (e.name().to_ascii_uppercase(), u32::from(e.code())))
            .collect();
        assert_eq!(listed, table, "ffi/include/porter.h differs from porter_protocol's reasons");
        for e in Error::ALL {
            assert_eq!(porter_result::from(e) as u32, u32::from(e.code()), "{e:?}");
        }
    }

    #[test]
    fn ffi_codes_are_outside_the_protocol_range_and_described() {
        for (code, text) in FFI_STRINGS {
            assert!(code == porter_result::Ok || (1000..2100).contains(&(code as u32)));
            assert_eq!(porter_result_str(code as u32), text.as_ptr());
        }
        assert!(unsafe_free_str(porter_result_str(4242)).starts_with("unknown"));
        assert!(unsafe_free_str(porter_result_str(u32::MAX)).starts_with("unknown"));
    }

    /// Every link error is `PORTER_RESULT_LINK_<NAME>`, numbered `LinkError::code()` + 2000,
    /// and described.
    #[test]
    fn link_errors_keep_their_numbers() {
        for &error in porter_link::LinkError::ALL {
            let result = porter_result::from(error);
            assert_eq!(result as u32, 2000 + u32::from(error.code()), "{error:?}");
            assert_eq!(format!("{result:?}"), format!("Link{}", error.name()));
            assert!(FFI_STRINGS.iter().any(|(r, _)| *r == result), "{error:?} has no string");
        }
    }

    #[test]
    fn version_names_the_crate() {
        assert_eq!(porter_version(), VERSION.as_ptr());
        assert_eq!(VERSION.to_str(), Ok(concat!("porter-ffi ", env!("CARGO_PKG_VERSION"))));
    }

    #[test]
    fn coarse_classes_follow_the_core() {
        assert_eq!(porter_result_coarse(501), porter_coarse::Spent);
        assert_eq!(porter_result_coarse(305), porter_coarse::Expired);
        assert_eq!(porter_result_coarse(101), porter_coarse::Malformed);
        assert_eq!(porter_result_coarse(301), porter_coarse::Denied);
        assert_eq!(porter_result_coarse(0), porter_coarse::NotARefusal);
        assert_eq!(porter_result_coarse(1001), porter_coarse::NotARefusal);
    }

    /// Reads one of this module's static strings back (they are `CStr`s we own).
    fn unsafe_free_str(ptr: *const c_char) -> String {
        let all = FFI_STRINGS
            .iter()
            .map(|(_, t)| *t)
            .chain(protocol_strings().iter().map(|(_, t)| t.as_c_str()));
        let unknown = c"unknown: not a Porter result code";
        all.chain([unknown])
            .find(|t| t.as_ptr() == ptr)
            .map(|t| t.to_string_lossy().into_owned())
            .expect("porter_result_str returned a string it does not own")
    }
}
