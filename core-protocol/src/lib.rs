//! # porter-protocol
//!
//! The one implementation of Porter's protocol, linked by the door firmware, the server and the
//! C/Kotlin/Swift bindings so that every part decides the same way.
//!
//! * Messages: issuer [`Certificate`], device [`Enrolment`], [`Grant`], door [`Challenge`],
//!   [`Presentation`], signed [`DoorState`], [`AuditRecord`] with receipts and [`LogHead`]s.
//!   All are postcard, decoded strictly (one canonical encoding, no trailing bytes), signed
//!   with Ed25519 over a domain tag and the exact bytes received. See `spec/protocol.md`.
//! * The admission decision, [`DoorMemory::admit`]: sans-IO, no heap, no clock, no panics;
//!   check, verify, commit.
//! * The grant's terms, [`check_grant_terms`]: every check that needs no signature and no
//!   replay memory, called by the door's admission and by the server before it seals a grant;
//!   hours judged in the site's [`TimeZone`], which the root certifies in every certificate.
//! * The replay memory ([`ReplayTable`]), the bounded deny-list and fences
//!   ([`DoorState`], [`DenyListBuilder`]) and the hash-chained audit log ([`ChainFollower`]).
//!
//! Every refusal is an [`Error`] with a stable numeric code.
//!
//! ## A delivery, from the root key to the door
//!
//! ```
//! use porter_protocol::*;
//!
//! # fn main() -> Result<(), Error> {
//! let (site, door, now) = (SiteId(7), DoorId(1), Time(1_795_435_200));
//! let root = SigningKey::from_seed([1; 32])?; // offline, with the property manager
//! let issuer = SigningKey::from_seed([2; 32])?; // the operator's server
//! let holder = SigningKey::from_seed([3; 32])?; // the driver's phone
//!
//! // The root certifies the issuer, with limits every door enforces.
//! let certificate = Certificate {
//!     version: VERSION, site, issuer: issuer.public_key(), epoch: 1,
//!     not_before: now.minus(3600), not_after: now.plus(86_400),
//!     limits: IssuerLimits {
//!         doors: DoorScope::All, roles: RoleSet::only(Role::Delivery), hours: Hours::ALWAYS,
//!         zone: TimeZone::parse_posix("CET-1CEST,M3.5.0,M10.5.0/3")?,
//!         max_grant_lifetime: 900, max_uses: 2,
//!     },
//! };
//! let mut cert_buf = [0u8; MAX_CERTIFICATE_LEN];
//! let certificate = certificate.seal(&root, &mut cert_buf)?;
//!
//! // The server grants the driver's key one entry, for ten minutes, for one package.
//! let grant = Grant {
//!     version: VERSION, site, serial: 1, uses: 1, role: Role::Delivery,
//!     doors: heapless::Vec::from_slice(&[door]).map_err(|_| Error::BufferTooSmall)?,
//!     not_before: now, not_after: now.plus(600), holder: holder.public_key(),
//!     package: PackageCommitment::new(&[9; 16], b"1Z999AA10123456784"),
//! };
//! let mut grant_buf = [0u8; MAX_GRANT_LEN];
//! let grant = grant.seal(&issuer, &mut grant_buf)?;
//!
//! // At the door: a fresh challenge, the phone's answer, the door's decision.
//! let config = DoorConfig { site, door, root: root.public_key(), clock_skew: 60, challenge_lifetime: 30 };
//! let mut memory: DoorMemory = DoorMemory::new(site, Time(0));
//! let challenge = Challenge::new(site, door, [42; 16], now);
//! let mut out = [0u8; 1024];
//! let presentation = present(&holder, &challenge, grant, certificate, None, &mut out)?;
//! assert!(matches!(memory.admit(&config, now, &challenge, presentation), Decision::Admit(_)));
//!
//! // The same grant again, even answering a new challenge: spent.
//! let again = Challenge::new(site, door, [43; 16], now);
//! let presentation = present(&holder, &again, grant, certificate, None, &mut out)?;
//! assert_eq!(memory.admit(&config, now, &again, presentation), Decision::Reject(Error::ReplayDuplicate));
//! # Ok(())
//! # }
//! ```

