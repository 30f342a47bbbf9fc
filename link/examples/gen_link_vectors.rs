//! Writes `spec/vectors/link.{json,txt}`: fragment sequences at several MTUs (well formed,
//! malformed, interleaved, oversized, truncated) with what a receiver does with each fragment;
//! requests and answers with their decoding verdict; and whole-visit transcripts (both
//! directions, timed) of the phone session against the door model over a scripted radio, with
//! the outcome.
//!
//! Run from the repository root: `cargo run -p porter-link --example gen_link_vectors`. Keys come
//! from fixed seeds and Ed25519 is deterministic, so the output is reproducible; CI regenerates
//! the files and fails if they differ. The expected verdicts are written here by hand; the
//! generator refuses to write a file in which the implementation disagrees with them.

use std::fmt::Write as _;

use porter_link::door_model::{Direction, DoorModel, Radio, RadioEvent};
use porter_link::frame::{for_each_fragment, fragment_count, BLE_MTU, MIN_MTU};
use porter_link::{
    kind, Buffers, Holder, LinkError, Outcome, PhoneSession, Progress, Reassembler, SessionConfig,
    Status, MAX_ANSWER_LEN, MAX_MESSAGE_LEN, MAX_REQUEST_LEN,
};
use porter_testkit::*;
use serde_json::{json, Value};

fn fragments(id: u8, message: &[u8], mtu: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for_each_fragment::<()>(id, message, mtu, |f| {
        out.push(f.to_vec());
        Ok(())
    })
    .unwrap()
    .unwrap();
    out
}

/// What a receiver does with each fragment, as the vectors spell it.
fn receive_all(mtu: usize, fs: &[Vec<u8>]) -> Vec<String> {
    let mut r = Reassembler::new(vec![0u8; MAX_MESSAGE_LEN], mtu);
    fs.iter()
        .map(|f| match r.push(f, 0) {
            Ok(Progress::Partial) => "partial".to_string(),
            Ok(Progress::Complete { .. }) => "complete".to_string(),
            Err(e) => e.error.name().to_string(),
        })
        .collect()
}

fn framing_case(
    name: &str,
    mtu: usize,
    fs: Vec<Vec<u8>>,
    expect: &[&str],
    message: &[u8],
) -> Value {
    let got = receive_all(mtu, &fs);
    assert_eq!(got, expect, "framing case {name}: the implementation disagrees");
    json!({
        "name": name,
        "mtu": mtu,
        "fragments": fs.iter().map(hex::encode).collect::<Vec<_>>(),
        "expect": expect,
        "message": hex::encode(message),
    })
}

fn framing() -> Vec<Value> {
    let s = Site::new();
    let (_, p) = s.valid(10, 1, 1);
    let request = [&[kind::PRESENT][..], &p].concat();
    let mut cases = Vec::new();
    for mtu in [MIN_MTU, 64, 185, BLE_MTU, 255] {
        let fs = fragments(0x41, &request, mtu);
        let mut expect = vec!["partial"; fs.len() - 1];
        expect.push("complete");
        cases.push(framing_case(&format!("presentation_mtu{mtu}"), mtu, fs, &expect, &request));
    }
    let msg: Vec<u8> = (0..100u8).collect();
    let fs = fragments(1, &msg, 40);
    let other = fragments(2, &msg, 40);
    let e = |x: LinkError| x.name();
    cases.push(framing_case(
        "lost_fragment",
        40,
        vec![fs[0].clone(), fs[2].clone(), fs[0].clone(), fs[1].clone(), fs[2].clone()],
        &["partial", e(LinkError::FrameOutOfOrder), "partial", "partial", "complete"],
        &msg,
    ));
    cases.push(framing_case(
        "interleaved",
        40,
        vec![fs[0].clone(), other[1].clone(), fs[1].clone()],
        &["partial", e(LinkError::FrameInterleaved), e(LinkError::FrameOrphan)],
        &msg,
    ));
    cases.push(framing_case(
        "restart_drops_the_partial_message",
        40,
        vec![fs[0].clone(), other[0].clone(), other[1].clone(), other[2].clone()],
        &["partial", "partial", "partial", "complete"],
        &msg,
    ));
    let mut early = fs[1].clone();
    early[2] = 1;
    cases.push(framing_case(
        "truncated",
        40,
        vec![fs[0].clone(), early],
        &["partial", e(LinkError::FrameTruncated)],
        &msg,
    ));
    let mut long = fs[2].clone();
    long.extend_from_slice(&[0; 4]);
    cases.push(framing_case(
        "more_than_announced",
        40,
        vec![fs[0].clone(), fs[1].clone(), long],
        &["partial", "partial", e(LinkError::FrameOversized)],
        &msg,
    ));
    cases.push(framing_case(
        "oversized_announcement_then_its_fragments",
        40,
        vec![vec![3, 0, 0, 0x51, 0x10, 1, 2], vec![3, 1, 1, 3]],
        &[e(LinkError::FrameOversized), e(LinkError::FrameOrphan)],
        &[],
    ));
    cases.push(framing_case(
        "malformed_fragments",
        40,
        vec![
            vec![1, 0],
            vec![1, 0, 2, 1, 0, 9],
            vec![1, 0, 1, 1],
            vec![1; 41],
            vec![4, 0, 1, 0, 0],
            vec![5, 1, 1, 9],
            vec![6, 0, 0, 10, 0, 1],
            vec![6, 1, 0],
        ],
        &[
            e(LinkError::FrameBadFragment),
            e(LinkError::FrameBadFragment),
            e(LinkError::FrameBadFragment),
            e(LinkError::FrameBadFragment),
            e(LinkError::FrameOversized),
            e(LinkError::FrameOrphan),
            "partial",
            e(LinkError::FrameBadFragment),
        ],
        &[],
    ));
    cases
}

