//! `porter_link::PhoneSession` against the controller over the simulated radio
//! (`porter_device::radio`): small MTUs, latency, lost and overtaken fragments, a lost link and a
//! door that reboots mid-attempt. The door's challenges are its own (random), so every visit
//! runs live. Whatever the radio does, the relay moves at most once per grant use, and the log
//! holds one admission record per relay pulse.

use porter_device::radio::{Radio, RadioDoor, RadioSettings};
use porter_device::sim::{Handles, SimController};
use porter_device::Settings;
use porter_link::{
    Buffers, Holder, Outcome, PhoneSession, SessionConfig, Status, MAX_ANSWER_LEN, MAX_REQUEST_LEN,
};
use porter_protocol::*;

use super::door::{patient, Door};
use super::fixture::*;

/// An enrolled door on a radio, the phone's end, and the site.
struct Bench {
    c: Option<SimController<RadioDoor>>,
    h: Handles,
    radio: Radio,
    site: Site,
    settings: Settings,
}

impl Bench {
    /// Enrolled over the in-memory link, then rebooted onto the radio.
    fn new(radio: RadioSettings, settings: Settings) -> Bench {
        let (door, site) = Door::enrolled(settings);
        let h = door.h.clone();
        let radio = Radio::new(radio, h.clock.clone());
        let c = h.boot_with(door.c.into_flash(), radio.door(), settings).expect("boots");
        Bench { c: Some(c), h, radio, site, settings }
    }

    fn c(&mut self) -> &mut SimController<RadioDoor> {
        self.c.as_mut().expect("a door")
    }

    /// Power off and on: the same flash, a new link end.
    fn reboot(&mut self) {
        let flash = self.c.take().expect("a door").into_flash();
        let link = self.radio.reconnect_door();
        self.c = Some(self.h.boot_with(flash, link, self.settings).expect("reboots"));
    }

    /// The admission records in the door's log.
    fn admissions_logged(&mut self) -> usize {
        let mut n = 0;
        let mut buf = [0u8; MAX_AUDIT_RECORD_LEN];
        for seq in 0..self.c().audit_length() {
            if let Ok(Some(bytes)) = self.c().storage().audit_record(seq, &mut buf) {
                let r = AuditRecord::decode(bytes).expect("a record");
                n += usize::from(matches!(r.event, AuditEvent::Admitted { .. }));
            }
        }
        n
    }

