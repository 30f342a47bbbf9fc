//! The log under noise (issue 8, item 10): egress told from forcing, repeated refusals and
//! alarms counted into tally records, admissions kept until the site server acknowledges them
//! or their loss is logged.

use porter_device::Settings;
use porter_link::{kind, Refusal};
use porter_protocol::*;

use super::door::*;
use super::fixture::*;

fn tallies(events: &[AuditEvent]) -> Vec<AuditEvent> {
    events.iter().filter(|e| matches!(e, AuditEvent::Tally { .. })).copied().collect()
}

fn forced(events: &[AuditEvent]) -> usize {
    events.iter().filter(|e| **e == AuditEvent::Alarm(Alarm::ForcedOpen)).count()
}

/// Opens and closes the door (with `exit` first, someone inside asked to leave).
fn open_close(door: &mut Door, exit: bool) {
    if exit {
        door.h.sensor.set_exit_requested(true);
        door.c.poll();
        door.h.sensor.set_exit_requested(false);
    }
    door.h.sensor.set_open(true);
    door.advance_ms(500);
    door.h.sensor.set_open(false);
    door.advance_ms(500);
}

#[test]
fn an_exit_after_a_request_to_exit_is_counted_and_forcing_is_an_alarm() {
    let (mut door, _) = Door::enrolled(Settings::default());
    let before = door.c.audit_length();
    // Twenty people leave: no alarm, and no record each.
    for _ in 0..20 {
        open_close(&mut door, true);
    }
    assert_eq!(forced(&door.events()), 0, "leaving is not forcing");
    // A minute later the exits are in one tally record.
    door.advance_ms(60_000);
    let events = door.events();
    assert_eq!(door.c.audit_length(), before + 1);
    assert!(matches!(tallies(&events)[..], [AuditEvent::Tally { egress: 20, forced_open: 0, .. }]));
    // The door opening with no request to exit (or long after one) is forced: the first is
    // logged at once, the ones within the next minute are counted.
    door.h.sensor.set_exit_requested(true);
    door.c.poll();
    door.h.sensor.set_exit_requested(false);
    door.advance_ms(u64::from(Settings::default().egress_window_ms) + 1);
    for _ in 0..5 {
        open_close(&mut door, false);
    }
    assert_eq!(forced(&door.events()), 1);
    door.advance_ms(60_000);
    let events = door.events();
    assert!(
        matches!(tallies(&events)[..], [_, AuditEvent::Tally { forced_open: 4, egress: 0, .. }]),
        "{events:?}"
    );
}

#[test]
fn a_flood_of_refusals_writes_about_two_records_a_minute() {
    // The old door wrote one record per refusal: a flood wrapped the ring (about 490 records)
    // before a phone carried it away.
    let (mut door, site) = Door::enrolled(patient());
    let before = door.c.audit_length();
    let minutes = 30u64;
    for _ in 0..minutes * 60 {
        // One garbage attempt a second: 1,800 refusals.
        door.attempt(|_| vec![0xFF; 40]);
        door.advance_ms(1_000);
    }
    let written = door.c.audit_length() - before;
    assert!(written <= 2 * minutes + 2, "{written} records for {minutes} minutes of flood");
    // Nothing is lost: the tallies add up (a refusal written as itself, the rest counted).
    let events = door.events();
    let single = events.iter().filter(|e| matches!(e, AuditEvent::Rejected { .. })).count();
    let counted: u32 = tallies(&events)
        .iter()
        .map(|e| match e {
            AuditEvent::Tally { refused, .. } => *refused,
            _ => 0,
        })
        .sum();
    door.advance_ms(60_000);
    let counted_after: u32 = tallies(&door.events())
        .iter()
        .map(|e| match e {
            AuditEvent::Tally { refused, .. } => *refused,
            _ => 0,
        })
        .sum();
    assert!(counted <= counted_after);
    assert_eq!(single as u64 + u64::from(counted_after), minutes * 60);
    // A denied answer names the record that holds its refusal, and the holder still gets in
    // (the RTC set back into the grant's window: the flood took half an hour).
    door.h.clock.set_rtc(NOON);
    let verdict = door.attempt(|_| vec![0xFF; 40]);
    let Verdict::Denied { sequence, .. } = verdict else { panic!("{verdict:?}") };
    assert!(matches!(door.attempt_grant(&site, &site.grant_body(10, 1)), Verdict::Admitted(_)));
    let log = door.log();
    let holder = log.iter().find(|r| r.sequence == sequence).expect("the named record");
    assert!(matches!(
        holder.event,
        AuditEvent::Rejected { .. } | AuditEvent::Tally { refused: 1.., .. }
    ));
}

