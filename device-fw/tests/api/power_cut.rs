//! The power-cut sweep: a scripted life of a door (first boot, enrolment, admissions,
//! rejections, door state, reboots) is run once per flash operation, with the power cut at that
//! operation in each of several ways (before it, and as torn writes or half-erases), and the
//! door is then powered up again on what the flash holds. Every time:
//!
//! * it boots, without a fault, with the same device key and enrolment it had committed;
//! * no grant is ever admitted more often than its uses allow, counting admissions before and
//!   after the cut (a spent grant is never admitted again);
//! * every audit record committed before the cut is still there, byte for byte, and the whole
//!   log still chains and matches a freshly signed head;
//! * no word was ever programmed twice without an erase.

use porter_device::sim::{Cut, Handles, SimFlash, Tear};
use porter_device::storage::MIN_AUDIT_RETAINED;
use porter_device::Settings;
use porter_protocol::*;

use super::door::*;
use super::fixture::*;

struct Script {
    site: Site,
    cert: Vec<u8>,
    /// (serial, uses, sealed grant)
    grants: Vec<(u64, u8, Vec<u8>)>,
    state1: Vec<u8>,
    state2: Vec<u8>,
}

impl Script {
    /// Grant serials start at `base`: above what an aged door has spent.
    fn new(base: u64) -> Script {
        let site = Site::new();
        let cert = site.seal_cert(&site.certificate_body());
        let grants = [(10, 1), (11, 2), (20, 1), (21, 1), (22, 1), (30, 3), (40, 1), (41, 1)]
            .into_iter()
            .map(|(serial, uses)| (base + serial, uses))
            .map(|(serial, uses)| (serial, uses, site.seal_grant(&site.grant_body(serial, uses))))
            .collect();
        let state1 = site.seal_state(&site.state(1, NOON.plus(5)));
        let state2 = site.seal_state(&site.state(2, NOON.plus(6)));
        Script { site, cert, grants, state1, state2 }
    }
}

/// What the door did before the cut, as far as the outside world could tell.
#[derive(Clone, Default)]
struct Observed {
    /// Relay pulses per grant serial.
    admissions: std::collections::HashMap<u64, u32>,
    /// The audit records known committed (read back while the door was alive).
    committed: Vec<Vec<u8>>,
    enrolled: bool,
    device: Option<PublicKey>,
}

fn alive(door: &mut Door) -> bool {
    !door.c.storage().flash().dead()
}

fn observe_log(door: &mut Door, seen: &mut Observed) {
    let len = door.c.audit_length();
    let mut buf = [0u8; MAX_AUDIT_RECORD_LEN];
    for seq in seen.committed.len() as u64..len {
        let bytes =
            door.c.storage().audit_record(seq, &mut buf).unwrap().expect("a committed record");
        seen.committed.push(bytes.to_vec());
    }
}

/// One attempt with grant `i` (and optionally a carried state); records a pulse.
fn try_grant(door: &mut Door, s: &Script, i: usize, state: Option<&[u8]>, seen: &mut Observed) {
    let (serial, _, grant) = &s.grants[i];
    let before = door.h.lock.pulses();
    let v = door.attempt(|ch| s.site.present(ch, grant, &s.cert, state));
    let _ = v;
    if door.h.lock.pulses() > before {
        *seen.admissions.entry(*serial).or_default() += 1;
    }
    door.advance_ms(6_000);
}

/// Where a run starts: a blank chip, or one aged by an earlier life.
#[derive(Clone)]
struct Start {
    image: Option<Vec<u8>>,
    seen: Observed,
}