#![no_std]
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[cfg(feature = "std")]
extern crate std;

mod admission;
mod audit;
mod cert_cache;
mod certificate;
mod codec;
mod door_state;
mod enrolment;
mod error;
#[cfg(feature = "fuzzing")]
mod fuzz_hooks;
mod grant;
mod grant_cache;
mod keys;
mod presentation;
mod replay;
mod rules;
mod scope;
#[cfg(feature = "sign")]
mod sign;
mod signed;
#[cfg(feature = "fuzzing-stand-in-crypto")]
mod stand_in_crypto;
mod state_view;
mod verified_cache;
// Public for the door firmware's own flash records (same encoding, same code).
pub mod wire;
#[cfg(test)]
mod wire_equivalence;
mod zone;

// The public interface is:
pub use crate::admission::{
    Admission, Decision, DoorConfig, DoorMemory, CERT_CACHE_ENTRIES, GRANT_CACHE_ENTRIES,
    MAX_DOOR_MEMORY_LEN, REPLAY_ENTRIES, REPLAY_ISSUERS,
};
pub use crate::audit::{
    record, Alarm, AuditEvent, AuditRecord, ChainFollower, ChainHash, LogHead, LogKey, LogMask,
    LogSecret, MAX_AUDIT_RECORD_LEN, MAX_LOG_HEAD_LEN, MAX_RECEIPT_LEN,
};
pub use crate::cert_cache::{CachedCert, CertCache, CertHash};
pub use crate::certificate::{
    Certificate, IssuerLimits, UnverifiedCertificate, MAX_CERTIFICATE_LEN, MAX_GRANT_USES,
};
pub use crate::codec::{byte_array, encode};
pub use crate::door_state::{
    DenyEntry, DenyKind, DenyListBuilder, DenySubject, DoorState, FenceRaised, MAX_DENY_ENTRIES,
    MAX_DOOR_STATE_LEN,
};
pub use crate::enrolment::{Enrolment, MAX_ENROLMENT_LEN};
pub use crate::error::{Coarse, Error};
pub use crate::grant::{Grant, PackageCommitment, UnverifiedGrant, MAX_GRANT_LEN};
pub use crate::grant_cache::{CachedGrant, GrantCache, GRANT_CACHE_BYTES};
pub use crate::keys::{
    verify_raw, Domain, KeyError, KeyId, PublicKey, Signature, SigningKey, MAX_SIGNED_LEN,
};
pub use crate::presentation::{
    Challenge, Presentation, UnverifiedPresentation, MAX_CHALLENGE_LEN, MAX_PRESENTATION_LEN,
};
pub use crate::replay::{ReplayInPlace, ReplayTable, Spend};
pub use crate::rules::{check_grant_terms, StateInForce};
pub use crate::scope::{
    DoorId, DoorScope, Hours, Role, RoleSet, SiteId, Time, MAX_CERT_DOORS, MAX_GRANT_DOORS,
};
#[cfg(feature = "sign")]
pub use crate::sign::{
    holder_proof_message, present, registration, sign_holder_proof, sign_registration,
    MAX_CARRIER_ID_LEN, MAX_PROOF_MESSAGE_LEN, MAX_REGISTRATION_MESSAGE_LEN,
};
pub use crate::signed::{Unverified, VERSION};
pub use crate::state_view::{DoorStateHeader, DoorStateView};
pub use crate::verified_cache::VerifiedCache;
pub use crate::zone::{TimeZone, MAX_ZONE_NAME};

/// Hooks for the fuzz targets (feature `fuzzing`): not part of the stable interface.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod internal {
    pub use crate::fuzz_hooks::{
        fuzz_admission, fuzz_admission_sequence, fuzz_audit_chain, fuzz_decoder, fuzz_decoders,
        fuzz_replay_window, remember_derivations, remember_verifications, Decoder,
    };
}
