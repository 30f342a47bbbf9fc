//! The fuzz target's entry point (feature `fuzzing`, used only by `fuzz/`): the door controller
//! on the simulator's hardware, driven by a script the fuzzer writes — attempts with the
//! site's grants (patched or not), raw link fragments, clock steps, door-switch changes, door
//! states, clean reboots, and power cuts at a chosen flash operation (torn as the input says,
//! during normal work or during boot).
//!
//! Checked after every step, whatever the input:
//! * no grant opens the relay more often than its uses, counting across reboots and power
//!   cuts (a grant is its exact signed bytes: forged grants, with the stand-in signatures, may
//!   share a serial);
//! * a refused attempt leaves the admission memory as it was;
//! * powered up again after a cut, the door always boots, unfaulted, still enrolled, with the
//!   same device key, and no flash word was ever programmed twice;
//! * a clean reboot restores the admission memory exactly;
//! * with real signatures (`real_crypto`), nothing but the script's own attempts opens the
//!   relay (raw fragments cannot forge an admission);
//! * and the controller never panics.
//!
//! Script: a settings byte (bit 0: patient, never backs off), then at most 32 steps of 4 bytes
//! `[kind, a, b, c]`, by `kind % 8`:
//! * 0, 1: an attempt (challenge, then presentation) with grant `a % 4` (1 to 4 uses), its
//!   presentation's byte `b` XORed with `c` (0: intact);
//! * 2: the clock moves `u16(a, b) * 16` ms; 3: a power cut at flash operation `a % 64` from
//!   now (`c` even) or from the start of a reboot done now (`c` odd), torn by `b % 4` (before,
//!   after, half-way); 4: a clean reboot; 5: door state `a & 1` (the second is newer);
//! * 6: a raw link fragment, the `a` bytes after the step; 7: the door switch (`a` bit 0 open,
//!   bit 1 exit requested).

// Fuzzing equipment: a failed assertion is a finding.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::vec::Vec;

use porter_link::{Answer, Request, MAX_REQUEST_LEN};
use porter_protocol::{
    Challenge, DoorMemory, Enrolment, Grant, LogSecret, Presentation, PublicKey, MAX_CHALLENGE_LEN,
    VERSION,
};
use porter_testkit::{Site, DOOR, NOON, SITE};

use crate::sim::{Cut, Handles, MemTransport, Phone, SimController, SimFlash, Tear, SIM_PAGE_SIZE};
use crate::Settings;

/// Steps per script: enough for a grant's every use, a few cuts and reboots between.
const MAX_STEPS: usize = 32;

/// What every script starts from: an enrolled door's flash, and the site's signed material.
struct World {
    site: Site,
    cert: Vec<u8>,
    /// Sealed grants of 1 to 4 uses.
    grants: Vec<Vec<u8>>,
    /// Two door states, the second newer.
    states: [Vec<u8>; 2],
    /// The flash of a door enrolled for `site` (booted once, button pressed, enrolment taken).
    image: Vec<u8>,
    device: PublicKey,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let site = Site::new();
        let cert = site.seal_cert(&site.certificate_body());
        let grants: Vec<Vec<u8>> = (1..=4)
            .map(|uses| site.seal_grant(&site.grant_body(10 + u64::from(uses), uses)))
            .collect();
        let states = [1, 2].map(|n| site.seal_state(&site.state(n, NOON.plus(n as u32))));
        let h = Handles::new(NOON, 7);
        let (mut c, t) =
            h.boot(SimFlash::blank(), Settings::default()).expect("a blank door boots");
        let device = c.device_key();
        let enrolment = Enrolment {
            version: VERSION,
            site: SITE,
            door: DOOR,
            device,
            issued_at: NOON.minus(3600),
            log_key: Some(LogSecret::from_seed([0x4C; 32]).unwrap().log_key().unwrap()),
        };
        let mut buf = [0u8; porter_protocol::MAX_ENROLMENT_LEN];
        let enrolment = enrolment.seal(&site.root, &mut buf).unwrap();
        h.button.set_held(true);
        c.poll();
        h.button.set_held(false);
        c.poll();
        let request = Request::Enrol { root: site.root.public_key(), enrolment };
        let answer = call(&mut c, &t, &mut Phone::default(), request);
        assert!(matches!(answer.as_deref().map(Answer::decode), Some(Ok(Answer::Enrolled))));
        let image = c.into_flash().image().to_vec();
        World { site, cert, grants, states, image, device }
    })
}

