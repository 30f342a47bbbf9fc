//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`). Each asserts the
//! invariants its target checks: a failed assertion is a finding.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
// Reason: these hooks exist to panic when an invariant breaks; they never ship in a door.

use crate::*;

const SITE: SiteId = SiteId(0x5157_0001);
const DOOR: DoorId = DoorId(1);
const NOON: Time = Time(1_795_435_200);

/// Decoders never panic, and anything that decodes is exactly its canonical encoding.
pub fn fuzz_decoders(data: &[u8]) {
    let Some((&which, bytes)) = data.split_first() else { return };
    let mut buf = [0u8; MAX_PRESENTATION_LEN];
    match which % 8 {
        0 => {
            if let Ok(g) = Grant::decode(bytes) {
                assert_eq!(encode(g.claims(), &mut buf).unwrap(), g.body_bytes());
            }
        }
        1 => {
            if let Ok(c) = Certificate::decode(bytes) {
                assert_eq!(encode(c.claims(), &mut buf).unwrap(), c.body_bytes());
            }
        }
        2 => {
            if let Ok(s) = DoorState::decode(bytes) {
                assert_eq!(encode(s.claims(), &mut buf).unwrap(), s.body_bytes());
            }
        }
        3 => {
            if let Ok(p) = Presentation::decode(bytes) {
                assert_eq!(p.claims().encode_body(&mut buf).unwrap(), p.body_bytes());
            }
        }
        4 => {
            if let Ok(c) = Challenge::decode(bytes) {
                assert_eq!(c.encode(&mut buf).unwrap(), bytes);
            }
        }
        5 => {
            if let Ok(r) = AuditRecord::decode(bytes) {
                assert_eq!(r.encode(&mut buf).unwrap(), bytes);
            }
        }
        6 => {
            if let Ok(m) = DoorMemory::<4, 8, 4>::decode(bytes) {
                assert_eq!(m.encode(&mut buf).unwrap(), bytes);
            }
        }
        _ => {
            let root = PublicKey([9; 32]);
            let _ = Enrolment::decode_verified(bytes, &root);
        }
    }
}

/// Admission never panics; a presentation that differs from the one valid presentation is
/// never admitted; a refusal leaves the memory unchanged.
pub fn fuzz_admission(data: &[u8]) {
    let root = SigningKey::from_seed([1; 32]).unwrap();
    let issuer = SigningKey::from_seed([2; 32]).unwrap();
    let holder = SigningKey::from_seed([3; 32]).unwrap();
    let config = DoorConfig {
        site: SITE,
        door: DOOR,
        root: root.public_key(),
        clock_skew: 60,
        challenge_lifetime: 30,
    };
    let cert = Certificate {
        version: VERSION,
        site: SITE,
        issuer: issuer.public_key(),
        epoch: 1,
        not_before: NOON.minus(86_400),
        not_after: NOON.plus(86_400),
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
        serial: 7,
        uses: 2,
        role: Role::Delivery,
        doors: heapless::Vec::from_slice(&[DOOR]).unwrap(),
        not_before: NOON.minus(60),
        not_after: NOON.plus(600),
        holder: holder.public_key(),
        package: PackageCommitment([5; 32]),
    };
    let mut cert_buf = [0u8; MAX_CERTIFICATE_LEN];
    let cert = cert.seal(&root, &mut cert_buf).unwrap();
    let mut grant_buf = [0u8; MAX_GRANT_LEN];
    let grant = grant.seal(&issuer, &mut grant_buf).unwrap();
    let challenge = Challenge::new(SITE, DOOR, [1; 16], NOON);
    let mut valid_buf = [0u8; 1024];
    let valid = present(&holder, &challenge, grant, cert, None, &mut valid_buf).unwrap();

    // The first byte picks raw bytes or patches (offset, byte) applied to the valid presentation.
    let mut candidate = [0u8; MAX_PRESENTATION_LEN];
    let candidate: &[u8] = match data.split_first() {
        Some((0, raw)) if raw.len() <= candidate.len() => {
            candidate[..raw.len()].copy_from_slice(raw);
            &candidate[..raw.len()]
        }
        Some((_, patches)) => {
            candidate[..valid.len()].copy_from_slice(valid);
            for p in patches.chunks_exact(3) {
                let at = usize::from(u16::from_le_bytes([p[0], p[1]])) % valid.len();
                candidate[at] ^= p[2];
            }
            &candidate[..valid.len()]
        }
        _ => return,
    };
    let mut memory: DoorMemory = DoorMemory::new(SITE, Time(0));
    let fresh = memory.clone();
    match memory.admit(&config, NOON, &challenge, candidate) {
        Decision::Admit(a) => {
            assert_eq!(candidate, valid, "admitted a presentation that was altered");
            assert_eq!(a.grant_serial, 7);
        }
        Decision::Reject(_) => assert_eq!(memory, fresh, "a refusal changed the memory"),
    }
}