#[test]
fn a_replay_record_too_large_to_write_refuses_new_grants_and_never_faults() {
    // The core's replay memory holds 640 live grants; the record the door writes fits one flash
    // page: at least 383 live grants (about 425 with five-byte serials as here, all 640 with
    // small ones). Beyond that a new grant is refused replay_full, nothing is written, the
    // relay stays still and the door keeps working.
    const BIG: u64 = 0x1000_0000;
    let (mut door, site) = Door::enrolled(Settings { unlock_ms: 1, ..patient() });
    let cert = site.seal_cert(&site.certificate_body());
    let mut serial = 0;
    let refused = loop {
        let grant = site.seal_grant(&site.grant_body(BIG + serial, 1));
        match door.attempt(|ch| site.present(ch, &grant, &cert, None)) {
            Verdict::Admitted(_) => serial += 1,
            v => break v,
        }
        assert!(serial < 640, "the record never filled");
    };
    assert!(serial >= 383, "only {serial} live grants fit");
    println!("live grants the replay record holds: {serial}");
    assert!(matches!(refused, Verdict::Denied { .. }), "{refused:?}");
    assert_eq!(door.last_reason(), Some(Error::ReplayFull.code()));
    assert_eq!(door.c.fault(), None);
    assert_eq!(u64::from(door.c.releases()), serial);
    // The refused grant was not opened, and stays refused; spent ones stay spent after a boot.
    let mut door = door.reboot();
    assert_eq!(door.c.fault(), None);
    let spent = site.seal_grant(&site.grant_body(BIG, 1));
    door.attempt(|ch| site.present(ch, &spent, &cert, None));
    assert_eq!(door.last_reason(), Some(Error::ReplayDuplicate.code()));
    // Once those grants expire, new ones are admitted again.
    door.advance_ms(3_600_000);
    let now = door.h.clock.rtc();
    let fresh = site.seal_grant(&grant_from(&site, 5_000, now));
    let verdict = door.attempt(|ch| site.present(ch, &fresh, &cert, None));
    assert!(matches!(verdict, Verdict::Admitted(_)), "{verdict:?}");
}

/// Fills the log with noise for `hours` (a forced opening and a garbage attempt every 20 s).
fn noise_for(door: &mut Door, hours: u64) {
    for _ in 0..hours * 180 {
        door.attempt(|_| vec![0xFF; 40]);
        open_close(door, false);
        door.advance_ms(19_000);
    }
}

fn ack(door: &mut Door, length: u64) -> Vec<u8> {
    let mask = LogMask::for_server(&log_secret(), &door.c.device_key()).unwrap();
    let mut m = vec![kind::LOG_ACK];
    m.extend_from_slice(&length.to_le_bytes());
    m.extend_from_slice(&mask.ack_tag(length));
    door.call(&m)
}

