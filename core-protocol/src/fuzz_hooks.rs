//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`). Each asserts the
//! invariants its target checks: a failed assertion is a finding.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
// Reason: these hooks exist to panic when an invariant breaks; they never ship in a door.

extern crate std;

use std::sync::OnceLock;

use crate::*;

const SITE: SiteId = SiteId(0x5157_0001);
const DOOR: DoorId = DoorId(1);
const NOON: Time = Time(1_795_435_200);

/// Every decoder of the crate, one fuzz target each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoder {
    /// [`Certificate::decode`] and [`Certificate::decode_verified`].
    Certificate,
    /// [`Enrolment::decode_verified`].
    Enrolment,
    /// [`Grant::decode`].
    Grant,
    /// [`Challenge::decode`].
    Challenge,
    /// [`Presentation::decode`].
    Presentation,
    /// [`DoorState::decode`], checked against the in-place view.
    DoorState,
    /// [`DoorStateView::parse`], checked against the decoded state.
    DoorStateView,
    /// [`AuditRecord::decode_receipt`].
    Receipt,
    /// [`AuditRecord::decode`].
    AuditRecord,
    /// [`LogHead::decode_verified`].
    LogHead,
    /// [`TimeZone::parse_posix`] (text).
    ZoneText,
    /// A [`TimeZone`] as encoded in certificates (binary).
    ZoneBinary,
    /// A [`ReplayTable`] as persisted.
    ReplayTable,
    /// [`DoorMemory::decode`] and [`DoorMemory::decode_into`] (the door's persisted memory).
    DoorMemory,
}

impl Decoder {
    /// Every decoder.
    pub const ALL: [Decoder; 14] = [
        Decoder::Certificate,
        Decoder::Enrolment,
        Decoder::Grant,
        Decoder::Challenge,
        Decoder::Presentation,
        Decoder::DoorState,
        Decoder::DoorStateView,
        Decoder::Receipt,
        Decoder::AuditRecord,
        Decoder::LogHead,
        Decoder::ZoneText,
        Decoder::ZoneBinary,
        Decoder::ReplayTable,
        Decoder::DoorMemory,
    ];
}

/// Decoders never panic, and anything that decodes is exactly its canonical encoding. The
/// first byte picks the decoder (one target for all of them, seeded from every vector).
pub fn fuzz_decoders(data: &[u8]) {
    let Some((&which, bytes)) = data.split_first() else { return };
    fuzz_decoder(Decoder::ALL[usize::from(which) % Decoder::ALL.len()], bytes);
}

