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
                    // Spent, or pushed out of the 256-serial window by a later serial.
                    prop_assert!(e == Error::ReplayDuplicate || e == Error::ReplayTooOld, "{e}");
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

    /// The replay table agrees with a naive model: a set of spent serials per issuer, the
    /// highest serial per issuer, LRU eviction and the eviction time rule.
    #[test]
    fn replay_table_agrees_with_a_naive_model(
        ops in proptest::collection::vec((0u8..6, 0u64..600, 1u8..=4, 0u32..50, 0u32..50), 1..120),
    ) {
        const SKEW: u32 = 5;
        let mut table: ReplayTable<4, 8> = ReplayTable::new();
        let mut model = Model::default();
        let mut now = Time(1000);
        for (issuer, serial, uses, start_offset, advance) in ops {
            now = now.plus(advance);
            let id = KeyId([issuer; 8]);
            let not_before = now.minus(start_offset);
            let expected = model.check(id, serial, uses, not_before, SKEW);
            let got = table.check(id, serial, uses, not_before, SKEW);
            prop_assert_eq!(got.as_ref().map(|s| s.serial).map_err(|e| *e), expected);
            if let Ok(spend) = got {
                table.commit(spend, now);
                model.commit(id, spend.serial, now);
            }
        }
    }
}

/// The obvious implementation the replay table must agree with.
#[derive(Default)]
struct Model {
    windows: Vec<(KeyId, BTreeSet<u64>, Time)>,
    forgotten_at: Time,
}

impl Model {
    const WINDOW: u64 = 256;
    const ISSUERS: usize = 4;

    fn check(
        &self,
        id: KeyId,
        serial: u64,
        uses: u8,
        not_before: Time,
        skew: u32,
    ) -> Result<u64, Error> {
        if let Some((_, spent, _)) = self.windows.iter().find(|(i, _, _)| *i == id) {
            let top = *spent.iter().max().unwrap();
            let mut remembered = false;
            for s in serial..serial + u64::from(uses) {
                let too_old = s + Self::WINDOW <= top;
                if too_old {
                    continue;
                }
                if spent.contains(&s) {
                    remembered = true;
                } else {
                    return Ok(s);
                }
            }
            return Err(if remembered { Error::ReplayDuplicate } else { Error::ReplayTooOld });
        }
        if self.forgotten_at != Time(0) && not_before.minus(skew) <= self.forgotten_at {
            return Err(Error::ReplayTooOld);
        }
        Ok(serial)
    }

    fn commit(&mut self, id: KeyId, serial: u64, now: Time) {
        if let Some((_, spent, last)) = self.windows.iter_mut().find(|(i, _, _)| *i == id) {
            spent.insert(serial);
            *last = (*last).max(now);
            return;
        }
        let fresh = (id, BTreeSet::from([serial]), now);
        if self.windows.len() < Self::ISSUERS {
            self.windows.push(fresh);
            return;
        }
        // Evict the least recently used window; on a tie, the first slot (as the table does).
        let (oldest, _) = self.windows.iter().enumerate().min_by_key(|(_, (_, _, t))| *t).unwrap();
        self.forgotten_at = self.forgotten_at.max(self.windows[oldest].2);
        self.windows[oldest] = fresh;
    }
}
