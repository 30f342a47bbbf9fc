//! Scenario tests on the simulator: commissioning, admission, every rejection reason, back-off,
//! alarms, clock and door-state rollback.

use porter_device::{Settings, Signal};
use porter_link::Refusal;
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
    assert_eq!(
        parse_verdict(&refused),
        Verdict::Refused(Refusal::Rejected, Error::EnrolmentBadSignature.code(), 0)
    );
    let e = Enrolment {
        version: VERSION,
        site: SITE,
        door: DOOR,
        device: key(5).public_key(),
        issued_at: NOON,
        log_key: None,
    };
    let mut buf = [0u8; MAX_ENROLMENT_LEN];
    let wrong_device = e.seal(&site.root, &mut buf).unwrap().to_vec();
    let refused = door.enrol_with(&site.root.public_key(), &wrong_device).unwrap_err();
    assert_eq!(
        parse_verdict(&refused),
        Verdict::Refused(Refusal::Rejected, Error::EnrolmentMismatch.code(), 0)
    );

    door.enrol(&site).unwrap();
    assert!(door.c.enrolled());
    let again = door.enrol(&site).unwrap_err();
    assert_eq!(parse_verdict(&again), Verdict::Refused(Refusal::AlreadyEnrolled, 0, 0));
    let mut door = door.reboot();
    assert!(door.c.enrolled());
    assert_eq!(door.events(), vec![AuditEvent::Enrolled, AuditEvent::Boot]);
}

#[test]
fn an_unenrolled_door_takes_an_enrolment_only_within_the_installer_buttons_window() {
    // Issue 8, item 8: an unenrolled door used to be claimed by the first enrolment it heard,
    // for any root. Now it takes one only within the window a press of the button opens.
    let settings = Settings::default();
    let site = Site::new();
    let mut door = Door::new(settings);
    let thief = Site { root: key(77), ..Site::new() };
    let thiefs = door.enrolment_bytes(&thief, NOON);
    let closed = Verdict::Refused(Refusal::EnrolmentClosed, 0, 0);
    let refused = door.send_enrolment(&thief.root.public_key(), &thiefs).unwrap_err();
    assert_eq!(parse_verdict(&refused), closed);
    assert!(!door.c.enrolled());
    // Holding the button down does not open it again and again: a press does, for 10 minutes.
    door.press_button();
    door.advance_ms(u64::from(settings.enrol_window_ms));
    let refused = door.send_enrolment(&thief.root.public_key(), &thiefs).unwrap_err();
    assert_eq!(parse_verdict(&refused), closed, "the window has closed");
    // A reboot does not open it either (nothing is persisted).
    let mut door = door.reboot();
    let ours = door.enrolment_bytes(&site, NOON.minus(3600));
    let refused = door.send_enrolment(&site.root.public_key(), &ours).unwrap_err();
    assert_eq!(parse_verdict(&refused), closed);
    // The installer presses the button: the enrolment is taken, and the window closes with it.
    door.press_button();
    door.advance_ms(u64::from(settings.enrol_window_ms) - 1);
    door.send_enrolment(&site.root.public_key(), &ours).unwrap();
    assert!(door.c.enrolled());
    assert_eq!(door.c.config().unwrap().root, site.root.public_key());
    assert!(door.events().contains(&AuditEvent::Enrolled));
}

#[test]
fn the_log_read_over_the_radio_does_not_link_a_holders_visits() {
    // Issue 8, item 9: anyone in radio range reads the log; the holder key ids in it linked a
    // driver's visits. Now each is masked per record; only the site server unmasks it.
    let (mut door, site) = Door::enrolled(patient());
    let Verdict::Admitted(receipt) = door.attempt_grant(&site, &site.grant_body(10, 2)) else {
        panic!("admitted")
    };
    door.attempt_grant(&site, &site.grant_body(10, 2));
    let holder = site.holder.public_key().id();
    let admitted: Vec<AuditRecord> =
        door.log().into_iter().filter(|r| matches!(r.event, AuditEvent::Admitted { .. })).collect();
    assert_eq!(admitted.len(), 2);
    let ids: Vec<KeyId> = admitted
        .iter()
        .map(|r| match r.event {
            AuditEvent::Admitted { holder, .. } => holder,
            _ => unreachable!(),
        })
        .collect();
    assert!(!ids.contains(&holder), "the holder's key id is not in the log in clear");
    assert_ne!(ids[0], ids[1], "two visits of one holder look unrelated");
    // The receipt is the same record: masked too.
    let r = AuditRecord::decode_receipt(&receipt, &door.c.device_key()).unwrap();
    assert_eq!(r, admitted[0]);
    // The site's server unmasks both.
    let mask = LogMask::for_server(&log_secret(), &door.c.device_key()).unwrap();
    assert_eq!(admitted[0].holder(&mask), Some(holder));
    assert_eq!(admitted[1].holder(&mask), Some(holder));
    // The mask survives a reboot (derived again from the stored enrolment).
    let mut door = door.reboot();
    door.attempt_grant(&site, &site.grant_body(11, 1));
    let last = door.log().into_iter().rfind(|r| matches!(r.event, AuditEvent::Admitted { .. }));
    assert_eq!(last.unwrap().holder(&mask), Some(holder));
}