fn message_case(direction: &str, bytes: &[u8], expect: Result<(), LinkError>) -> Value {
    let got = match direction {
        "request" => porter_link::Request::decode(bytes).map(|_| ()),
        _ => porter_link::Answer::decode(bytes).map(|_| ()),
    };
    assert_eq!(got, expect, "message {direction} {}", hex::encode(bytes));
    json!({
        "direction": direction,
        "hex": hex::encode(bytes),
        "expect": match expect { Ok(()) => "ok", Err(e) => e.name() },
    })
}

fn messages() -> Vec<Value> {
    use LinkError::*;
    let s = Site::new();
    let c = s.challenge(NOON, 1);
    let mut cb = [0u8; 32];
    let cb = c.encode(&mut cb).unwrap().to_vec();
    let mut out = Vec::new();
    let mut req = |b: Vec<u8>, e| out.push(message_case("request", &b, e));
    req(vec![kind::INFO], Ok(()));
    req(vec![kind::CHALLENGE], Ok(()));
    req(vec![kind::LOG_HEAD], Ok(()));
    req([&[kind::READ_LOG][..], &5u64.to_le_bytes(), &[8]].concat(), Ok(()));
    req([&[kind::LOG_ACK][..], &5u64.to_le_bytes(), &[7; 16]].concat(), Ok(()));
    req([&[kind::ENROL][..], &key(1).public_key().0, &[1, 2, 3]].concat(), Ok(()));
    req(vec![], Err(DecodeEmpty));
    req(vec![0x09], Err(DecodeUnknownType));
    req(vec![kind::INFO, 0], Err(DecodeTrailingBytes));
    req(vec![kind::PRESENT], Err(DecodeLength));
    req([&[kind::READ_LOG][..], &5u64.to_le_bytes(), &[0]].concat(), Err(DecodeBadValue));
    req([&[kind::READ_LOG][..], &5u64.to_le_bytes(), &[9]].concat(), Err(DecodeBadValue));
    req([&[kind::READ_LOG][..], &5u64.to_le_bytes(), &[8, 0]].concat(), Err(DecodeTrailingBytes));
    req([&[kind::ENROL][..], &[0; 32], &[1]].concat(), Err(DecodeBadValue));
    let mut ans = |b: Vec<u8>, e| out.push(message_case("answer", &b, e));
    ans([&[kind::A_CHALLENGE][..], &cb].concat(), Ok(()));
    ans([&[kind::A_CHALLENGE][..], &cb[..cb.len() - 1]].concat(), Err(DecodeBadValue));
    ans([&[kind::A_DENIED, 4][..], &3u64.to_le_bytes()].concat(), Ok(()));
    ans([&[kind::A_DENIED, 5][..], &3u64.to_le_bytes()].concat(), Err(DecodeBadValue));
    ans(vec![kind::A_ENROLLED], Ok(()));
    ans(vec![kind::A_ENROLLED, 0], Err(DecodeTrailingBytes));
    ans(vec![kind::A_LOG, 0], Ok(()));
    ans(vec![kind::A_LOG, 1, 2, 0xAA, 0xBB], Ok(()));
    ans(vec![kind::A_LOG, 1, 0], Err(DecodeLength));
    ans(vec![kind::A_LOG, 9], Err(DecodeBadValue));
    ans(vec![kind::A_LOG, 1, 1, 0xAA, 0], Err(DecodeTrailingBytes));
    ans(vec![kind::A_REFUSED, 5, 0, 0, 0xF4, 1, 0, 0], Ok(()));
    ans(vec![kind::A_REFUSED, 12, 0, 0, 0, 0, 0, 0], Err(DecodeBadValue));
    ans(vec![kind::A_REFUSED, 5, 0, 0, 0, 0, 0], Err(DecodeLength));
    ans(vec![kind::INFO], Err(DecodeUnknownType));
    out
}