#[test]
fn admissions_are_kept_until_the_server_acknowledges_them() {
    let (mut door, site) = Door::enrolled(patient());
    assert!(matches!(door.attempt_grant(&site, &site.grant_body(10, 1)), Verdict::Admitted(_)));
    let admitted = door.c.audit_length() - 1;
    // Twelve hours of noise: far more than the ring holds. The admission stays.
    noise_for(&mut door, 12);
    let mut buf = [0u8; MAX_AUDIT_RECORD_LEN];
    assert!(
        door.c.storage().audit_record(admitted, &mut buf).unwrap().is_some(),
        "the admission record was overwritten by noise"
    );
    assert!(!door.events().iter().any(|e| matches!(e, AuditEvent::Overwritten { .. })));

    // A forged acknowledgement is refused; the server's is taken and survives a reboot.
    let length = door.c.audit_length();
    let mut forged = vec![kind::LOG_ACK];
    forged.extend_from_slice(&length.to_le_bytes());
    forged.extend_from_slice(&[0; 16]);
    assert_eq!(
        parse_verdict(&door.call(&forged)),
        Verdict::Refused(Refusal::Rejected, Error::AuditBadSignature.code(), 0)
    );
    let answer = ack(&mut door, length);
    assert_eq!(answer[0], kind::A_ACKED);
    assert_eq!(u64::from_le_bytes(answer[1..9].try_into().unwrap()), length);
    let mut door = door.reboot();
    // Now the ring may wrap over it.
    noise_for(&mut door, 12);
    assert!(door.c.storage().audit_record(admitted, &mut buf).unwrap().is_none());
    assert!(!door.events().iter().any(|e| matches!(e, AuditEvent::Overwritten { .. })));
}

#[test]
fn admissions_that_must_be_overwritten_leave_a_record_of_their_loss() {
    // Only admissions (which must be logged) fill the ring; with no acknowledgement the oldest
    // are overwritten, and the door logs how many it lost.
    let (mut door, site) = Door::enrolled(Settings { unlock_ms: 1, ..patient() });
    let cert = site.seal_cert(&site.certificate_body());
    for serial in 0..700 {
        // Ten-minute grants, fifty a quarter of an hour: the replay memory stays small.
        if serial % 50 == 49 {
            door.advance_ms(900_000);
        }
        let now = door.h.clock.rtc();
        let grant = site.seal_grant(&grant_from(&site, 100 + serial, now));
        let verdict = door.attempt(|ch| site.present(ch, &grant, &cert, None));
        assert!(matches!(verdict, Verdict::Admitted(_)), "{verdict:?}");
        door.advance_ms(10);
    }
    let lost: u32 = door
        .events()
        .iter()
        .map(|e| match e {
            AuditEvent::Overwritten { admissions, .. } => *admissions,
            _ => 0,
        })
        .sum();
    assert!(lost > 0, "the loss is on the record");
}

#[test]
fn a_refusal_for_a_new_reason_is_written_even_within_a_minute() {
    // A spent grant, then a garbage attempt seconds later: both reasons are on the record at
    // once; a repeat of either is counted.
    let (mut door, site) = Door::enrolled(patient());
    assert!(matches!(door.attempt_grant(&site, &site.grant_body(10, 1)), Verdict::Admitted(_)));
    let spent = door.attempt_grant(&site, &site.grant_body(10, 1));
    let Verdict::Denied { sequence: first, .. } = spent else { panic!("{spent:?}") };
    let garbage = door.attempt(|_| vec![0xFF; 40]);
    let Verdict::Denied { sequence: second, .. } = garbage else { panic!("{garbage:?}") };
    let again = door.attempt(|_| vec![0xFF; 40]);
    let Verdict::Denied { sequence: third, .. } = again else { panic!("{again:?}") };
    let log = door.log();
    let reason = |seq: u64| {
        log.iter().find(|r| r.sequence == seq).map(|r| r.event).expect("the named record")
    };
    assert_eq!(reason(first), AuditEvent::Rejected { reason: Error::ReplayDuplicate.code() });
    assert!(matches!(reason(second), AuditEvent::Rejected { reason: 101..=106 }));
    assert_eq!(third, door.c.audit_length(), "a repeat is counted in the tally written next");
}