#[test]
fn an_admission_releases_the_relay_after_the_spend_and_returns_a_signed_receipt() {
    let (mut door, site) = Door::enrolled(Settings::default());
    let verdict = door.attempt_grant(&site, &site.grant_body(10, 1));
    let Verdict::Admitted(receipt) = verdict else { panic!("{verdict:?}") };
    let record =
        AuditRecord::decode_receipt(&receipt, &door.c.device_key()).expect("device-signed");
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
    // Asked again while it is outstanding (the answer may have been lost): the same challenge,
    // not `Busy` (`spec/link.md` 6), and still one attempt.
    door.advance_ms(1_000);
    assert_eq!(door.challenge(), Ok(first));
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
    // It cost no signature: it does not count toward back-off.
    assert_eq!(door.c.failures(), 0);
    let cert = site.seal_cert(&site.certificate_body());
    let grant = site.seal_grant(&site.grant_body(10, 1));
    let late = site.present(&ch, &grant, &cert, None);
    assert_eq!(door.present(&late), Verdict::Refused(Refusal::NoChallenge, 0, 0));
    assert_eq!(door.h.lock.pulses(), 0);
}

fn garbage_attempt(door: &mut Door) -> Verdict {
    door.attempt(|_| vec![0xFF; 40])
}

/// Presents `p` for the outstanding challenge; if the door backs off, waits as told (checking
/// the wait is within `cap`) and presents the same bytes again. Returns the verdict and the wait.
fn present_patiently(door: &mut Door, p: &[u8], cap: u32) -> (Verdict, Option<u32>) {
    match door.present(p) {
        Verdict::Refused(Refusal::BackOff, 0, wait) => {
            assert!(wait <= cap, "waited {wait} ms, more than the cap {cap}");
            door.advance_ms(u64::from(wait));
            (door.present(p), Some(wait))
        }
        v => (v, None),
    }
}

/// An attempt with the site's real certificate and a grant signed by a key that is not the
/// issuer's: it passes every cheap check and costs the door a signature check.
fn forged_grant_attempt(door: &mut Door, site: &Site, serial: u64) -> (Verdict, Option<u32>) {
    let forger = Site { issuer: key(66), ..Site::new() };
    let cert = site.seal_cert(&site.certificate_body());
    let forged = forger.seal_grant(&site.grant_body(serial, 1));
    let ch = door.challenge().expect("a challenge, even while backing off");
    let p = site.present(&ch, &forged, &cert, None);
    present_patiently(door, &p, door.settings.backoff_max_ms)
}

/// The site's holder with a valid grant, waiting out any back-off.
fn holder_attempt(door: &mut Door, site: &Site, serial: u64) -> (Verdict, Option<u32>) {
    let cert = site.seal_cert(&site.certificate_body());
    let grant = site.seal_grant(&site.grant_body(serial, 1));
    let ch = door.challenge().expect("a challenge, even while backing off");
    let p = site.present(&ch, &grant, &cert, None);
    present_patiently(door, &p, door.settings.backoff_max_ms)
}

