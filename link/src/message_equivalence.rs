//! [`Answer::encode`] (one head and one tail through one [`Out`]) against the per-variant
//! encoder it replaced, kept here as the reference: every answer type, with fields and embedded
//! messages of every length around their bounds, into output buffers of every size, must give
//! the same bytes or the same error.

extern crate std;

use std::vec::Vec;

use porter_protocol::{Challenge, Coarse, DoorId, PublicKey, SiteId, Time};
use proptest::prelude::*;

use super::*;

/// The encoder before the one-writer rewrite, verbatim.
fn reference_encode<'b>(answer: &Answer<'_>, out: &'b mut [u8]) -> Result<&'b [u8], LinkError> {
    let w = Out::new(out);
    let w = match *answer {
        Answer::Info(i) => w
            .put(&[kind::A_INFO, i.version, u8::from(i.enrolled)])?
            .put(&i.device_key.0)?
            .put(&i.site.0.to_le_bytes())?
            .put(&i.door.0.to_le_bytes())?
            .put(&i.log_length.to_le_bytes())?
            .put(&i.boot_count.to_le_bytes())?,
        Answer::Enrolled => w.put(&[kind::A_ENROLLED])?,
        Answer::Challenge(b, _) => {
            w.put(&[kind::A_CHALLENGE])?.put(bounded(b, MAX_CHALLENGE_LEN)?)?
        }
        Answer::Admitted(r) => w.put(&[kind::A_ADMITTED])?.put(bounded(r, MAX_RECEIPT_LEN)?)?,
        Answer::Denied { coarse, sequence } => {
            w.put(&[kind::A_DENIED, coarse_code(coarse)])?.put(&sequence.to_le_bytes())?
        }
        Answer::State(s) => w.put(&[kind::A_STATE])?.put(&s.to_le_bytes())?,
        Answer::Log(records) => w.put(&[kind::A_LOG, records.count])?.put(records.bytes)?,
        Answer::Head(h) => w.put(&[kind::A_HEAD])?.put(bounded(h, MAX_SIGNED_HEAD_LEN)?)?,
        Answer::Acked(n) => w.put(&[kind::A_ACKED])?.put(&n.to_le_bytes())?,
        Answer::Refused(r) => w
            .put(&[kind::A_REFUSED, r.refusal as u8])?
            .put(&r.detail.to_le_bytes())?
            .put(&r.retry_ms.to_le_bytes())?,
    };
    w.done()
}

const REFUSALS: [Refusal; 11] = [
    Refusal::Malformed,
    Refusal::NotEnrolled,
    Refusal::AlreadyEnrolled,
    Refusal::Busy,
    Refusal::BackOff,
    Refusal::LockedOut,
    Refusal::NoChallenge,
    Refusal::Rejected,
    Refusal::Fault,
    Refusal::Frame,
    Refusal::EnrolmentClosed,
];

const COARSE: [Coarse; 4] = [Coarse::Malformed, Coarse::Denied, Coarse::Expired, Coarse::Spent];

/// Lengths around every bound an answer checks (empty, the bounds, one past).
fn length() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(1),
        Just(MAX_CHALLENGE_LEN),
        Just(MAX_CHALLENGE_LEN + 1),
        Just(MAX_RECEIPT_LEN),
        Just(MAX_RECEIPT_LEN + 1),
        Just(MAX_SIGNED_HEAD_LEN),
        Just(MAX_SIGNED_HEAD_LEN + 1),
        0usize..MAX_ANSWER_LEN + 2,
    ]
}

/// Encodes the `pick`th answer type from the drawn fields with both encoders, into buffers of
/// every size up to the answer's length and one more, and compares.
fn check(pick: u8, words: [u64; 4], key: [u8; 32], body: &[u8]) {
    let challenge = Challenge::new(SiteId(1), DoorId(2), [3; 16], Time(4));
    let records = LogRecords { count: words[0] as u8, bytes: body };
    let answer = match pick % 10 {
        0 => Answer::Info(Info {
            version: words[0] as u8,
            enrolled: words[0] & 0x100 != 0,
            device_key: PublicKey(key),
            site: SiteId(words[1] as u32),
            door: DoorId(words[2] as u16),
            log_length: words[3],
            boot_count: (words[1] >> 32) as u32,
        }),
        1 => Answer::Enrolled,
        2 => Answer::Challenge(body, challenge),
        3 => Answer::Admitted(body),
        4 => Answer::Denied { coarse: COARSE[words[0] as usize % 4], sequence: words[1] },
        5 => Answer::State(words[0]),
        6 => Answer::Log(records),
        7 => Answer::Head(body),
        8 => Answer::Acked(words[0]),
        _ => Answer::Refused(Refused {
            refusal: REFUSALS[words[0] as usize % REFUSALS.len()],
            detail: words[1] as u16,
            retry_ms: words[2] as u32,
        }),
    };
    let full = 2 + INFO_ANSWER_LEN + body.len();
    let mut new_buf = std::vec![0u8; full];
    let mut old_buf = std::vec![0u8; full];
    for cap in (0..=full).rev() {
        let new = answer.encode(&mut new_buf[..cap]).map(<[u8]>::to_vec);
        let old = reference_encode(&answer, &mut old_buf[..cap]).map(<[u8]>::to_vec);
        assert_eq!(new, old, "{answer:?} into {cap} bytes");
    }
}

#[test]
fn every_answer_type_encodes_as_before_at_its_bounds() {
    for pick in 0..10 {
        for len in [0, 1, 63, 64, 65, MAX_RECEIPT_LEN, MAX_RECEIPT_LEN + 1, 300] {
            let body: Vec<u8> = (0..len).map(|i| i as u8).collect();
            check(pick, [u64::MAX, 1 << 40, 7, 0], [0xaa; 32], &body);
        }
    }
}

proptest! {
    /// Issue 14, item 7: the one-writer answer encoder writes what the per-variant one wrote.
    #[test]
    fn answers_encode_as_the_per_variant_encoder_did(
        pick in any::<u8>(),
        words in any::<[u64; 4]>(),
        key in any::<[u8; 32]>(),
        len in length(),
        fill in any::<u8>(),
    ) {
        let body: Vec<u8> = (0..len).map(|i| fill.wrapping_add(i as u8)).collect();
        check(pick, words, key, &body);
    }
}
