//! The replay memory: spends are never forgotten, busy doors never refuse valid grants, and
//! overflow fails closed.

use super::fixture::*;
use porter_protocol::*;

/// One more issuer of the fixture's site, certified by its root.
struct Issuer {
    key: SigningKey,
    cert: Vec<u8>,
}

impl Issuer {
    fn new(site: &Site, seed: u8) -> Issuer {
        let key = key(seed);
        let cert = Certificate { issuer: key.public_key(), ..site.certificate_body() };
        Issuer { cert: site.seal_cert(&cert), key }
    }

    fn grant(&self, site: &Site, serial: u64, uses: u8, not_before: Time) -> Vec<u8> {
        let grant =
            Grant { not_before, not_after: not_before.plus(600), ..site.grant_body(serial, uses) };
        let mut buf = [0u8; MAX_GRANT_LEN];
        grant.seal(&self.key, &mut buf).unwrap().to_vec()
    }
}

/// Presents `grant` of `issuer` at clock `at` and returns the verdict's code (0 = admitted).
fn attempt(site: &Site, memory: &mut DoorMemory, issuer: &Issuer, grant: &[u8], at: Time) -> u16 {
    let nonce = (at.0 % 251) as u8;
    let challenge = site.challenge(at, nonce);
    let p = site.present(&challenge, grant, &issuer.cert, None);
    let before = memory.clone();
    match memory.admit(&site.config, at, &challenge, &p) {
        Decision::Admit(_) => 0,
        Decision::Reject(e) => {
            assert_eq!(*memory, before, "a refusal changed the memory");
            e.code()
        }
    }
}

/// Issue 8, item 1: at a site with more issuers than the old table's four windows, a
/// single-use grant spent before its issuer's window was evicted and re-created was admitted a
/// second time. (Fails on the per-issuer windows: the second attempt is admitted.)
#[test]
fn a_spent_grant_stays_spent_at_a_site_with_five_issuers() {
    let site = Site::new();
    let mut memory = site.memory();
    let issuers: Vec<Issuer> = (10..15).map(|seed| Issuer::new(&site, seed)).collect();
    let a = &issuers[0];
    let first = a.grant(&site, 1, 1, NOON.minus(60));
    assert_eq!(attempt(&site, &mut memory, a, &first, NOON), 0);
    // Four more issuers at the door; the old table evicted issuer A's window for the fifth.
    for (i, other) in issuers.iter().enumerate().skip(1) {
        let grant = other.grant(&site, 100 + i as u64, 1, NOON.minus(60));
        assert_eq!(attempt(&site, &mut memory, other, &grant, NOON.plus(i as u32)), 0);
    }
    // A newer grant of issuer A (re-creating its window on the old table), then the spent one.
    let second = a.grant(&site, 2, 1, NOON.plus(100));
    assert_eq!(attempt(&site, &mut memory, a, &second, NOON.plus(120)), 0);
    assert_eq!(
        attempt(&site, &mut memory, a, &first, NOON.plus(130)),
        Error::ReplayDuplicate.code(),
        "a spent single-use grant was admitted again"
    );
}

