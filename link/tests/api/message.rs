//! Requests and answers: each round-trips, and every malformed shape is refused with a named
//! error (short, long, trailing bytes, unknown type, bad values).

use porter_link::{kind, Answer, Info, LinkError, Refusal, Refused, Request, MAX_LOG_RECORDS};
use porter_protocol::{Coarse, DoorId, SiteId, MAX_ENROLMENT_LEN, MAX_PRESENTATION_LEN};
use porter_testkit::*;

fn rt_request(r: Request<'_>) {
    let mut buf = vec![0; 5000];
    let bytes = r.encode(&mut buf).unwrap().to_vec();
    assert_eq!(Request::decode(&bytes).unwrap(), r);
}

fn rt_answer(a: Answer<'_>) {
    let mut buf = vec![0; 2000];
    let bytes = a.encode(&mut buf).unwrap().to_vec();
    assert_eq!(Answer::decode(&bytes).unwrap(), a);
}

#[test]
fn every_request_round_trips() {
    let p = vec![1u8; MAX_PRESENTATION_LEN];
    for r in [
        Request::Info,
        Request::Enrol { root: key(1).public_key(), enrolment: &[1, 2, 3] },
        Request::Challenge,
        Request::Present(&p),
        Request::DoorState(&[5; 10]),
        Request::ReadLog { from: 77, max: MAX_LOG_RECORDS },
        Request::LogHead,
        Request::LogAck { length: 3, tag: [9; 16] },
    ] {
        rt_request(r);
    }
}

#[test]
fn every_answer_round_trips() {
    let s = Site::new();
    let c = s.challenge(NOON, 1);
    let mut cb = [0u8; 32];
    let cb = c.encode(&mut cb).unwrap().to_vec();
    let records = porter_link::log_records(2, &[1, 0xAA, 2, 0xBB, 0xCC]).unwrap();
    assert_eq!(records.iter().collect::<Vec<_>>(), vec![&[0xAA][..], &[0xBB, 0xCC][..]]);
    for a in [
        Answer::Info(Info {
            version: 1,
            enrolled: true,
            device_key: key(4).public_key(),
            site: SiteId(7),
            door: DoorId(2),
            log_length: 9,
            boot_count: 3,
        }),
        Answer::Enrolled,
        Answer::Challenge(&cb, c),
        Answer::Admitted(&[1; 100]),
        Answer::Denied { coarse: Coarse::Spent, sequence: 4 },
        Answer::State(8),
        Answer::Log(records),
        Answer::Head(&[3; 100]),
        Answer::Acked(2),
        Answer::Refused(Refused { refusal: Refusal::BackOff, detail: 0, retry_ms: 500 }),
    ] {
        rt_answer(a);
    }
}

#[test]
fn requests_are_decoded_strictly() {
    let cases: &[(&[u8], LinkError)] = &[
        (&[], LinkError::DecodeEmpty),
        (&[0x09], LinkError::DecodeUnknownType),
        (&[kind::A_INFO], LinkError::DecodeUnknownType),
        (&[kind::INFO, 0], LinkError::DecodeTrailingBytes),
        (&[kind::CHALLENGE, 0], LinkError::DecodeTrailingBytes),
        (&[kind::LOG_HEAD, 1], LinkError::DecodeTrailingBytes),
        (&[kind::PRESENT], LinkError::DecodeLength),
        (&[kind::DOOR_STATE], LinkError::DecodeLength),
        (&[kind::READ_LOG, 0, 0, 0, 0, 0, 0, 0, 0], LinkError::DecodeLength),
        (&[kind::READ_LOG, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0], LinkError::DecodeTrailingBytes),
        (&[kind::READ_LOG, 0, 0, 0, 0, 0, 0, 0, 0, 0], LinkError::DecodeBadValue),
        (&[kind::READ_LOG, 0, 0, 0, 0, 0, 0, 0, 0, 9], LinkError::DecodeBadValue),
        (&[kind::LOG_ACK, 0, 0], LinkError::DecodeLength),
        (&[kind::ENROL, 1, 2], LinkError::DecodeLength),
    ];
    for (bytes, want) in cases {
        assert_eq!(Request::decode(bytes), Err(*want), "{bytes:02x?}");
    }
    let mut long = vec![kind::PRESENT];
    long.resize(MAX_PRESENTATION_LEN + 2, 1);
    assert_eq!(Request::decode(&long), Err(LinkError::DecodeLength));
    let mut enrol = vec![kind::ENROL];
    enrol.extend_from_slice(&key(1).public_key().0);
    assert_eq!(Request::decode(&enrol), Err(LinkError::DecodeLength), "no enrolment");
    enrol.resize(1 + 32 + MAX_ENROLMENT_LEN + 1, 1);
    assert_eq!(Request::decode(&enrol), Err(LinkError::DecodeLength), "enrolment too long");
}

