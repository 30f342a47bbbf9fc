//! Property tests for the invariants a door relies on.

use std::collections::{BTreeSet, HashMap};

use super::fixture::*;
use porter_protocol::*;
use proptest::prelude::*;

fn sorted_doors(max: usize) -> impl Strategy<Value = Vec<DoorId>> {
    proptest::collection::btree_set(any::<u16>(), 1..=max)
        .prop_map(|s| s.into_iter().map(DoorId).collect())
}

prop_compose! {
    fn any_grant()(
        site in any::<u32>(),
        serial in 0u64..u64::MAX - 64,
        uses in 1u8..=MAX_GRANT_USES,
        role in prop_oneof![Just(Role::Delivery), Just(Role::Service)],
        doors in sorted_doors(MAX_GRANT_DOORS),
        not_before in 0u32..u32::MAX - 1,
        lifetime in 1u32..100_000,
        holder in any::<[u8; 32]>(),
        package in any::<[u8; 32]>(),
    ) -> Grant {
        Grant {
            version: VERSION,
            site: SiteId(site),
            serial,
            uses,
            role,
            doors: heapless::Vec::from_slice(&doors).unwrap(),
            not_before: Time(not_before),
            not_after: Time(not_before.saturating_add(lifetime).max(not_before + 1)),
            holder: PublicKey(holder),
            package: PackageCommitment(package),
        }
    }
}

