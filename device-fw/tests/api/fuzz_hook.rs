//! The door fuzz target's hook (`porter_device::fuzzing`, fuzz target `door_sim`) reaches what
//! it claims to: admissions up to each grant's uses and no further, power cuts during work and
//! during boot, reboots. Its own assertions (a grant beyond its uses, a refusal that changes
//! the memory, a boot that does not recover) run inside every call.

use porter_device::fuzzing::{fuzz_door, Summary};

/// Attempt with grant `g` (0..4: 1 to 4 uses), its presentation intact.
fn attempt(g: u8) -> [u8; 4] {
    [0, g, 0, 0]
}

fn script(patient: bool, steps: &[[u8; 4]]) -> Vec<u8> {
    let mut out = vec![u8::from(patient)];
    out.extend(steps.iter().flatten());
    out
}

#[test]
fn every_grant_opens_exactly_its_uses_and_no_more() {
    // Each grant presented one more time than its uses: 1 + 2 + 3 + 4 openings.
    let steps: Vec<[u8; 4]> =
        (0..4u8).flat_map(|g| std::iter::repeat_n(attempt(g), usize::from(g) + 2)).collect();
    let summary = fuzz_door(&script(true, &steps), true);
    assert_eq!(summary, Summary { opened: 10, boots: 0, cuts: 0 });
}

#[test]
fn uses_spent_before_a_reboot_stay_spent() {
    let reboot = [4, 0, 0, 0];
    let steps = [attempt(1), reboot, attempt(1), reboot, attempt(1), attempt(1)];
    let summary = fuzz_door(&script(true, &steps), true);
    assert_eq!(summary, Summary { opened: 2, boots: 2, cuts: 0 });
}

#[test]
fn power_cuts_during_attempts_and_boots_are_recovered_from() {
    let mut cuts = 0;
    // A cut at every one of the next 40 flash operations, each tear, during an attempt with a
    // 2-use grant, then during the next boot: the hook asserts the door recovers every time.
    for at in 0..40u8 {
        for tear in 0..4u8 {
            let during_work = [3, at, tear, 0];
            let during_boot = [3, at, tear, 1];
            let steps = [during_work, attempt(1), attempt(1), during_boot, attempt(1), attempt(1)];
            let summary = fuzz_door(&script(true, &steps), true);
            assert!(summary.opened <= 2, "{summary:?}");
            cuts += summary.cuts;
        }
    }
    assert!(cuts >= 100, "only {cuts} of the scheduled cuts struck");
}

#[test]
fn altered_presentations_never_open_with_real_signatures() {
    let steps: Vec<[u8; 4]> = (0..40u8).map(|i| [0, i % 4, i.wrapping_mul(7), 1 + i]).collect();
    let summary = fuzz_door(&script(false, &steps), true);
    assert_eq!(summary.opened, 0);
}

/// The hook keeps the presentations it signs (per grant and challenge) for later scripts: a
/// script run again, now on kept presentations, does exactly what it did (the door verifies
/// them as it verified the fresh ones; an altered one is altered after it is taken).
#[test]
fn kept_presentations_change_nothing_a_script_does() {
    let reboot = [4, 0, 0, 0];
    let steps = [attempt(2), [0, 2, 40, 1], attempt(2), reboot, attempt(2), attempt(2)];
    let first = fuzz_door(&script(false, &steps), true);
    assert_eq!(first, Summary { opened: 3, boots: 1, cuts: 0 });
    for _ in 0..3 {
        assert_eq!(fuzz_door(&script(false, &steps), true), first);
    }
}
