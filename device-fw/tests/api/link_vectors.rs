//! `spec/vectors/link.json` through the controller: every `framing` sequence fed to a door on a
//! link of the case's MTU (what the door answers per fragment), every `messages` request sent
//! whole (refused `Malformed` exactly when it does not decode), and every answer vector decoded
//! as a phone decodes the door's answers. The QEMU board replays the `framing` and `transcripts`
//! sections too (`qemu_link.rs`), the latter with its challenges scripted to the recorded ones.

use porter_device::sim::{Handles, MemTransport, Phone, SimFlash};
use porter_device::Settings;
use porter_link::{Answer, LinkError, Refusal, Request};
use serde_json::Value;

use super::door::{parse_verdict, unhex, Door, Verdict};
use super::fixture::*;

pub(super) fn vectors() -> Value {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/vectors/link.json"))
            .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn error_named(name: &str) -> LinkError {
    *LinkError::ALL.iter().find(|e| e.name() == name).unwrap_or_else(|| panic!("{name}?"))
}

/// An enrolled door on a link of `mtu` bytes.
fn door_on(mtu: usize) -> Door {
    let h = Handles::new(NOON, 7);
    let t = MemTransport::with_mtu(mtu);
    let c = h.boot_with(SimFlash::blank(), t.clone(), Settings::default()).expect("boots");
    let mut door = Door { c, t, h, phone: Phone::new(mtu), settings: Settings::default() };
    door.enrol(&Site::new()).expect("enrols");
    door
}

#[test]
fn every_framing_vector_gets_the_doors_answer_per_fragment() {
    let v = vectors();
    let cases = v["framing"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let mtu = case["mtu"].as_u64().unwrap() as usize;
        let mut door = door_on(mtu);
        check_framing_case(case, |fragment| {
            door.t.send_fragment(fragment);
            door.c.poll();
            std::iter::from_fn(|| door.t.take_fragment()).collect()
        });
        assert_eq!(door.h.lock.pulses(), 0);
    }
}

/// Replays one `framing` case: `exchange` delivers a fragment to a door on a link of the case's
/// MTU (restarted for the case) and returns the fragments it answered with; each answer is
/// checked against the fragment's expected outcome. Shared by the host door and the QEMU board.
pub(super) fn check_framing_case(case: &Value, mut exchange: impl FnMut(&[u8]) -> Vec<Vec<u8>>) {
    let name = case["name"].as_str().unwrap();
    let mtu = case["mtu"].as_u64().unwrap() as usize;
    let mut phone = Phone::new(mtu);
    let mut refused_first_error = false;
    let mut seen_error = false;
    let fragments = case["fragments"].as_array().unwrap();
    let expects = case["expect"].as_array().unwrap();
    assert_eq!(fragments.len(), expects.len(), "{name}: one expectation per fragment");
    for (i, (fragment, expect)) in fragments.iter().zip(expects).enumerate() {
        let fragment = unhex(fragment.as_str().unwrap());
        let expect = expect.as_str().unwrap();
        let answers = exchange(&fragment);
        let what = format!("{name} fragment {i} ({expect})");
        match expect {
            "partial" => assert!(answers.is_empty(), "{what}: answered {answers:?}"),
            "complete" => {
                assert!(!answers.is_empty(), "{what}: no answer");
                assert_eq!(answers[0][0], fragment[0], "{what}: under the request's id");
                let whole = phone.collect_fragments(&answers).expect("a whole answer");
                assert!(
                    !matches!(parse_or_none(&whole), Some(Verdict::Refused(Refusal::Frame, ..))),
                    "{what}: a complete request is not a frame error"
                );
            }
            error => {
                let error = error_named(error);
                assert!(answers.len() <= 1, "{what}: refused once at most: {answers:?}");
                if let Some(answer) = answers.first() {
                    assert_eq!(answer[0], fragment[0], "{what}: under the broken id");
                    let whole = phone.collect_fragments(&answers).expect("whole");
                    assert_eq!(
                        parse_verdict(&whole),
                        Verdict::Refused(Refusal::Frame, error.code(), 0),
                        "{what}"
                    );
                }
                if !seen_error {
                    refused_first_error = !answers.is_empty();
                }
                seen_error = true;
            }
        }
    }
    assert!(!seen_error || refused_first_error, "{name}: the first error is answered");
}

/// A decoded answer that is a verdict or a refusal; `None` for other answers.
fn parse_or_none(a: &[u8]) -> Option<Verdict> {
    match Answer::decode(a) {
        Ok(Answer::Admitted(_) | Answer::Denied { .. } | Answer::Refused(_)) => {
            Some(parse_verdict(a))
        }
        _ => None,
    }
}

#[test]
fn every_message_vector_is_decoded_by_the_door_as_the_spec_says() {
    let v = vectors();
    let messages = v["messages"].as_array().unwrap();
    let mut door = door_on(porter_device::MTU);
    let (mut requests, mut answers) = (0, 0);
    for m in messages {
        let bytes = unhex(m["hex"].as_str().unwrap());
        let expect = m["expect"].as_str().unwrap();
        let what = format!("{} {} ({expect})", m["direction"], m["hex"]);
        match m["direction"].as_str().unwrap() {
            "request" => {
                requests += 1;
                assert_eq!(
                    Request::decode(&bytes).map(|_| "ok").unwrap_or_else(|e| e.name()),
                    expect,
                    "{what}"
                );
                if bytes.is_empty() {
                    // An empty message cannot be framed (its length would be 0).
                    continue;
                }
                let answer = door.call(&bytes);
                let decoded = Answer::decode(&answer).expect("the door's answers decode");
                let malformed = matches!(
                    decoded,
                    Answer::Refused(r) if r.refusal == Refusal::Malformed
                );
                assert_eq!(malformed, expect != "ok", "{what}: the door answered {decoded:?}");
            }
            "answer" => {
                answers += 1;
                match Answer::decode(&bytes) {
                    Ok(a) => {
                        assert_eq!(expect, "ok", "{what}");
                        let mut out = vec![0u8; bytes.len() + 8];
                        assert_eq!(a.encode(&mut out).unwrap(), &bytes[..], "{what}: canonical");
                    }
                    Err(e) => assert_eq!(e.name(), expect, "{what}"),
                }
            }
            other => panic!("direction {other}"),
        }
    }
    assert!(requests >= 10 && answers >= 10, "{requests} requests, {answers} answers");
    assert_eq!(door.h.lock.pulses(), 0);
}