/// One decoder on arbitrary bytes: never panics; whatever decodes re-encodes to the input
/// (for signed messages: the body re-encodes to the signed bytes); a verified decode succeeds
/// only where the unverified one does, with the same claims.
pub fn fuzz_decoder(decoder: Decoder, bytes: &[u8]) {
    let mut buf = [0u8; MAX_DOOR_MEMORY_LEN];
    // The vectors' keys (spec/vectors/), so that seeds from them pass their real signatures.
    let key = match decoder {
        Decoder::Receipt | Decoder::LogHead => VECTOR_DEVICE,
        _ => VECTOR_ROOT,
    };
    match decoder {
        Decoder::Certificate => {
            let Ok(c) = Certificate::decode(bytes) else {
                assert!(Certificate::decode_verified(bytes, &key).is_err());
                return;
            };
            assert_signed(bytes, c.body_bytes());
            assert_eq!(encode(c.claims(), &mut buf).unwrap(), c.body_bytes());
            if let Ok(v) = Certificate::decode_verified(bytes, &key) {
                assert_eq!(&v, c.claims());
            }
        }
        Decoder::Enrolment => {
            let decoded = Unverified::<'_, Enrolment>::decode(bytes, MAX_ENROLMENT_LEN);
            let verified = Enrolment::decode_verified(bytes, &key);
            let Ok(e) = decoded else { return assert!(verified.is_err()) };
            assert_signed(bytes, e.body_bytes());
            assert_eq!(encode(e.claims(), &mut buf).unwrap(), e.body_bytes());
            if let Ok(v) = verified {
                assert_eq!(&v, e.claims());
            }
        }
        Decoder::Grant => {
            if let Ok(g) = Grant::decode(bytes) {
                assert_signed(bytes, g.body_bytes());
                assert_eq!(encode(g.claims(), &mut buf).unwrap(), g.body_bytes());
            }
        }
        Decoder::Challenge => {
            if let Ok(c) = Challenge::decode(bytes) {
                assert_eq!(c.encode(&mut buf).unwrap(), bytes);
            }
        }
        Decoder::Presentation => {
            if let Ok(p) = Presentation::decode(bytes) {
                assert_signed(bytes, p.body_bytes());
                assert_eq!(p.claims().encode_body(&mut buf).unwrap(), p.body_bytes());
            }
        }
        Decoder::DoorState | Decoder::DoorStateView => {
            let state = DoorState::decode(bytes);
            let view = DoorStateView::parse(bytes);
            assert_eq!(state.is_ok(), view.is_ok(), "the view and the decoder disagree");
            let (Ok(state), Ok(view)) = (state, view) else { return };
            assert_signed(bytes, state.body_bytes());
            assert_eq!(encode(state.claims(), &mut buf).unwrap(), state.body_bytes());
            assert_eq!(view.body_bytes(), state.body_bytes());
            let claims = state.claims();
            let h = view.header();
            assert_eq!(
                (h.version, h.site, h.sequence, h.issued_at),
                (claims.version, claims.site, claims.sequence, claims.issued_at)
            );
            assert_eq!(
                (h.grant_fence, h.cert_epoch_fence, h.clock_reset),
                (claims.grant_fence, claims.cert_epoch_fence, claims.clock_reset)
            );
            assert!(view.entries().eq(claims.deny.iter().copied()));
            for e in &claims.deny {
                assert!(view.denies(e.subject));
            }
        }
        Decoder::Receipt => {
            let decoded = Unverified::<'_, AuditRecord>::decode(bytes, MAX_RECEIPT_LEN);
            let verified = AuditRecord::decode_receipt(bytes, &key);
            let Ok(r) = decoded else { return assert!(verified.is_err()) };
            assert_signed(bytes, r.body_bytes());
            assert_eq!(r.claims().encode(&mut buf).unwrap(), r.body_bytes());
            if let Ok(v) = verified {
                assert_eq!(&v, r.claims());
            }
        }
        Decoder::AuditRecord => {
            if let Ok(r) = AuditRecord::decode(bytes) {
                assert_eq!(r.encode(&mut buf).unwrap(), bytes);
            }
        }
        Decoder::LogHead => {
            let decoded = Unverified::<'_, LogHead>::decode(bytes, MAX_LOG_HEAD_LEN);
            let verified = LogHead::decode_verified(bytes, &key);
            let Ok(h) = decoded else { return assert!(verified.is_err()) };
            assert_signed(bytes, h.body_bytes());
            assert_eq!(encode(h.claims(), &mut buf).unwrap(), h.body_bytes());
            if let Ok(v) = verified {
                assert_eq!(&v, h.claims());
            }
        }
        Decoder::ZoneText => {
            let Ok(text) = core::str::from_utf8(bytes) else { return };
            if let Ok(zone) = TimeZone::parse_posix(text) {
                check_zone(&zone);
            }
        }
        Decoder::ZoneBinary => {
            let Ok(zone) = crate::codec::decode::<TimeZone>(bytes, 64) else { return };
            assert_eq!(encode(&zone, &mut buf).unwrap(), bytes);
            if zone.check().is_ok() {
                check_zone(&zone);
            } else {
                // What a certificate decoder refuses, no text can express.
                let text = zone_text(&zone);
                assert_ne!(TimeZone::parse_posix(&text).ok(), Some(zone));
            }
        }
        Decoder::ReplayTable => {
            type Table = ReplayTable<16, 4>;
            let Ok(table) = crate::codec::decode::<Table>(bytes, Table::MAX_ENCODED_LEN) else {
                return;
            };
            assert_eq!(encode(&table, &mut buf).unwrap(), bytes);
            if !table.is_well_formed() {
                return;
            }
            // A well-formed persisted table behaves: no panic, a check then commit agrees.
            let mut table = table;
            let now = table.base().plus(60);
            for serial in 0..3 {
                let id = KeyId([serial as u8; 8]);
                if let Ok(spend) = table.check(id, serial, 2, now.plus(600), 5, now) {
                    table.commit(&spend).unwrap();
                    assert!(table.is_well_formed());
                }
            }
        }
        Decoder::DoorMemory => {
            let Ok(m) = DoorMemory::<16, 4, 4>::decode(bytes) else { return };
            assert_eq!(m.encode(&mut buf).unwrap(), bytes);
            let mut into = DoorMemory::<16, 4, 4>::new(SITE, NOON);
            into.decode_into(bytes).unwrap();
            assert_eq!(into, m, "decode_into and decode disagree");
        }
    }
}

