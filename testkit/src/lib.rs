//! # porter-testkit
//!
//! A small Porter site for tests, the shared vectors' generator and benchmarks: a root, an
//! issuer, a holder and a door with fixed keys (`key(n)` is the key of seed `[n; 32]`), and
//! builders for every message. One copy, used by `porter-protocol`'s tests and
//! `gen_vectors`, `porter-device`'s and `porter-ffi`'s tests, and the benchmarks, so that the
//! vectors' keys and the runners' lookups cannot drift apart.
//!
//! Not for production: everything here panics on error, and the keys are public.

#![allow(clippy::unwrap_used, reason = "a test fixture: a failure is a broken test")]

use porter_protocol::*;

/// The fixture's site.
pub const SITE: SiteId = SiteId(0x5157_0001);
/// The fixture's door.
pub const DOOR: DoorId = DoorId(1);
/// 2026-11-23 12:00:00 UTC, a Monday.
pub const NOON: Time = Time(1_795_435_200);

/// The signing key of seed `[n; 32]`: 1 is the root, 2 the issuer, 3 the holder.
pub fn key(n: u8) -> SigningKey {
    SigningKey::from_seed([n; 32]).unwrap()
}

/// A site with one door, its keys and the door's configuration.
pub struct Site {
    /// The site root, `key(1)`.
    pub root: SigningKey,
    /// The issuer, `key(2)`.
    pub issuer: SigningKey,
    /// The holder (the driver's phone), `key(3)`.
    pub holder: SigningKey,
    /// The door's configuration: skew 60 s, challenges live 30 s.
    pub config: DoorConfig,
}

impl Default for Site {
    fn default() -> Site {
        Site::new()
    }
}

impl Site {
    /// The site.
    pub fn new() -> Site {
        let root = key(1);
        Site {
            config: DoorConfig {
                site: SITE,
                door: DOOR,
                root: root.public_key(),
                clock_skew: 60,
                challenge_lifetime: 30,
            },
            root,
            issuer: key(2),
            holder: key(3),
        }
    }

    /// A freshly commissioned door's memory (floor 0).
    pub fn memory(&self) -> DoorMemory {
        DoorMemory::new(SITE, Time(0))
    }

    /// The issuer's certificate: every door, deliveries, always (UTC), 900 s, 4 uses, valid
    /// from a day before `NOON` for a year.
    pub fn certificate_body(&self) -> Certificate {
        Certificate {
            version: VERSION,
            site: SITE,
            issuer: self.issuer.public_key(),
            epoch: 1,
            not_before: NOON.minus(86_400),
            not_after: NOON.plus(86_400 * 365),
            limits: IssuerLimits {
                doors: DoorScope::All,
                roles: RoleSet::only(Role::Delivery),
                hours: Hours::ALWAYS,
                zone: TimeZone::UTC,
                max_grant_lifetime: 900,
                max_uses: 4,
            },
        }
    }

    /// A delivery grant for this door, valid from a minute before `NOON` for ten minutes.
    pub fn grant_body(&self, serial: u64, uses: u8) -> Grant {
        Grant {
            version: VERSION,
            site: SITE,
            serial,
            uses,
            role: Role::Delivery,
            doors: heapless::Vec::from_slice(&[DOOR]).unwrap(),
            not_before: NOON.minus(60),
            not_after: NOON.plus(600),
            holder: self.holder.public_key(),
            package: PackageCommitment::new(&[7; 16], b"1Z999AA10123456784"),
        }
    }

    /// Signs a certificate with the root.
    pub fn seal_cert(&self, cert: &Certificate) -> Vec<u8> {
        let mut buf = [0u8; MAX_CERTIFICATE_LEN];
        cert.seal(&self.root, &mut buf).unwrap().to_vec()
    }

    /// Signs a grant with the issuer.
    pub fn seal_grant(&self, grant: &Grant) -> Vec<u8> {
        let mut buf = [0u8; MAX_GRANT_LEN];
        grant.seal(&self.issuer, &mut buf).unwrap().to_vec()
    }

    /// Signs a door state with the root.
    pub fn seal_state(&self, state: &DoorState) -> Vec<u8> {
        let mut buf = vec![0u8; MAX_DOOR_STATE_LEN];
        state.seal(&self.root, &mut buf).unwrap().to_vec()
    }

    /// The door's challenge at `at`, with a nonce of `nonce` bytes.
    pub fn challenge(&self, at: Time, nonce: u8) -> Challenge {
        Challenge::new(SITE, DOOR, [nonce; 16], at)
    }

    /// The holder's presentation answering `challenge`.
    pub fn present(
        &self,
        challenge: &Challenge,
        grant: &[u8],
        cert: &[u8],
        state: Option<&[u8]>,
    ) -> Vec<u8> {
        let mut buf = vec![0u8; MAX_PRESENTATION_LEN];
        present(&self.holder, challenge, grant, cert, state, &mut buf).unwrap().to_vec()
    }

    /// A valid presentation of grant `serial` at `NOON`.
    pub fn valid(&self, serial: u64, uses: u8, nonce: u8) -> (Challenge, Vec<u8>) {
        let challenge = self.challenge(NOON, nonce);
        let cert = self.seal_cert(&self.certificate_body());
        let grant = self.seal_grant(&self.grant_body(serial, uses));
        let p = self.present(&challenge, &grant, &cert, None);
        (challenge, p)
    }

    /// A door state of the site with this sequence and signed time, nothing denied.
    pub fn state(&self, sequence: u64, issued_at: Time) -> DoorState {
        DoorState { sequence, issued_at, ..DoorState::genesis(SITE) }
    }
}
