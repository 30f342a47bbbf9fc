//! Property: whatever fragments a phone sends (random bytes, random headers, real requests,
//! presentations recorded for other challenges), the relay never moves without a valid
//! presentation for the door's current challenge, and the door keeps answering.

use proptest::prelude::*;

use porter_device::MTU;
use porter_link::kind;

use super::door::*;
use super::fixture::*;

#[derive(Clone, Debug)]
enum Op {
    /// Any bytes as a fragment.
    Raw(Vec<u8>),
    /// A fragment with a plausible header and random data.
    Framed { id: u8, index: u8, last: bool, len: u16, data: Vec<u8> },
    /// A whole request of a random type and body.
    Request(u8, Vec<u8>),
    /// Ask for a challenge.
    Challenge,
    /// A valid presentation recorded for an earlier challenge, possibly bit-flipped.
    Recorded { flip: Option<(usize, u8)> },
    /// Time passes.
    Wait(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..MTU + 8).prop_map(Op::Raw),
        (
            any::<u8>(),
            0u8..4,
            any::<bool>(),
            0u16..5000,
            prop::collection::vec(any::<u8>(), 0..240)
        )
            .prop_map(|(id, index, last, len, data)| Op::Framed {
                id,
                index,
                last,
                len,
                data
            }),
        (1u8..9, prop::collection::vec(any::<u8>(), 0..64)).prop_map(|(t, b)| Op::Request(t, b)),
        Just(Op::Challenge),
        prop::option::of((any::<usize>(), 1u8..=255)).prop_map(|flip| Op::Recorded { flip }),
        any::<u16>().prop_map(Op::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_frames_never_unlock(ops in prop::collection::vec(op(), 1..40)) {
        let (mut door, site) = Door::enrolled(patient());
        // A presentation made for a challenge the door issued and then forgot.
        let old = door.challenge().unwrap();
        door.advance_ms(31_000);
        let cert = site.seal_cert(&site.certificate_body());
        let grant = site.seal_grant(&site.grant_body(10, 1));
        let recorded = site.present(&old, &grant, &cert, None);
        for op in ops {
            match op {
                Op::Raw(bytes) => door.t.send_fragment(&bytes),
                Op::Framed { id, index, last, len, data } => {
                    let mut f = vec![id, index, u8::from(last)];
                    if index == 0 {
                        f.extend_from_slice(&len.to_le_bytes());
                    }
                    f.extend_from_slice(&data);
                    f.truncate(MTU);
                    door.t.send_fragment(&f);
                }
                Op::Request(request_kind, body) => {
                    let mut m = vec![request_kind];
                    m.extend_from_slice(&body);
                    for f in door.phone.fragments(&m) {
                        door.t.send_fragment(&f);
                    }
                }
                Op::Challenge => {
                    for f in door.phone.fragments(&[kind::CHALLENGE]) {
                        door.t.send_fragment(&f);
                    }
                }
                Op::Recorded { flip } => {
                    let mut m = vec![kind::PRESENT];
                    m.extend_from_slice(&recorded);
                    if let Some((at, mask)) = flip {
                        let i = 1 + at % recorded.len();
                        m[i] ^= mask;
                    }
                    for f in door.phone.fragments(&m) {
                        door.t.send_fragment(&f);
                    }
                }
                Op::Wait(ms) => door.h.clock.advance_ms(u64::from(ms)),
            }
            door.c.poll();
            prop_assert_eq!(door.h.lock.pulses(), 0);
            while door.t.take_fragment().is_some() {}
        }
        prop_assert!(door.c.fault().is_none());
        // Still a working door: the log chains and a valid attempt is admitted.
        door.log();
        door.advance_ms(31_000);
        door.h.clock.set_rtc(NOON);
        let v = door.attempt_grant(&site, &site.grant_body(20, 1));
        prop_assert!(matches!(v, Verdict::Admitted(_)), "{:?}", v);
    }
}

fn used_image() -> Vec<u8> {
    let (mut door, site) = Door::enrolled(patient());
    for serial in 10..14 {
        door.attempt_grant(&site, &site.grant_body(serial, 1));
    }
    door.send_state(&site.seal_state(&site.state(1, NOON))).unwrap();
    door.c.into_flash().image().to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever the flash holds (a used image with random bytes flipped, or bits cleared as a
    /// failing NOR cell would), the door boots without panicking, and either works or refuses
    /// everything; it never admits a grant it had already spent.
    #[test]
    fn any_flash_content_boots_and_fails_closed(
        flips in prop::collection::vec(
            prop_oneof![
                // Anywhere in the 64 KiB.
                (0usize..16 * 4096, 1u8..=255),
                // In the used start of each ring's first page (identity, door state, replay,
                // audit), where the records are.
                ((0usize..4, 0usize..1200), 1u8..=255)
                    .prop_map(|((ring, at), mask)| ([0, 2, 4, 8][ring] * 4096 + at, mask)),
            ],
            1..8,
        ),
    ) {
        let mut image = used_image();
        for (at, mask) in flips {
            image[at] ^= mask;
        }
        let h = porter_device::sim::Handles::new(NOON, 9);
        let mut door = Door::boot_on(porter_device::sim::SimFlash::from_image(image, 4096), h, patient());
        let info = door.call(&[kind::INFO]);
        prop_assert_eq!(info[0], kind::A_INFO);
        if door.c.fault().is_none() && door.c.enrolled() {
            let site = Site::new();
            // Serial 10 was spent before the damage: it must not open the door now, unless the
            // damage erased the whole replay memory, which a CRC-checked ring never yields.
            let v = door.attempt_grant(&site, &site.grant_body(10, 1));
            prop_assert!(!matches!(v, Verdict::Admitted(_)), "a spent grant admitted after corruption");
        }
    }
}
