//! `spec/vectors/link.json`'s `framing` and `transcripts` sections on the Cortex-M4 board under
//! QEMU, over its UART link, in one boot. The board's test hooks (its second UART) restart the
//! controller at each case's MTU, script the recorded challenges and mark where the board has
//! acted on every byte sent (`sync`), so that silence is observed, not waited for.
//!
//! * `framing`: every fragment of every case at the case's MTU, with what the board answers
//!   checked per fragment exactly as on the host (`link_vectors::check_framing_case`).
//! * `transcripts`: a `PhoneSession` configured as recorded, on the recorded (virtual) clock,
//!   with the recorded losses, reconnects and door restarts, against the board: every fragment
//!   the phone sends is the recorded one byte for byte, the board's challenges and refusals are
//!   the recorded answers byte for byte (its receipts, heads and log pages are signed by its own
//!   device key and carry its own log, so they are checked by type and by the phone's
//!   verification), and the session ends with the recorded outcome, receipt, requests and relay
//!   movements.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use porter_link::{
    kind, Answer, Buffers, Holder, PhoneSession, Refusal, SessionConfig, Status, MAX_ANSWER_LEN,
    MAX_REQUEST_LEN,
};
use porter_protocol::*;
use serde_json::Value;

use super::door::unhex;
use super::fixture::*;
use super::link_vectors::{check_framing_case, vectors};
use super::qemu::Board;

#[test]
#[ignore = "needs qemu-system-arm and PORTER_BOARD_ELF: run by device-fw/ci.sh"]
fn qemu_board_replays_link_framing_and_transcripts() {
    let v = vectors();
    let site = Site::new();
    let mut board = Board::boot("link", false);
    board.enrol(&site.root, SITE, DOOR, NOON.minus(3600));

    let cases = v["framing"].as_array().unwrap();
    assert!(cases.len() >= 10);
    let mut mtus = BTreeSet::new();
    let mut fragments = 0;
    for case in cases {
        let mtu = case["mtu"].as_u64().unwrap() as usize;
        mtus.insert(mtu);
        board.restart(mtu, false);
        check_framing_case(case, |fragment| {
            fragments += 1;
            board.send_fragment(fragment);
            board.sync()
        });
    }
    let [_, _, _, _, pulses, ..] = board.report();
    assert_eq!(pulses, 0, "no framing vector moves the relay");
    eprintln!("QEMU board: {} framing cases, {fragments} fragments, MTUs {mtus:?}", cases.len());

    let transcripts = v["transcripts"].as_array().unwrap();
    assert!(transcripts.len() >= 10);
    let mut tally = Tally::default();
    for t in transcripts {
        replay_transcript(&mut board, &site, t, &mut tally);
    }
    eprintln!("QEMU board: {} transcripts, {tally:?}", transcripts.len());
}

/// The whole answer carried by `fragments` (all of one message id).
fn whole(mtu: usize, fragments: &[Vec<u8>]) -> Vec<u8> {
    porter_device::sim::Phone::new(mtu)
        .collect_fragments(fragments)
        .unwrap_or_else(|| panic!("a whole answer in {fragments:?}"))
}

/// What the transcript replays matched.
#[derive(Default, Debug)]
struct Tally {
    phone_fragments: usize,
    exact_answers: usize,
    typed_answers: usize,
}