/// A grant whose serial agrees in its low 32 bits with a remembered grant's shares its replay
/// entry, and one that expires more than 45 days after the door's latest admission cannot be
/// recorded there: the door refuses it as `replay_full` at the replay check, before any
/// signature, and its memory (the replay table's base included) is byte-identical afterwards.
/// (Fails on the old code: the replay check passed it, and the commit refused it only after
/// moving the base, so the refusal changed the memory.) One expiring within the 45 days is
/// the shared entry's next use.
#[test]
fn a_colliding_grant_the_table_cannot_hold_is_refused_and_changes_nothing() {
    let site = Site::new();
    let long_lived = Certificate {
        limits: IssuerLimits { max_grant_lifetime: 60 * 86_400, ..site.certificate_body().limits },
        ..site.certificate_body()
    };
    let issuer = Issuer { key: key(2), cert: site.seal_cert(&long_lived) };
    let grant = |serial: u64, not_after: Time, signer: &SigningKey| {
        let body = Grant { not_after, ..site.grant_body(serial, 2) };
        let mut buf = [0u8; MAX_GRANT_LEN];
        body.seal(signer, &mut buf).unwrap().to_vec()
    };
    let mut memory = site.memory();
    assert_eq!(
        attempt(&site, &mut memory, &issuer, &grant(5, NOON.plus(600), &issuer.key), NOON),
        0
    );

    // Two minutes later (the base would move), the colliding serial, valid for 50 days.
    let later = NOON.plus(120);
    let colliding = 5 + (1 << 32);
    let far = grant(colliding, NOON.plus(50 * 86_400), &issuer.key);
    let mut before = vec![0u8; MAX_DOOR_MEMORY_LEN];
    let before = memory.encode(&mut before).unwrap().to_vec();
    assert_eq!(attempt(&site, &mut memory, &issuer, &far, later), Error::ReplayFull.code());
    let mut after = vec![0u8; MAX_DOOR_MEMORY_LEN];
    assert_eq!(memory.encode(&mut after).unwrap(), &before[..], "the refusal changed the memory");
    assert_eq!(memory.replay().base(), NOON, "the refusal moved the replay table's base");
    // Refused at the replay check (step 8), before the signatures: a forged one gets the same.
    let forged = grant(colliding, NOON.plus(50 * 86_400), &key(9));
    assert_eq!(attempt(&site, &mut memory, &issuer, &forged, later), Error::ReplayFull.code());

    // Within the 45 days it fits: the colliding grant is the shared entry's second use, and the
    // entry, now spent, refuses the far one as a duplicate.
    let near = grant(colliding, NOON.plus(40 * 86_400), &issuer.key);
    assert_eq!(attempt(&site, &mut memory, &issuer, &near, later), 0);
    assert_eq!(
        attempt(&site, &mut memory, &issuer, &far, later.plus(1)),
        Error::ReplayDuplicate.code()
    );
}

/// More issuers with unexpired grants than the table has issuer slots: the next issuer is
/// refused with its own reason, nothing is forgotten, and the slot frees itself once the
/// grants of an issuer have expired.
#[test]
fn more_issuers_than_slots_fail_closed_and_forget_nothing() {
    let site = Site::new();
    let mut memory = site.memory();
    let issuers: Vec<Issuer> =
        (10..10 + REPLAY_ISSUERS as u8 + 1).map(|s| Issuer::new(&site, s)).collect();
    let grants: Vec<Vec<u8>> =
        issuers.iter().map(|i| i.grant(&site, 7, 1, NOON.minus(60))).collect();
    for (i, (issuer, grant)) in issuers.iter().zip(&grants).enumerate().take(REPLAY_ISSUERS) {
        assert_eq!(attempt(&site, &mut memory, issuer, grant, NOON.plus(i as u32)), 0);
    }
    let last = issuers.last().unwrap();
    let late = grants.last().unwrap();
    assert_eq!(attempt(&site, &mut memory, last, late, NOON.plus(20)), Error::ReplayFull.code());
    // Every spend is still remembered.
    for (i, (issuer, grant)) in issuers.iter().zip(&grants).enumerate().take(REPLAY_ISSUERS) {
        let code = attempt(&site, &mut memory, issuer, grant, NOON.plus(30 + i as u32));
        assert_eq!(code, Error::ReplayDuplicate.code());
    }
    // The first eight grants expire at NOON + 540 + skew; then the ninth issuer gets a slot.
    let fresh = last.grant(&site, 8, 1, NOON.plus(500));
    assert_eq!(attempt(&site, &mut memory, last, &fresh, NOON.plus(700)), 0);
    assert_eq!(memory.replay().issuers(), 1);
}