struct Scenario {
    name: &'static str,
    about: &'static str,
    mtu: usize,
    uses: u8,
    known_key: bool,
    before: usize,
    back_off: Option<u32>,
    events: Vec<(usize, RadioEvent)>,
    outcome: Outcome,
    releases: u32,
}

fn presentation_fragments(mtu: usize) -> usize {
    let s = Site::new();
    let (_, p) = s.valid(10, 1, 1);
    fragment_count(1 + p.len(), mtu)
}

fn scenarios() -> Vec<Scenario> {
    let base = |name, about, mtu, events, outcome| Scenario {
        name,
        about,
        mtu,
        uses: 1,
        known_key: true,
        before: 0,
        back_off: None,
        events,
        outcome,
        releases: 1,
    };
    let n244 = presentation_fragments(BLE_MTU);
    vec![
        base("admit_mtu20", "the smallest MTU", MIN_MTU, vec![], Outcome::Admitted),
        base("admit_mtu244", "BLE with a 247-byte ATT MTU", BLE_MTU, vec![], Outcome::Admitted),
        Scenario {
            known_key: false,
            ..base(
                "admit_with_info_mtu185",
                "no device key: info first",
                185,
                vec![],
                Outcome::Admitted,
            )
        },
        base(
            "lost_presentation_fragment_mtu64",
            "the second fragment of the presentation is lost: Frame refusal, sent again",
            64,
            vec![(2, RadioEvent::LoseUp)],
            Outcome::Admitted,
        ),
        Scenario {
            uses: 4,
            ..base(
                "lost_verdict_mtu244",
                "the door admits, its answer is lost: the same bytes again get NoChallenge",
                BLE_MTU,
                vec![(n244, RadioEvent::LoseAnswer)],
                Outcome::VerdictUnknown,
            )
        },
        Scenario {
            uses: 4,
            ..base(
                "reconnect_mid_presentation_mtu20",
                "the link drops during the presentation; the phone reconnects and sends it again",
                MIN_MTU,
                vec![(5, RadioEvent::Disconnect)],
                Outcome::Admitted,
            )
        },
        base(
            "door_restart_before_presentation_mtu244",
            "the door restarts after its challenge: NoChallenge, a fresh challenge, admitted",
            BLE_MTU,
            vec![(1, RadioEvent::RebootBefore)],
            Outcome::Admitted,
        ),
        Scenario {
            uses: 4,
            ..base(
                "door_restart_after_decision_mtu244",
                "the door admits and restarts before answering: never a second admission",
                BLE_MTU,
                vec![(n244, RadioEvent::RebootAfter)],
                Outcome::VerdictUnknown,
            )
        },
        Scenario {
            back_off: Some(700),
            ..base(
                "back_off_mtu244",
                "BackOff 700 ms, then the same bytes",
                BLE_MTU,
                vec![],
                Outcome::Admitted,
            )
        },
        Scenario {
            before: 1,
            releases: 0,
            ..base(
                "spent_mtu244",
                "a single-use grant used before",
                BLE_MTU,
                vec![],
                Outcome::DeniedSpent,
            )
        },
    ]
}

fn session_config<'a>(sc: &Scenario, grant: &'a [u8], cert: &'a [u8]) -> SessionConfig<'a> {
    let mut cfg = SessionConfig::new(grant, cert);
    cfg.mtu = sc.mtu;
    cfg.device_key = sc.known_key.then(|| key(4).public_key());
    cfg.log_from = Some(0);
    cfg
}

/// What the reference door was scripted to do, for a replay against another door (the QEMU
/// board): restarts by phone-to-door fragment number (`up`, counted from 0 over the `up` steps,
/// lost ones included), a `BackOff` refusal of the first presentation, and the visits that used
/// the grant before. A phone-side replay ignores it.
fn door_script(sc: &Scenario) -> Value {
    let restarts: Vec<Value> = sc
        .events
        .iter()
        .filter_map(|(up, e)| match e {
            RadioEvent::RebootBefore => Some(json!({"up": up, "when": "before"})),
            RadioEvent::RebootAfter => Some(json!({"up": up, "when": "after"})),
            _ => None,
        })
        .collect();
    json!({
        "restarts": restarts,
        "back_off_first_presentation_ms": sc.back_off,
        "grant_used_before": sc.before,
    })
}