/// The site root key of spec/vectors/ (admission and audit).
const VECTOR_ROOT: PublicKey = PublicKey([
    0x8a, 0x88, 0xe3, 0xdd, 0x74, 0x09, 0xf1, 0x95, 0xfd, 0x52, 0xdb, 0x2d, 0x3c, 0xba, 0x5d, 0x72,
    0xca, 0x67, 0x09, 0xbf, 0x1d, 0x94, 0x12, 0x1b, 0xf3, 0x74, 0x88, 0x01, 0xb4, 0x0f, 0x6f, 0x5c,
]);
/// The door's device key of spec/vectors/audit.json.
const VECTOR_DEVICE: PublicKey = PublicKey([
    0x6e, 0x7a, 0x1c, 0xdd, 0x29, 0xb0, 0xb7, 0x8f, 0xd1, 0x3a, 0xf4, 0xc5, 0x59, 0x8f, 0xef, 0xf4,
    0xef, 0x2a, 0x97, 0x16, 0x6e, 0x3c, 0xa6, 0xf2, 0xe4, 0xfb, 0xfc, 0xcd, 0x80, 0x50, 0x5b, 0xf1,
]);

/// A signed message is its body then a 64-byte signature, nothing else.
fn assert_signed(bytes: &[u8], body: &[u8]) {
    assert_eq!(bytes.len(), body.len() + 64);
    assert_eq!(&bytes[..body.len()], body);
}

/// The zone's canonical text.
fn zone_text(zone: &TimeZone) -> heapless::String<96> {
    use core::fmt::Write;
    let mut text = heapless::String::new();
    write!(text, "{zone}").unwrap();
    text
}

/// A valid zone: its text parses back to it, its binary form decodes back to it, and it
/// evaluates anywhere without panicking.
fn check_zone(zone: &TimeZone) {
    let text = zone_text(zone);
    assert_eq!(TimeZone::parse_posix(&text).as_ref(), Ok(zone), "text {text} does not round-trip");
    let mut buf = [0u8; 64];
    let bytes = encode(zone, &mut buf).unwrap();
    assert_eq!(crate::codec::decode::<TimeZone>(bytes, 64).as_ref(), Ok(zone));
    for t in [0, 1, 86_399, 1_795_435_200, 4_102_444_800, u32::MAX - 1, u32::MAX] {
        let _ = zone.local_seconds(Time(t));
    }
}

/// The door, its keys and one certificate: the scene of the admission targets.
struct Scene {
    config: DoorConfig,
    issuer: SigningKey,
    holder: SigningKey,
    cert_buf: [u8; MAX_CERTIFICATE_LEN],
    cert_len: usize,
    /// Grants with serials 0 to 3 (1, 2, 3 and 1 uses), then serial 7 (2 uses).
    grants: [([u8; MAX_GRANT_LEN], usize); 5],
    /// The one valid presentation of [`fuzz_admission`]: grant serial 7 answering
    /// [`Scene::CHALLENGE`], signed once (the phone's signing is not under test there).
    valid: std::vec::Vec<u8>,
}

