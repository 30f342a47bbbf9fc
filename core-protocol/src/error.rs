//! The one error type of the protocol core.
//!
//! Every variant is a reason a door refuses something, named by the phase that found it, with a
//! stable numeric code (`Error::code`) that the audit log, the FFI, the vectors and the server
//! all use. The reasons are one table (`reasons!` below): each row gives the variant and its
//! documentation, code, name, coarse class and message, and the enum, [`Error::ALL`] and every
//! accessor are generated from it, so nothing can fall out of step. A new reason is one new row
//! with a new code. Tests check `spec/protocol.md` section 6 and the FFI's C header against the
//! table. Numbers are never reused: a retired variant keeps its number in the list at the end
//! of this file. Toward a possibly hostile phone the door may answer only `Error::coarse`.

use core::fmt;

/// Generates [`Error`] and its tables from one list of rows:
/// `/// docs` then `Variant = code, "name", Coarse, "message";`.
macro_rules! reasons {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident = $code:literal, $name:literal, $coarse:ident, $message:literal;
    )*) => {
        /// Why a message was refused. Variants are grouped by the phase that found the problem.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Error {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl Error {
            /// Every reason, in code order: for tables, bindings and exhaustive tests.
            pub const ALL: [Error; [$($code),*].len()] = [$(Error::$variant),*];

            /// The stable numeric code of this reason. Listed in `spec/protocol.md`.
            pub const fn code(self) -> u16 {
                match self { $(Error::$variant => $code,)* }
            }

            /// A short stable name, `snake_case`, for logs, JSON and the vectors.
            pub const fn name(self) -> &'static str {
                match self { $(Error::$variant => $name,)* }
            }

            /// The coarse class shown to the phone that presented.
            pub const fn coarse(self) -> Coarse {
                match self { $(Error::$variant => Coarse::$coarse,)* }
            }

            /// What went wrong and what to do about it, for people reading logs.
            pub const fn message(self) -> &'static str {
                match self { $(Error::$variant => $message,)* }
            }
        }
    };
}