/// Replays one transcript against a factory-fresh board.
fn replay_transcript(board: &mut Board, site: &Site, t: &Value, tally: &mut Tally) {
    let name = t["name"].as_str().unwrap();
    let mtu = t["mtu"].as_u64().unwrap() as usize;
    let door = &t["door"];
    let grant = unhex(t["grant"].as_str().unwrap());
    let cert = unhex(t["certificate"].as_str().unwrap());
    let holder = key(t["holder_seed"].as_u64().unwrap() as u8);
    assert_eq!(holder.public_key(), site.holder.public_key(), "{name}: the fixture holder");

    board.reset_and_enrol(site);
    let config = |device_key: Option<PublicKey>| {
        let mut cfg = SessionConfig::new(&grant, &cert);
        cfg.mtu = mtu;
        cfg.device_key = device_key;
        cfg.log_from = t["log_from"].as_u64();
        cfg.answer_timeout_ms = t["answer_timeout_ms"].as_u64().unwrap() as u32;
        cfg.max_retries = t["max_retries"].as_u64().unwrap() as u8;
        cfg
    };
    // The recorded device key is the reference door's; the board's own stands in for it.
    let device_key = t["device_key"].as_str().map(|_| board.device);
    for _ in 0..door["grant_used_before"].as_u64().unwrap() {
        board.prime(NOON, [0xA5; 16]);
        let visit = board.phone.session(config(Some(board.device)), Holder::Key(&holder));
        assert!(visit.receipt.is_some(), "{name}: the earlier visit is admitted: {visit:?}");
    }
    if let Some(wait) = door["back_off_first_presentation_ms"].as_u64() {
        provoke_back_off(board, site, name, wait);
    }
    let [_, _, _, _, pulses_before, ..] = board.report();
    board.restart(mtu, false);

    let steps = t["steps"].as_array().unwrap();
    let (mut req, mut ans, mut log) =
        (vec![0; MAX_REQUEST_LEN], vec![0; MAX_ANSWER_LEN], vec![0; 16 * 1024]);
    let buffers = Buffers { request: &mut req, answer: &mut ans, log: &mut log };
    let mut s = PhoneSession::new(config(device_key), Holder::Key(&holder), buffers, 0);
    let mut out = [0u8; 255];
    let mut up = 0u64;
    let mut requests = 0;
    let mut answered = BTreeSet::new();
    // The board's answer to a request it acted on just before a scripted restart.
    let mut held: Option<Vec<Vec<u8>>> = None;
    let mut ready_at = Instant::now();
    // The board's back-off wait is its own (the time left of its window), not the recorded
    // one: the phone's clock then runs this much later than the recording for the rest of it.
    let (mut backing_off, mut shift) = (false, 0);
    for (i, step) in steps.iter().enumerate() {
        let at = step["at_ms"].as_u64().unwrap() + shift;
        let what = format!("{name} step {i}");
        let delivered = step["delivered"].as_bool().unwrap();
        let recorded = unhex(step["hex"].as_str().unwrap());
        match step["dir"].as_str().unwrap() {
            "up" => {
                let mut n = s.transmit(at, &mut out);
                if n.is_none() && std::mem::take(&mut backing_off) {
                    let resume = s.deadline().unwrap_or(at).max(at);
                    shift += resume - at;
                    s.tick(resume);
                    n = s.transmit(resume, &mut out);
                }
                let n = n.unwrap_or_else(|| panic!("{what}: nothing sent"));
                assert_eq!(out[..n], recorded[..], "{what}: phone fragment");
                tally.phone_fragments += 1;
                requests += usize::from(out[1] == 0);
                let restart = |when: &str| {
                    door["restarts"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|r| r["up"].as_u64() == Some(up) && r["when"] == when)
                };
                if restart("before") {
                    board.restart(mtu, false);
                }
                if delivered {
                    // A challenge request: script the board's challenge to the recorded one.
                    if recorded.get(1) == Some(&0) && recorded.get(5) == Some(&kind::CHALLENGE) {
                        let ch = recorded_answer(steps, recorded[0], mtu);
                        let Ok(Answer::Challenge(_, ch)) = Answer::decode(&ch) else {
                            panic!("{what}: a recorded challenge answer")
                        };
                        board.prime(ch.issued_at, ch.nonce);
                    }
                    // A back-off is real time on the board, virtual on the phone's clock.
                    std::thread::sleep(ready_at.saturating_duration_since(Instant::now()));
                    board.send_fragment(&recorded);
                }
                if restart("after") {
                    let lost = board.sync();
                    assert!(!lost.is_empty(), "{what}: the board acted before its restart");
                    held = Some(lost);
                    board.restart(mtu, false);
                }
                up += 1;
            }
            "down" => {
                let id = recorded[0];
                if !answered.insert(id) {
                    continue;
                }
                let fragments = held.take().unwrap_or_else(|| board.sync());
                assert!(
                    fragments.iter().all(|f| f[0] == id),
                    "{what}: the board answered other ids than {id}: {fragments:?}"
                );
                let got = whole(mtu, &fragments);
                let want = recorded_answer(steps, id, mtu);
                match check_answer(&what, &got, &want) {
                    Checked::Exact => tally.exact_answers += 1,
                    Checked::SameType => tally.typed_answers += 1,
                    Checked::BackOff { retry_ms } => {
                        tally.typed_answers += 1;
                        backing_off = true;
                        ready_at = Instant::now() + Duration::from_millis(u64::from(retry_ms));
                    }
                }
                if delivered {
                    for f in &fragments {
                        s.receive(at, f);
                    }
                }
            }
            "reconnect" => s.reconnected(at),
            other => panic!("{name}: unknown step {other}"),
        }
    }
    assert!(board.sync().is_empty(), "{name}: the board answered more than was recorded");
    let e = &t["expect"];
    match s.status() {
        Status::Done(o) => {
            assert_eq!(o.name(), e["outcome"].as_str().unwrap(), "{name}: outcome");
            assert_eq!(u64::from(o.code()), e["code"].as_u64().unwrap(), "{name}: code");
        }
        other => panic!("{name}: the session did not finish: {other:?}"),
    }
    assert_eq!(s.receipt().is_some(), e["receipt"].as_bool().unwrap(), "{name}: receipt");
    assert_eq!(requests as u64, e["requests"].as_u64().unwrap(), "{name}: requests");
    let [_, _, _, _, pulses, ..] = board.report();
    assert_eq!(
        u64::from(pulses - pulses_before),
        e["door_releases"].as_u64().unwrap(),
        "{name}: relay movements"
    );
    // The board's log is its own (boots, enrolment): the phone carried all of it.
    assert!(s.log_complete(), "{name}: the log carried back");
}