    /// One visit with `grant` (one use, serial `serial`), the clock moving 1 ms a step; `meddle`
    /// runs every step (the test's hand on the radio and the power switch).
    fn visit(
        &mut self,
        serial: u64,
        mut meddle: impl FnMut(&mut Bench, &mut PhoneSession<'_, '_, '_>, u64),
    ) -> Outcome {
        let cert = self.site.seal_cert(&self.site.certificate_body());
        let grant = self.site.seal_grant(&self.site.grant_body(serial, 1));
        let mut cfg = SessionConfig::new(&grant, &cert);
        cfg.mtu = self.radio.phone().mtu();
        cfg.device_key = Some(self.c().device_key());
        cfg.expected_door = Some((SITE, DOOR));
        let (mut request, mut answer) = (vec![0u8; MAX_REQUEST_LEN], vec![0u8; MAX_ANSWER_LEN]);
        let buffers = Buffers { request: &mut request, answer: &mut answer, log: &mut [] };
        let holder = key(3); // the site's holder (`Site::holder`)
        let start = self.h.clock.millis_now();
        let mut session = PhoneSession::new(cfg, Holder::Key(&holder), buffers, start);
        let phone = self.radio.phone();
        let mut fragment = [0u8; 255];
        // The session gives up within 5 sends x (3 s + back-off) per request.
        for _ in 0..200_000 {
            let now = self.h.clock.millis_now();
            while let Some(n) = session.transmit(now, &mut fragment) {
                phone.send(&fragment[..n]);
            }
            self.c().poll();
            while let Some(f) = phone.receive() {
                session.receive(now, &f);
            }
            meddle(self, &mut session, now - start);
            if let Status::Done(outcome) = session.status() {
                return outcome;
            }
            self.h.clock.advance_ms(1);
        }
        panic!("the session never ended: {:?}", session.status());
    }
}

fn lossy(mtu: usize, seed: u64) -> RadioSettings {
    RadioSettings {
        mtu,
        latency_ms: 15,
        loss_per_mille: 20,
        reorder_per_mille: 10,
        reorder_delay_ms: 40,
        seed,
    }
}

#[test]
fn sessions_complete_over_a_lossy_reordering_small_mtu_radio_and_never_admit_twice() {
    let (mut admitted, mut unknown, mut timed_out, mut lost, mut reordered) = (0, 0, 0, 0, 0);
    let seeds = 1..=24u64;
    for seed in seeds.clone() {
        let mtu = [20, 20, 40, 185][seed as usize % 4];
        let mut bench = Bench::new(lossy(mtu, seed), patient());
        let outcome = bench.visit(100 + seed, |_, _, _| {});
        let pulses = bench.h.lock.pulses();
        assert!(pulses <= 1, "seed {seed}: the relay moved {pulses} times");
        assert_eq!(bench.admissions_logged(), pulses as usize, "seed {seed}: one record a pulse");
        match outcome {
            Outcome::Admitted => {
                assert_eq!(pulses, 1, "seed {seed}");
                admitted += 1;
            }
            // The door decided, the answer was lost every time: it opened at most once.
            Outcome::VerdictUnknown => unknown += 1,
            // No copy of the presentation ever arrived whole: nothing was decided.
            Outcome::TimedOut => {
                assert_eq!(pulses, 0, "seed {seed}");
                timed_out += 1;
            }
            other => panic!("seed {seed} (MTU {mtu}): {other:?} {:?}", bench.radio.counts()),
        }
        // The same one-use grant again, on a perfect radio: spent if it was admitted.
        bench.radio.set_loss_per_mille(0);
        let again = bench.visit(100 + seed, |b, _, _| b.radio.set_loss_per_mille(0));
        let counts = bench.radio.counts();
        lost += counts.lost;
        reordered += counts.reordered;
        match outcome {
            Outcome::Admitted => assert_eq!(again, Outcome::DeniedSpent, "seed {seed}"),
            Outcome::TimedOut => assert_eq!(again, Outcome::Admitted, "seed {seed}"),
            _ => assert!(matches!(again, Outcome::Admitted | Outcome::DeniedSpent), "seed {seed}"),
        }
        assert!(bench.h.lock.pulses() <= 1, "seed {seed}: a one-use grant opens once");
    }
    eprintln!("{admitted} admitted, {unknown} verdicts unknown, {timed_out} timed out; {lost} fragments lost, {reordered} overtaken");
    assert!(
        lost >= 10 && reordered >= 5,
        "the radio was not bad enough: {lost} lost, {reordered} overtaken"
    );
    assert!(admitted >= 18, "only {admitted} of 24 lossy visits admitted");
}

#[test]
fn a_lost_fragment_of_the_presentation_is_sent_again_and_admits_once() {
    let mut bench = Bench::new(RadioSettings { mtu: 20, ..RadioSettings::default() }, patient());
    // Fragment 1 up is the challenge request; 2.. the presentation: its 9th fragment is lost.
    bench.radio.lose(true, 10);
    let outcome = bench.visit(7, |_, _, _| {});
    assert_eq!(outcome, Outcome::Admitted);
    assert_eq!(bench.h.lock.pulses(), 1);
    assert_eq!(bench.radio.counts().lost, 1);
    // The challenge request, then the 21 fragments of the presentation (348 bytes at MTU 20),
    // refused `Frame` at the gap and sent again whole.
    assert_eq!(bench.radio.counts().to_door, 1 + 2 * 21, "the presentation was sent twice");
}

#[test]
fn a_link_lost_mid_presentation_reconnects_and_admits_once() {
    let mut bench = Bench::new(RadioSettings { mtu: 20, ..RadioSettings::default() }, patient());
    let mut cut = false;
    let outcome = bench.visit(8, |b, session, now| {
        if !cut && b.radio.counts().to_door >= 8 {
            b.radio.disconnect();
            session.reconnected(now);
            cut = true;
        }
    });
    assert!(cut);
    assert_eq!(outcome, Outcome::Admitted);
    assert_eq!(bench.h.lock.pulses(), 1);
}

#[test]
fn a_verdict_lost_with_the_link_is_unknown_and_the_door_opened_once() {
    let mut bench = Bench::new(RadioSettings { mtu: 20, ..RadioSettings::default() }, patient());
    let mut cut = false;
    let outcome = bench.visit(9, |b, session, now| {
        // The door decided and released; its answer is in flight when the link drops.
        if !cut && b.h.lock.pulses() == 1 {
            b.radio.disconnect();
            session.reconnected(now);
            cut = true;
        }
    });
    assert!(cut);
    assert_eq!(outcome, Outcome::VerdictUnknown);
    assert_eq!(bench.h.lock.pulses(), 1);
    assert_eq!(bench.admissions_logged(), 1, "the log tells the server which");
}

#[test]
fn a_door_rebooted_before_the_presentation_gets_a_fresh_challenge_and_admits_once() {
    let mut bench = Bench::new(RadioSettings { mtu: 20, ..RadioSettings::default() }, patient());
    let mut rebooted = false;
    let outcome = bench.visit(11, |b, session, now| {
        // The challenge went out; the door loses power before the presentation arrives.
        if !rebooted && b.radio.counts().to_phone >= 1 {
            b.reboot();
            session.reconnected(now);
            rebooted = true;
        }
    });
    assert!(rebooted);
    assert_eq!(outcome, Outcome::Admitted);
    assert_eq!(bench.h.lock.pulses(), 1);
}

#[test]
fn a_door_rebooted_after_deciding_never_admits_twice() {
    let mut bench = Bench::new(RadioSettings { mtu: 20, ..RadioSettings::default() }, patient());
    let mut rebooted = false;
    let outcome = bench.visit(12, |b, session, now| {
        if !rebooted && b.h.lock.pulses() == 1 {
            b.reboot();
            session.reconnected(now);
            rebooted = true;
        }
    });
    assert!(rebooted);
    assert_eq!(outcome, Outcome::VerdictUnknown);
    assert_eq!(bench.h.lock.pulses(), 1);
    assert_eq!(bench.admissions_logged(), 1);
    // The grant's one use is spent, across the reboot.
    assert_eq!(bench.visit(12, |_, _, _| {}), Outcome::DeniedSpent);
    assert_eq!(bench.h.lock.pulses(), 1);
}

#[test]
fn a_challenge_asked_again_is_the_outstanding_one() {
    // The challenge's answer is lost: the phone asks again and gets the same challenge back
    // (not `Busy` for the challenge's lifetime), and the visit completes in seconds.
    let mut bench = Bench::new(RadioSettings { mtu: 20, ..RadioSettings::default() }, patient());
    // The door's answer to the first challenge request is two fragments: the first is lost.
    bench.radio.lose(false, 1);
    let outcome = bench.visit(13, |_, _, _| {});
    assert_eq!(outcome, Outcome::Admitted);
    assert_eq!(bench.radio.counts().lost, 1);
    // One answer timeout (3 s), not the challenge's 30 s lifetime.
    assert!(bench.h.clock.millis_now() < 10_000, "no wait for the challenge to expire");
    // One challenge issued, one audit record for it: the admission.
    assert_eq!(bench.admissions_logged(), 1);
    assert_eq!(bench.c().failures(), 0);
}
