//! The one error type of the protocol core.
//!
//! Every variant is a reason a door refuses something, named by the phase that found it, with a
//! stable numeric code (`Error::code`) that the audit log, the FFI, the vectors and the server
//! all use. Numbers are never reused: a retired variant keeps its number in the list at the end
//! of this file. Toward a possibly hostile phone the door may answer only `Error::coarse`.

use core::fmt;

/// Why a message was refused. Variants are grouped by the phase that found the problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    // --- 1xx: decoding (the sender's fault: bytes that are not a Porter message) ---
    /// The bytes are not a valid encoding of the expected message (truncated, bad tag,
    /// bad length, a list longer than its bound).
    DecodeMalformed,
    /// The message decoded but bytes were left over after it.
    DecodeTrailingBytes,
    /// The message decoded but is not in its one canonical encoding (an overlong varint, say):
    /// a second encoding of the same value is refused so that signatures are unambiguous.
    DecodeNonCanonical,
    /// The message names a format version this build does not know.
    DecodeUnsupportedVersion,
    /// The message is longer than the largest message of its kind.
    DecodeTooLarge,
    /// A field is out of its range: an empty or unsorted door list, zero uses, a window that
    /// ends before it starts, an unsorted deny-list.
    DecodeInvalidField,

    // --- 2xx: the issuer certificate (root -> issuer) ---
    /// The certificate's signature does not verify under the door's site root key.
    CertBadSignature,
    /// The certificate was made for another site.
    CertWrongSite,
    /// The certificate is not valid yet at the door's time.
    CertNotYetValid,
    /// The certificate has expired at the door's time.
    CertExpired,
    /// The issuer is on the door's deny-list: the site root cut it off.
    CertRevoked,
    /// The certificate's epoch is below the door state's certificate fence.
    CertFenced,
    /// The issuer key is not a canonical point of large order: it could verify forgeries.
    CertWeakKey,

    // --- 3xx: the grant (issuer -> holder) ---
    /// The grant's signature does not verify under the certificate's issuer key.
    GrantBadSignature,
    /// The grant was made for another site.
    GrantWrongSite,
    /// The grant does not name this door.
    GrantWrongDoor,
    /// The grant is not valid yet at the door's time (beyond the allowed clock skew).
    GrantNotYetValid,
    /// The grant has expired at the door's time (beyond the allowed clock skew).
    GrantExpired,
    /// The grant is on the door's deny-list.
    GrantRevoked,
    /// The grant was issued before the door state's grant fence.
    GrantFenced,
    /// The issuer certificate does not allow this door.
    GrantDoorNotAllowed,
    /// The issuer certificate does not allow the grant's role.
    GrantRoleNotAllowed,
    /// The grant lives longer than the issuer certificate allows.
    GrantLifetimeTooLong,
    /// The grant allows more entries than the issuer certificate allows.
    GrantTooManyUses,
    /// The issuer certificate does not allow entry at this hour or on this weekday.
    GrantOutsideHours,

    // --- 4xx: the holder's proof of possession ---
    /// The holder's signature over the door's challenge and the grant does not verify.
    ProofBadSignature,
    /// The holder key in the grant is not a canonical point of large order.
    HolderWeakKey,
    /// The holder key is on the door's deny-list.
    HolderRevoked,
    /// The door's challenge expired before the presentation arrived, or names another door.
    ChallengeExpired,

    // --- 5xx: the replay window ---
    /// Every entry this grant allows has already been spent at this door.
    ReplayDuplicate,
    /// The grant expired before the door's latest admission (the door's clock went back), so
    /// the door may have forgotten that it was spent.
    ReplayTooOld,
    /// The door's replay memory has no room for another grant (every entry belongs to a grant
    /// that has not expired, or every issuer slot is taken, or the grant outlives what the door
    /// can remember). Nothing was forgotten to make room: the door refuses new grants until
    /// entries expire, within one grant lifetime and twice the clock skew.
    ReplayFull,

    // --- 6xx: signed door state ---
    /// The door state's signature does not verify under the site root key.
    StateBadSignature,
    /// The door state was made for another site.
    StateWrongSite,
    /// The door state is not newer than the one the door holds: never roll back.
    StateNotNewer,

    // --- 7xx: enrolment, receipts and the audit log ---
    /// The device enrolment's signature does not verify under the site root key.
    EnrolmentBadSignature,
    /// The enrolment names another site or door than expected.
    EnrolmentMismatch,
    /// A receipt or log head's signature does not verify under the device key.
    AuditBadSignature,
    /// An audit record does not link to the hash of the record before it.
    AuditChainBroken,
    /// An audit record's sequence number skips or repeats: records are missing.
    AuditGap,

    // --- 8xx: the caller's buffers and inputs ---
    /// An output buffer is too small for the encoded message.
    BufferTooSmall,
    /// A key seed was all zeros: the entropy source failed. Draw the seed again.
    KeyInvalidSeed,
}

