//! Every case of `spec/vectors/admission.txt`, replayed through the controller on the
//! simulator: enrolled for the case's root, the recorded challenge reproduced (scripted entropy,
//! RTC at its issue time), the presentation sent over the framed link, and the verdict compared
//! with the audit record's reason code.

use porter_device::sim::{Handles, SimFlash};
use porter_device::Settings;
use porter_link::Refusal;
use porter_protocol::*;

use super::door::*;
use super::fixture::*;

pub struct Case {
    pub name: String,
    pub site: SiteId,
    pub door: DoorId,
    pub root: PublicKey,
    pub skew: u32,
    pub lifetime: u32,
    pub floor: Time,
    pub steps: Vec<Step>,
}

pub enum Step {
    State { bytes: Vec<u8>, code: u16 },
    Admit { clock: Time, challenge: Vec<u8>, presentation: Vec<u8>, code: u16 },
}

/// Parses the line format of `spec/vectors/admission.txt`.
pub fn parse(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut current: Option<Case> = None;
    for line in text.lines() {
        // Single spaces: an empty presentation is an empty field.
        let f: Vec<&str> =
            if line.trim().is_empty() { Vec::new() } else { line.trim_end().split(' ').collect() };
        match f.as_slice() {
            [] => {}
            [c, ..] if c.starts_with('#') => {}
            ["case", name] => {
                current = Some(Case {
                    name: name.to_string(),
                    site: SiteId(0),
                    door: DoorId(0),
                    root: PublicKey([0; 32]),
                    skew: 0,
                    lifetime: 0,
                    floor: Time(0),
                    steps: Vec::new(),
                })
            }
            ["config", site, door, root, skew, lifetime, floor] => {
                let c = current.as_mut().expect("config inside a case");
                c.site = SiteId(site.parse().unwrap());
                c.door = DoorId(door.parse().unwrap());
                c.root = PublicKey(unhex(root).try_into().unwrap());
                c.skew = skew.parse().unwrap();
                c.lifetime = lifetime.parse().unwrap();
                c.floor = Time(floor.parse().unwrap());
            }
            ["state", bytes, code] => current
                .as_mut()
                .unwrap()
                .steps
                .push(Step::State { bytes: unhex(bytes), code: code.parse().unwrap() }),
            ["admit", clock, challenge, presentation, code] => {
                current.as_mut().unwrap().steps.push(Step::Admit {
                    clock: Time(clock.parse().unwrap()),
                    challenge: unhex(challenge),
                    presentation: unhex(presentation),
                    code: code.parse().unwrap(),
                })
            }
            ["end"] => cases.push(current.take().expect("end after a case")),
            other => panic!("unexpected vector line: {other:?}"),
        }
    }
    cases
}

/// The fixture's root keys are `key(n)`: the one whose public key the case names.
pub fn root_key(root: &PublicKey) -> SigningKey {
    (1..=255u8)
        .map(key)
        .find(|k| k.public_key() == *root)
        .expect("the vectors' root is one of the fixture's key(n) seeds; if the generator changed its keys, update this lookup")
}

fn vectors_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/vectors/admission.txt");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What happened to one step.
#[derive(Debug)]
pub enum Outcome {
    /// The step's verdict (0 accepted, else the protocol code) matched.
    Matched(u16),
    /// The recorded challenge names another site or door, was issued after the attempt, or
    /// before the door's signed clock floor: a door never issues such a challenge, so the presentation is answered against the door's
    /// own fresh challenge instead, and must be refused.
    NotReproducible,
    /// An empty or over-long presentation (with the protocol's code for it): a `present`
    /// request carries 1..=4160 bytes (`spec/link.md` 3.1), so the door refuses the request
    /// `Malformed` before deciding anything (sent without asking a challenge first: it could
    /// not answer one).
    RefusedByTheLink(u16),
}

/// Whether a `present` request can carry `presentation` (`spec/link.md` 3.1: 1..=4160 bytes).
pub fn carried_by_the_link(presentation: &[u8]) -> bool {
    (1..=MAX_PRESENTATION_LEN).contains(&presentation.len())
}