/// How one of the board's answers compared with the recorded one.
enum Checked {
    /// Byte for byte (challenges, refusals but `BackOff`).
    Exact,
    /// The same answer type (receipts, heads, log pages: the board's own key and log).
    SameType,
    /// A `BackOff` refusal, with the board's own wait.
    BackOff { retry_ms: u32 },
}

fn check_answer(what: &str, got: &[u8], want: &[u8]) -> Checked {
    match Answer::decode(want).unwrap() {
        Answer::Refused(r) if r.refusal == Refusal::BackOff => {
            let Ok(Answer::Refused(b)) = Answer::decode(got) else {
                panic!("{what}: BackOff expected, the board answered {got:?}")
            };
            assert_eq!((b.refusal, b.detail), (Refusal::BackOff, 0), "{what}");
            Checked::BackOff { retry_ms: b.retry_ms }
        }
        Answer::Challenge(..) | Answer::Refused(_) => {
            assert_eq!(got, want, "{what}: the door's answer");
            Checked::Exact
        }
        _ => {
            assert_eq!(got[0], want[0], "{what}: the answer's type");
            Checked::SameType
        }
    }
}

/// The recorded door answer (all its fragments, delivered or not) to message `id`.
fn recorded_answer(steps: &[Value], id: u8, mtu: usize) -> Vec<u8> {
    let fragments: Vec<Vec<u8>> = steps
        .iter()
        .filter(|st| st["dir"] == "down")
        .map(|st| unhex(st["hex"].as_str().unwrap()))
        .filter(|f| f[0] == id)
        .collect();
    whole(mtu, &fragments)
}

/// Brings the board to the edge of its back-off (`porter_device::Settings`: the failures that
/// cost a signature beyond the free ones), so that the transcript's first presentation is
/// refused `BackOff`, as the reference door was scripted to (`wait` ms there; the board's own
/// wait here).
fn provoke_back_off(board: &mut Board, site: &Site, name: &str, wait: u64) {
    assert!(wait > 0, "{name}: a back-off");
    let settings = porter_device::Settings::default();
    let cert = site.seal_cert(&site.certificate_body());
    // A presentation signed by someone else's key: refused after a signature check.
    let other = Site { holder: key(9), ..Site::new() };
    for n in 0..=settings.free_failures {
        board.prime(NOON, [0x50 + n as u8; 16]);
        let a = board.phone.request(porter_link::Request::Challenge);
        let Ok(Answer::Challenge(_, ch)) = Answer::decode(&a) else { panic!("{name}: {a:?}") };
        let grant = site.seal_grant(&site.grant_body(90 + u64::from(n), 1));
        let p = other.present(&ch, &grant, &cert, None);
        let a = board.phone.request(porter_link::Request::Present(&p));
        assert!(
            matches!(Answer::decode(&a), Ok(Answer::Denied { .. })),
            "{name}: failure {n} denied: {a:?}"
        );
    }
}
