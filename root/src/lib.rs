//! # porter-root
//!
//! The site root's offline tool, binary `porter-root`: what a property manager installs on a
//! laptop that never talks to the server. It keeps the site root key in a file (mode 0600) and
//! signs the three things only the root may sign:
//!
//! * issuer certificates, with their limits ([`certify_issuer`]);
//! * door controller enrolments ([`enroll_device`]);
//! * door states, from the revocation list the server exports ([`sign_state`]).
//!
//! It depends on `porter-protocol` and not on the server: what it needs from the server arrives
//! as the JSON the server exports ([`RevocationList`]), read strictly — a missing field or an
//! unknown revocation kind is an error, never a default.

#![forbid(unsafe_code)]

mod error;
mod key;
mod list;
mod sign;

// The public interface is:
pub use crate::error::Error;
pub use crate::key::{init, load, parse_key, RootKey};
pub use crate::list::{
    parse_log_key, parse_zone, CurrentState, Revocation, RevocationKind, RevocationList, SiteRecord,
};
pub use crate::sign::{
    certify_issuer, check_clock_reset, enroll_device, sign_clock_reset, sign_state, CertifyOptions,
    ResetReason, RESET_THRESHOLD,
};
