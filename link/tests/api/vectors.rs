//! Replays `spec/vectors/link.json`: every framing case fragment by fragment, every message
//! (decoded, and re-encoded to the same bytes), and every transcript against a fresh phone
//! session: the door's side comes from the recording, the phone's side is checked byte for
//! byte, and the outcome must match.

use porter_link::{
    Answer, Buffers, Holder, PhoneSession, Progress, Reassembler, Request, SessionConfig, Status,
    MAX_ANSWER_LEN, MAX_MESSAGE_LEN, MAX_REQUEST_LEN,
};
use porter_protocol::PublicKey;
use porter_testkit::key;
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/vectors/link.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

#[test]
fn framing_cases_replay() {
    let v = vectors();
    let cases = v["framing"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let mtu = c["mtu"].as_u64().unwrap() as usize;
        let mut r = Reassembler::new(vec![0u8; MAX_MESSAGE_LEN], mtu);
        let mut completed = None;
        for (f, want) in
            c["fragments"].as_array().unwrap().iter().zip(c["expect"].as_array().unwrap())
        {
            let got = match r.push(&bytes(f), 0) {
                Ok(Progress::Partial) => "partial".to_string(),
                Ok(Progress::Complete { .. }) => {
                    completed = Some(r.message().to_vec());
                    "complete".to_string()
                }
                Err(e) => e.error.name().to_string(),
            };
            assert_eq!(got, want.as_str().unwrap(), "{name}");
        }
        if let Some(m) = completed {
            assert_eq!(m, bytes(&c["message"]), "{name}");
        }
    }
}

#[test]
fn message_cases_replay_and_are_canonical() {
    let v = vectors();
    for c in v["messages"].as_array().unwrap() {
        let b = bytes(&c["hex"]);
        let want = c["expect"].as_str().unwrap();
        let mut out = vec![0u8; 5000];
        let (got, again) = if c["direction"] == "request" {
            match Request::decode(&b) {
                Ok(r) => ("ok".to_string(), Some(r.encode(&mut out).unwrap().to_vec())),
                Err(e) => (e.name().to_string(), None),
            }
        } else {
            match Answer::decode(&b) {
                Ok(a) => ("ok".to_string(), Some(a.encode(&mut out).unwrap().to_vec())),
                Err(e) => (e.name().to_string(), None),
            }
        };
        assert_eq!(got, want, "{}", c["hex"]);
        if let Some(again) = again {
            assert_eq!(again, b, "re-encoding {} differs", c["hex"]);
        }
    }
}

#[test]
fn transcripts_replay_against_a_fresh_session() {
    let v = vectors();
    let cases = v["transcripts"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let grant = bytes(&c["grant"]);
        let cert = bytes(&c["certificate"]);
        let holder = key(c["holder_seed"].as_u64().unwrap() as u8);
        let mut cfg = SessionConfig::new(&grant, &cert);
        cfg.mtu = c["mtu"].as_u64().unwrap() as usize;
        cfg.device_key = c["device_key"]
            .as_str()
            .map(|k| PublicKey(hex::decode(k).unwrap().try_into().unwrap()));
        cfg.log_from = c["log_from"].as_u64();
        cfg.answer_timeout_ms = c["answer_timeout_ms"].as_u64().unwrap() as u32;
        cfg.max_retries = c["max_retries"].as_u64().unwrap() as u8;
        let (mut req, mut ans, mut log) =
            (vec![0; MAX_REQUEST_LEN], vec![0; MAX_ANSWER_LEN], vec![0; 4096]);
        let mut s = PhoneSession::new(
            cfg,
            Holder::Key(&holder),
            Buffers { request: &mut req, answer: &mut ans, log: &mut log },
            0,
        );
        let mut out = [0u8; 255];
        for (i, step) in c["steps"].as_array().unwrap().iter().enumerate() {
            let at = step["at_ms"].as_u64().unwrap();
            match step["dir"].as_str().unwrap() {
                "up" => {
                    let n = s
                        .transmit(at, &mut out)
                        .unwrap_or_else(|| panic!("{name} step {i}: nothing to send"));
                    assert_eq!(
                        hex::encode(&out[..n]),
                        step["hex"].as_str().unwrap(),
                        "{name} step {i}"
                    );
                }
                "down" if step["delivered"] == true => s.receive(at, &bytes(&step["hex"])),
                "down" => {}
                "reconnect" => s.reconnected(at),
                other => panic!("{name}: unknown step {other}"),
            }
        }
        let e = &c["expect"];
        match s.status() {
            Status::Done(o) => {
                assert_eq!(o.name(), e["outcome"].as_str().unwrap(), "{name}");
                assert_eq!(u64::from(o.code()), e["code"].as_u64().unwrap(), "{name}");
            }
            other => panic!("{name}: the session did not finish: {other:?}"),
        }
        assert_eq!(s.log_count() as u64, e["log_records"].as_u64().unwrap(), "{name}");
        assert_eq!(s.receipt().is_some(), e["receipt"].as_bool().unwrap(), "{name}");
    }
}
