//! The phone session against a door and a hostile radio, for the `phone_session` fuzz targets
//! (features `fuzzing` and `door-model`).
//!
//! The input scripts the radio between a [`PhoneSession`] and an honest [`DoorModel`]: deliver,
//! drop, corrupt or forge fragments either way, let time pass, reconnect, restart the door. The
//! session must never panic, and must never report `Admitted` unless it holds a receipt that
//! verifies under the door's device key for this door and this grant; with real signatures,
//! never unless the door really opened, and the door never opens a one-use grant twice.

#![allow(clippy::panic, clippy::indexing_slicing, clippy::expect_used)]
// Reason: a fuzz hook: a broken invariant must crash; it never ships in a door.

use std::collections::VecDeque;
use std::sync::OnceLock;
use std::vec;
use std::vec::Vec;

use porter_protocol::{
    AuditEvent, AuditRecord, Certificate, Domain, DoorConfig, DoorId, DoorScope, Grant, Hours,
    IssuerLimits, PackageCommitment, PublicKey, Role, RoleSet, SigningKey, SiteId, Time, TimeZone,
    MAX_CERTIFICATE_LEN, MAX_GRANT_LEN, VERSION,
};

use crate::door_model::DoorModel;
use crate::frame::{MAX_MTU, MIN_MTU};
use crate::{Buffers, Holder, Outcome, PhoneSession, SessionConfig, Status};
use crate::{MAX_ANSWER_LEN, MAX_REQUEST_LEN};

const SITE: SiteId = SiteId(0x5157_0001);
const DOOR: DoorId = DoorId(1);
const NOON: Time = Time(1_795_435_200);
const SERIAL: u64 = 10;
/// Steps per input: enough for a whole exchange with the log at the smallest MTU.
const MAX_STEPS: usize = 4_096;

/// The site, signed once per process (the testkit's keys: seeds `[n; 32]`).
struct Fixture {
    config: DoorConfig,
    holder: SigningKey,
    device: SigningKey,
    grant: Vec<u8>,
    certificate: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key = |n: u8| SigningKey::from_seed([n; 32]).expect("a valid seed");
        let (root, issuer, holder, device) = (key(1), key(2), key(3), key(4));
        let certificate = Certificate {
            version: VERSION,
            site: SITE,
            issuer: issuer.public_key(),
            epoch: 1,
            not_before: NOON.minus(86_400),
            not_after: NOON.plus(86_400 * 365),
            limits: IssuerLimits {
                doors: DoorScope::All,
                roles: RoleSet::only(Role::Delivery),
                hours: Hours::ALWAYS,
                zone: TimeZone::UTC,
                max_grant_lifetime: 900,
                max_uses: 4,
            },
        };
        let grant = Grant {
            version: VERSION,
            site: SITE,
            serial: SERIAL,
            uses: 1,
            role: Role::Delivery,
            doors: [DOOR][..].try_into().expect("one door fits"),
            not_before: NOON.minus(60),
            not_after: NOON.plus(600),
            holder: holder.public_key(),
            package: PackageCommitment::new(&[7; 16], b"1Z999AA10123456784"),
        };
        let mut buf = [0u8; MAX_CERTIFICATE_LEN];
        let certificate = certificate.seal(&root, &mut buf).expect("seals").to_vec();
        let mut buf = [0u8; MAX_GRANT_LEN];
        let grant = grant.seal(&issuer, &mut buf).expect("seals").to_vec();
        let config = DoorConfig {
            site: SITE,
            door: DOOR,
            root: root.public_key(),
            clock_skew: 60,
            challenge_lifetime: 30,
        };
        Fixture { config, holder, device, grant, certificate }
    })
}

/// Reads the script one byte at a time (zero once it runs out).
struct Script<'d>(&'d [u8]);

impl Script<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn bytes(&mut self, n: usize) -> &[u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }
}

