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
            if let Ok(m) = DoorMemory::<16, 4, 4>::decode(bytes) {
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

/// The replay memory agrees with a naive model over arbitrary operations: more issuers (8)
/// than the table has slots (4), more grants than entries (16), any interleaving, the clock
/// moving both ways, issuer slots freed and re-created. Also: no grant is ever admitted more
/// often than its uses; the table rebuilt from the committed spends alone is the same table;
/// committing a spend twice changes nothing; the table survives encoding.
pub fn fuzz_replay_window(data: &[u8]) {
    const SKEW: u32 = 5;
    let mut table: ReplayTable<16, 4> = ReplayTable::new();
    let mut rebuilt = table.clone();
    let mut model = ReplayModel::default();
    // Admissions per (issuer, serial): a grant's uses and expiry depend on its key only.
    let mut admitted = [[0u8; 64]; 8];
    let mut now = Time(1_000_000);
    for op in data.chunks_exact(3) {
        let issuer = op[0] % 8;
        let key = usize::from(op[1] % 64);
        // Serials 2^32 apart collide in the table, and must share the grant's uses and expiry.
        let serial = key as u64 | (u64::from(op[1] >> 7) << 32);
        let uses = (key % 4) as u8 + 1;
        let not_after = Time(1_000_000 + (u32::from(issuer) * 97 + key as u32 * 37) * 8);
        // A few grants live longer than the table can represent (45 days).
        let not_after = if key >= 62 { not_after.plus(50 * 86_400) } else { not_after };
        now = Time(now.0.saturating_add_signed(i32::from(op[2] as i8) * 8));
        let id = KeyId([issuer; 8]);

        let expected = model.check(issuer, serial as u32, uses, not_after.plus(SKEW), now);
        let got = table.check(id, serial, uses, not_after, SKEW, now);
        assert_eq!(got.map(|s| s.use_index), expected);
        let Ok(spend) = got else { continue };
        let before = table.clone();
        table.commit(&spend).unwrap();
        let once = table.clone();
        table.commit(&spend).unwrap();
        assert_eq!(table, once, "committing a spend twice changed the table");
        assert_ne!(table, before);
        rebuilt.commit(&spend).unwrap();
        assert_eq!(rebuilt, table, "the spends alone do not rebuild the table");
        model.commit(issuer, serial as u32, spend.use_index, not_after.plus(SKEW), now);
        let count = &mut admitted[usize::from(issuer)][key];
        *count += 1;
        // Grants colliding in the low 32 bits of the serial share one entry and one `uses`.
        assert!(*count <= uses, "grant admitted {count} times with {uses} uses");
    }
    let mut buf = [0u8; ReplayTable::<16, 4>::MAX_ENCODED_LEN];
    let bytes = encode(&table, &mut buf).unwrap();
    let (decoded, rest) = postcard::take_from_bytes::<ReplayTable<16, 4>>(bytes).unwrap();
    assert!(rest.is_empty());
    assert_eq!(decoded, table);
}

/// The obvious replay memory: absolute expiries, no issuer table, no rebasing.
#[derive(Default)]
struct ReplayModel {
    base: u64,
    /// (issuer, serial low 32 bits, used, expiry rounded up to the minute)
    spent: heapless::Vec<(u8, u32, u8, u64), 16>,
}

impl ReplayModel {
    fn base_at(&self, now: Time) -> u64 {
        self.base.max(u64::from(now.0) / 60 * 60)
    }

    fn check(
        &self,
        issuer: u8,
        serial: u32,
        uses: u8,
        expires: Time,
        now: Time,
    ) -> Result<u8, Error> {
        let base = self.base_at(now);
        if u64::from(expires.0) < base {
            return Err(Error::ReplayTooOld);
        }
        let live = || self.spent.iter().filter(|e| e.3 >= base);
        if let Some(e) = live().find(|e| (e.0, e.1) == (issuer, serial)) {
            return if e.2 >= uses { Err(Error::ReplayDuplicate) } else { Ok(e.2) };
        }
        let mut issuers = [false; 256];
        for e in live() {
            issuers[usize::from(e.0)] = true;
        }
        let distinct = issuers.iter().filter(|&&b| b).count();
        let rounded = u64::from(expires.0).div_ceil(60) * 60;
        if live().count() >= 16
            || (!issuers[usize::from(issuer)] && distinct >= 4)
            || rounded - base > 65_535 * 60
        {
            return Err(Error::ReplayFull);
        }
        Ok(0)
    }

    fn commit(&mut self, issuer: u8, serial: u32, use_index: u8, expires: Time, now: Time) {
        let base = self.base_at(now);
        self.base = base;
        self.spent.retain(|e| e.3 >= base);
        let rounded = u64::from(expires.0).div_ceil(60) * 60;
        match self.spent.iter_mut().find(|e| (e.0, e.1) == (issuer, serial)) {
            Some(e) => {
                e.2 = e.2.max(use_index + 1);
                e.3 = e.3.max(rounded);
            }
            None => self.spent.push((issuer, serial, use_index + 1, rounded)).unwrap(),
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
