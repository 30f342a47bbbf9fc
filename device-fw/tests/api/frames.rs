//! Reassembly abuse over the framed link (`porter_link::DoorLink` in the controller):
//! oversized, interleaved, out-of-order, truncated and silent messages are refused once each,
//! under the broken message's id, with a distinct detail, and the door answers the next good
//! message normally.

use porter_device::Settings;
use porter_link::frame::FIRST_HEADER_LEN;
use porter_link::MAX_MESSAGE_LEN;
use porter_link::{kind, Refusal};

use super::door::*;
use super::fixture::*;

/// Sends raw fragments, polls, and returns every answer the door sent.
fn raw(door: &mut Door, fragments: &[Vec<u8>]) -> Vec<Verdict> {
    for f in fragments {
        door.t.send_fragment(f);
    }
    door.c.poll();
    let mut answers = Vec::new();
    while let Some(f) = door.t.take_fragment() {
        // Refusals fit one fragment: the answer is the fragment's data.
        assert_eq!(f[1..3], [0, 1], "a one-fragment answer");
        let len = u16::from_le_bytes([f[3], f[4]]) as usize;
        answers.push(parse_verdict(&f[FIRST_HEADER_LEN..FIRST_HEADER_LEN + len]));
    }
    answers
}

fn frame_refusal(detail: u16) -> Verdict {
    Verdict::Refused(Refusal::Frame, detail, 0)
}

/// The door still works: a whole info request gets its answer.
fn still_answers(door: &mut Door) {
    let a = door.call(&[kind::INFO]);
    assert_eq!(a[0], kind::A_INFO);
}

#[test]
fn an_oversized_announcement_is_refused_and_its_fragments_dropped() {
    let (mut door, _) = Door::enrolled(Settings::default());
    let too_long = (MAX_MESSAGE_LEN + 1) as u16;
    let mut first = vec![7, 0, 0];
    first.extend_from_slice(&too_long.to_le_bytes());
    first.extend_from_slice(&[kind::PRESENT; 200]);
    let answers = raw(&mut door, &[first, vec![7, 1, 0, 1, 2, 3], vec![7, 2, 1, 4]]);
    // Once per broken message (`spec/link.md` 2.3), not once per fragment as before.
    assert_eq!(answers, vec![frame_refusal(2)]);
    // Fragments shorter than their header, or with unknown flags, are refused.
    assert_eq!(raw(&mut door, &[vec![8, 0]]), vec![frame_refusal(1)]);
    assert_eq!(raw(&mut door, &[vec![9, 0, 0x80, 1, 0, 1]]), vec![frame_refusal(1)]);
    still_answers(&mut door);
    assert_eq!(door.h.lock.pulses(), 0);
}

#[test]
fn interleaved_out_of_order_and_truncated_messages_are_dropped() {
    let (mut door, site) = Door::enrolled(Settings::default());
    let ch = door.challenge().unwrap();
    let cert = site.seal_cert(&site.certificate_body());
    let grant = site.seal_grant(&site.grant_body(10, 1));
    let mut message = vec![kind::PRESENT];
    message.extend_from_slice(&site.present(&ch, &grant, &cert, None));
    let frags = door.phone.fragments(&message);
    assert!(frags.len() >= 2, "a presentation spans fragments");

    // Another message's continuation in the middle: both dropped.
    let mut other = frags[1].clone();
    other[0] ^= 0xFF;
    assert_eq!(raw(&mut door, &[frags[0].clone(), other]), vec![frame_refusal(3)]);
    // A skipped index.
    let skipped: Vec<Vec<u8>> = vec![frags[0].clone(), frags[2 % frags.len()].clone()];
    if frags.len() > 2 {
        assert_eq!(raw(&mut door, &skipped), vec![frame_refusal(4)]);
    }
    // The last fragment flag before the announced length.
    let mut early_last = frags[1].clone();
    early_last[2] = 1;
    if frags.len() > 2 {
        assert_eq!(raw(&mut door, &[frags[0].clone(), early_last]), vec![frame_refusal(5)]);
    }
    // A continuation with nothing in progress (under a fresh id: the broken messages' own
    // late fragments are dropped quietly).
    let mut orphan = frags[1].clone();
    orphan[0] = 0x11;
    assert_eq!(raw(&mut door, &[orphan]), vec![frame_refusal(7)]);
    assert_eq!(door.h.lock.pulses(), 0);

    // The whole, well-framed message still admits: the challenge was never consumed.
    let answers = {
        for f in &frags {
            door.t.send_fragment(f);
        }
        door.c.poll();
        door.phone.collect(&door.t).expect("an answer")
    };
    assert!(matches!(parse_verdict(&answers), Verdict::Admitted(_)));
}