reasons! {
    // --- 1xx: decoding (the sender's fault: bytes that are not a Porter message) ---
    /// The bytes are not a valid encoding of the expected message (truncated, bad tag,
    /// bad length, a list longer than its bound).
    DecodeMalformed = 101, "decode_malformed", Malformed,
        "the bytes are not a valid Porter message of this kind";
    /// The message decoded but bytes were left over after it.
    DecodeTrailingBytes = 102, "decode_trailing_bytes", Malformed,
        "extra bytes follow the message; send exactly one message";
    /// The message decoded but is not in its one canonical encoding (an overlong varint, say):
    /// a second encoding of the same value is refused so that signatures are unambiguous.
    DecodeNonCanonical = 103, "decode_non_canonical", Malformed,
        "the message is not canonically encoded; re-encode it with Porter";
    /// The message names a format version this build does not know.
    DecodeUnsupportedVersion = 104, "decode_unsupported_version", Malformed,
        "unknown message version; update the sender or the door";
    /// The message is longer than the largest message of its kind.
    DecodeTooLarge = 105, "decode_too_large", Malformed,
        "the message is larger than its kind allows";
    /// A field is out of its range: an empty or unsorted door list, zero uses, a window that
    /// ends before it starts, an unsorted deny-list.
    DecodeInvalidField = 106, "decode_invalid_field", Malformed,
        "a field is out of range (empty or unsorted list, zero uses, inverted window)";

    // --- 2xx: the issuer certificate (root -> issuer) ---
    /// The certificate's signature does not verify under the door's site root key.
    CertBadSignature = 201, "cert_bad_signature", Denied,
        "the issuer certificate is not signed by this site's root key";
    /// The certificate was made for another site.
    CertWrongSite = 202, "cert_wrong_site", Denied,
        "the issuer certificate is for another site";
    /// The certificate is not valid yet at the door's time.
    CertNotYetValid = 203, "cert_not_yet_valid", Expired,
        "the issuer certificate is not valid yet; check the door's clock";
    /// The certificate has expired at the door's time.
    CertExpired = 204, "cert_expired", Expired,
        "the issuer certificate has expired; the site root must re-certify the issuer";
    /// The issuer is on the door's deny-list: the site root cut it off.
    CertRevoked = 205, "cert_revoked", Denied,
        "the issuer has been revoked by the site root";
    /// The certificate's epoch is below the door state's certificate fence.
    CertFenced = 206, "cert_fenced", Denied,
        "the issuer certificate predates the site's certificate fence; re-certify";
    /// The issuer key is not a canonical point of large order: it could verify forgeries.
    CertWeakKey = 207, "cert_weak_key", Denied,
        "the issuer key is a weak (small-order or non-canonical) point";

    // --- 3xx: the grant (issuer -> holder) ---
    /// The grant's signature does not verify under the certificate's issuer key.
    GrantBadSignature = 301, "grant_bad_signature", Denied,
        "the grant is not signed by the certified issuer";
    /// The grant was made for another site.
    GrantWrongSite = 302, "grant_wrong_site", Denied,
        "the grant is for another site";
    /// The grant does not name this door.
    GrantWrongDoor = 303, "grant_wrong_door", Denied,
        "the grant does not name this door";
    /// The grant is not valid yet at the door's time (beyond the allowed clock skew).
    GrantNotYetValid = 304, "grant_not_yet_valid", Expired,
        "the grant is not valid yet; check the phone's and the door's clocks";
    /// The grant has expired at the door's time (beyond the allowed clock skew).
    GrantExpired = 305, "grant_expired", Expired,
        "the grant has expired; ask the server for a fresh one";
    /// The grant is on the door's deny-list.
    GrantRevoked = 306, "grant_revoked", Denied,
        "the grant has been revoked";
    /// The grant was issued before the door state's grant fence.
    GrantFenced = 307, "grant_fenced", Denied,
        "the grant was issued before the site's revocation fence; ask for a fresh one";
    /// The issuer certificate does not allow this door.
    GrantDoorNotAllowed = 308, "grant_door_not_allowed", Denied,
        "the issuer is not allowed to open this door";
    /// The issuer certificate does not allow the grant's role.
    GrantRoleNotAllowed = 309, "grant_role_not_allowed", Denied,
        "the issuer is not allowed to grant this role";
    /// The grant lives longer than the issuer certificate allows.
    GrantLifetimeTooLong = 310, "grant_lifetime_too_long", Denied,
        "the grant lives longer than the issuer may grant";
    /// The grant allows more entries than the issuer certificate allows.
    GrantTooManyUses = 311, "grant_too_many_uses", Denied,
        "the grant allows more entries than the issuer may grant";
    /// The issuer certificate does not allow entry at this hour or on this weekday.
    GrantOutsideHours = 312, "grant_outside_hours", Denied,
        "the issuer is not allowed to open doors at this hour or day";

    // --- 4xx: the holder's proof of possession ---
    /// The holder's signature over the door's challenge and the grant does not verify.
    ProofBadSignature = 401, "proof_bad_signature", Denied,
        "the holder's signature over the challenge does not verify";
    /// The holder key in the grant is not a canonical point of large order.
    HolderWeakKey = 402, "holder_weak_key", Denied,
        "the holder key is a weak (small-order or non-canonical) point";
    /// The holder key is on the door's deny-list.
    HolderRevoked = 403, "holder_revoked", Denied,
        "the holder key has been revoked";
    /// The door's challenge expired before the presentation arrived, or names another door.
    ChallengeExpired = 404, "challenge_expired", Expired,
        "the door's challenge expired; ask the door for a new one";

    // --- 5xx: the replay window ---
    /// Every entry this grant allows has already been spent at this door.
    ReplayDuplicate = 501, "replay_duplicate", Spent,
        "this grant has no entries left at this door";
    /// The grant expired before the door's latest admission (the door's clock went back), so
    /// the door may have forgotten that it was spent.
    ReplayTooOld = 502, "replay_too_old", Expired,
        "the grant expired before the door's latest admission; check the door's clock";
    /// The door's replay memory has no room for another grant (every entry belongs to a grant
    /// that has not expired, or every issuer slot is taken, or the grant outlives what the door
    /// can remember). Nothing was forgotten to make room: the door refuses new grants until
    /// entries expire, within one grant lifetime and twice the clock skew.
    ReplayFull = 503, "replay_full", Denied,
        "the door remembers too many unexpired grants; try again in a few minutes";

    // --- 6xx: signed door state ---
    /// The door state's signature does not verify under the site root key.
    StateBadSignature = 601, "state_bad_signature", Denied,
        "the door state is not signed by this site's root key";
    /// The door state was made for another site.
    StateWrongSite = 602, "state_wrong_site", Denied,
        "the door state is for another site";
    /// The door state is not newer than the one the door holds: never roll back.
    StateNotNewer = 603, "state_not_newer", Denied,
        "the door state is not newer than the door's; ignored";

    // --- 7xx: enrolment, receipts and the audit log ---
    /// The device enrolment's signature does not verify under the site root key.
    EnrolmentBadSignature = 701, "enrolment_bad_signature", Denied,
        "the enrolment is not signed by this site's root key";
    /// The enrolment names another site or door than expected.
    EnrolmentMismatch = 702, "enrolment_mismatch", Denied,
        "the enrolment is for another site, door or device";
    /// A receipt or log head's signature does not verify under the device key.
    AuditBadSignature = 703, "audit_bad_signature", Denied,
        "the receipt or log head is not signed by the door's device key";
    /// An audit record does not link to the hash of the record before it.
    AuditChainBroken = 704, "audit_chain_broken", Denied,
        "an audit record does not chain to the one before it";
    /// An audit record's sequence number skips or repeats: records are missing.
    AuditGap = 705, "audit_gap", Denied,
        "audit records are missing or repeated";

    // --- 8xx: the caller's buffers and inputs ---
    /// An output buffer is too small for the encoded message.
    BufferTooSmall = 801, "buffer_too_small", Malformed,
        "the output buffer is too small";
    /// A key seed was all zeros: the entropy source failed. Draw the seed again.
    KeyInvalidSeed = 802, "key_invalid_seed", Malformed,
        "the key seed is all zeros: the entropy source failed; draw it again";
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
    /// The reason with this code, if there is one.
    pub fn from_code(code: u16) -> Option<Error> {
        Error::ALL.iter().copied().find(|e| e.code() == code)
    }
}

// Codes are strictly increasing down the table, hence unique: checked at compile time.
const _: () = {
    let mut rest: &[Error] = &Error::ALL;
    while let [first, second, ..] = rest {
        assert!(first.code() < second.code(), "reason codes must increase down the table");
        rest = match rest.split_first() {
            Some((_, tail)) => tail,
            None => &[],
        };
    }
};

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.name(), self.code(), self.message())
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

// Retired codes: none yet. A removed variant's number is listed here and never reused.
