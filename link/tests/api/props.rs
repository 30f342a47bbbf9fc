//! Properties over arbitrary input: decoders and the reassembler never panic, every accepted
//! message re-encodes to its own bytes, and a session fed noise never admits.

use porter_link::{
    Answer, Buffers, Holder, Outcome, PhoneSession, Reassembler, Request, SessionConfig, Status,
    MAX_ANSWER_LEN, MAX_MESSAGE_LEN, MAX_REQUEST_LEN,
};
use porter_testkit::*;
use proptest::prelude::*;

proptest! {
    #[test]
    fn decoders_are_total_and_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..1200)) {
        let mut out = vec![0u8; 5000];
        if let Ok(r) = Request::decode(&bytes) {
            prop_assert_eq!(r.encode(&mut out).unwrap(), &bytes[..]);
        }
        if let Ok(a) = Answer::decode(&bytes) {
            prop_assert_eq!(a.encode(&mut out).unwrap(), &bytes[..]);
        }
    }

    #[test]
    fn the_reassembler_is_total(
        mtu in 20usize..=255,
        fragments in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..260), 0..40),
    ) {
        let mut r = Reassembler::new(vec![0u8; MAX_MESSAGE_LEN], mtu);
        for (i, f) in fragments.iter().enumerate() {
            let _ = r.push(f, i as u64);
            prop_assert!(r.message().len() <= MAX_MESSAGE_LEN);
        }
    }

    #[test]
    fn a_session_fed_noise_never_admits(
        noise in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..30),
    ) {
        let s = Site::new();
        let grant = s.seal_grant(&s.grant_body(10, 1));
        let cert = s.seal_cert(&s.certificate_body());
        let mut cfg = SessionConfig::new(&grant, &cert);
        cfg.device_key = Some(key(4).public_key());
        cfg.log_from = Some(0);
        let (mut req, mut ans, mut log) = (vec![0; MAX_REQUEST_LEN], vec![0; MAX_ANSWER_LEN], vec![0; 512]);
        let mut session = PhoneSession::new(
            cfg,
            Holder::Key(&s.holder),
            Buffers { request: &mut req, answer: &mut ans, log: &mut log },
            0,
        );
        let mut out = [0u8; 255];
        let mut now = 0;
        let mut id = 0;
        for n in &noise {
            while session.transmit(now, &mut out).is_some() {
                id = out[0];
            }
            // a well-framed answer to the current request, with an arbitrary body
            if !n.is_empty() {
                let mut f = vec![id, 0, 1];
                f.extend_from_slice(&(n.len() as u16).to_le_bytes());
                f.extend_from_slice(n);
                session.receive(now, &f);
            }
            session.receive(now, n);
            now += 700;
            session.tick(now);
        }
        prop_assert_ne!(session.status(), Status::Done(Outcome::Admitted));
        prop_assert!(session.receipt().is_none());
    }
}

#[test]
fn the_session_fits_a_phone_stack() {
    let size = std::mem::size_of::<PhoneSession<'static, 'static, 'static>>();
    println!("PhoneSession: {size} bytes (buffers are the caller's)");
    assert!(size <= 1024, "{size}");
}