/// What a door tells a phone: enough for an honest app to act, nothing that helps probing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Coarse {
    /// The bytes were not a well-formed presentation.
    Malformed,
    /// The presentation does not authorise entry here and now.
    Denied,
    /// The grant or challenge is outside its time window: fetch a fresh one.
    Expired,
    /// The grant has no entries left at this door.
    Spent,
}

impl Error {
    /// The stable numeric code of this reason. Listed in `spec/protocol.md`.
    pub const fn code(self) -> u16 {
        use Error::*;
        match self {
            DecodeMalformed => 101,
            DecodeTrailingBytes => 102,
            DecodeNonCanonical => 103,
            DecodeUnsupportedVersion => 104,
            DecodeTooLarge => 105,
            DecodeInvalidField => 106,
            CertBadSignature => 201,
            CertWrongSite => 202,
            CertNotYetValid => 203,
            CertExpired => 204,
            CertRevoked => 205,
            CertFenced => 206,
            CertWeakKey => 207,
            GrantBadSignature => 301,
            GrantWrongSite => 302,
            GrantWrongDoor => 303,
            GrantNotYetValid => 304,
            GrantExpired => 305,
            GrantRevoked => 306,
            GrantFenced => 307,
            GrantDoorNotAllowed => 308,
            GrantRoleNotAllowed => 309,
            GrantLifetimeTooLong => 310,
            GrantTooManyUses => 311,
            GrantOutsideHours => 312,
            ProofBadSignature => 401,
            HolderWeakKey => 402,
            HolderRevoked => 403,
            ChallengeExpired => 404,
            ReplayDuplicate => 501,
            ReplayTooOld => 502,
            ReplayFull => 503,
            StateBadSignature => 601,
            StateWrongSite => 602,
            StateNotNewer => 603,
            EnrolmentBadSignature => 701,
            EnrolmentMismatch => 702,
            AuditBadSignature => 703,
            AuditChainBroken => 704,
            AuditGap => 705,
            BufferTooSmall => 801,
            KeyInvalidSeed => 802,
        }
    }

    /// Every reason, in code order: for tables, bindings and exhaustive tests.
    pub const ALL: [Error; 42] = {
        use Error::*;
        [
            DecodeMalformed,
            DecodeTrailingBytes,
            DecodeNonCanonical,
            DecodeUnsupportedVersion,
            DecodeTooLarge,
            DecodeInvalidField,
            CertBadSignature,
            CertWrongSite,
            CertNotYetValid,
            CertExpired,
            CertRevoked,
            CertFenced,
            CertWeakKey,
            GrantBadSignature,
            GrantWrongSite,
            GrantWrongDoor,
            GrantNotYetValid,
            GrantExpired,
            GrantRevoked,
            GrantFenced,
            GrantDoorNotAllowed,
            GrantRoleNotAllowed,
            GrantLifetimeTooLong,
            GrantTooManyUses,
            GrantOutsideHours,
            ProofBadSignature,
            HolderWeakKey,
            HolderRevoked,
            ChallengeExpired,
            ReplayDuplicate,
            ReplayTooOld,
            ReplayFull,
            StateBadSignature,
            StateWrongSite,
            StateNotNewer,
            EnrolmentBadSignature,
            EnrolmentMismatch,
            AuditBadSignature,
            AuditChainBroken,
            AuditGap,
            BufferTooSmall,
            KeyInvalidSeed,
        ]
    };

    /// The reason with this code, if there is one.
    pub fn from_code(code: u16) -> Option<Error> {
        Error::ALL.iter().copied().find(|e| e.code() == code)
    }