/// The holder's presentation of grant `i` answering `challenge`, signed once per process and
/// challenge: the phone's signing is the script's fixture, not the door under test, and every
/// script's door draws the same challenges (its entropy and clock start alike), so most
/// attempts find theirs here. The door still verifies every signature it is sent.
fn presentation(i: usize, challenge: &Challenge) -> Vec<u8> {
    /// Enough for the challenges of many scripts; emptied when full.
    const CAPACITY: usize = 1 << 14;
    /// (grant, encoded challenge) -> presentation.
    type Signed = HashMap<(usize, Vec<u8>), Vec<u8>>;
    static SIGNED: Mutex<Option<Signed>> = Mutex::new(None);
    let mut buf = [0u8; MAX_CHALLENGE_LEN];
    let key = (i, challenge.encode(&mut buf).expect("a challenge encodes").to_vec());
    let mut signed = SIGNED.lock().unwrap_or_else(|e| e.into_inner());
    let signed = signed.get_or_insert_with(HashMap::new);
    if signed.len() >= CAPACITY {
        signed.clear();
    }
    let w = world();
    signed
        .entry(key)
        .or_insert_with(|| w.site.present(challenge, &w.grants[i], &w.cert, None))
        .clone()
}

/// Sends `request`, polls the door, returns its whole answer (none if it fell silent).
fn call(
    c: &mut SimController,
    t: &MemTransport,
    phone: &mut Phone,
    request: Request<'_>,
) -> Option<Vec<u8>> {
    let mut buf = [0u8; MAX_REQUEST_LEN];
    let bytes = request.encode(&mut buf).expect("the script's requests fit");
    phone.call(c, t, bytes)
}

/// A door under test: its controller, transport and hardware, and what it has done.
struct Door {
    c: SimController,
    t: MemTransport,
    h: Handles,
    phone: Phone,
    settings: Settings,
    /// Relay releases per grant (its exact signed bytes), across reboots.
    opened: HashMap<Vec<u8>, u32>,
    summary: Summary,
}

impl Door {
    /// Powers off and on again on what the flash holds, with `cut` scheduled during the boot
    /// if given (then once more, uncut, if it killed the boot); checks what must survive.
    fn power_up(&mut self, cut: Option<Cut>) {
        let flash = self.c.storage().flash();
        assert_eq!(flash.violations(), 0, "a word was programmed twice without an erase");
        let mut flash = SimFlash::from_image(flash.image().to_vec(), SIM_PAGE_SIZE);
        if let Some(cut) = cut {
            flash.cut_power(cut);
            let (c, _) = self.h.boot(flash, self.settings).expect("the geometry is the board's");
            let flash = c.into_flash();
            assert_eq!(flash.violations(), 0, "a word was programmed twice during boot");
            self.summary.cuts += u32::from(flash.dead());
            self.summary.boots += 1;
            let image = flash.image().to_vec();
            // Cut or not, the next boot starts from what the flash holds.
            let flash = SimFlash::from_image(image, SIM_PAGE_SIZE);
            return self.boot_checked(flash);
        }
        self.boot_checked(flash);
    }

    fn boot_checked(&mut self, flash: SimFlash) {
        let (c, t) = self.h.boot(flash, self.settings).expect("the geometry is the board's");
        assert_eq!(c.fault(), None, "the door came up faulted");
        assert!(c.enrolled(), "the enrolment was lost");
        assert_eq!(c.device_key(), world().device, "the device key changed");
        (self.c, self.t, self.phone) = (c, t, Phone::default());
        self.summary.boots += 1;
    }

    /// Whether the power has gone (a scheduled cut was reached).
    fn dead(&mut self) -> bool {
        self.c.storage().flash().dead()
    }

    /// One attempt with grant `i`, its presentation patched at `at` with `xor` (0: intact).
    fn attempt(&mut self, i: usize, at: u8, xor: u8) {
        let memory = self.c.memory().cloned();
        let releases = self.c.releases();
        let answer = call(&mut self.c, &self.t, &mut self.phone, Request::Challenge);
        let Some(Ok(Answer::Challenge(_, challenge))) = answer.as_deref().map(Answer::decode)
        else {
            return self.refused(memory, releases, "a refused challenge request");
        };
        let mut p = presentation(i, &challenge);
        if xor != 0 {
            let at = usize::from(at) % p.len();
            p[at] ^= xor;
        }
        let answer = call(&mut self.c, &self.t, &mut self.phone, Request::Present(&p));
        let opened = self.c.releases() - releases;
        if opened == 0 {
            return self.refused(memory, releases, "a refused presentation");
        }
        assert!(
            matches!(answer.as_deref().map(Answer::decode), Some(Ok(Answer::Admitted(_))) | None),
            "the relay opened on an answer other than admitted: {answer:?}"
        );
        // What opened is the grant inside what the door was sent.
        let grant = Presentation::decode(&p).expect("an admitted presentation decodes");
        let grant = grant.claims().grant;
        let uses = Grant::decode(grant).expect("an admitted grant decodes").claims().uses;
        let count = self.opened.entry(grant.to_vec()).or_default();
        *count += opened;
        self.summary.opened += opened;
        assert!(*count <= u32::from(uses), "a {uses}-use grant opened the relay {count} times");
    }

