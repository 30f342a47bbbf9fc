//! Scenario tests on the simulator: commissioning, admission, every rejection reason, back-off,
//! alarms, clock and door-state rollback.

use porter_device::wire::Refusal;
use porter_device::{Settings, Signal};
use porter_protocol::*;

use super::door::*;
use super::fixture::*;

#[test]
fn first_boot_makes_a_key_and_refuses_grants_until_enrolled() {
    let site = Site::new();
    let mut door = Door::new(Settings::default());
    assert!(!door.c.enrolled());
    let device = door.c.device_key();
    device.validate().expect("a strong device key");
    assert_eq!(door.challenge(), Err(Verdict::Refused(Refusal::NotEnrolled, 0, 0)));
    let (ch, p) = site.valid(10, 1, 1);
    let _ = ch;
    assert_eq!(door.present(&p), Verdict::Refused(Refusal::NotEnrolled, 0, 0));
    assert_eq!(door.c.releases(), 0);

    // The key survives a reboot and is not made again.
    let mut door = door.reboot();
    assert_eq!(door.c.device_key(), device);
    assert_eq!(door.c.boot_count(), 2);

    // An enrolment signed by another key, or for another device, is refused.
    let other = Site { root: key(9), ..Site::new() };
    let forged = door.enrolment_bytes(&other, NOON);
    let refused = door.enrol_with(&site.root.public_key(), &forged).unwrap_err();
    assert_eq!(parse_verdict(&refused), Verdict::Refused(Refusal::Rejected, Error::EnrolmentBadSignature.code(), 0));
    let e = Enrolment { version: VERSION, site: SITE, door: DOOR, device: key(5).public_key(), issued_at: NOON };
    let mut buf = [0u8; MAX_ENROLMENT_LEN];
    let wrong_device = e.seal(&site.root, &mut buf).unwrap().to_vec();
    let refused = door.enrol_with(&site.root.public_key(), &wrong_device).unwrap_err();
    assert_eq!(parse_verdict(&refused), Verdict::Refused(Refusal::Rejected, Error::EnrolmentMismatch.code(), 0));

    door.enrol(&site).unwrap();
    assert!(door.c.enrolled());
    let again = door.enrol(&site).unwrap_err();
    assert_eq!(parse_verdict(&again), Verdict::Refused(Refusal::AlreadyEnrolled, 0, 0));
    let mut door = door.reboot();
    assert!(door.c.enrolled());
    assert_eq!(door.events(), vec![AuditEvent::Enrolled, AuditEvent::Boot]);
}

#[test]
fn an_admission_releases_the_relay_after_the_spend_and_returns_a_signed_receipt() {
    let (mut door, site) = Door::enrolled(Settings::default());
    let verdict = door.attempt_grant(&site, &site.grant_body(10, 1));
    let Verdict::Admitted(receipt) = verdict else { panic!("{verdict:?}") };
    let record = AuditRecord::decode_receipt(&receipt, &door.c.device_key()).expect("device-signed");
    assert!(matches!(record.event, AuditEvent::Admitted { grant_serial: 10, use_index: 0, .. }));
    assert!(door.h.lock.released());
    assert_eq!(door.h.lock.pulses(), 1);
    assert_eq!(door.h.indicator.current(), Some(Signal::Admitted));
    // The receipt's record is the log's last record, byte for byte.
    let log = door.log();
    assert_eq!(log.last(), Some(&record));
    // The spend was durable before the relay moved: it is in flash now.
    let replay = door.c.storage().replay().unwrap().expect("a replay record");
    assert_eq!(replay.replay.issuers(), 1);

    door.advance_ms(u64::from(door.settings.unlock_ms) - 1);
    assert!(door.h.lock.released());
    door.advance_ms(1);
    assert!(!door.h.lock.released());

    // Spent: a second attempt with the same grant is refused and logged with its reason.
    let again = door.attempt_grant(&site, &site.grant_body(10, 1));
    assert!(matches!(again, Verdict::Denied { coarse: 4, .. }), "{again:?}");
    assert_eq!(door.last_reason(), Some(Error::ReplayDuplicate.code()));
    assert_eq!(door.h.lock.pulses(), 1);
    // And after a power cycle too.
    let mut door = door.reboot();
    door.attempt_grant(&site, &site.grant_body(10, 1));
    assert_eq!(door.last_reason(), Some(Error::ReplayDuplicate.code()));
    assert_eq!(door.h.lock.pulses(), 1);
}

#[test]
fn one_attempt_at_a_time_and_a_fresh_challenge_each() {
    let (mut door, site) = Door::enrolled(Settings::default());
    let first = door.challenge().unwrap();
    assert!(matches!(door.challenge(), Err(Verdict::Refused(Refusal::Busy, 0, _))));
    // A presentation answers its challenge once.
    let cert = site.seal_cert(&site.certificate_body());
    let grant = site.seal_grant(&site.grant_body(10, 2));
    let p = site.present(&first, &grant, &cert, None);
    assert!(matches!(door.present(&p), Verdict::Admitted(_)));
    assert_eq!(door.present(&p), Verdict::Refused(Refusal::NoChallenge, 0, 0));
    // The same bytes against the next challenge fail the holder's proof.
    let second = door.challenge().unwrap();
    assert_ne!(first.nonce, second.nonce);
    assert!(matches!(door.present(&p), Verdict::Denied { .. }));
    assert_eq!(door.last_reason(), Some(Error::ProofBadSignature.code()));
    // Nonces never repeat, across reboots either.
    let mut nonces = std::collections::HashSet::new();
    nonces.insert(first.nonce);
    nonces.insert(second.nonce);
    let mut door = door.reboot();
    for _ in 0..3 {
        let ch = door.challenge().unwrap();
        assert!(nonces.insert(ch.nonce));
        door.advance_ms(31_000);
    }
}

#[test]
fn an_unanswered_challenge_expires_and_is_logged_as_a_failed_attempt() {
    let (mut door, site) = Door::enrolled(Settings::default());
    let ch = door.challenge().unwrap();
    // Answerable for the whole lifetime, inclusive, as the protocol's check.
    door.advance_ms(30_000);
    assert_eq!(door.last_reason(), None);
    door.advance_ms(1);
    assert_eq!(door.last_reason(), Some(Error::ChallengeExpired.code()));
    assert_eq!(door.c.failures(), 1);
    let cert = site.seal_cert(&site.certificate_body());
    let grant = site.seal_grant(&site.grant_body(10, 1));
    let late = site.present(&ch, &grant, &cert, None);
    assert_eq!(door.present(&late), Verdict::Refused(Refusal::NoChallenge, 0, 0));
    assert_eq!(door.h.lock.pulses(), 0);
}
