//! Fragment framing and reassembly: every MTU round-trips every length; every malformed
//! sequence is refused with its own error, and the receiver recovers at the next fragment 0.

use porter_link::frame::{
    for_each_fragment, fragment, fragment_count, stream_prefix, MAX_MTU, MIN_MTU,
};
use porter_link::{LinkError, Progress, Reassembler, StreamDecoder, MAX_MESSAGE_LEN};

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

fn rx(mtu: usize) -> Reassembler<Vec<u8>> {
    Reassembler::new(vec![0; MAX_MESSAGE_LEN], mtu)
}

#[test]
fn every_mtu_round_trips_short_and_longest_messages() {
    for mtu in [MIN_MTU, 21, 23, 64, 185, 244, MAX_MTU] {
        for len in [1, 2, mtu - 5, mtu - 4, mtu, 1000, MAX_MESSAGE_LEN] {
            let message: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let fs = fragments(9, &message, mtu);
            assert_eq!(fs.len(), fragment_count(len, mtu), "mtu {mtu} len {len}");
            assert!(fs.len() <= 256);
            let mut r = rx(mtu);
            for (i, f) in fs.iter().enumerate() {
                assert!(f.len() <= mtu);
                let p = r.push(f, 0).unwrap();
                if i + 1 == fs.len() {
                    assert_eq!(p, Progress::Complete { id: 9, len });
                } else {
                    assert_eq!(p, Progress::Partial);
                }
            }
            assert_eq!(r.message(), &message[..]);
        }
    }
}

#[test]
fn the_byte_format_is_the_firmwares() {
    // id, index, flags (last), length u16 LE, data
    let fs = fragments(0x40, &[0x03], 244);
    assert_eq!(fs, vec![vec![0x40, 0, 1, 1, 0, 0x03]]);
    let fs = fragments(7, &[0xAA; 20], 20);
    assert_eq!(fs[0][..5], [7, 0, 0, 20, 0]);
    assert_eq!(fs[1][..3], [7, 1, 1]);
    assert_eq!(fs[1].len(), 3 + 5);
}

#[test]
fn mtus_outside_the_range_are_refused() {
    assert_eq!(for_each_fragment::<()>(0, &[1], MIN_MTU - 1, |_| Ok(())), Err(LinkError::BadMtu));
    assert_eq!(for_each_fragment::<()>(0, &[1], MAX_MTU + 1, |_| Ok(())), Err(LinkError::BadMtu));
    assert_eq!(
        for_each_fragment::<()>(0, &vec![0; MAX_MESSAGE_LEN + 1], 244, |_| Ok(())),
        Err(LinkError::FrameOversized)
    );
    assert_eq!(fragment(0, &[1], 244, 1, &mut [0; 255]), None);
}

fn error(r: &mut Reassembler<Vec<u8>>, f: &[u8]) -> LinkError {
    r.push(f, 0).unwrap_err().error
}

#[test]
fn malformed_sequences_are_refused_each_with_its_error() {
    let msg: Vec<u8> = (0..100).collect();
    let fs = fragments(1, &msg, 40);
    let mut r = rx(40);
    assert_eq!(error(&mut r, &[1, 0]), LinkError::FrameBadFragment, "short header");
    assert_eq!(error(&mut r, &[1, 0, 2, 1, 0, 5]), LinkError::FrameBadFragment, "flag bits");
    assert_eq!(error(&mut r, &[1, 0, 1, 1]), LinkError::FrameBadFragment, "no length");
    assert_eq!(error(&mut r, &[1; 41]), LinkError::FrameBadFragment, "above the MTU");
    assert_eq!(error(&mut r, &[2, 0, 1, 0, 0]), LinkError::FrameOversized, "length 0");
    assert_eq!(error(&mut r, &[2, 0, 1, 0x51, 0x10]), LinkError::FrameOversized, "4177");
    assert_eq!(error(&mut r, &[3, 1, 1, 5]), LinkError::FrameOrphan);
    r.push(&fs[0], 0).unwrap();
    assert_eq!(error(&mut r, &fs[2]), LinkError::FrameOutOfOrder, "lost fragment");
    r.push(&fs[0], 0).unwrap();
    let mut other = fs[1].clone();
    other[0] = 2;
    assert_eq!(error(&mut r, &other), LinkError::FrameInterleaved);
    r.push(&fs[0], 0).unwrap();
    let mut early = fs[1].clone();
    early[2] = 1;
    assert_eq!(error(&mut r, &early), LinkError::FrameTruncated);
    r.push(&fs[0], 0).unwrap();
    r.push(&fs[1], 0).unwrap();
    let mut long = fs[2].clone();
    long.extend_from_slice(&[0; 5]);
    assert_eq!(error(&mut r, &long), LinkError::FrameOversized, "more than announced");
    r.push(&fs[0], 0).unwrap();
    assert_eq!(error(&mut r, &[1, 1, 0]), LinkError::FrameBadFragment, "empty middle fragment");
    r.push(&fs[0], 0).unwrap();
    assert_eq!(r.expire(3_001, 3_000), Err(LinkError::FrameTimeout));
    // and it recovers
    for f in &fs {
        r.push(f, 0).unwrap();
    }
    assert_eq!(r.message(), &msg[..]);
}