#[test]
fn garbage_from_someone_without_a_credential_never_delays_a_holder() {
    // Issue 8, item 7: ten garbage attempts used to lock every holder out for 5 minutes,
    // across reboots. Garbage is refused by the cheap checks, which cost no signature.
    let settings = Settings::default();
    let (mut door, site) = Door::enrolled(settings);
    for _ in 0..50 {
        assert!(matches!(garbage_attempt(&mut door), Verdict::Denied { coarse: 1, .. }));
    }
    // Also garbage that is well formed: a grant for another door, an unanswered challenge.
    let mut other = site.grant_body(90, 1);
    other.doors = heapless::Vec::from_slice(&[DoorId(2)]).unwrap();
    for _ in 0..10 {
        assert!(matches!(door.attempt_grant(&site, &other), Verdict::Denied { .. }));
    }
    door.challenge().unwrap();
    door.advance_ms(31_000);
    assert_eq!(door.c.failures(), 0);
    assert!(!door.events().contains(&AuditEvent::Alarm(Alarm::Lockout)));
    // The holder is admitted at once, before and after a power cycle.
    assert!(matches!(door.attempt_grant(&site, &site.grant_body(10, 1)), Verdict::Admitted(_)));
    for _ in 0..20 {
        garbage_attempt(&mut door);
    }
    let mut door = door.reboot();
    assert!(matches!(door.attempt_grant(&site, &site.grant_body(11, 1)), Verdict::Admitted(_)));
    assert_eq!(door.h.lock.pulses(), 2);
}

#[test]
fn signature_failures_delay_only_the_next_signature_check_by_at_most_the_cap() {
    let settings = Settings::default();
    let (mut door, site) = Door::enrolled(settings);
    // The free failures, then 2 s, 4 s, 8 s, 8 s, ...: the wait never exceeds the cap.
    let mut waits = Vec::new();
    for serial in 0..40 {
        let (verdict, wait) = forged_grant_attempt(&mut door, &site, 100 + serial);
        assert!(matches!(verdict, Verdict::Denied { coarse: 2, .. }), "{verdict:?}");
        waits.extend(wait);
    }
    assert_eq!(&waits[..4], &[2_000, 4_000, 8_000, 8_000]);
    // Every failure after the free ones delays the next attempt.
    assert_eq!(waits.len(), 40 - settings.free_failures as usize - 1);
    assert_eq!(door.last_reason(), Some(Error::GrantBadSignature.code()));
    // The cap was reached once in this run: one alarm, not one per failure.
    let alarms = door.events().iter().filter(|e| **e == AuditEvent::Alarm(Alarm::Lockout)).count();
    assert_eq!(alarms, 1);

    // During the flood the door still answers challenges, and a holder who presents while it
    // backs off is told when to send the same presentation again: then it is admitted.
    let (verdict, wait) = holder_attempt(&mut door, &site, 10);
    assert!(matches!(verdict, Verdict::Admitted(_)), "{verdict:?}");
    assert_eq!(wait, Some(settings.backoff_max_ms));
    assert_eq!(door.c.failures(), 0, "an admission clears the back-off");

    // Across a power cycle the count survives (the log's tail), and the bound still holds.
    for serial in 0..6 {
        forged_grant_attempt(&mut door, &site, 300 + serial);
    }
    let failures = door.c.failures();
    assert_eq!(failures, 6);
    let mut door = door.reboot();
    assert_eq!(door.c.failures(), failures);
    let (verdict, wait) = holder_attempt(&mut door, &site, 11);
    assert!(matches!(verdict, Verdict::Admitted(_)), "{verdict:?}");
    assert!(wait.is_some_and(|w| w <= settings.backoff_max_ms));
    assert_eq!(door.h.lock.pulses(), 2);
}

#[test]
fn held_open_and_forced_open_raise_alarms() {
    let settings = Settings::default();
    let (mut door, site) = Door::enrolled(settings);
    // Forced: the door opens while the strike holds.
    door.h.sensor.set_open(true);
    door.c.poll();
    door.h.sensor.set_open(false);
    door.c.poll();
    assert_eq!(door.events().last(), Some(&AuditEvent::Alarm(Alarm::ForcedOpen)));

    // Admitted, opened during the pulse, then held open past the limit: one alarm.
    assert!(matches!(door.attempt_grant(&site, &site.grant_body(10, 1)), Verdict::Admitted(_)));
    door.h.sensor.set_open(true);
    door.c.poll();
    door.advance_ms(u64::from(settings.held_open_ms));
    assert!(!door.events().contains(&AuditEvent::Alarm(Alarm::HeldOpen)));
    door.advance_ms(1);
    door.advance_ms(10_000);
    let held = door.events().iter().filter(|e| **e == AuditEvent::Alarm(Alarm::HeldOpen)).count();
    assert_eq!(held, 1);
    assert_eq!(door.h.indicator.current(), Some(Signal::Alarm));
    // Closing and opening again normally after an admission raises nothing new.
    door.h.sensor.set_open(false);
    door.c.poll();
    let forced =
        door.events().iter().filter(|e| **e == AuditEvent::Alarm(Alarm::ForcedOpen)).count();
    assert_eq!(forced, 1);
}