impl Scene {
    /// Made once per process: key generation and signing cost more than most inputs.
    fn get() -> &'static Scene {
        static SCENE: OnceLock<Scene> = OnceLock::new();
        SCENE.get_or_init(Scene::new)
    }

    fn new() -> Scene {
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
        let mut cert_buf = [0u8; MAX_CERTIFICATE_LEN];
        let cert_len = cert.seal(&root, &mut cert_buf).unwrap().len();
        let mut scene = Scene {
            config,
            issuer,
            holder,
            cert_buf,
            cert_len,
            grants: [([0; MAX_GRANT_LEN], 0); 5],
            valid: std::vec::Vec::new(),
        };
        for (i, (serial, uses)) in [(0, 1), (1, 2), (2, 3), (3, 1), (7, 2)].into_iter().enumerate()
        {
            let mut out = [0u8; MAX_GRANT_LEN];
            let len = scene.seal_grant(serial, uses, &mut out).len();
            scene.grants[i] = (out, len);
        }
        let mut buf = [0u8; MAX_PRESENTATION_LEN];
        let valid =
            present(&scene.holder, &Scene::CHALLENGE, scene.grant(4), scene.cert(), None, &mut buf);
        scene.valid = valid.unwrap().to_vec();
        scene
    }

    /// The challenge [`fuzz_admission`]'s presentations answer.
    const CHALLENGE: Challenge =
        Challenge { version: VERSION, site: SITE, door: DOOR, nonce: [1; 16], issued_at: NOON };

    fn cert(&self) -> &[u8] {
        &self.cert_buf[..self.cert_len]
    }

    /// The `i`th of [`Scene::grants`].
    fn grant(&self, i: usize) -> &[u8] {
        let (bytes, len) = &self.grants[i];
        &bytes[..*len]
    }

    /// The holder's presentation of grant `i` answering `challenge`, copied into `out` (its
    /// length returned). Signed once per process and challenge: the phone's signing is the
    /// fixture of the sequence target, not the door under test, and the fuzzer's inputs share
    /// most of their steps (a mutation changes a few), so most steps find theirs here. The
    /// door still verifies every signature it is sent.
    fn presentation(&self, i: u8, challenge: &Challenge, out: &mut [u8]) -> usize {
        use std::collections::HashMap;
        use std::sync::Mutex;
        use std::vec::Vec;
        /// Enough for the steps of many inputs (a few hundred bytes each); emptied when full.
        const CAPACITY: usize = 1 << 15;
        type Key = (u8, [u8; 16], Time);
        static SIGNED: Mutex<Option<HashMap<Key, Vec<u8>>>> = Mutex::new(None);
        let mut signed = SIGNED.lock().unwrap_or_else(|e| e.into_inner());
        let signed = signed.get_or_insert_with(HashMap::new);
        if signed.len() >= CAPACITY {
            signed.clear();
        }
        let key = (i, challenge.nonce, challenge.issued_at);
        let bytes = signed.entry(key).or_insert_with(|| {
            let mut buf = [0u8; MAX_PRESENTATION_LEN];
            let grant = self.grant(usize::from(i));
            present(&self.holder, challenge, grant, self.cert(), None, &mut buf).unwrap().to_vec()
        });
        out[..bytes.len()].copy_from_slice(bytes);
        bytes.len()
    }

    /// Grant `serial` with `uses`, sealed into `out`.
    fn seal_grant<'b>(&self, serial: u64, uses: u8, out: &'b mut [u8]) -> &'b [u8] {
        let grant = Grant {
            version: VERSION,
            site: SITE,
            serial,
            uses,
            role: Role::Delivery,
            doors: heapless::Vec::from_slice(&[DOOR]).unwrap(),
            not_before: NOON.minus(60),
            not_after: NOON.plus(600),
            holder: self.holder.public_key(),
            package: PackageCommitment([5; 32]),
        };
        grant.seal(&self.issuer, out).unwrap()
    }
}

/// Applies `(offset lo, offset hi, xor)` patches to `bytes`.
fn patch(bytes: &mut [u8], patches: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    for p in patches.chunks_exact(3) {
        let at = usize::from(u16::from_le_bytes([p[0], p[1]])) % bytes.len();
        bytes[at] ^= p[2];
    }
}

