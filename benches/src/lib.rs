//! Fixtures shared by Porter's benchmarks: a site whose door has seen one admission, so that
//! the certificate is cached, and the presentations that a steady-state door checks.

use porter_protocol::*;
use porter_testkit::{Site, DOOR, SITE};

pub mod baseline;
pub mod vectors;

/// 2026-11-23 12:00:00 UTC, the shared test site's noon.
pub const NOON: Time = porter_testkit::NOON;

/// How many different grants and presentations each measurement cycles through. Ed25519
/// verification is variable-time (its cost depends on the signature's scalars by about 1%),
/// so a ratio of one signature's cost to another's would carry that noise; averaging over
/// many signatures removes it.
pub const SAMPLES: usize = 16;

/// One attempt the warm door has not seen: its challenge and the presentation answering it.
pub struct Attempt {
    /// The door's challenge.
    pub challenge: Challenge,
    /// A valid presentation of a fresh grant.
    pub presentation: Vec<u8>,
}

/// A door, its warmed-up memory, and valid presentations it has not seen.
pub struct Bench {
    /// The door's configuration.
    pub config: DoorConfig,
    /// Memory after one admission under the same certificate (so the certificate is cached).
    pub warm: DoorMemory,
    /// Memory of a door that has seen nothing.
    pub cold: DoorMemory,
    /// [`SAMPLES`] attempts, each with its own grant, challenge and proof.
    pub attempts: Vec<Attempt>,
    /// [`SAMPLES`] signed grants: the raw-verify baseline's inputs.
    pub grants: Vec<Vec<u8>>,
    /// The issuer's public key.
    pub issuer: [u8; 32],
    /// [`SAMPLES`] second uses of multi-use grants: each memory has admitted its grant once.
    pub readmissions: Vec<(DoorMemory, Attempt)>,
    /// The issuer's certificate, sealed.
    pub certificate: Vec<u8>,
    /// The shared test site (keys and builders).
    pub site: Site,
}

impl Bench {
    /// Builds the site and warms a door up with one admission.
    pub fn new() -> Result<Bench, Error> {
        // The shared test site (porter-testkit): the same keys, certificate and grants as the
        // protocol's tests and vectors.
        let site = Site::new();
        let (issuer, holder, config) = (&site.issuer, &site.holder, site.config.clone());
        let cert = site.certificate_body();
        let mut cert_buf = [0u8; MAX_CERTIFICATE_LEN];
        let cert = cert.seal(&site.root, &mut cert_buf)?.to_vec();
        let mut out = vec![0u8; MAX_PRESENTATION_LEN];

        let mut warm: DoorMemory = DoorMemory::new(SITE, Time(0));
        let cold = warm.clone();
        let mut g = [0u8; MAX_GRANT_LEN];
        let first = site.grant_body(1, 1).seal(issuer, &mut g)?.to_vec();
        let challenge = Challenge::new(SITE, DOOR, [1; 16], NOON);
        let p = present(holder, &challenge, &first, &cert, None, &mut out)?.to_vec();
        if let Decision::Reject(e) = warm.admit(&config, NOON, &challenge, &p) {
            return Err(e);
        }

        let mut grants = Vec::with_capacity(SAMPLES);
        let mut attempts = Vec::with_capacity(SAMPLES);
        for i in 0..SAMPLES as u8 {
            let grant = site.grant_body(2 + u64::from(i), 1).seal(issuer, &mut g)?.to_vec();
            let challenge = Challenge::new(SITE, DOOR, [2 + i; 16], NOON);
            let presentation = present(holder, &challenge, &grant, &cert, None, &mut out)?.to_vec();
            grants.push(grant);
            attempts.push(Attempt { challenge, presentation });
        }
        // Re-admission: a 4-use grant admitted once by a warm door, then presented again on a
        // new challenge. Through the public API only, so a door-side cache shows up here.
        let mut readmissions = Vec::with_capacity(SAMPLES);
        for i in 0..SAMPLES as u8 {
            let grant = site.grant_body(100 + u64::from(i), 4).seal(issuer, &mut g)?.to_vec();
            let mut memory = warm.clone();
            let first = Challenge::new(SITE, DOOR, [40 + i; 16], NOON);
            let p = present(holder, &first, &grant, &cert, None, &mut out)?;
            if let Decision::Reject(e) = memory.admit(&config, NOON, &first, p) {
                return Err(e);
            }
            let challenge = Challenge::new(SITE, DOOR, [80 + i; 16], NOON.plus(5));
            let presentation = present(holder, &challenge, &grant, &cert, None, &mut out)?.to_vec();
            readmissions.push((memory, Attempt { challenge, presentation }));
        }
        let issuer = issuer.public_key().0;
        Ok(Bench {
            config,
            warm,
            cold,
            attempts,
            grants,
            issuer,
            readmissions,
            certificate: cert,
            site,
        })
    }
}

/// A root-signed door state of the test site denying `entries` subjects (sequence 2, signed at
/// `NOON`), as a phone carries it to the door.
pub fn door_state(site: &Site, entries: usize) -> Vec<u8> {
    let mut state = site.state(2, NOON);
    for i in 0..entries {
        let mut subject = [0u8; 8];
        subject[..4].copy_from_slice(&(i as u32).to_be_bytes());
        let entry = DenyEntry { subject: DenySubject(subject), until: NOON.plus(86_400) };
        state.deny.push(entry).expect("at most MAX_DENY_ENTRIES");
    }
    site.seal_state(&state)
}