/// Ages a door until its replay and audit pages are nearly full, so that the swept script
/// crosses page boundaries (and so erases pages) in every ring it writes often.
fn aged(s: &Script, settings: Settings) -> Start {
    let mut seen = Observed::default();
    let mut door = Door::boot_on(SimFlash::blank(), Handles::new(NOON, 7), settings);
    door.enrol(&s.site).unwrap();
    seen.enrolled = true;
    seen.device = Some(door.c.device_key());
    // Admit until the replay ring has wrapped once and its current page is nearly full, so
    // that the script's writes erase the next page, which holds older records.
    let used = |door: &mut Door, page: usize| {
        let image = door.c.storage().flash().image();
        let page = &image[page * 4096..(page + 1) * 4096];
        4096 - page.iter().rev().take_while(|&&b| b == 0xFF).count()
    };
    let mut serial = 100;
    loop {
        let grant = s.site.seal_grant(&s.site.grant_body(serial, 1));
        let v = door.attempt(|ch| s.site.present(ch, &grant, &s.cert, None));
        assert!(matches!(v, Verdict::Admitted(_)), "{v:?}");
        serial += 1;
        let wrapped = used(&mut door, 7) > 0;
        if wrapped && (4..8).any(|p| (2_900..3_300).contains(&used(&mut door, p))) {
            break;
        }
        assert!(serial < 400, "the replay ring never filled");
    }
    // Then fill the audit ring's last page to within a few records of its end: one refusal
    // a minute, so that each is a record of its own (within a minute they are counted).
    while used(&mut door, 15) < 3_700 {
        let _ = door.attempt(|_| b"garbage".to_vec());
        door.advance_ms(u64::from(settings.coalesce_ms));
    }
    door.h.clock.set_rtc(NOON);
    observe_log(&mut door, &mut seen);
    if std::env::var("DEBUG_AGED").is_ok() {
        let image = door.c.storage().flash().image();
        for p in 0..16 {
            let page = &image[p * 4096..(p + 1) * 4096];
            eprintln!("page {p}: {}", 4096 - page.iter().rev().take_while(|&&b| b == 0xFF).count());
        }
        eprintln!(
            "replay record {:?}",
            door.c.storage().replay().unwrap().map(|r| r.replay.issuers())
        );
    }
    Start { image: Some(door.c.into_flash().image().to_vec()), seen }
}

/// Runs the script until it ends or the power goes. Returns the flash and what was seen.
fn run(
    s: &Script,
    start: &Start,
    cut: Option<Cut>,
    settings: Settings,
) -> (SimFlash, Handles, Observed) {
    let mut seen = start.seen.clone();
    let mut flash = match &start.image {
        Some(image) => SimFlash::from_image(image.clone(), 4096),
        None => SimFlash::blank(),
    };
    if let Some(cut) = cut {
        flash.cut_power(cut);
    }
    let h = Handles::new(NOON, 7);
    let mut door = Door::boot_on(flash, h.clone(), settings);
    macro_rules! step {
        ($e:expr) => {
            if !alive(&mut door) {
                return (door.c.into_flash(), h, seen);
            }
            $e;
            if alive(&mut door) {
                observe_log(&mut door, &mut seen);
            }
        };
    }
    if start.image.is_none() {
        step!({
            seen.device = Some(door.c.device_key());
        });
        step!({
            let _ = door.enrol(&s.site);
            seen.enrolled = door.c.enrolled() && alive(&mut door);
        });
    }
    step!(try_grant(&mut door, s, 0, None, &mut seen));
    step!(try_grant(&mut door, s, 0, None, &mut seen)); // a replay: rejected
    step!({
        let _ = door.send_state(&s.state1);
    });
    step!(try_grant(&mut door, s, 1, Some(&s.state2), &mut seen));
    step!(try_grant(&mut door, s, 1, None, &mut seen));
    step!({
        door = std::mem::replace(&mut door, placeholder()).reboot();
    });
    for i in 2..s.grants.len() {
        step!(try_grant(&mut door, s, i, None, &mut seen));
    }
    step!(try_grant(&mut door, s, 5, None, &mut seen));
    step!(try_grant(&mut door, s, 5, None, &mut seen));
    step!(try_grant(&mut door, s, 2, None, &mut seen)); // a replay after reboot
    let flash = door.c.into_flash();
    (flash, h, seen)
}