/// Admission never panics; a refusal leaves the memory unchanged. With real signatures, a
/// presentation that differs from the one valid presentation is never admitted; with the
/// stand-in (feature `fuzzing-stand-in-crypto`), every admission obeys the grant's terms.
pub fn fuzz_admission(data: &[u8]) {
    let scene = Scene::get();
    let challenge = Scene::CHALLENGE;
    let valid = scene.valid.as_slice();

    // The first byte picks raw bytes or patches (offset, byte) applied to the valid presentation.
    let mut candidate = [0u8; MAX_PRESENTATION_LEN];
    let candidate: &[u8] = match data.split_first() {
        Some((0, raw)) if raw.len() <= candidate.len() => {
            candidate[..raw.len()].copy_from_slice(raw);
            &candidate[..raw.len()]
        }
        Some((_, patches)) => {
            candidate[..valid.len()].copy_from_slice(valid);
            patch(&mut candidate[..valid.len()], patches);
            &candidate[..valid.len()]
        }
        _ => return,
    };
    let mut memory: DoorMemory = DoorMemory::new(SITE, Time(0));
    let fresh = memory.clone();
    match memory.admit(&scene.config, NOON, &challenge, candidate) {
        Decision::Admit(a) => {
            #[cfg(not(feature = "fuzzing-stand-in-crypto"))]
            {
                assert_eq!(candidate, valid, "admitted a presentation that was altered");
                assert_eq!(a.grant_serial, 7);
            }
            check_admitted(&scene.config, candidate, &a);
            assert_eq!(a.use_index, 0);
            assert_ne!(memory, fresh, "an admission recorded no spend");
        }
        Decision::Reject(_) => assert_eq!(memory, fresh, "a refusal changed the memory"),
    }
}

/// What every admission must satisfy, whatever the signatures: the presented grant and
/// certificate decode, the grant's terms hold at the admission's time, and the spend is
/// within the grant's uses.
fn check_admitted(config: &DoorConfig, presentation: &[u8], a: &Admission) {
    let p = Presentation::decode(presentation).unwrap();
    let grant = Grant::decode(p.claims().grant).unwrap();
    let cert = Certificate::decode(p.claims().certificate).unwrap();
    let (g, c) = (grant.claims(), cert.claims());
    assert_eq!((g.serial, g.uses), (a.grant_serial, a.uses));
    assert!(a.use_index < g.uses, "use {} of a {}-use grant", a.use_index, g.uses);
    assert!(g.uses <= c.limits.max_uses);
    assert_eq!((c.site, g.site), (config.site, config.site));
    assert!(g.doors.contains(&config.door));
    assert!(a.at.0 <= g.not_after.0.saturating_add(config.clock_skew));
    assert!(g.not_before.0 <= a.at.0.saturating_add(config.clock_skew));
}