pub fn replay_case(case: &Case) -> Vec<Outcome> {
    let root = root_key(&case.root);
    // Every refusal a record of its own (not counted into a tally), so that each step's reason
    // can be read back from the log.
    let settings = Settings {
        clock_skew_s: case.skew,
        challenge_lifetime_s: case.lifetime,
        coalesce_ms: 0,
        ..patient()
    };
    let h = Handles::new(Time(case.floor.0.max(1)), 3);
    let mut door = Door::boot_on(SimFlash::blank(), h, settings);
    let e = Enrolment {
        version: VERSION,
        site: case.site,
        door: case.door,
        device: door.c.device_key(),
        issued_at: case.floor,
        log_key: None,
    };
    let mut buf = [0u8; MAX_ENROLMENT_LEN];
    let enrolment = e.seal(&root, &mut buf).unwrap().to_vec();
    door.enrol_with(&case.root, &enrolment).expect("enrols");
    let mut outcomes = Vec::new();
    for (i, step) in case.steps.iter().enumerate() {
        let what = format!("{} step {i}", case.name);
        match step {
            Step::State { bytes, code } => {
                let got = match door.send_state(bytes) {
                    Ok(_) => 0,
                    Err((Refusal::Rejected, code)) => code,
                    Err(other) => panic!("{what}: refused {other:?}"),
                };
                assert_eq!(got, *code, "{what}: door state verdict");
                outcomes.push(Outcome::Matched(*code));
            }
            Step::Admit { presentation, code, .. } if !carried_by_the_link(presentation) => {
                let before = door.c.audit_length();
                let request = [&[porter_link::kind::PRESENT][..], presentation].concat();
                let refused = parse_verdict(&door.call(&request));
                assert_eq!(refused, Verdict::Refused(Refusal::Malformed, 0, 0), "{what}");
                assert_eq!(
                    door.c.audit_length(),
                    before,
                    "{what}: nothing decided, nothing logged"
                );
                assert_ne!(*code, 0, "{what}: such a presentation is never admitted");
                outcomes.push(Outcome::RefusedByTheLink(*code));
            }
            Step::Admit { clock, challenge, presentation, code } => {
                let ch = Challenge::decode(challenge).expect("a valid recorded challenge");
                let floor = door.c.memory().unwrap().floor();
                let reproducible = ch.site == case.site
                    && ch.door == case.door
                    && ch.issued_at <= *clock
                    && ch.issued_at >= floor;
                let pulses = door.h.lock.pulses();
                let before = door.c.audit_length();
                if reproducible {
                    // The door issues exactly the recorded challenge: its RTC reads the issue
                    // time and its entropy, XORed with the nonce mask, gives the recorded nonce.
                    door.h.clock.set_rtc(ch.issued_at);
                    let mask = door.c.next_nonce_mask();
                    let scripted: Vec<u8> = ch.nonce.iter().zip(mask).map(|(n, m)| n ^ m).collect();
                    door.h.entropy.script(&scripted);
                    let issued = door.challenge().expect("a challenge");
                    assert_eq!(
                        issued, ch,
                        "{what}: the door must reproduce the recorded challenge"
                    );
                    // Time passes on both clocks until the attempt.
                    door.h.clock.advance_s(u64::from(clock.0 - ch.issued_at.0));
                    door.c.poll();
                    let verdict = door.present(presentation);
                    let logged = door.last_reason();
                    match (*code, verdict) {
                        (0, Verdict::Admitted(receipt)) => {
                            AuditRecord::decode_receipt(&receipt, &door.c.device_key())
                                .expect("signed receipt");
                            assert_eq!(
                                door.h.lock.pulses(),
                                pulses + 1,
                                "{what}: the relay moves once"
                            );
                        }
                        // The door expired the challenge itself (its own monotonic timer) and
                        // logged the same reason the protocol gives.
                        (404, Verdict::Refused(Refusal::NoChallenge, 0, 0)) => {
                            assert_eq!(logged, Some(404), "{what}");
                        }
                        (code, Verdict::Denied { sequence, .. }) if code != 0 => {
                            assert_eq!(
                                sequence, before,
                                "{what}: the denial names its audit record"
                            );
                            assert_eq!(logged, Some(code), "{what}: the audit record's reason");
                        }
                        (code, v) => {
                            panic!("{what}: expected {code}, got {v:?} (log says {logged:?})")
                        }
                    }
                    outcomes.push(Outcome::Matched(*code));
                } else {
                    assert_ne!(
                        *code, 0,
                        "{what}: an unreproducible challenge cannot be an admission"
                    );
                    door.h.clock.set_rtc(*clock);
                    let v = door.attempt(|_| presentation.clone());
                    assert!(matches!(v, Verdict::Denied { .. }), "{what}: {v:?}");
                    outcomes.push(Outcome::NotReproducible);
                }
                if *code != 0 {
                    assert_eq!(
                        door.h.lock.pulses(),
                        pulses,
                        "{what}: a refusal never moves the relay"
                    );
                }
                // Let the relay close before the next step.
                door.advance_ms(u64::from(settings.unlock_ms));
            }
        }
    }
    outcomes
}

#[test]
fn every_admission_vector_gets_its_verdict_through_the_controller() {
    let cases = parse(&vectors_text());
    assert!(cases.len() >= 40, "expected the shared vectors, found {} cases", cases.len());
    let mut matched = 0;
    let mut codes = std::collections::BTreeSet::new();
    let mut unreproducible = Vec::new();
    let mut by_the_link = std::collections::BTreeSet::new();
    for case in &cases {
        for outcome in replay_case(case) {
            match outcome {
                Outcome::Matched(code) => {
                    matched += 1;
                    codes.insert(code);
                }
                Outcome::NotReproducible => unreproducible.push(case.name.clone()),
                Outcome::RefusedByTheLink(code) => {
                    by_the_link.insert(code);
                }
            }
        }
    }
    eprintln!("{} cases: {matched} steps matched exactly, {} answered against the door's own challenge: {unreproducible:?}", cases.len(), unreproducible.len());
    // Only challenges a door would never issue may be answered against the door's own.
    assert!(unreproducible.len() <= 3, "too many steps not reproduced exactly: {unreproducible:?}");
    assert!(matched >= 50, "only {matched} steps matched");
    // Every reason a door can refuse an attempt or a door state for (codes below 700: the rest
    // are enrolment, audit and buffer errors) was produced by the controller and logged.
    // A reason only the link can now give (a presentation it cannot carry) is refused
    // `Malformed` before the door decides: the core's own tests keep its code covered.
    let missing: Vec<Error> = Error::ALL
        .into_iter()
        .filter(|e| {
            e.code() < 700 && !codes.contains(&e.code()) && !by_the_link.contains(&e.code())
        })
        .collect();
    assert!(
        missing.is_empty(),
        "rejection reasons never exercised through the controller: {missing:?}"
    );
}