#[test]
fn answers_are_decoded_strictly() {
    let cases: &[(&[u8], LinkError)] = &[
        (&[kind::INFO], LinkError::DecodeUnknownType),
        (&[kind::A_ENROLLED, 0], LinkError::DecodeTrailingBytes),
        (&[kind::A_INFO, 1, 1], LinkError::DecodeLength),
        (&[kind::A_CHALLENGE], LinkError::DecodeLength),
        (&[kind::A_CHALLENGE, 1, 2, 3], LinkError::DecodeBadValue),
        (&[kind::A_ADMITTED], LinkError::DecodeLength),
        (&[kind::A_DENIED, 5, 0, 0, 0, 0, 0, 0, 0, 0], LinkError::DecodeBadValue),
        (&[kind::A_DENIED, 2, 0, 0, 0, 0, 0, 0, 0], LinkError::DecodeLength),
        (&[kind::A_DENIED, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0], LinkError::DecodeTrailingBytes),
        (&[kind::A_STATE, 0, 0, 0, 0, 0, 0, 0, 0, 0], LinkError::DecodeTrailingBytes),
        (&[kind::A_LOG], LinkError::DecodeLength),
        (&[kind::A_LOG, 9], LinkError::DecodeBadValue),
        (&[kind::A_LOG, 1, 0], LinkError::DecodeLength),
        (&[kind::A_LOG, 1, 2, 0], LinkError::DecodeLength),
        (&[kind::A_LOG, 1, 1, 0, 0], LinkError::DecodeTrailingBytes),
        (&[kind::A_LOG, 0, 0], LinkError::DecodeTrailingBytes),
        (&[kind::A_HEAD], LinkError::DecodeLength),
        (&[kind::A_REFUSED, 12, 0, 0, 0, 0, 0, 0], LinkError::DecodeBadValue),
        (&[kind::A_REFUSED, 4, 0, 0, 0, 0, 0], LinkError::DecodeLength),
    ];
    for (bytes, want) in cases {
        assert_eq!(Answer::decode(bytes), Err(*want), "{bytes:02x?}");
    }
    // an info answer with enrolled = 2, and one with an invalid (small-order) key
    let mut info = vec![0u8; porter_link::INFO_ANSWER_LEN];
    info[0] = kind::A_INFO;
    info[2] = 2;
    info[3..35].copy_from_slice(&key(4).public_key().0);
    assert_eq!(Answer::decode(&info), Err(LinkError::DecodeBadValue));
    info[2] = 1;
    assert!(Answer::decode(&info).is_ok());
    info[3..35].copy_from_slice(&[0; 32]);
    info[3] = 1;
    assert_eq!(Answer::decode(&info), Err(LinkError::DecodeBadValue));
}

#[test]
fn error_numbers_are_stable_and_unique() {
    let mut seen = std::collections::BTreeSet::new();
    for e in LinkError::ALL {
        assert!(seen.insert(e.code()), "{} repeats a number", e.name());
        assert_eq!(LinkError::from_code(e.code()), Some(*e));
    }
    assert_eq!(LinkError::FrameOrphan.code(), 7, "the firmware's Frame refusal detail");
}