/// Issue 8, item 2: serials are handed out site-wide, so one door sees serials far apart. Every
/// grant is admitted exactly `uses` times whatever the order: here 40 two-use grants 125
/// serials apart (a site issuing 5,000 grants over 20 doors), presented newest first. (Fails on
/// the 256-serial windows with `replay_too_old`.)
#[test]
fn a_busy_door_admits_every_grant_exactly_its_uses_in_any_order() {
    let site = Site::new();
    let issuer = Issuer::new(&site, 2);
    let mut memory = site.memory();
    let grants: Vec<Vec<u8>> =
        (0..40u64).map(|k| issuer.grant(&site, k * 125, 2, NOON.minus(60))).collect();
    let mut clock = NOON;
    for round in 0..3 {
        for grant in grants.iter().rev() {
            clock = clock.plus(1);
            let want = if round < 2 { 0 } else { Error::ReplayDuplicate.code() };
            assert_eq!(attempt(&site, &mut memory, &issuer, grant, clock), want);
        }
    }
}

/// A door whose clock went back behind its latest admission refuses grants that expired
/// before that admission: it may have forgotten them.
#[test]
fn a_clock_gone_back_refuses_grants_the_door_may_have_forgotten() {
    let site = Site::new();
    let issuer = Issuer::new(&site, 2);
    let mut memory = site.memory();
    let early = issuer.grant(&site, 1, 1, NOON.minus(60)); // valid until NOON + 540 + skew
    let late = issuer.grant(&site, 2, 1, NOON.plus(3_000));
    assert_eq!(attempt(&site, &mut memory, &issuer, &early, NOON), 0);
    assert_eq!(attempt(&site, &mut memory, &issuer, &late, NOON.plus(3_100)), 0);
    // The clock reads NOON again: `early` is valid by it, but its spend has been dropped.
    assert_eq!(
        attempt(&site, &mut memory, &issuer, &early, NOON.plus(10)),
        Error::ReplayTooOld.code()
    );
}

/// A small xorshift generator, so the figure's scenario is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The issue's figure, as stated: an issuer hands out 5,000 grants per 15 minutes (lifetime 15
/// minutes, 1 to 4 uses, serials site-wide), and 500 of each 15 minutes' grants are presented at
/// one door at random instants within their validity (so in any order, interleaved), for two
/// hours. Every use is admitted, the next attempt is a duplicate, nothing is too old or full.
#[test]
fn the_busy_site_figure_holds_for_two_hours() {
    const SKEW: u32 = 60;
    const LIFETIME: u32 = 900;
    let issuer = KeyId([2; 8]);
    for seed in 1..=4u64 {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed);
        let mut table: ReplayTable<REPLAY_ENTRIES, REPLAY_ISSUERS> = ReplayTable::new();
        // (time, grant index, attempt number)
        let mut events: Vec<(u32, usize, u8)> = Vec::new();
        let mut grants: Vec<(u64, u8, Time)> = Vec::new();
        let mut serial = 0u64;
        for batch in 0..8u32 {
            let start = NOON.0 + batch * 900;
            let mut chosen: Vec<u32> = (0..5_000).collect();
            for i in 0..500 {
                let j = i + rng.below(5_000 - i as u64) as usize;
                chosen.swap(i, j);
            }
            chosen.truncate(500);
            chosen.sort_unstable();
            let mut next = 0;
            for k in 0..5_000u32 {
                let uses = rng.below(4) as u8 + 1;
                let issued = start + k * 900 / 5_000;
                if chosen.get(next) == Some(&k) {
                    next += 1;
                    let index = grants.len();
                    grants.push((serial, uses, Time(issued + LIFETIME)));
                    // `uses` admissions and one more attempt, anywhere within the validity.
                    for attempt in 0..=uses {
                        let at = issued + rng.below(u64::from(LIFETIME)) as u32;
                        events.push((at, index, attempt));
                    }
                }
                serial += u64::from(uses);
            }
        }
        events.sort_unstable();
        let mut used = vec![0u8; grants.len()];
        let mut peak = 0;
        for (at, index, _) in events {
            let (serial, uses, not_after) = grants[index];
            let got = table.check(issuer, serial, uses, not_after, SKEW, Time(at));
            if used[index] < uses {
                let spend =
                    got.unwrap_or_else(|e| panic!("seed {seed}: grant {index} refused: {e}"));
                assert_eq!(spend.use_index, used[index]);
                table.commit(&spend).unwrap();
                used[index] += 1;
            } else {
                assert_eq!(got, Err(Error::ReplayDuplicate));
            }
            peak = peak.max(table.len());
        }
        assert!(used.iter().zip(&grants).all(|(u, g)| *u == g.1));
        println!("seed {seed}: {} grants, peak {peak} of {REPLAY_ENTRIES} entries", grants.len());
    }
}