/// Admission over sequences of presentations (four grants of 1 to 3 uses, time moving
/// forward, any presentation patched): no grant is admitted more often than its uses, every
/// admission obeys its grant's terms, a refusal changes no state, and the memory survives
/// being persisted after every step. Each step is 5 bytes: grant and uses, seconds forward,
/// patch offset (2 bytes), patch xor (0: unpatched).
///
/// Cost per step: only an admission changes the memory, so only an admission pays for the
/// persistence round trip and the copy the next refusal is compared with; a refusal compares
/// against that copy (by induction, the memory as last persisted). The checks are the same
/// as persisting and copying at every step, at a fraction of the work (4 KiB copied, encoded
/// and decoded per admission instead of per step).
pub fn fuzz_admission_sequence(data: &[u8]) {
    let scene = Scene::get();
    let mut memory: DoorMemory<16, 4, 4> = DoorMemory::new(SITE, Time(0));
    // Admissions per grant (the exact signed bytes of the grant): (grant bytes, count).
    let mut admitted: heapless::Vec<(heapless::Vec<u8, MAX_GRANT_LEN>, u8), 8> =
        heapless::Vec::new();
    let mut now = NOON.minus(30);
    let mut persisted = [0u8; MAX_DOOR_MEMORY_LEN];
    // The memory as last persisted: what every refusal must leave it equal to.
    let mut last = memory.clone();
    let bytes = memory.encode(&mut persisted).unwrap();
    assert_eq!(DoorMemory::<16, 4, 4>::decode(bytes).unwrap(), memory);
    for (step, op) in data.chunks_exact(5).enumerate().take(24) {
        now = now.plus(u32::from(op[1]));
        let challenge = Challenge::new(SITE, DOOR, [step as u8; 16], now);
        let mut buf = [0u8; 1024];
        // One issuer never signs two grants with one serial: uses follow from the serial.
        let len = scene.presentation(op[0] % 4, &challenge, &mut buf);
        if op[4] != 0 {
            patch(&mut buf[..len], &op[2..5]);
        }
        let candidate = &buf[..len];
        match memory.admit(&scene.config, now, &challenge, candidate) {
            Decision::Admit(a) => {
                let bytes = memory.encode(&mut persisted).unwrap();
                assert_eq!(DoorMemory::<16, 4, 4>::decode(bytes).unwrap(), memory);
                last.clone_from(&memory);
                check_admitted(&scene.config, candidate, &a);
                let p = Presentation::decode(candidate).unwrap();
                let key = heapless::Vec::from_slice(p.claims().grant).unwrap();
                let count = match admitted.iter_mut().find(|(g, _)| *g == key) {
                    Some((_, count)) => count,
                    None => {
                        if admitted.push((key, 0)).is_err() {
                            continue;
                        }
                        &mut admitted.last_mut().unwrap().1
                    }
                };
                // Forged grants (stand-in) may share a serial, and so a replay entry.
                #[cfg(not(feature = "fuzzing-stand-in-crypto"))]
                assert_eq!(a.use_index, *count, "uses counted out of order");
                *count += 1;
                assert!(*count <= a.uses, "grant admitted {count} times with {} uses", a.uses);
            }
            Decision::Reject(_) => assert_eq!(memory, last, "a refusal changed the memory"),
        }
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
    // Admissions per (issuer, serial): a grant's uses depend on its key only.
    let mut admitted = [[0u8; 64]; 8];
    let mut now = Time(1_000_000);
    for op in data.chunks_exact(3) {
        let issuer = op[0] % 8;
        let key = usize::from(op[1] % 64);
        // Serials 2^32 apart collide in the table, and must share the grant's uses.
        let serial = key as u64 | (u64::from(op[1] >> 7) << 32);
        let uses = (key % 4) as u8 + 1;
        let not_after = Time(1_000_000 + (u32::from(issuer) * 97 + key as u32 * 37) * 8);
        // A few grants live longer than the table can represent (45 days), among them the
        // high halves of two colliding pairs whose low halves do not: the shared entry cannot
        // take their expiry.
        let far = key >= 62 || (key >= 60 && serial >> 32 == 1);
        let not_after = if far { not_after.plus(50 * 86_400) } else { not_after };
        now = Time(now.0.saturating_add_signed(i32::from(op[2] as i8) * 8));
        let id = KeyId([issuer; 8]);

        let expected = model.check(issuer, serial as u32, uses, not_after.plus(SKEW), now);
        let got = table.check(id, serial, uses, not_after, SKEW, now);
        assert_eq!(got.map(|s| s.use_index), expected);
        let Ok(spend) = got else {
            // What `check` refuses for age or room, `commit` refuses too, changing nothing.
            if let Err(refusal @ (Error::ReplayFull | Error::ReplayTooOld)) = got {
                let expires = not_after.plus(SKEW);
                let spend = Spend { issuer: id, serial, use_index: 0, expires, at: now };
                let before = table.clone();
                assert_eq!(table.commit(&spend), Err(refusal), "commit disagrees with check");
                assert_eq!(table, before, "a refused commit changed the table");
            }
            continue;
        };
        // What `check` accepts, `commit` records.
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
        // Any expiry stored must be at most 65,535 minutes past the base, a remembered grant's
        // (whose entry takes the later one) as a new grant's.
        let rounded = u64::from(expires.0).div_ceil(60) * 60;
        let too_far = rounded - base > 65_535 * 60;
        if let Some(e) = live().find(|e| (e.0, e.1) == (issuer, serial)) {
            return match (e.2 >= uses, too_far) {
                (true, _) => Err(Error::ReplayDuplicate),
                (false, true) => Err(Error::ReplayFull),
                (false, false) => Ok(e.2),
            };
        }
        let mut issuers = [false; 256];
        for e in live() {
            issuers[usize::from(e.0)] = true;
        }
        let distinct = issuers.iter().filter(|&&b| b).count();
        if live().count() >= 16 || (!issuers[usize::from(issuer)] && distinct >= 4) || too_far {
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

/// Whether this process remembers pure derivations (see [`remember_derivations`]).
static REMEMBER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// The signature domains whose verdicts this process remembers, one bit per [`Domain`].
static REMEMBERED_DOMAINS: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);

/// Makes this process remember the results of the pure computations a door repeats, with the
/// same inputs, at every boot: its device key from the seed in its flash
/// ([`SigningKey::from_seed`]), the log mask's X25519 agreement ([`LogMask::for_door`]), and
/// the signatures over what its flash holds (the enrolment and the door state, domains
/// [`Domain::DeviceEnrolment`] and [`Domain::DoorState`]). The first call with given inputs
/// computes; a later call with the same inputs gets the same answer back without the curve
/// arithmetic. Each is a function of its inputs alone, so the code around it decides exactly
/// as it would have: only the time a script of many reboots takes changes. Signatures a door
/// checks to decide an attempt (certificate, grant, holder proof) are verified every time.
///
/// For the fuzz targets that reboot a simulated door (`door_sim*`, where boots were two thirds
/// of the time) and whose fixture makes the same key again per input (`phone_session*`).
/// Takes effect only in a cargo-fuzz build (`--cfg fuzzing`) or this crate's own tests: a door,
/// a phone or a server never remembers. With the stand-in signatures (`*_deep`), verifying
/// costs less than remembering: only the keys and masks are remembered there.
pub fn remember_derivations() {
    remember_verifications(&[Domain::DeviceEnrolment, Domain::DoorState]);
}

/// [`remember_derivations`], and the verdicts on signatures of `domains` too: for a target whose
/// fixture, not the code under test, verifies them (the phone session's reference door checks
/// the same certificate and grant, and holder proofs over the same challenges, input after
/// input).
pub fn remember_verifications(domains: &[Domain]) {
    use std::sync::atomic::Ordering::Relaxed;
    REMEMBER.store(true, Relaxed);
    for &domain in domains {
        REMEMBERED_DOMAINS.fetch_or(domain_bit(domain), Relaxed);
    }
}

fn domain_bit(domain: Domain) -> u16 {
    1 << domain as u16
}

#[allow(unexpected_cfgs)] // Reason: `fuzzing` is the cfg cargo-fuzz sets; unknown to cargo.
fn remembering() -> bool {
    (cfg!(fuzzing) || cfg!(test)) && REMEMBER.load(std::sync::atomic::Ordering::Relaxed)
}

/// Whether verdicts on signatures of `domain` are remembered (see [`remember_verifications`]).
// Reason: verdicts are not remembered with the stand-in signatures (see `keys::verify`).
#[cfg_attr(feature = "fuzzing-stand-in-crypto", allow(dead_code))]
pub(crate) fn remembers(domain: Domain) -> bool {
    remembering()
        && REMEMBERED_DOMAINS.load(std::sync::atomic::Ordering::Relaxed) & domain_bit(domain) != 0
}

/// Results of one pure function by input, once [`remember_derivations`] was called (else it
/// computes every time). Bounded: emptied when full, as inputs a fuzzer writes (enrolments and
/// door states in raw fragments) are endless.
pub(crate) struct Memo<K, V> {
    map: std::sync::Mutex<Option<std::collections::HashMap<K, V>>>,
}

impl<K: Eq + core::hash::Hash, V: Clone> Memo<K, V> {
    /// Enough for every key and signature a door script meets, and then some.
    const CAPACITY: usize = 256;

    pub(crate) const fn new() -> Self {
        Memo { map: std::sync::Mutex::new(None) }
    }

    /// `derive()`, which must be a function of `key` alone: remembered, or computed and
    /// remembered.
    pub(crate) fn get(&self, key: K, derive: impl FnOnce() -> V) -> V {
        if !remembering() {
            return derive();
        }
        let lock = || self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(value) = lock().as_ref().and_then(|map| map.get(&key)) {
            return value.clone();
        }
        // Computed unlocked: a derivation may itself use another memo.
        let value = derive();
        let mut map = lock();
        let map = map.get_or_insert_with(std::collections::HashMap::new);
        if map.len() >= Self::CAPACITY {
            map.clear();
        }
        map.insert(key, value.clone());
        value
    }
}

/// [`crate::keys::verify`] of `signature` by `key` over `domain`'s tag and `parts`, remembered
/// (`verify` computes it).
// Reason: verdicts are not remembered with the stand-in signatures (see `keys::verify`).
#[cfg_attr(feature = "fuzzing-stand-in-crypto", allow(dead_code))]
pub(crate) fn remembered_verification(
    key: &[u8; 32],
    domain: Domain,
    parts: &[&[u8]],
    signature: &[u8; 64],
    verify: impl FnOnce() -> Result<(), crate::keys::VerifyError>,
) -> Result<(), crate::keys::VerifyError> {
    type Signed = (Domain, [u8; 32], std::vec::Vec<u8>, [u8; 64]);
    static VERIFIED: Memo<Signed, Result<(), crate::keys::VerifyError>> = Memo::new();
    if !remembers(domain) {
        return verify();
    }
    VERIFIED.get((domain, *key, parts.concat(), *signature), verify)
}

#[cfg(test)]
mod memo_tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_memo_computes_each_input_once_and_forgets_when_full() {
        remember_derivations();
        let memo: Memo<u32, u32> = Memo::new();
        let calls = Cell::new(0);
        let square = |n: u32| {
            calls.set(calls.get() + 1);
            n * n
        };
        assert_eq!(memo.get(3, || square(3)), 9);
        assert_eq!(memo.get(3, || square(3)), 9);
        assert_eq!(calls.get(), 1, "the second call was computed again");
        assert_eq!(memo.get(4, || square(4)), 16);
        assert_eq!(calls.get(), 2);
        for n in 0..Memo::<u32, u32>::CAPACITY as u32 {
            memo.get(100 + n, || square(100 + n));
        }
        let before = calls.get();
        assert_eq!(memo.get(3, || square(3)), 9);
        assert_eq!(calls.get(), before + 1, "a full memo was not emptied");
    }

    #[test]
    fn remembered_derivations_answer_as_computed_ones() {
        remember_derivations();
        let seed = [0x42; 32];
        let computed = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new(seed));
        for _ in 0..2 {
            let key = SigningKey::from_seed(seed).unwrap();
            assert_eq!(key.public_key().0, *computed.pk);
            assert_eq!(key.seed(), seed);
        }
        assert_eq!(SigningKey::from_seed([0; 32]).err(), Some(Error::KeyInvalidSeed));

        let device = SigningKey::from_seed(seed).unwrap();
        let server = LogSecret::from_seed([0x4C; 32]).unwrap();
        let door = LogMask::for_door(&device, &server.log_key().unwrap()).unwrap();
        let again = LogMask::for_door(&device, &server.log_key().unwrap()).unwrap();
        assert_eq!(door, again);
        assert_eq!(door, LogMask::for_server(&server, &device.public_key()).unwrap());
        let other = LogSecret::from_seed([0x4D; 32]).unwrap();
        assert_ne!(LogMask::for_door(&device, &other.log_key().unwrap()).unwrap(), door);

        let message = b"porter";
        let signature = device.sign_parts(Domain::DoorState, &[message]).unwrap();
        let public = device.public_key();
        for _ in 0..2 {
            assert!(
                crate::keys::verify(&public, Domain::DoorState, &[message], &signature.0).is_ok()
            );
            assert!(crate::keys::verify(&public, Domain::DoorState, &[b"porteR"], &signature.0)
                .is_err());
            assert!(crate::keys::verify(
                &public,
                Domain::DeviceEnrolment,
                &[message],
                &signature.0
            )
            .is_err());
        }
    }

    #[test]
    fn only_the_named_domains_verdicts_are_remembered() {
        remember_derivations();
        assert!(remembers(Domain::DoorState) && remembers(Domain::DeviceEnrolment));
        assert!(!remembers(Domain::HolderProof) && !remembers(Domain::Grant));
        remember_verifications(&[Domain::HolderProof]);
        assert!(remembers(Domain::HolderProof) && !remembers(Domain::Grant));

        let calls = Cell::new(0);
        let verify = || {
            calls.set(calls.get() + 1);
            Err(crate::keys::VerifyError::BadSignature)
        };
        let check = |domain, parts: &[&[u8]]| {
            remembered_verification(&[9; 32], domain, parts, &[1; 64], verify)
        };
        for _ in 0..3 {
            assert!(check(Domain::HolderProof, &[b"proof"]).is_err());
        }
        assert_eq!(calls.get(), 1, "a remembered domain's verdict was computed again");
        assert!(check(Domain::HolderProof, &[b"proof", b"!"]).is_err());
        assert_eq!(calls.get(), 2, "another message found the first one's verdict");
        for _ in 0..3 {
            assert!(check(Domain::Grant, &[b"proof"]).is_err());
        }
        assert_eq!(calls.get(), 5, "a domain not named was remembered");
    }
}