#[test]
fn the_clock_never_runs_behind_the_signed_floor() {
    let (mut door, site) = Door::enrolled(Settings::default());
    let state = site.seal_state(&site.state(1, NOON.plus(100)));
    assert_eq!(door.send_state(&state), Ok(1));
    // The RTC resets to 1970.
    door.h.clock.set_rtc(Time(0));
    let ch = door.challenge().unwrap();
    assert_eq!(ch.issued_at, NOON.plus(100), "challenges use the floor, not the reset RTC");
    assert!(door.events().contains(&AuditEvent::Alarm(Alarm::ClockBehindFloor)));
    // A grant valid at the floor is admitted; the audit time is the floor.
    let cert = site.seal_cert(&site.certificate_body());
    let grant = site.seal_grant(&site.grant_body(10, 1));
    assert!(matches!(door.present(&site.present(&ch, &grant, &cert, None)), Verdict::Admitted(_)));
    assert_eq!(door.log().last().unwrap().at, NOON.plus(100));
    // The floor survives a power cycle with the RTC still wrong, and an expired grant stays
    // expired however far the RTC is set back.
    let mut door = door.reboot();
    assert_eq!(door.c.memory().unwrap().floor(), NOON.plus(100));
    let late = site.seal_state(&site.state(2, NOON.plus(86_400)));
    assert_eq!(door.send_state(&late), Ok(2));
    door.h.clock.set_rtc(NOON);
    door.attempt_grant(&site, &site.grant_body(11, 1));
    assert_eq!(door.last_reason(), Some(Error::GrantExpired.code()));
    assert_eq!(door.h.lock.pulses(), 1);
}

#[test]
fn door_state_never_rolls_back_from_any_phone_or_across_reboots() {
    let (mut door, site) = Door::enrolled(Settings::default());
    let mut revoking = site.state(5, NOON);
    revoking
        .deny
        .push(DenyEntry {
            subject: DenySubject::holder(&site.holder.public_key()),
            until: NOON.plus(900),
        })
        .unwrap();
    assert_eq!(door.send_state(&site.seal_state(&revoking)), Ok(5));
    // Older and equal states are refused, from any phone.
    let older = site.seal_state(&site.state(3, NOON));
    assert_eq!(door.send_state(&older), Err((Refusal::Rejected, Error::StateNotNewer.code())));
    assert_eq!(
        door.send_state(&site.seal_state(&revoking)),
        Err((Refusal::Rejected, Error::StateNotNewer.code()))
    );
    // A forged newer one is refused.
    let forged = {
        let other = key(9);
        let mut buf = vec![0u8; MAX_DOOR_STATE_LEN];
        site.state(9, NOON).seal(&other, &mut buf).unwrap().to_vec()
    };
    assert_eq!(door.send_state(&forged), Err((Refusal::Rejected, Error::StateBadSignature.code())));
    // The holder stays revoked, also when the phone carries the older state, and after reboot.
    let cert = site.seal_cert(&site.certificate_body());
    let grant = site.seal_grant(&site.grant_body(10, 1));
    door.attempt(|ch| site.present(ch, &grant, &cert, Some(&older)));
    assert_eq!(door.last_reason(), Some(Error::HolderRevoked.code()));
    let mut door = door.reboot();
    assert_eq!(door.c.memory().unwrap().state().sequence, 5);
    door.attempt_grant(&site, &site.grant_body(10, 1));
    assert_eq!(door.last_reason(), Some(Error::HolderRevoked.code()));
    // A newer state carried in a presentation is taken and persisted with the admission.
    let lifted = site.seal_state(&site.state(6, NOON));
    assert!(matches!(
        door.attempt(|ch| site.present(ch, &grant, &cert, Some(&lifted))),
        Verdict::Admitted(_)
    ));
    let door = door.reboot();
    assert_eq!(door.c.memory().unwrap().state().sequence, 6);
}