#[test]
fn a_silent_partial_message_times_out() {
    let settings = Settings::default();
    let (mut door, _) = Door::enrolled(settings);
    let message = vec![kind::PRESENT; 600];
    let frags = door.phone.fragments(&message);
    assert!(raw(&mut door, &[frags[0].clone()]).is_empty());
    door.h.clock.advance_ms(u64::from(settings.reassembly_timeout_ms) + 1);
    assert_eq!(raw(&mut door, &[]), vec![frame_refusal(6)]);
    // Its late fragments are dropped without a second refusal.
    assert!(raw(&mut door, &[frags[1].clone()]).is_empty());
    still_answers(&mut door);
}

#[test]
fn a_new_first_fragment_restarts_reassembly() {
    let (mut door, _) = Door::enrolled(Settings::default());
    let long = door.phone.fragments(&vec![kind::PRESENT; 600]);
    let info = door.phone.fragments(&[kind::INFO]);
    for f in [&long[0], &info[0]] {
        door.t.send_fragment(f);
    }
    door.c.poll();
    let a = door.phone.collect(&door.t).expect("the info answer");
    assert_eq!(a[0], kind::A_INFO);
}

#[test]
fn unknown_and_malformed_requests_are_refused() {
    let (mut door, _) = Door::enrolled(Settings::default());
    assert_eq!(parse_verdict(&door.call(&[0x42])), Verdict::Refused(Refusal::Malformed, 0, 0));
    assert_eq!(
        parse_verdict(&door.call(&[kind::CHALLENGE, 0])),
        Verdict::Refused(Refusal::Malformed, 0, 0)
    );
    assert_eq!(
        parse_verdict(&door.call(&[kind::READ_LOG, 1, 2])),
        Verdict::Refused(Refusal::Malformed, 0, 0)
    );
    // Decoded before any handler runs: a malformed enrolment is malformed, enrolled or not.
    assert_eq!(
        parse_verdict(&door.call(&[kind::ENROL, 1])),
        Verdict::Refused(Refusal::Malformed, 0, 0)
    );
    // `read log` asking for 0 or more than 8 records is refused by decoding (it was clamped).
    for max in [0u8, 9] {
        let mut m = vec![kind::READ_LOG];
        m.extend_from_slice(&0u64.to_le_bytes());
        m.push(max);
        assert_eq!(parse_verdict(&door.call(&m)), Verdict::Refused(Refusal::Malformed, 0, 0));
    }
    let _ = NOON;
}

#[test]
fn answers_carry_their_requests_id() {
    let (mut door, _) = Door::enrolled(Settings::default());
    for f in door.phone.fragments(&[kind::INFO]) {
        door.t.send_fragment(&f);
    }
    let id = door.phone.fragments(&[kind::INFO])[0][0].wrapping_sub(1);
    door.c.poll();
    let answer = door.t.take_fragment().expect("an answer");
    assert_eq!(answer[0], id, "the answer is under the request's id");
    // A broken request is refused under its own id too.
    assert_eq!(raw_ids(&mut door, &[vec![0x5A, 3, 0, 1]]), vec![0x5A]);
}

/// The message ids of the door's answers to `fragments`.
fn raw_ids(door: &mut Door, fragments: &[Vec<u8>]) -> Vec<u8> {
    for f in fragments {
        door.t.send_fragment(f);
    }
    door.c.poll();
    std::iter::from_fn(|| door.t.take_fragment()).map(|f| f[0]).collect()
}
