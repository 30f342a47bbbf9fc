//! How a phone session ends: `porter_link::Outcome`'s stable numbers (`spec/link.md`,
//! "Outcomes") as `PORTER_OUTCOME_*`, with a description for each.

use core::ffi::{c_char, CStr};

use porter_link::Outcome;

use crate::ffi::boundary_value;

/// How a visit ended: the numbers of `spec/link.md`, "Outcomes". `porter_outcome_str` describes
/// each.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum porter_outcome {
    /// The door opened, and its receipt verified under the device key.
    Admitted = 0,
    /// Denied: the presentation was not well formed.
    DeniedMalformed = 11,
    /// Denied: the grant does not open this door now (scope, hours, revoked, signatures).
    Denied = 12,
    /// Denied: the grant or certificate is outside its validity: fetch a fresh grant.
    DeniedExpired = 13,
    /// Denied: the grant's uses are spent.
    DeniedSpent = 14,
    /// A presentation may have been decided but its answer was lost: the door opened at most
    /// once; the log tells the server which.
    VerdictUnknown = 20,
    /// The door is not commissioned.
    NotEnrolled = 21,
    /// The door is faulted (storage or entropy): it needs service.
    DoorFault = 22,
    /// The door refused for another reason.
    DoorRefused = 23,
    /// The door is not the one the phone meant to open.
    WrongDoor = 24,
    /// The door said "admitted" but its receipt does not verify: report it, never retry.
    BadReceipt = 30,
    /// The door's answer did not decode or did not fit the request.
    BadAnswer = 31,
    /// No answer after every retry (no presentation was sent).
    TimedOut = 32,
    /// The configuration or buffers are unusable.
    BadConfig = 33,
    /// The presentation could not be built, or the signature came at the wrong time.
    SignerFailed = 34,
    /// An outcome this porter-ffi build cannot name (a newer porter-link): update porter-ffi.
    Other = 999,
    /// The session has not ended yet.
    Pending = 65534,
    /// Returned for a NULL session.
    Invalid = 65535,
}

impl From<Outcome> for porter_outcome {
    fn from(outcome: Outcome) -> porter_outcome {
        match outcome {
            Outcome::Admitted => porter_outcome::Admitted,
            Outcome::DeniedMalformed => porter_outcome::DeniedMalformed,
            Outcome::Denied => porter_outcome::Denied,
            Outcome::DeniedExpired => porter_outcome::DeniedExpired,
            Outcome::DeniedSpent => porter_outcome::DeniedSpent,
            Outcome::VerdictUnknown => porter_outcome::VerdictUnknown,
            Outcome::NotEnrolled => porter_outcome::NotEnrolled,
            Outcome::DoorFault => porter_outcome::DoorFault,
            Outcome::DoorRefused => porter_outcome::DoorRefused,
            Outcome::WrongDoor => porter_outcome::WrongDoor,
            Outcome::BadReceipt => porter_outcome::BadReceipt,
            Outcome::BadAnswer => porter_outcome::BadAnswer,
            Outcome::TimedOut => porter_outcome::TimedOut,
            Outcome::BadConfig => porter_outcome::BadConfig,
            Outcome::SignerFailed => porter_outcome::SignerFailed,
            // `Outcome` is non-exhaustive: a newer one still reads as "not admitted".
            _ => porter_outcome::Other,
        }
    }
}

/// Every outcome's number and description.
const STRINGS: [(porter_outcome, &CStr); 18] = [
    (porter_outcome::Admitted, c"admitted: the door opened and its receipt verified"),
    (porter_outcome::DeniedMalformed, c"denied_malformed: the door could not read the presentation; update the app"),
    (porter_outcome::Denied, c"denied: the grant does not open this door now (door, hours, revoked); ask the dispatcher"),
    (porter_outcome::DeniedExpired, c"denied_expired: the grant or its certificate is outside its validity; fetch a fresh grant"),
    (porter_outcome::DeniedSpent, c"denied_spent: the grant's entries at this door are used up"),
    (porter_outcome::VerdictUnknown, c"verdict_unknown: the door decided but its answer was lost; it opened at most once, and the log carried to the server says which"),
    (porter_outcome::NotEnrolled, c"not_enrolled: the door is not commissioned; call the site's manager"),
    (porter_outcome::DoorFault, c"door_fault: the door is faulted (storage or entropy) and needs service"),
    (porter_outcome::DoorRefused, c"door_refused: the door refused the request for another reason; try again"),
    (porter_outcome::WrongDoor, c"wrong_door: this is not the door the grant was meant for; nothing was signed"),
    (porter_outcome::BadReceipt, c"bad_receipt: the door said admitted but its receipt does not verify; report it, never retry"),
    (porter_outcome::BadAnswer, c"bad_answer: the door's answer did not decode or did not fit the request"),
    (porter_outcome::TimedOut, c"timed_out: no answer after every retry; no presentation was sent; move closer and retry"),
    (porter_outcome::BadConfig, c"bad_config: the session's configuration or buffers are unusable (a bug in the app)"),
    (porter_outcome::SignerFailed, c"signer_failed: the presentation could not be built or signed"),
    (porter_outcome::Other, c"other: an outcome this porter-ffi build cannot name; update porter-ffi"),
    (porter_outcome::Pending, c"pending: the session has not ended"),
    (porter_outcome::Invalid, c"invalid: no session"),
];

/// The description of outcome `code`, or `"unknown: ..."`.
pub(crate) fn describe(code: u32) -> *const c_char {
    const UNKNOWN: &CStr = c"unknown: not a Porter outcome";
    boundary_value(UNKNOWN.as_ptr(), || {
        Some(STRINGS.iter().find(|(o, _)| *o as u32 == code).map_or(UNKNOWN, |(_, t)| t).as_ptr())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_keeps_its_number_and_name() {
        let all = [
            Outcome::Admitted,
            Outcome::DeniedMalformed,
            Outcome::Denied,
            Outcome::DeniedExpired,
            Outcome::DeniedSpent,
            Outcome::VerdictUnknown,
            Outcome::NotEnrolled,
            Outcome::DoorFault,
            Outcome::DoorRefused,
            Outcome::WrongDoor,
            Outcome::BadReceipt,
            Outcome::BadAnswer,
            Outcome::TimedOut,
            Outcome::BadConfig,
            Outcome::SignerFailed,
        ];
        for outcome in all {
            let ours = porter_outcome::from(outcome);
            assert_eq!(ours as u32, u32::from(outcome.code()), "{outcome:?}");
            assert_eq!(format!("{ours:?}"), outcome.name());
            let (_, text) = STRINGS.iter().find(|(o, _)| *o == ours).unwrap();
            let snake: String = outcome
                .name()
                .chars()
                .enumerate()
                .flat_map(|(i, c)| {
                    let sep = (i > 0 && c.is_ascii_uppercase()).then_some('_');
                    sep.into_iter().chain([c.to_ascii_lowercase()])
                })
                .collect();
            assert!(text.to_str().unwrap().starts_with(&format!("{snake}: ")), "{text:?}");
            assert_eq!(describe(ours as u32), text.as_ptr());
        }
        assert!(our_string(describe(4242)).starts_with("unknown"));
    }

    fn our_string(ptr: *const c_char) -> String {
        let unknown = c"unknown: not a Porter outcome";
        STRINGS
            .iter()
            .map(|(_, t)| *t)
            .chain([unknown])
            .find(|t| t.as_ptr() == ptr)
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }
}
