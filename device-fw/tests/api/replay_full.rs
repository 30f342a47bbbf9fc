//! Power cuts at full replay memory: the replay record is then two flash records (parts), and a
//! cut between or inside them must leave the previous record committed and readable, however
//! many times it happens in a row.

use porter_device::sim::{Cut, Handles, SimFlash, Tear};
use porter_protocol::*;

use super::door::*;
use super::fixture::*;

/// Grants with five-byte serials: the largest replay entries.
const BIG: u64 = 0x1000_0000;
/// Live grants on the door before the swept script: a replay record of two parts.
const LIVE: u64 = 600;

struct Full {
    site: Site,
    cert: Vec<u8>,
    image: Vec<u8>,
    /// Grants spent before the script, a sample checked after every cut.
    spent: Vec<Vec<u8>>,
}

/// A door whose replay memory holds `LIVE` grants of five-byte serials.
fn full() -> Full {
    let (mut door, site) = Door::enrolled(patient());
    let cert = site.seal_cert(&site.certificate_body());
    let mut spent = Vec::new();
    for serial in 0..LIVE {
        let grant = site.seal_grant(&site.grant_body(BIG + serial, 1));
        let verdict = door.attempt(|ch| site.present(ch, &grant, &cert, None));
        assert!(matches!(verdict, Verdict::Admitted(_)), "grant {serial}: {verdict:?}");
        if serial % 97 == 0 || serial == LIVE - 1 {
            spent.push(grant);
        }
    }
    door.advance_ms(6_000);
    let record = door.c.storage().replay().unwrap().expect("a replay record");
    assert_eq!(record.replay.len() as u64, LIVE);
    let image = door.c.into_flash().image().to_vec();
    Full { site, cert, image, spent }
}

fn boot(image: Vec<u8>, h: &Handles) -> Door {
    let h = Handles { lock: Default::default(), ..h.clone() };
    Door::boot_on(SimFlash::from_image(image, 4096), h, patient())
}

/// Every grant spent before the cuts is still spent.
fn spent_stay_spent(door: &mut Door, f: &Full, what: &str) {
    for grant in &f.spent {
        let pulses = door.h.lock.pulses();
        door.attempt(|ch| f.site.present(ch, grant, &f.cert, None));
        assert_eq!(door.h.lock.pulses(), pulses, "{what}: a spent grant opened the door");
        assert_eq!(door.last_reason(), Some(Error::ReplayDuplicate.code()), "{what}");
    }
}

#[test]
fn power_cut_at_every_step_of_an_admission_at_full_replay_memory() {
    let f = full();
    let fresh = f.site.seal_grant(&f.site.grant_body(BIG + LIVE, 1));
    // The script: a new grant admitted (a two-part record), then presented again.
    let script = |door: &mut Door| -> u32 {
        let pulses = door.h.lock.pulses();
        for _ in 0..2 {
            if door.c.storage().flash().dead() {
                break;
            }
            door.attempt(|ch| f.site.present(ch, &fresh, &f.cert, None));
            door.advance_ms(6_000);
        }
        door.h.lock.pulses() - pulses
    };
    let (start, total) = {
        let mut door = boot(f.image.clone(), &Handles::new(NOON, 7));
        let start = door.c.storage().flash().ops();
        assert_eq!(script(&mut door), 1);
        (start, door.c.storage().flash().ops())
    };
    assert!(total - start > 1_000, "the admission wrote a small record: {}", total - start);
    // Every operation cut before it starts; every third one torn (a word partly programmed, a
    // page partly erased), the pattern varying with the operation.
    for at_op in start..total {
        let torn = Tear::Partial((at_op as u32).wrapping_mul(0x9E37_79B9) | 1);
        let tears = if at_op % 3 == 0 { vec![Tear::Before, torn] } else { vec![Tear::Before] };
        for tear in tears {
            let cut = Cut { at_op, tear };
            // A clock of its own per run: the grants stay valid however many runs came before.
            let h = Handles::new(NOON, 7);
            let mut door = boot(f.image.clone(), &h);
            door.c.storage().flash().cut_power(cut);
            let before = script(&mut door);
            assert!(door.c.storage().flash().dead(), "{cut:?} was not reached");
            let flash = door.c.into_flash();
            assert_eq!(flash.violations(), 0, "{cut:?}: a word was programmed twice");
            let mut door = boot(flash.image().to_vec(), &h);
            assert_eq!(door.c.fault(), None, "{cut:?}: the door came up faulted");
            let what = format!("{cut:?}");
            spent_stay_spent(&mut door, &f, &what);
            let after = script(&mut door);
            assert!(before + after <= 1, "{cut:?}: admitted {before} times before, {after} after");
        }
    }
}

#[test]
fn repeated_power_cuts_inside_two_part_records_never_lose_the_committed_one() {
    // Each round cuts power somewhere inside an admission's two-part record, so the parts of
    // uncommitted records pile up on the ring between boots; none may push a new record onto
    // the pages of the committed one.
    let f = full();
    let h = Handles::new(NOON, 7);
    let mut image = f.image.clone();
    let mut admitted = Vec::new();
    let mut lcg = 0x2545_F491_4F6C_DD1Du64;
    for round in 0..40u64 {
        let grant = f.site.seal_grant(&f.site.grant_body(BIG + LIVE + round, 1));
        let ops = {
            let mut door = boot(image.clone(), &h);
            let start = door.c.storage().flash().ops();
            door.attempt(|ch| f.site.present(ch, &grant, &f.cert, None));
            door.c.storage().flash().ops() - start
        };
        lcg = lcg.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        // Every third round completes: the ring moves on, over pages holding leftovers.
        let cut = (round % 3 != 2).then(|| (lcg >> 33) % ops);
        let mut door = boot(image.clone(), &h);
        if let Some(offset) = cut {
            let at_op = door.c.storage().flash().ops() + offset;
            door.c.storage().flash().cut_power(Cut { at_op, tear: Tear::Partial(lcg as u32) });
        }
        let pulses = door.h.lock.pulses();
        door.attempt(|ch| f.site.present(ch, &grant, &f.cert, None));
        if door.h.lock.pulses() > pulses {
            admitted.push(grant);
        }
        image = door.c.into_flash().image().to_vec();
        let mut door = boot(image.clone(), &h);
        assert_eq!(door.c.fault(), None, "round {round}: the door came up faulted");
        spent_stay_spent(&mut door, &f, &format!("round {round}"));
        for grant in &admitted {
            door.attempt(|ch| f.site.present(ch, grant, &f.cert, None));
            assert_eq!(door.last_reason(), Some(Error::ReplayDuplicate.code()), "round {round}");
        }
        image = door.c.into_flash().image().to_vec();
    }
    assert!(admitted.len() >= 13, "only {} rounds admitted", admitted.len());
}