/// The replay table agrees with a naive model over arbitrary operations.
pub fn fuzz_replay_window(data: &[u8]) {
    const SERIALS: usize = 1024;
    const WINDOW: u64 = 256;
    const SKEW: u32 = 5;
    let mut table: ReplayTable<4, 8> = ReplayTable::new();
    // Model: per issuer id (0..8) the spent serials, the top, the last use, and a slot order.
    let mut spent = [[false; SERIALS]; 8];
    let mut top = [None::<u64>; 8];
    let mut last = [Time(0); 8];
    let mut slots: heapless::Vec<usize, 4> = heapless::Vec::new();
    let mut forgotten = Time(0);
    let mut now = Time(1000);
    for op in data.chunks_exact(4) {
        let issuer = usize::from(op[0] % 8);
        let serial = u64::from(u16::from_le_bytes([op[1], op[2]])) % (SERIALS as u64 - 8);
        let uses = op[3] % 4 + 1;
        let advance = u32::from(op[3] >> 2);
        now = now.plus(advance);
        let not_before = now.minus(u32::from(op[0] >> 3));
        let id = KeyId([issuer as u8; 8]);

        let expected: Result<u64, Error> = if let Some(t) = top[issuer] {
            let mut remembered = false;
            let mut found = None;
            for s in serial..serial + u64::from(uses) {
                if s + WINDOW <= t {
                    continue;
                }
                if spent[issuer][s as usize] {
                    remembered = true;
                } else {
                    found = Some(s);
                    break;
                }
            }
            found.ok_or(if remembered { Error::ReplayDuplicate } else { Error::ReplayTooOld })
        } else if forgotten != Time(0) && not_before.minus(SKEW) <= forgotten {
            Err(Error::ReplayTooOld)
        } else {
            Ok(serial)
        };
        let got = table.check(id, serial, uses, not_before, SKEW);
        assert_eq!(got.map(|s| s.serial), expected);
        if let Ok(spend) = got {
            table.commit(spend, now);
            if top[issuer].is_none() {
                if slots.len() == 4 {
                    let (victim_slot, &victim) =
                        slots.iter().enumerate().min_by_key(|(_, &i)| last[i]).unwrap();
                    forgotten = forgotten.max(last[victim]);
                    spent[victim] = [false; SERIALS];
                    top[victim] = None;
                    slots[victim_slot] = issuer;
                } else {
                    slots.push(issuer).unwrap();
                }
            }
            spent[issuer][spend.serial as usize] = true;
            top[issuer] = Some(top[issuer].map_or(spend.serial, |t| t.max(spend.serial)));
            last[issuer] = last[issuer].max(now);
        }
    }
}

/// The chain follower never panics and never moves when it refuses a record.
pub fn fuzz_audit_chain(data: &[u8]) {
    let mut follower = ChainFollower::new();
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        let (record, tail) = tail.split_at(len);
        rest = tail;
        let before = follower;
        match follower.follow(record) {
            Ok(r) => assert_eq!(r.sequence + 1, follower.next_sequence),
            Err(_) => assert_eq!(follower, before),
        }
    }
}