    /// A short stable name, `snake_case`, for logs, JSON and the vectors.
    pub const fn name(self) -> &'static str {
        use Error::*;
        match self {
            DecodeMalformed => "decode_malformed",
            DecodeTrailingBytes => "decode_trailing_bytes",
            DecodeNonCanonical => "decode_non_canonical",
            DecodeUnsupportedVersion => "decode_unsupported_version",
            DecodeTooLarge => "decode_too_large",
            DecodeInvalidField => "decode_invalid_field",
            CertBadSignature => "cert_bad_signature",
            CertWrongSite => "cert_wrong_site",
            CertNotYetValid => "cert_not_yet_valid",
            CertExpired => "cert_expired",
            CertRevoked => "cert_revoked",
            CertFenced => "cert_fenced",
            CertWeakKey => "cert_weak_key",
            GrantBadSignature => "grant_bad_signature",
            GrantWrongSite => "grant_wrong_site",
            GrantWrongDoor => "grant_wrong_door",
            GrantNotYetValid => "grant_not_yet_valid",
            GrantExpired => "grant_expired",
            GrantRevoked => "grant_revoked",
            GrantFenced => "grant_fenced",
            GrantDoorNotAllowed => "grant_door_not_allowed",
            GrantRoleNotAllowed => "grant_role_not_allowed",
            GrantLifetimeTooLong => "grant_lifetime_too_long",
            GrantTooManyUses => "grant_too_many_uses",
            GrantOutsideHours => "grant_outside_hours",
            ProofBadSignature => "proof_bad_signature",
            HolderWeakKey => "holder_weak_key",
            HolderRevoked => "holder_revoked",
            ChallengeExpired => "challenge_expired",
            ReplayDuplicate => "replay_duplicate",
            ReplayTooOld => "replay_too_old",
            ReplayFull => "replay_full",
            StateBadSignature => "state_bad_signature",
            StateWrongSite => "state_wrong_site",
            StateNotNewer => "state_not_newer",
            EnrolmentBadSignature => "enrolment_bad_signature",
            EnrolmentMismatch => "enrolment_mismatch",
            AuditBadSignature => "audit_bad_signature",
            AuditChainBroken => "audit_chain_broken",
            AuditGap => "audit_gap",
            BufferTooSmall => "buffer_too_small",
            KeyInvalidSeed => "key_invalid_seed",
        }
    }

    /// The coarse class shown to the phone that presented.
    pub const fn coarse(self) -> Coarse {
        use Error::*;
        match self {
            DecodeMalformed
            | DecodeTrailingBytes
            | DecodeNonCanonical
            | DecodeUnsupportedVersion
            | DecodeTooLarge
            | DecodeInvalidField
            | BufferTooSmall => Coarse::Malformed,
            CertNotYetValid | CertExpired | GrantNotYetValid | GrantExpired | ChallengeExpired
            | ReplayTooOld => Coarse::Expired,
            ReplayDuplicate => Coarse::Spent,
            _ => Coarse::Denied,
        }
    }

    /// What went wrong and what to do about it, for people reading logs.
    pub const fn message(self) -> &'static str {
        use Error::*;
        match self {
            DecodeMalformed => "the bytes are not a valid Porter message of this kind",
            DecodeTrailingBytes => "extra bytes follow the message; send exactly one message",
            DecodeNonCanonical => {
                "the message is not canonically encoded; re-encode it with Porter"
            }
            DecodeUnsupportedVersion => "unknown message version; update the sender or the door",
            DecodeTooLarge => "the message is larger than its kind allows",
            DecodeInvalidField => {
                "a field is out of range (empty or unsorted list, zero uses, inverted window)"
            }
            CertBadSignature => "the issuer certificate is not signed by this site's root key",
            CertWrongSite => "the issuer certificate is for another site",
            CertNotYetValid => "the issuer certificate is not valid yet; check the door's clock",
            CertExpired => {
                "the issuer certificate has expired; the site root must re-certify the issuer"
            }
            CertRevoked => "the issuer has been revoked by the site root",
            CertFenced => {
                "the issuer certificate predates the site's certificate fence; re-certify"
            }
            CertWeakKey => "the issuer key is a weak (small-order or non-canonical) point",
            GrantBadSignature => "the grant is not signed by the certified issuer",
            GrantWrongSite => "the grant is for another site",
            GrantWrongDoor => "the grant does not name this door",
            GrantNotYetValid => {
                "the grant is not valid yet; check the phone's and the door's clocks"
            }
            GrantExpired => "the grant has expired; ask the server for a fresh one",
            GrantRevoked => "the grant has been revoked",
            GrantFenced => {
                "the grant was issued before the site's revocation fence; ask for a fresh one"
            }
            GrantDoorNotAllowed => "the issuer is not allowed to open this door",
            GrantRoleNotAllowed => "the issuer is not allowed to grant this role",
            GrantLifetimeTooLong => "the grant lives longer than the issuer may grant",
            GrantTooManyUses => "the grant allows more entries than the issuer may grant",
            GrantOutsideHours => "the issuer is not allowed to open doors at this hour or day",
            ProofBadSignature => "the holder's signature over the challenge does not verify",
            HolderWeakKey => "the holder key is a weak (small-order or non-canonical) point",
            HolderRevoked => "the holder key has been revoked",
            ChallengeExpired => "the door's challenge expired; ask the door for a new one",
            ReplayDuplicate => "this grant has no entries left at this door",
            ReplayTooOld => {
                "the grant expired before the door's latest admission; check the door's clock"
            }
            ReplayFull => {
                "the door remembers too many unexpired grants; try again in a few minutes"
            }
            StateBadSignature => "the door state is not signed by this site's root key",
            StateWrongSite => "the door state is for another site",
            StateNotNewer => "the door state is not newer than the door's; ignored",
            EnrolmentBadSignature => "the enrolment is not signed by this site's root key",
            EnrolmentMismatch => "the enrolment is for another site, door or device",
            AuditBadSignature => "the receipt or log head is not signed by the door's device key",
            AuditChainBroken => "an audit record does not chain to the one before it",
            AuditGap => "audit records are missing or repeated",
            BufferTooSmall => "the output buffer is too small",
            KeyInvalidSeed => "the key seed is all zeros: the entropy source failed; draw it again",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.name(), self.code(), self.message())
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

// Retired codes: none yet. A removed variant's number is listed here and never reused.