prop_compose! {
    fn any_state()(
        sequence in any::<u64>(),
        issued_at in any::<u32>(),
        fence in any::<u32>(),
        epoch in any::<u32>(),
        subjects in proptest::collection::btree_set(any::<[u8; 8]>(), 0..40),
        until in any::<u32>(),
    ) -> DoorState {
        let mut state = DoorState::genesis(SITE);
        state.sequence = sequence;
        state.issued_at = Time(issued_at);
        state.grant_fence = Time(fence);
        state.cert_epoch_fence = epoch;
        for s in subjects {
            state.deny.push(DenyEntry { subject: DenySubject(s), until: Time(until) }).unwrap();
        }
        state
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn grants_round_trip(grant in any_grant()) {
        let site = Site::new();
        let mut buf = [0u8; MAX_GRANT_LEN];
        let bytes = grant.seal(&site.issuer, &mut buf).unwrap();
        let decoded = Grant::decode(bytes).unwrap();
        prop_assert_eq!(decoded.claims(), &grant);
        prop_assert_eq!(decoded.verify_issuer(&site.issuer.public_key()).unwrap(), grant);
    }

    #[test]
    fn door_states_round_trip(state in any_state()) {
        let site = Site::new();
        let bytes = site.seal_state(&state);
        let decoded = DoorState::decode(&bytes).unwrap();
        prop_assert_eq!(decoded.claims(), &state);
    }

    /// The in-place door state parser (what doors use) accepts exactly canonical encodings:
    /// after any byte change, a state either fails to decode or re-encodes to the new bytes.
    #[test]
    fn door_state_parsing_is_strict_under_mutation(
        state in any_state(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let site = Site::new();
        let mut bytes = site.seal_state(&state);
        let body_len = bytes.len() - 64;
        for (at, value) in edits {
            bytes[at.index(body_len)] = value;
        }
        if let Ok(decoded) = DoorState::decode(&bytes) {
            let mut buf = vec![0u8; MAX_DOOR_STATE_LEN];
            prop_assert_eq!(encode(decoded.claims(), &mut buf).unwrap(), &bytes[..body_len]);
            let view = DoorStateView::parse(&bytes).unwrap();
            prop_assert_eq!(view.entries().collect::<Vec<_>>(), decoded.claims().deny.to_vec());
            for e in &decoded.claims().deny {
                prop_assert!(view.denies(e.subject) && decoded.claims().denies(e.subject));
            }
        }
    }

    #[test]
    fn audit_records_round_trip(seq in any::<u64>(), at in any::<u32>(), reason in any::<u16>(), prev in any::<[u8; 32]>()) {
        let r = record(SITE, DOOR, seq, Time(at), ChainHash(prev), AuditEvent::Rejected { reason });
        let mut buf = [0u8; MAX_AUDIT_RECORD_LEN];
        let bytes = r.encode(&mut buf).unwrap();
        prop_assert_eq!(AuditRecord::decode(bytes).unwrap(), r);
    }

    /// Arbitrary bytes never admit and never change the door's memory.
    #[test]
    fn garbage_never_admits(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let site = Site::new();
        let mut memory = site.memory();
        let before = memory.clone();
        let challenge = site.challenge(NOON, 1);
        let decision = memory.admit(&site.config, NOON, &challenge, &bytes);
        prop_assert!(matches!(decision, Decision::Reject(_)));
        prop_assert_eq!(memory, before);
    }

    /// No sequence of presentations admits a grant more often than its uses, whatever the
    /// order, repeats and interleaving; every refusal leaves the memory unchanged.
    #[test]
    fn no_grant_is_admitted_more_than_its_uses(
        grants in proptest::collection::vec((0u64..40, 1u8..=4), 1..6),
        order in proptest::collection::vec(0usize..6, 1..30),
    ) {
        let site = Site::new();
        let cert = site.seal_cert(&site.certificate_body());
        let sealed: Vec<(u64, u8, Vec<u8>)> = grants
            .iter()
            .map(|&(serial, uses)| (serial * 8, uses, site.seal_grant(&site.grant_body(serial * 8, uses))))
            .collect();
        let mut memory = site.memory();
        let mut admitted: HashMap<u64, u32> = HashMap::new();
        for (nonce, pick) in order.into_iter().enumerate() {
            let (serial, _, grant) = &sealed[pick % sealed.len()];
            let challenge = site.challenge(NOON, nonce as u8);
            let p = site.present(&challenge, grant, &cert, None);
            let before = memory.clone();
            match memory.admit(&site.config, NOON, &challenge, &p) {
                Decision::Admit(a) => {
                    prop_assert_eq!(a.grant_serial, *serial);
                    *admitted.entry(*serial).or_default() += 1;
                }
                Decision::Reject(e) => {
                    prop_assert_eq!(e, Error::ReplayDuplicate);
                    prop_assert_eq!(&memory, &before);
                }
            }
        }
        // Grants with the same serial share their entries: the bound is the largest `uses`.
        for (serial, count) in admitted {
            let most = sealed.iter().filter(|(s, _, _)| *s == serial).map(|(_, u, _)| *u).max().unwrap();
            prop_assert!(count <= u32::from(most), "serial {} admitted {} times", serial, count);
        }
    }

    /// Door state only moves forward, and the clock floor never decreases.
    #[test]
    fn door_state_and_floor_never_roll_back(
        steps in proptest::collection::vec((0u64..20, 0u32..10_000, any::<bool>()), 1..20),
    ) {
        let site = Site::new();
        let other = key(9);
        let mut memory = site.memory();
        let mut highest = 0u64;
        for (sequence, time, forged) in steps {
            let state = site.state(sequence, NOON.plus(time));
            let bytes = if forged {
                let mut buf = vec![0u8; MAX_DOOR_STATE_LEN];
                state.seal(&other, &mut buf).unwrap().to_vec()
            } else {
                site.seal_state(&state)
            };
            let floor_before = memory.floor();
            let result = memory.apply_door_state(&site.config, &bytes);
            prop_assert!(memory.floor() >= floor_before);
            match result {
                Ok(seq) => {
                    prop_assert!(!forged && seq > highest);
                    highest = seq;
                    prop_assert_eq!(memory.floor(), floor_before.max(NOON.plus(time)));
                }
                Err(e) => prop_assert!(
                    (forged && e == Error::StateBadSignature) || (sequence <= highest && e == Error::StateNotNewer),
                    "unexpected {e}"
                ),
            }
            prop_assert_eq!(memory.state().sequence, highest);
        }
    }

    /// The replay memory agrees with a naive model (a map from (issuer, serial) to uses and
    /// expiry, no issuer table, no rebasing) with more issuers (6) than the table has slots (3),
    /// more grants than entries (24), any interleaving, the clock moving both ways, and issuer
    /// slots freed and re-created. No grant is admitted more often than its uses, ever.
    #[test]
    fn replay_table_agrees_with_a_naive_model(
        ops in proptest::collection::vec((0u8..6, 0u32..40, -200i32..400), 1..200),
    ) {
        const SKEW: u32 = 5;
        let mut table: ReplayTable<24, 3> = ReplayTable::new();
        let mut model = Model::default();
        let mut admitted: HashMap<(u8, u32), u8> = HashMap::new();
        let mut now = Time(1_000_000);
        for (issuer, serial, step) in ops {
            now = Time(now.0.saturating_add_signed(step));
            // A grant's uses and lifetime depend on its identity only, as for real grants.
            let uses = (serial % 3) as u8 + 1;
            let not_after = Time(1_000_000 + (u32::from(issuer) * 7 + serial) * 150);
            let id = KeyId([issuer; 8]);
            let expected = model.check((issuer, serial), uses, not_after.plus(SKEW), now);
            let got = table.check(id, u64::from(serial), uses, not_after, SKEW, now);
            prop_assert_eq!(got.as_ref().map(|s| s.use_index).map_err(|e| *e), expected);
            if let Ok(spend) = got {
                table.commit(&spend).unwrap();
                model.commit((issuer, serial), not_after.plus(SKEW), now);
                let count = admitted.entry((issuer, serial)).or_default();
                *count += 1;
                prop_assert!(*count <= uses, "admitted {} times with {} uses", count, uses);
            }
        }
    }
}

/// The obvious replay memory the table must agree with: absolute expiries rounded up to the
/// minute, and a base that only rises.
#[derive(Default)]
struct Model {
    base: u64,
    spent: std::collections::BTreeMap<(u8, u32), (u8, u64)>,
}

impl Model {
    const ENTRIES: usize = 24;
    const ISSUERS: usize = 3;

    fn base_at(&self, now: Time) -> u64 {
        self.base.max(u64::from(now.0) / 60 * 60)
    }

    fn live(&self, now: Time) -> impl Iterator<Item = (&(u8, u32), &(u8, u64))> {
        let base = self.base_at(now);
        self.spent.iter().filter(move |(_, (_, until))| *until >= base)
    }

    fn check(&self, key: (u8, u32), uses: u8, expires: Time, now: Time) -> Result<u8, Error> {
        let base = self.base_at(now);
        if u64::from(expires.0) < base {
            return Err(Error::ReplayTooOld);
        }
        if let Some((_, (used, _))) = self.live(now).find(|(k, _)| **k == key) {
            return if *used >= uses { Err(Error::ReplayDuplicate) } else { Ok(*used) };
        }
        let issuers: BTreeSet<u8> = self.live(now).map(|(k, _)| k.0).collect();
        if self.live(now).count() >= Self::ENTRIES
            || (!issuers.contains(&key.0) && issuers.len() >= Self::ISSUERS)
        {
            return Err(Error::ReplayFull);
        }
        Ok(0)
    }

    fn commit(&mut self, key: (u8, u32), expires: Time, now: Time) {
        let base = self.base_at(now);
        self.base = base;
        self.spent.retain(|_, (_, until)| *until >= base);
        let rounded = u64::from(expires.0).div_ceil(60) * 60;
        let entry = self.spent.entry(key).or_insert((0, rounded));
        entry.0 += 1;
        entry.1 = entry.1.max(rounded);
    }
}
