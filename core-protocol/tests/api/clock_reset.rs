//! Recovery from a door state dated ahead (issue 8, item 3): a root-signed clock reset lowers
//! the floor, only with a larger sequence, and only while fencing every earlier grant.

use porter_protocol::*;

use super::fixture::*;

/// Ten years ahead of `NOON`: a root whose clock ran ahead signed a state this late.
const AHEAD: Time = Time(NOON.0 + 10 * 365 * 86_400);

fn reset(site: &Site, sequence: u64, at: Time) -> DoorState {
    DoorState { clock_reset: true, grant_fence: at, ..site.state(sequence, at) }
}

/// A door whose floor was raised ten years ahead by a state of sequence 1.
fn bricked(site: &Site) -> DoorMemory {
    let mut memory = site.memory();
    memory.apply_door_state(&site.config, &site.seal_state(&site.state(1, AHEAD))).unwrap();
    assert_eq!(memory.floor(), AHEAD);
    memory
}

/// A presentation of a grant issued at `issued` (valid ten minutes), answering a challenge
/// the door made at `at`.
fn attempt(
    site: &Site,
    serial: u64,
    issued: Time,
    at: Time,
    state: Option<&[u8]>,
) -> (Challenge, Vec<u8>) {
    let mut grant = site.grant_body(serial, 1);
    grant.not_before = issued;
    grant.not_after = issued.plus(600);
    let challenge = site.challenge(at, serial as u8);
    let cert = site.seal_cert(&site.certificate_body());
    let p = site.present(&challenge, &site.seal_grant(&grant), &cert, state);
    (challenge, p)
}

#[test]
fn a_state_dated_ahead_refuses_everything_until_a_clock_reset() {
    let site = Site::new();
    let mut memory = bricked(&site);
    // The door's challenges carry its time, the floor: every fresh grant has expired there.
    let (c, p) = attempt(&site, 10, NOON, AHEAD, None);
    assert_eq!(memory.admit(&site.config, NOON, &c, &p), Decision::Reject(Error::CertExpired));

    // The root signs a reset at its (now right) clock, fencing every grant issued before it.
    let sequence = memory.apply_door_state(&site.config, &site.seal_state(&reset(&site, 2, NOON)));
    assert_eq!(sequence, Ok(2));
    assert_eq!(memory.floor(), NOON);
    let (c, p) = attempt(&site, 11, NOON, NOON.plus(5), None);
    assert!(matches!(memory.admit(&site.config, NOON.plus(5), &c, &p), Decision::Admit(_)));
}

#[test]
fn a_clock_reset_never_resurrects_a_spend() {
    let site = Site::new();
    let mut memory = site.memory();
    // Grant 10 is spent at NOON; then a state dated ahead arrives.
    let (c, p) = attempt(&site, 10, NOON.minus(60), NOON, None);
    assert!(matches!(memory.admit(&site.config, NOON, &c, &p), Decision::Admit(_)));
    memory.apply_door_state(&site.config, &site.seal_state(&site.state(1, AHEAD))).unwrap();
    // The reset lowers time back to just after the spend; grant 10 was issued before the
    // reset, so it is fenced whatever the door remembers of it.
    let at = NOON.plus(30);
    memory.apply_door_state(&site.config, &site.seal_state(&reset(&site, 2, at))).unwrap();
    let (c, p) = attempt(&site, 10, NOON.minus(60), at, None);
    assert_eq!(memory.admit(&site.config, at, &c, &p), Decision::Reject(Error::GrantFenced));
}

#[test]
fn a_clock_reset_that_does_not_fence_earlier_grants_is_malformed() {
    let site = Site::new();
    let mut memory = bricked(&site);
    let mut lax = reset(&site, 2, NOON);
    lax.grant_fence = NOON.minus(1);
    let before = memory.clone();
    assert_eq!(
        memory.apply_door_state(&site.config, &site.seal_state(&lax)),
        Err(Error::DecodeInvalidField)
    );
    assert_eq!(memory, before);
    // The last value that passes: a fence exactly at the reset's own time.
    lax.grant_fence = NOON;
    assert_eq!(memory.apply_door_state(&site.config, &site.seal_state(&lax)), Ok(2));
}

#[test]
fn a_clock_reset_is_taken_once_and_only_with_a_larger_sequence() {
    let site = Site::new();
    let mut memory = bricked(&site);
    let stale = site.seal_state(&reset(&site, 1, NOON));
    assert_eq!(memory.apply_door_state(&site.config, &stale), Err(Error::StateNotNewer));
    assert_eq!(memory.floor(), AHEAD);
    let good = site.seal_state(&reset(&site, 2, NOON));
    assert_eq!(memory.apply_door_state(&site.config, &good), Ok(2));
    // Replaying the same reset later (after time moved on) cannot lower the floor again.
    memory
        .apply_door_state(&site.config, &site.seal_state(&site.state(3, NOON.plus(600))))
        .unwrap();
    assert_eq!(memory.apply_door_state(&site.config, &good), Err(Error::StateNotNewer));
    assert_eq!(memory.floor(), NOON.plus(600));
}

#[test]
fn an_ordinary_state_never_lowers_the_floor() {
    let site = Site::new();
    let mut memory = bricked(&site);
    memory.apply_door_state(&site.config, &site.seal_state(&site.state(2, NOON))).unwrap();
    assert_eq!(memory.floor(), AHEAD);
}

#[test]
fn a_phone_carrying_the_reset_is_admitted_by_it() {
    let site = Site::new();
    let mut memory = bricked(&site);
    let state = site.seal_state(&reset(&site, 2, NOON));
    // The door's challenge still carries the old floor's time; the reset in the presentation
    // lowers the door's time for this attempt, so that challenge is stale and refused...
    let (c, p) = attempt(&site, 11, NOON, AHEAD, Some(&state));
    assert_eq!(memory.admit(&site.config, NOON, &c, &p), Decision::Reject(Error::ChallengeExpired));
    assert_eq!(memory.floor(), AHEAD);
    // ... and the door takes the state on its own, after which a fresh challenge works.
    assert_eq!(memory.apply_door_state(&site.config, &state), Ok(2));
    let (c, p) = attempt(&site, 11, NOON, NOON, Some(&state));
    assert!(matches!(memory.admit(&site.config, NOON, &c, &p), Decision::Admit(_)));
}