/// A throwaway door to move out of a `&mut Door` while rebooting.
fn placeholder() -> Door {
    Door::new(Settings::default())
}

/// Powers up on what the flash holds and checks every invariant.
fn check_after(
    s: &Script,
    cut: Cut,
    flash: SimFlash,
    h: Handles,
    seen: Observed,
    settings: Settings,
) {
    assert_eq!(flash.violations(), 0, "{cut:?}: a word was programmed twice");
    let image = flash.image().to_vec();
    let h2 = Handles { lock: Default::default(), ..h };
    let mut door = Door::boot_on(SimFlash::from_image(image, 4096), h2, settings);
    assert_eq!(door.c.fault(), None, "{cut:?}: the door came up faulted");
    if let Some(device) = seen.device {
        // The key is durable once the first identity write completed, which `seen.device`
        // does not prove; but a key, once shown and then re-made, would break every receipt.
        if seen.enrolled {
            assert_eq!(door.c.device_key(), device, "{cut:?}: the device key changed");
        }
    }
    if seen.enrolled {
        assert!(door.c.enrolled(), "{cut:?}: the enrolment was lost");
    }
    if !door.c.enrolled() {
        return;
    }
    // Committed records survive, byte for byte, and the log chains. The ring overwrites its
    // oldest page by design, but always keeps the last MIN_AUDIT_RETAINED records.
    let mut buf = [0u8; MAX_AUDIT_RECORD_LEN];
    let oldest = door.c.storage().audit_oldest().unwrap();
    let length = door.c.audit_length();
    assert!(
        oldest == 0 || length - oldest >= MIN_AUDIT_RETAINED,
        "{cut:?}: the ring holds only {oldest}..{length}"
    );
    for (seq, committed) in seen.committed.iter().enumerate().skip(oldest as usize) {
        let now = door.c.storage().audit_record(seq as u64, &mut buf).unwrap();
        assert_eq!(now, Some(&committed[..]), "{cut:?}: audit record {seq} lost or changed");
    }
    let log = door.log();
    // Every admission the outside world saw is in the log.
    let logged_admissions =
        log.iter().filter(|r| matches!(r.event, AuditEvent::Admitted { .. })).count() as u32;
    assert!(
        logged_admissions >= seen.admissions.values().sum::<u32>(),
        "{cut:?}: an admission is missing from the log"
    );
    // No grant is admitted beyond its uses, before and after the cut together.
    for (i, (serial, uses, _)) in s.grants.iter().enumerate() {
        let before = seen.admissions.get(serial).copied().unwrap_or(0);
        let mut after = 0;
        for _ in 0..*uses {
            let pulses = door.h.lock.pulses();
            let (_, _, grant) = &s.grants[i];
            let _ = door.attempt(|ch| s.site.present(ch, grant, &s.cert, None));
            after += door.h.lock.pulses() - pulses;
            door.advance_ms(6_000);
        }
        assert!(
            before + after <= u32::from(*uses),
            "{cut:?}: grant {serial} admitted {before} times before the cut and {after} after, of {uses}"
        );
    }
}

fn sweep(aged_start: bool, tears: &[fn(u64) -> Tear]) {
    let s = Script::new(if aged_start { 1_000 } else { 0 });
    let settings = patient();
    let start = if aged_start {
        aged(&s, settings)
    } else {
        Start { image: None, seen: Observed::default() }
    };
    let (flash, _, seen) = run(&s, &start, None, settings);
    let total = flash.ops();
    let admitted = seen.admissions.values().sum::<u32>();
    assert!(admitted >= 9, "the script admits: {:?}", seen.admissions);
    let erases = flash.erases_per_page();
    if aged_start {
        // The replay ring (pages 4..8) and the audit ring (8..16) both move to a new page.
        assert!(erases[4..8].iter().sum::<u64>() >= 1, "no replay page erased: {erases:?}");
        assert!(erases[8..16].iter().sum::<u64>() >= 1, "no audit page erased: {erases:?}");
    }
    for op in 0..total {
        for tear in tears {
            let cut = Cut { at_op: op, tear: tear(op) };
            let (flash, h, seen) = run(&s, &start, Some(cut), settings);
            assert!(flash.dead(), "{cut:?} was not reached");
            check_after(&s, cut, flash, h, seen, settings);
        }
    }
}