    /// After a refusal: the relay did not move and, unless the power went, the admission
    /// memory is as it was.
    fn refused(&mut self, memory: Option<DoorMemory>, releases: u32, what: &str) {
        assert_eq!(self.c.releases(), releases, "{what} opened the relay");
        if !self.dead() && self.c.fault().is_none() {
            assert!(self.c.memory() == memory.as_ref(), "{what} changed the admission memory");
        }
    }
}

/// What a script did, for the tests that check the hook reaches what it claims to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Relay releases for the script's attempts, over every boot.
    pub opened: u32,
    /// Boots after the first: clean reboots and power-ups after a cut.
    pub boots: u32,
    /// Power cuts that struck (during work or during a boot).
    pub cuts: u32,
}

/// Runs the script in `data` (see the module's comment). `real_crypto`: the build verifies
/// real signatures (not `fuzzing-stand-in-crypto`).
pub fn fuzz_door(data: &[u8], real_crypto: bool) -> Summary {
    // Every boot derives the device key and the log mask again and verifies the enrolment and
    // door state in flash, with the same inputs: pure, so remembered in a fuzzing build
    // (`remember_derivations`): the door decides the same, and the target runs 1.6 times as
    // many scripts per CPU second (fuzz/README.md, "Speed").
    porter_protocol::internal::remember_derivations();
    let w = world();
    let Some((&first, mut rest)) = data.split_first() else { return Summary::default() };
    let settings = match first & 1 {
        1 => Settings { free_failures: 1_000, ..Settings::default() },
        _ => Settings::default(),
    };
    let h = Handles::new(NOON, 7);
    let (c, t) = h.boot(SimFlash::from_image(w.image.clone(), SIM_PAGE_SIZE), settings).unwrap();
    let mut door = Door {
        c,
        t,
        h,
        phone: Phone::default(),
        settings,
        opened: HashMap::new(),
        summary: Summary::default(),
    };
    for _ in 0..MAX_STEPS {
        let Some((&[kind, a, b, c], tail)) = rest.split_first_chunk::<4>() else { break };
        rest = tail;
        match kind % 8 {
            0 | 1 => door.attempt(usize::from(a) % w.grants.len(), b, c),
            2 => {
                door.h.clock.advance_ms(u64::from(u16::from_le_bytes([a, b])) * 16);
                door.c.poll();
            }
            3 => {
                let tear = match b % 4 {
                    0 => Tear::Before,
                    1 => Tear::After,
                    _ => Tear::Partial(u32::from_le_bytes([b, c, a, 0x5A])),
                };
                let at_op = u64::from(a % 64);
                if c & 1 == 0 {
                    let ops = door.c.storage().flash().ops();
                    door.c.storage().flash().cut_power(Cut { at_op: ops + at_op, tear });
                } else {
                    door.power_up(Some(Cut { at_op, tear }));
                }
            }
            4 => {
                let before = door.c.memory().cloned();
                door.power_up(None);
                assert!(
                    door.c.memory() == before.as_ref(),
                    "a reboot changed the admission memory"
                );
            }
            5 => {
                let state = &w.states[usize::from(a & 1)];
                let _ = call(&mut door.c, &door.t, &mut door.phone, Request::DoorState(state));
            }
            6 => {
                let (fragment, tail) = rest.split_at(usize::from(a).min(rest.len()));
                rest = tail;
                let releases = door.c.releases();
                door.t.send_fragment(fragment);
                door.c.poll();
                while door.t.take_fragment().is_some() {}
                if real_crypto {
                    assert_eq!(door.c.releases(), releases, "raw fragments opened the relay");
                }
            }
            _ => {
                door.h.sensor.set_open(a & 1 == 1);
                door.h.sensor.set_exit_requested(a & 2 == 2);
                door.c.poll();
            }
        }
        if door.dead() {
            door.summary.cuts += 1;
            door.power_up(None);
        }
    }
    door.summary
}