/// A full table refuses a new grant with `replay_full` and changes nothing; grants it
/// remembers still get their remaining uses; room returns as entries expire.
#[test]
fn a_full_table_refuses_new_grants_and_keeps_every_spend() {
    let issuer = KeyId([2; 8]);
    let mut table: ReplayTable<8, 2> = ReplayTable::new();
    for serial in 0..8 {
        let spend = table.check(issuer, serial, 2, NOON.plus(600), 60, NOON).unwrap();
        table.commit(&spend).unwrap();
    }
    let before = table.clone();
    assert_eq!(table.check(issuer, 8, 2, NOON.plus(600), 60, NOON), Err(Error::ReplayFull));
    let spend = Spend { issuer, serial: 8, use_index: 0, expires: NOON.plus(660), at: NOON };
    assert_eq!(table.commit(&spend), Err(Error::ReplayFull));
    assert_eq!(table, before);
    // Second uses of remembered grants need no room.
    let second = table.check(issuer, 3, 2, NOON.plus(600), 60, NOON).unwrap();
    assert_eq!(second.use_index, 1);
    // A grant living past what the table can represent (45 days ahead) is refused too.
    let far = NOON.plus(ReplayTable::<8, 2>::MAX_AHEAD + 60);
    let mut empty: ReplayTable<8, 2> = ReplayTable::new();
    assert_eq!(empty.check(issuer, 1, 1, far, 0, NOON), Err(Error::ReplayFull));
    assert!(empty.commit(&Spend { expires: far, ..spend }).is_err());
    // One minute after the expiry (rounding up to the minute) the entries are gone.
    let later = NOON.plus(600 + 60 + 60);
    let spend = table.check(issuer, 8, 2, later.plus(600), 60, later).unwrap();
    table.commit(&spend).unwrap();
    assert_eq!(table.len(), 1);
}

/// The spends of a log, committed in order onto the table they started from, rebuild it
/// exactly; committing one twice changes nothing (a door may persist spends as deltas).
#[test]
fn spends_are_deltas_that_rebuild_the_table() {
    let mut table: ReplayTable<16, 4> = ReplayTable::new();
    let mut log = Vec::new();
    let mut rng = Rng(7);
    let mut now = NOON;
    for _ in 0..200 {
        now = now.plus(rng.below(40) as u32);
        let issuer = KeyId([rng.below(5) as u8; 8]);
        let serial = rng.below(30);
        let not_after = now.plus(300 + serial as u32 * 20);
        if let Ok(spend) = table.check(issuer, serial, 3, not_after, 60, now) {
            table.commit(&spend).unwrap();
            log.push(spend);
        }
    }
    assert!(log.len() > 50);
    let mut rebuilt: ReplayTable<16, 4> = ReplayTable::new();
    for spend in &log {
        rebuilt.commit(spend).unwrap();
        let once = rebuilt.clone();
        rebuilt.commit(spend).unwrap();
        assert_eq!(rebuilt, once);
    }
    assert_eq!(rebuilt, table);
    let mut buf = [0u8; 64];
    assert!(encode(&log[0], &mut buf).unwrap().len() <= 30, "a spend is at most 30 bytes");
}