/// Two torn patterns per operation: alternating bits, and a pattern that varies with the
/// operation (for an erase, the mask also sets how much of the page was erased).
const TORN: [fn(u64) -> Tear; 2] =
    [|_| Tear::Partial(0x5555_5555), |op| Tear::Partial((op as u32).wrapping_mul(0x9E37_79B9) | 1)];

#[test]
fn power_cut_at_every_step_of_a_new_doors_life() {
    sweep(false, &[|_| Tear::Before]);
}

#[test]
fn power_cut_tearing_every_word_of_a_new_doors_life() {
    sweep(false, &TORN);
}

#[test]
fn power_cut_at_every_step_across_page_boundaries() {
    sweep(true, &[|_| Tear::Before]);
}

#[test]
fn power_cut_tearing_every_word_and_erase_across_page_boundaries() {
    sweep(true, &TORN);
}

#[test]
fn an_admission_cut_after_its_spend_is_logged_at_boot_and_never_opened() {
    use porter_device::sim::SimFlash;
    let site = Site::new();
    let cert = site.seal_cert(&site.certificate_body());
    let grant = site.seal_grant(&site.grant_body(10, 1));
    // Where the attempt's flash operations are.
    let (start, end) = {
        let (mut door, _) = Door::enrolled(patient());
        let start = door.c.storage().flash().ops();
        door.attempt(|ch| site.present(ch, &grant, &cert, None));
        (start, door.c.storage().flash().ops())
    };
    let mut recovered = 0;
    for at_op in start..end {
        let (mut door, _) = Door::enrolled(patient());
        door.c.storage().flash().cut_power(Cut { at_op, tear: Tear::Before });
        door.attempt(|ch| site.present(ch, &grant, &cert, None));
        assert_eq!(
            door.h.lock.pulses(),
            0,
            "cut at {at_op}: the relay moved before the records were durable"
        );
        let image = door.c.into_flash().image().to_vec();
        let mut door = Door::boot_on(SimFlash::from_image(image, 4096), door.h.clone(), patient());
        let events = door.events();
        if let Some(i) =
            events.iter().position(|e| matches!(e, AuditEvent::Admitted { grant_serial: 10, .. }))
        {
            // Completed from the replay record at boot: followed by the boot and the repair alarm.
            recovered += 1;
            assert_eq!(
                events[i + 1..i + 3],
                [AuditEvent::Boot, AuditEvent::Alarm(Alarm::StorageRepaired)]
            );
            door.attempt(|ch| site.present(ch, &grant, &cert, None));
            assert_eq!(
                door.last_reason(),
                Some(Error::ReplayDuplicate.code()),
                "cut at {at_op}: spent"
            );
        } else {
            // The spend never became durable: the grant still works once.
            assert!(matches!(
                door.attempt(|ch| site.present(ch, &grant, &cert, None)),
                Verdict::Admitted(_)
            ));
        }
    }
    assert!(recovered > 0, "no cut fell between the spend and its audit record");
}