/// One scripted visit. The first byte sets the MTU, whether the session knows the device key
/// and whether it carries the log; then each byte is an operation (see the match below).
/// `real_crypto`: false for the `_deep` target, where signatures are a forgeable stand-in and
/// so a forged receipt can verify: then only the receipt check applies. Returns where the
/// session ended and how many times the door opened (for the hook's own tests).
pub fn fuzz_phone_session(data: &[u8], real_crypto: bool) -> Option<(Status, u32)> {
    // The fixture's work, remembered in a fuzzing build (pure functions of their inputs, so
    // the door model answers as it would have): its device key, made again from the seed for
    // every input (a `SigningKey` is not `Clone`), and its checks of the same certificate and
    // grant, and of holder proofs over the same challenges (its nonces count boots and
    // attempts), input after input: half of the target's time. The phone's own checks
    // (receipts, log heads) are computed every time.
    porter_protocol::internal::remember_verifications(&[
        Domain::IssuerCertificate,
        Domain::Grant,
        Domain::HolderProof,
    ]);
    let f = fixture();
    let mut script = Script(data);
    let setup = script.byte()?;
    let mtu = MIN_MTU + usize::from(setup) % (MAX_MTU - MIN_MTU + 1);
    let mut cfg = SessionConfig::new(&f.grant, &f.certificate);
    cfg.mtu = mtu;
    cfg.device_key = (setup & 1 == 0).then(|| f.device.public_key());
    cfg.log_from = (setup & 2 == 0).then_some(0);
    cfg.expected_door = (setup & 4 == 0).then_some((SITE, DOOR));

    let mut door = DoorModel::new(
        f.config.clone(),
        SigningKey::from_seed([4; 32]).expect("a valid seed"),
        mtu,
        NOON,
    );
    let (mut request, mut answer, mut log) =
        (vec![0u8; MAX_REQUEST_LEN], vec![0u8; MAX_ANSWER_LEN], vec![0u8; 2048]);
    let buffers = Buffers { request: &mut request, answer: &mut answer, log: &mut log };
    let mut session = PhoneSession::new(cfg, Holder::Key(&f.holder), buffers, 0);

    let mut now = 0u64;
    let mut up = [0u8; MAX_MTU];
    let mut down: VecDeque<Vec<u8>> = VecDeque::new();
    let mut checked = CheckedReceipt::default();
    for _ in 0..MAX_STEPS {
        let Some(op) = script.byte() else { break };
        match op % 10 {
            // Most of the time the radio works: phone to door, answers back in order.
            0..=2 => {
                if let Some(n) = session.transmit(now, &mut up) {
                    down.extend(door.receive(now, &up[..n]));
                }
                if let Some(fragment) = down.pop_front() {
                    session.receive(now, &fragment);
                }
            }
            // Phone to door only: the door's answer waits on the radio (to be lost, say).
            3 => {
                if let Some(n) = session.transmit(now, &mut up) {
                    down.extend(door.receive(now, &up[..n]));
                }
            }
            // A phone fragment lost on the way.
            4 => {
                let _ = session.transmit(now, &mut up);
            }
            // A door fragment lost.
            5 => {
                down.pop_front();
            }
            // A door fragment corrupted: one byte flipped.
            6 => {
                let at = usize::from(script.byte().unwrap_or(0));
                let flip = script.byte().unwrap_or(1) | 1;
                if let Some(mut fragment) = down.pop_front() {
                    let i = at % fragment.len().max(1);
                    if let Some(b) = fragment.get_mut(i) {
                        *b ^= flip;
                    }
                    session.receive(now, &fragment);
                }
            }
            // A forged fragment to the phone, or to the door.
            7 => {
                let len = usize::from(script.byte().unwrap_or(0));
                let to_door = len & 0x80 != 0;
                let fragment = script.bytes(len & 0x7f).to_vec();
                if to_door {
                    down.extend(door.receive(now, &fragment));
                } else {
                    session.receive(now, &fragment);
                }
            }
            // Time passes: the session's timers run.
            8 => {
                now += 10 * u64::from(script.byte().unwrap_or(0)) + 1;
                door.clock = NOON.plus(u32::try_from(now / 1000).unwrap_or(u32::MAX));
                session.tick(now);
            }
            // The link drops and comes back; sometimes the door lost power meanwhile.
            _ => {
                down.clear();
                if script.byte().unwrap_or(0) & 1 == 1 {
                    door.reboot();
                }
                now += 100;
                session.reconnected(now);
            }
        }
        check(&session, &door, real_crypto, &mut checked);
        if matches!(session.status(), Status::Done(_)) {
            break;
        }
    }
    Some((session.status(), door.releases))
}

/// The last receipt found to verify under a key and to be this door's and grant's: once a
/// session has its verdict it keeps the same receipt for the rest of the script (the log
/// transfer goes on), and verifying the same bytes under the same key again after every step
/// was most of the real-crypto target's time.
#[derive(Default)]
struct CheckedReceipt(Option<(Vec<u8>, PublicKey)>);

/// The invariants, after every step.
fn check(
    session: &PhoneSession<'_, '_, '_>,
    door: &DoorModel,
    real_crypto: bool,
    checked: &mut CheckedReceipt,
) {
    let admitted = session.verdict() == Some(Outcome::Admitted)
        || session.status() == Status::Done(Outcome::Admitted);
    if real_crypto && door.releases > 1 {
        panic!("the door opened a one-use grant {} times", door.releases);
    }
    if !admitted {
        return;
    }
    if real_crypto && door.releases == 0 {
        panic!("the phone reports admitted but the door never opened");
    }
    // Which key the session trusted: the configured one, or the door's info answer.
    let device: PublicKey = match (real_crypto, session.info()) {
        (false, Some(info)) => info.device_key,
        _ => fixture().device.public_key(),
    };
    let Some(receipt) = session.receipt() else {
        panic!("the phone reports admitted without a receipt");
    };
    if checked.0.as_ref().is_some_and(|(r, k)| r == receipt && *k == device) {
        return;
    }
    let Ok(record) = AuditRecord::decode_receipt(receipt, &device) else {
        panic!("the phone reports admitted with a receipt that does not verify");
    };
    let ours = record.site == SITE
        && record.door == DOOR
        && matches!(record.event, AuditEvent::Admitted { grant_serial: SERIAL, .. });
    if !ours {
        panic!("the phone reports admitted with another door's or grant's receipt");
    }
    checked.0 = Some((receipt.to_vec(), device));
}