fn transcripts() -> Vec<Value> {
    let s = Site::new();
    let cert = s.seal_cert(&s.certificate_body());
    let mut out = Vec::new();
    for sc in scenarios() {
        let grant = s.seal_grant(&s.grant_body(10, sc.uses));
        let mut door = DoorModel::new(s.config.clone(), key(4), sc.mtu, NOON);
        let mut bufs = (vec![0; MAX_REQUEST_LEN], vec![0; MAX_ANSWER_LEN], vec![0; 4096]);
        for _ in 0..sc.before {
            let mut b = (vec![0; MAX_REQUEST_LEN], vec![0; MAX_ANSWER_LEN], vec![0; 4096]);
            let mut first = PhoneSession::new(
                session_config(&sc, &grant, &cert),
                Holder::Key(&s.holder),
                Buffers { request: &mut b.0, answer: &mut b.1, log: &mut b.2 },
                0,
            );
            Radio::default().run(&mut first, &mut door, None);
        }
        door.releases = 0;
        door.back_off_next_present = sc.back_off;
        let mut session = PhoneSession::new(
            session_config(&sc, &grant, &cert),
            Holder::Key(&s.holder),
            Buffers { request: &mut bufs.0, answer: &mut bufs.1, log: &mut bufs.2 },
            0,
        );
        let mut radio = Radio { latency_ms: 5, events: sc.events.clone(), ..Radio::default() };
        let status = radio.run(&mut session, &mut door, None);
        assert_eq!(status, Status::Done(sc.outcome), "scenario {}", sc.name);
        assert_eq!(door.releases, sc.releases, "scenario {}: releases", sc.name);
        let steps: Vec<Value> = radio
            .transcript
            .iter()
            .map(|(dir, at, bytes, delivered)| {
                json!({
                    "dir": match dir { Direction::Up => "up", Direction::Down => "down", Direction::Reconnect => "reconnect" },
                    "at_ms": at,
                    "hex": hex::encode(bytes),
                    "delivered": delivered,
                })
            })
            .collect();
        out.push(json!({
            "name": sc.name,
            "about": sc.about,
            "mtu": sc.mtu,
            "holder_seed": 3,
            "device_key": sc.known_key.then(|| hex::encode(key(4).public_key().0)),
            "grant": hex::encode(&grant),
            "certificate": hex::encode(&cert),
            "log_from": 0,
            "answer_timeout_ms": 3000,
            "max_retries": 4,
            "steps": steps,
            "door": door_script(&sc),
            "expect": {
                "outcome": sc.outcome.name(),
                "code": sc.outcome.code(),
                "door_releases": sc.releases,
                "requests": radio.requests,
                "log_records": session.log_count(),
                "receipt": session.receipt().is_some(),
            },
        }));
    }
    out
}

fn main() {
    let doc = json!({
        "about": "Porter link vectors (spec/link.md). framing: fragments in order, what a receiver with this MTU does with each (partial, complete, or the LinkError name) and the message completed. messages: a request or answer and its decoding (ok or the LinkError name). transcripts: a phone session (holder key seed 3, door device key seed 4, fixture site of porter-testkit) against the reference door over a scripted radio; steps in order, up = phone to door at the time the session gave it, down = door to phone at the time it arrived (delivered false: lost), reconnect = the phone called reconnected; door: what the reference door was scripted to do (restarts by up-fragment number, a BackOff of the first presentation, earlier visits with the grant), for replays against another door; expect: the session's outcome.",
        "framing": framing(),
        "messages": messages(),
        "transcripts": transcripts(),
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap();
    text.push('\n');
    std::fs::write("spec/vectors/link.json", text).unwrap();

    let mut txt = String::from(
        "# Porter link vectors: a readable index of link.json (generated)\n\n## framing\n",
    );
    for c in doc["framing"].as_array().unwrap() {
        let _ = writeln!(
            txt,
            "{:<44} mtu {:>3}  {}",
            c["name"].as_str().unwrap(),
            c["mtu"],
            c["expect"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    txt.push_str("\n## messages\n");
    for c in doc["messages"].as_array().unwrap() {
        let _ = writeln!(
            txt,
            "{:<8} {:<20} {}",
            c["direction"].as_str().unwrap(),
            c["expect"].as_str().unwrap(),
            c["hex"].as_str().unwrap()
        );
    }
    txt.push_str("\n## transcripts\n");
    for c in doc["transcripts"].as_array().unwrap() {
        let steps = c["steps"].as_array().unwrap();
        let bytes = |d: &str| {
            steps
                .iter()
                .filter(|s| s["dir"] == d)
                .map(|s| s["hex"].as_str().unwrap().len() / 2)
                .sum::<usize>()
        };
        let _ = writeln!(
            txt,
            "{:<42} mtu {:>3}  {:<15} requests {:>2}  fragments {:>3}  bytes up {:>5} down {:>5}  -- {}",
            c["name"].as_str().unwrap(),
            c["mtu"],
            c["expect"]["outcome"].as_str().unwrap(),
            c["expect"]["requests"],
            steps.len(),
            bytes("up"),
            bytes("down"),
            c["about"].as_str().unwrap(),
        );
    }
    std::fs::write("spec/vectors/link.txt", txt).unwrap();
}