#[test]
fn a_broken_message_is_refused_once() {
    let fs = fragments(5, &[7; 150], 40);
    let mut r = rx(40);
    r.push(&fs[0], 0).unwrap();
    let first = r.push(&fs[2], 0).unwrap_err();
    assert!(first.first);
    assert_eq!(first.id, Some(5));
    let again = r.push(&fs[3], 0).unwrap_err();
    assert!(!again.first, "later fragments of the same message are quiet");
}

#[test]
fn a_small_buffer_bounds_the_message() {
    let mut r = Reassembler::new(vec![0u8; 50], 244);
    assert_eq!(
        r.push(&fragments(1, &[0; 51], 244)[0], 0).unwrap_err().error,
        LinkError::FrameOversized
    );
    assert!(matches!(r.push(&fragments(2, &[0; 50], 244)[0], 0), Ok(Progress::Complete { .. })));
}

#[test]
fn streams_carry_fragments_behind_a_length_byte() {
    let fs = fragments(3, &[9; 600], 255);
    let mut bytes = vec![0u8]; // a stray zero is skipped
    for f in &fs {
        bytes.push(stream_prefix(f).unwrap());
        bytes.extend_from_slice(f);
    }
    let mut d = StreamDecoder::new();
    let mut got = Vec::new();
    for b in bytes {
        if let Some(f) = d.push(b) {
            got.push(f.to_vec());
        }
    }
    assert_eq!(got, fs);
    assert_eq!(stream_prefix(&[]), None);
    assert_eq!(stream_prefix(&[0; 256]), None);
}

#[test]
fn the_door_end_answers_under_the_request_id_and_refuses_once() {
    use porter_link::{DoorEvent, DoorLink, Refusal};
    let mut door = DoorLink::new(40);
    let fs = fragments(0x33, &[7; 150], 40);
    assert_eq!(door.push(&fs[0], 0), DoorEvent::Nothing);
    match door.push(&fs[2], 1) {
        DoorEvent::Refuse(0x33, r) => {
            assert_eq!((r.refusal, r.detail), (Refusal::Frame, LinkError::FrameOutOfOrder.code()))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(door.push(&fs[3], 2), DoorEvent::Nothing, "the rest of it is quiet");
    for f in &fs {
        let e = door.push(f, 3);
        if f[2] == 1 {
            assert_eq!(e, DoorEvent::Request(0x33));
        }
    }
    assert_eq!(door.request(), &[7; 150][..]);
    let mut sent = Vec::new();
    door.send::<()>(0x33, &[0x82], |f| {
        sent.push(f.to_vec());
        Ok(())
    })
    .unwrap();
    assert_eq!(sent, vec![vec![0x33, 0, 1, 1, 0, 0x82]]);
    door.push(&fs[0], 10);
    match door.expire(3_011, 3_000) {
        Some(DoorEvent::Refuse(0x33, r)) => assert_eq!(r.detail, LinkError::FrameTimeout.code()),
        other => panic!("{other:?}"),
    }
    assert_eq!(door.expire(9_000, 3_000), None);
}

#[test]
fn a_timed_out_message_is_refused_once_and_its_late_fragments_are_quiet() {
    use porter_link::{DoorEvent, DoorLink};
    let mut door = DoorLink::new(40);
    let fs = fragments(0x21, &[5; 150], 40);
    assert_eq!(door.push(&fs[0], 0), DoorEvent::Nothing);
    assert!(matches!(door.expire(3_001, 3_000), Some(DoorEvent::Refuse(0x21, _))));
    // The rest of the expired message arrives late: no second refusal for it.
    assert_eq!(door.push(&fs[1], 3_002), DoorEvent::Nothing);
    assert_eq!(door.push(&fs[2], 3_003), DoorEvent::Nothing);
    // A continuation of another message with nothing in progress is still refused.
    assert!(matches!(
        door.push(&fragments(0x22, &[5; 150], 40)[1], 3_004),
        DoorEvent::Refuse(0x22, _)
    ));
    // The whole message sent again is taken.
    let mut last = DoorEvent::Nothing;
    for f in &fs {
        last = door.push(f, 3_005);
    }
    assert_eq!(last, DoorEvent::Request(0x21));
}

#[test]
fn the_door_buffer_doubles_as_scratch_and_forgets_the_partial_request() {
    use porter_link::{DoorEvent, DoorLink};
    let mut door = DoorLink::new(40);
    let fs = fragments(0x31, &[6; 150], 40);
    door.push(&fs[0], 0);
    let scratch = door.scratch();
    assert_eq!(scratch.len(), MAX_MESSAGE_LEN);
    scratch.fill(0xAB);
    assert!(matches!(door.push(&fs[1], 1), DoorEvent::Refuse(0x31, _)), "nothing in progress");
    let mut last = DoorEvent::Nothing;
    for f in &fs {
        last = door.push(f, 2);
    }
    assert_eq!(last, DoorEvent::Request(0x31));
    assert_eq!(door.request(), &[6; 150][..]);
}

#[test]
fn a_stream_decoder_says_when_it_waits_for_a_length_byte() {
    let mut d = StreamDecoder::new();
    assert!(d.idle());
    assert_eq!(d.push(2), None);
    assert!(!d.idle());
    assert_eq!(d.push(7), None);
    assert!(!d.idle());
    assert_eq!(d.push(8), Some(&[7u8, 8][..]));
    assert!(d.idle());
}