#[test]
fn flash_wear_per_attempt_is_small_and_spread() {
    // The README's wear figures come from this test (run with --nocapture to print them).
    let (mut door, site) = Door::enrolled(Settings { unlock_ms: 1, ..patient() });
    let cert = site.seal_cert(&site.certificate_body());
    let before = (
        door.c.storage().flash().words_programmed(),
        door.c.storage().flash().erases_per_page().iter().sum::<u64>(),
    );
    let n = 300u64;
    for serial in 0..n {
        // Ten-minute grants, ten a quarter of an hour: about ten live in the replay memory,
        // which the replay record carries whole.
        if serial % 10 == 9 {
            door.advance_ms(900_000);
        }
        let now = door.h.clock.rtc();
        let grant = site.seal_grant(&grant_from(&site, 100 + serial, now));
        assert!(matches!(
            door.attempt(|ch| site.present(ch, &grant, &cert, None)),
            Verdict::Admitted(_)
        ));
    }
    let flash = door.c.storage().flash();
    let words = flash.words_programmed() - before.0;
    let erases = flash.erases_per_page().iter().sum::<u64>() - before.1;
    let per_page = flash.erases_per_page().to_vec();
    println!(
        "admission: {} bytes programmed, {:.3} page erases ({n} admissions)",
        words * 4 / n,
        erases as f64 / n as f64
    );
    println!("erases per page after {n} admissions: {per_page:?}");
    // One replay record (the whole replay memory: about ten live grants here) and one audit
    // record per admission, under half a KiB.
    assert!(words * 4 / n <= 400, "{} bytes per admission", words * 4 / n);
    // Erases are spread over the replay ring (pages 4..8) and the audit ring (8..16).
    assert!(per_page[4..8].iter().all(|&e| e >= 1), "{per_page:?}");
    assert!(
        per_page[4..8].iter().max() <= Some(&(per_page[4..8].iter().min().unwrap() + 1)),
        "{per_page:?}"
    );

    let before = flash.words_programmed();
    for _ in 0..n {
        door.attempt(|_| vec![0xFF; 8]);
    }
    let words = door.c.storage().flash().words_programmed() - before;
    println!("rejection: {} bytes programmed", words * 4 / n);
    assert!(words * 4 / n <= 64);
}

#[test]
fn a_flash_failure_during_an_admission_never_moves_the_relay() {
    use porter_device::sim::{Cut, Tear};
    let (mut door, site) = Door::enrolled(Settings::default());
    // The next flash operation (the first word of the replay record) fails.
    let at_op = door.c.storage().flash().ops();
    door.c.storage().flash().cut_power(Cut { at_op, tear: Tear::Before });
    let v = door.attempt_grant(&site, &site.grant_body(10, 1));
    assert_eq!(v, Verdict::Refused(Refusal::Fault, 0, 0));
    assert_eq!(door.h.lock.pulses(), 0);
    assert!(door.c.fault().is_some());
    assert_eq!(door.h.indicator.current(), Some(Signal::Fault));
    // Faulted, it refuses everything, and says so.
    assert_eq!(door.challenge(), Err(Verdict::Refused(Refusal::Fault, 0, 0)));
    // Serviced (powered again on the same chip), it admits the grant: it was never spent.
    let image = door.c.into_flash().image().to_vec();
    let h = door.h.clone();
    let mut door = Door::boot_on(
        porter_device::sim::SimFlash::from_image(image, 4096),
        h,
        Settings::default(),
    );
    assert_eq!(door.c.fault(), None);
    assert!(matches!(door.attempt_grant(&site, &site.grant_body(10, 1)), Verdict::Admitted(_)));
}

#[test]
fn a_dead_entropy_source_fails_closed() {
    // At first boot: no device key can be made.
    let h = porter_device::sim::Handles::new(NOON, 7);
    h.entropy.set_failing(true);
    let mut door = Door::boot_on(porter_device::sim::SimFlash::blank(), h, Settings::default());
    assert!(door.c.fault().is_some());
    assert_eq!(
        parse_verdict(&door.call(&[porter_link::kind::CHALLENGE])),
        Verdict::Refused(Refusal::Fault, 0, 0)
    );
    // Later: no challenge is issued without fresh randomness.
    let (mut door, _) = Door::enrolled(Settings::default());
    door.h.entropy.set_failing(true);
    assert_eq!(door.challenge(), Err(Verdict::Refused(Refusal::Fault, 0, 0)));
}

#[test]
fn an_honest_phones_session_admits_once_and_its_receipt_verifies() {
    let (mut door, site) = Door::enrolled(Settings::default());
    let grant = site.seal_grant(&site.grant_body(40, 1));
    let (outcome, receipt) = door.session(&site, &grant);
    assert_eq!(outcome, porter_link::Outcome::Admitted);
    let record = AuditRecord::decode_receipt(&receipt.unwrap(), &door.c.device_key()).unwrap();
    assert!(matches!(record.event, AuditEvent::Admitted { grant_serial: 40, .. }));
    assert_eq!(door.session(&site, &grant).0, porter_link::Outcome::DeniedSpent);
    assert_eq!(door.h.lock.pulses(), 1);
}
