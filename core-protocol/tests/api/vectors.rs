//! Replays `spec/vectors/admission.json`, the vectors every binding runs.

use porter_protocol::*;
use serde_json::Value;

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("vector hex")
}

fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
    v.get(name).unwrap_or_else(|| panic!("vector lacks {name}"))
}

fn number(v: &Value, name: &str) -> u64 {
    field(v, name).as_u64().unwrap_or_else(|| panic!("{name} is not a number"))
}

#[test]
fn every_admission_vector_gets_its_verdict() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/vectors/admission.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = field(&doc, "cases").as_array().unwrap();
    assert!(cases.len() >= 40, "the vector file lost cases");
    let mut codes_seen = std::collections::BTreeSet::new();
    let mut steps_run = 0;
    for case in cases {
        let name = field(case, "name").as_str().unwrap();
        let cfg = field(case, "config");
        let config = DoorConfig {
            site: SiteId(number(cfg, "site") as u32),
            door: DoorId(number(cfg, "door") as u16),
            root: PublicKey(unhex(field(cfg, "root").as_str().unwrap()).try_into().unwrap()),
            clock_skew: number(cfg, "clock_skew") as u32,
            challenge_lifetime: number(cfg, "challenge_lifetime") as u32,
        };
        let mut memory: DoorMemory =
            DoorMemory::new(config.site, Time(number(cfg, "floor") as u32));
        for (i, step) in field(case, "steps").as_array().unwrap().iter().enumerate() {
            let want = number(field(step, "expect"), "code") as u16;
            let before = memory.clone();
            let got = match field(step, "kind").as_str().unwrap() {
                "state" => {
                    let bytes = unhex(field(step, "state").as_str().unwrap());
                    memory.apply_door_state(&config, &bytes).err().map_or(0, Error::code)
                }
                "admit" => {
                    let challenge =
                        Challenge::decode(&unhex(field(step, "challenge").as_str().unwrap()))
                            .unwrap();
                    let bytes = unhex(field(step, "presentation").as_str().unwrap());
                    let clock = Time(number(step, "clock") as u32);
                    match memory.admit(&config, clock, &challenge, &bytes) {
                        Decision::Admit(_) => 0,
                        Decision::Reject(e) => e.code(),
                    }
                }
                other => panic!("unknown step kind {other}"),
            };
            assert_eq!(got, want, "{name} step {i}");
            if want != 0 {
                assert_eq!(memory, before, "{name} step {i}: a refusal changed the door's memory");
            }
            codes_seen.insert(want);
            steps_run += 1;
        }
    }
    assert!(steps_run > cases.len());
    // Every reason the admission path and door-state path can give is pinned by a vector.
    for e in Error::ALL {
        let reachable_here = !matches!(
            e,
            Error::EnrolmentBadSignature
                | Error::EnrolmentMismatch
                | Error::AuditBadSignature
                | Error::AuditChainBroken
                | Error::AuditGap
                | Error::BufferTooSmall
                | Error::KeyInvalidSeed
        );
        if reachable_here {
            assert!(codes_seen.contains(&e.code()), "no admission vector gives {e}");
        }
    }
}

fn key32(v: &Value, name: &str) -> PublicKey {
    PublicKey(unhex(field(v, name).as_str().unwrap()).try_into().unwrap())
}

#[test]
fn every_audit_vector_gets_its_verdict() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/vectors/audit.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut codes_seen = std::collections::BTreeSet::new();
    for case in field(&doc, "cases").as_array().unwrap() {
        let name = field(case, "name").as_str().unwrap();
        let key = key32(case, "key");
        let records: Vec<Vec<u8>> = field(case, "records")
            .as_array()
            .unwrap()
            .iter()
            .map(|r| unhex(r.as_str().unwrap()))
            .collect();
        let got = match field(case, "kind").as_str().unwrap() {
            "enrolment" => {
                Enrolment::decode_for_device(&records[0], &key, &key32(case, "device")).err()
            }
            "receipt" => AuditRecord::decode_receipt(&records[0], &key).err(),
            "chain" => {
                let mut follower = ChainFollower::new();
                let followed = records.iter().try_for_each(|r| follower.follow(r).map(drop));
                match (followed, field(case, "head").as_str()) {
                    (Err(e), _) => Some(e),
                    (Ok(()), None) => None,
                    (Ok(()), Some(head)) => LogHead::decode_verified(&unhex(head), &key)
                        .and_then(|h| follower.matches(&h))
                        .err(),
                }
            }
            other => panic!("unknown kind {other}"),
        };
        let want = number(field(case, "expect"), "code") as u16;
        assert_eq!(got.map_or(0, Error::code), want, "{name}");
        codes_seen.insert(want);
    }
    for e in [
        Error::EnrolmentBadSignature,
        Error::EnrolmentMismatch,
        Error::AuditBadSignature,
        Error::AuditChainBroken,
        Error::AuditGap,
    ] {
        assert!(codes_seen.contains(&e.code()), "no audit vector gives {e}");
    }
}