#[test]
fn flash_corruption_that_loses_a_spend_fails_closed() {
    use porter_device::sim::SimFlash;
    let (mut door, site) = Door::enrolled(patient());
    for serial in 10..13 {
        assert!(matches!(
            door.attempt_grant(&site, &site.grant_body(serial, 1)),
            Verdict::Admitted(_)
        ));
    }
    let h = door.h.clone();
    let image = door.c.into_flash().image().to_vec();

    // The newest replay record's CRC rots: the ring would fall back to the record before it,
    // which has not spent serial 12. The log says otherwise, so the door refuses everything.
    let mut rotten = image.clone();
    let replay_page = &rotten[4 * 4096..5 * 4096];
    let last = 4 * 4096 + replay_page.iter().rposition(|&b| b != 0xFF).unwrap();
    rotten[last] ^= 0x01;
    let mut door = Door::boot_on(SimFlash::from_image(rotten, 4096), h.clone(), patient());
    assert!(door.c.fault().is_some(), "a rolled-back replay memory must fault");
    assert_eq!(door.challenge(), Err(Verdict::Refused(porter_link::Refusal::Fault, 0, 0)));

    // The first record's header rots: every later record is unreachable but still there.
    let mut rotten = image.clone();
    rotten[4 * 4096] ^= 0x10;
    let door = Door::boot_on(SimFlash::from_image(rotten, 4096), h.clone(), patient());
    assert!(door.c.fault().is_some(), "unreachable newer replay records must fault");

    // Untouched, the same image works and serial 12 stays spent.
    let mut door = Door::boot_on(SimFlash::from_image(image, 4096), h, patient());
    assert_eq!(door.c.fault(), None);
    door.attempt_grant(&site, &site.grant_body(12, 1));
    assert_eq!(door.last_reason(), Some(Error::ReplayDuplicate.code()));
}

/// Issue 14, item 6: the next entry of a multi-use grant skips the issuer's signature (the
/// grant cache, RAM only). A power cut at every step of that entry, before each flash operation
/// and tearing it: the relay never moves before the spend is durable, and after the reboot,
/// which empties the cache, the grant has exactly its two entries: the cut one, if its spend
/// became durable, or else the next attempt, whose signatures are then all checked again.
#[test]
fn power_cut_at_every_step_of_a_cached_grants_next_entry() {
    use porter_device::sim::SimFlash;
    let site = Site::new();
    let cert = site.seal_cert(&site.certificate_body());
    let grant = site.seal_grant(&site.grant_body(20, 2));
    let first_entry = |door: &mut Door| {
        assert!(matches!(
            door.attempt(|ch| site.present(ch, &grant, &cert, None)),
            Verdict::Admitted(_)
        ));
    };
    let (start, end) = {
        let (mut door, _) = Door::enrolled(patient());
        first_entry(&mut door);
        let start = door.c.storage().flash().ops();
        door.attempt(|ch| site.present(ch, &grant, &cert, None));
        (start, door.c.storage().flash().ops())
    };
    let spent_entries = |door: &mut Door| {
        door.events()
            .iter()
            .filter(|e| matches!(e, AuditEvent::Admitted { grant_serial: 20, .. }))
            .count()
    };
    let mut cut_after_spend = 0;
    for at_op in start..end {
        for tear in [Tear::Before, Tear::Partial(0x5555_5555), Tear::After] {
            let (mut door, _) = Door::enrolled(patient());
            first_entry(&mut door);
            let pulses = door.h.lock.pulses();
            door.c.storage().flash().cut_power(Cut { at_op, tear });
            door.attempt(|ch| site.present(ch, &grant, &cert, None));
            assert_eq!(door.h.lock.pulses(), pulses, "cut at {at_op} ({tear:?}): relay moved");
            let image = door.c.into_flash().image().to_vec();
            let mut door =
                Door::boot_on(SimFlash::from_image(image, 4096), door.h.clone(), patient());
            let next = door.attempt(|ch| site.present(ch, &grant, &cert, None));
            match spent_entries(&mut door) {
                // The cut entry's spend was durable: the grant is used up.
                2 if !matches!(next, Verdict::Admitted(_)) => {
                    cut_after_spend += 1;
                    assert_eq!(door.last_reason(), Some(Error::ReplayDuplicate.code()));
                }
                // It was not: the grant's second entry is this one, and it is the last.
                2 => {
                    door.attempt(|ch| site.present(ch, &grant, &cert, None));
                    assert_eq!(door.last_reason(), Some(Error::ReplayDuplicate.code()));
                }
                n => panic!("cut at {at_op} ({tear:?}): {n} admissions logged, {next:?}"),
            }
        }
    }
    assert!(cut_after_spend > 0, "no cut fell between the spend and the relay");
}
