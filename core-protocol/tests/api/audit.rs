//! Receipts, log heads, the chain follower, enrolments, the deny-list builder and the cache.

use super::fixture::*;
use porter_protocol::*;

fn chain(n: u64) -> Vec<Vec<u8>> {
    let mut previous = ChainHash::GENESIS;
    (0..n)
        .map(|i| {
            let r = record(
                SITE,
                DOOR,
                i,
                NOON.plus(i as u32),
                previous,
                AuditEvent::Rejected { reason: 501 },
            );
            let mut buf = [0u8; MAX_AUDIT_RECORD_LEN];
            let bytes = r.encode(&mut buf).unwrap().to_vec();
            previous = ChainHash::of(&bytes);
            bytes
        })
        .collect()
}

#[test]
fn receipts_verify_under_the_device_key_only() {
    let device = key(5);
    let r = record(SITE, DOOR, 0, NOON, ChainHash::GENESIS, AuditEvent::Boot);
    let mut buf = [0u8; MAX_RECEIPT_LEN];
    let receipt = r.seal_receipt(&device, &mut buf).unwrap().to_vec();
    assert_eq!(AuditRecord::decode_receipt(&receipt, &device.public_key()), Ok(r));
    assert_eq!(
        AuditRecord::decode_receipt(&receipt, &key(6).public_key()),
        Err(Error::AuditBadSignature)
    );
    for bit in 0..receipt.len() * 8 {
        let mut flipped = receipt.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        assert!(AuditRecord::decode_receipt(&flipped, &device.public_key()).is_err(), "bit {bit}");
    }
}

#[test]
fn the_follower_refuses_gaps_repeats_and_broken_links() {
    let records = chain(5);
    let mut f = ChainFollower::new();
    for r in &records[..3] {
        f.follow(r).unwrap();
    }
    let at_three = f;
    assert_eq!(f.follow(&records[4]), Err(Error::AuditGap), "record 3 is missing");
    assert_eq!(f.follow(&records[2]), Err(Error::AuditGap), "record 2 repeated");
    assert_eq!(f, at_three, "refusals do not move the follower");
    // A forged record 3 that links to nothing real.
    let forged = record(SITE, DOOR, 3, NOON, ChainHash([7; 32]), AuditEvent::Boot);
    let mut buf = [0u8; MAX_AUDIT_RECORD_LEN];
    assert_eq!(f.follow(forged.encode(&mut buf).unwrap()), Err(Error::AuditChainBroken));
    f.follow(&records[3]).unwrap();
    f.follow(&records[4]).unwrap();

    let device = key(5);
    let head =
        LogHead { version: VERSION, site: SITE, door: DOOR, length: 5, head: f.previous, at: NOON };
    let mut buf = [0u8; MAX_LOG_HEAD_LEN];
    let sealed = head.seal(&device, &mut buf).unwrap();
    let verified = LogHead::decode_verified(sealed, &device.public_key()).unwrap();
    assert_eq!(f.matches(&verified), Ok(()));
    assert_eq!(at_three.matches(&verified), Err(Error::AuditGap), "two records were withheld");
}

#[test]
fn enrolment_binds_the_device_key() {
    let site = Site::new();
    let device = key(5);
    let e = Enrolment {
        version: VERSION,
        site: SITE,
        door: DOOR,
        device: device.public_key(),
        issued_at: NOON,
        log_key: Some(LogSecret::from_seed([0x4C; 32]).unwrap().log_key().unwrap()),
    };
    let mut buf = [0u8; MAX_ENROLMENT_LEN];
    let sealed = e.seal(&site.root, &mut buf).unwrap();
    let root = site.root.public_key();
    assert_eq!(Enrolment::decode_for_device(sealed, &root, &device.public_key()), Ok(e));
    assert_eq!(
        Enrolment::decode_for_device(sealed, &root, &key(6).public_key()),
        Err(Error::EnrolmentMismatch)
    );
    assert_eq!(
        Enrolment::decode_verified(sealed, &key(6).public_key()),
        Err(Error::EnrolmentBadSignature)
    );
}

#[test]
fn a_full_deny_list_folds_the_oldest_short_lived_entry_into_the_grant_fence() {
    let site = Site::new();
    let mut builder = DenyListBuilder::new(Time(0), 0);
    // The holder revoked first expires first; 256 later entries overflow the list.
    let revoked = DenyEntry {
        subject: DenySubject::holder(&site.holder.public_key()),
        until: NOON.plus(900),
    };
    assert_eq!(builder.deny(revoked, DenyKind::ShortLived), None);
    for i in 0..MAX_DENY_ENTRIES as u32 - 1 {
        let e = DenyEntry {
            subject: DenySubject(u64::from(i).to_le_bytes()),
            until: NOON.plus(1000 + i),
        };
        assert_eq!(builder.deny(e, DenyKind::ShortLived), None);
    }
    let one_more = DenyEntry { subject: DenySubject([0xee; 8]), until: NOON.plus(5000) };
    assert_eq!(
        builder.deny(one_more, DenyKind::ShortLived),
        Some(FenceRaised::Grants(NOON.plus(901)))
    );
    let (grant_fence, cert_fence, deny) = builder.finish();
    assert_eq!(deny.len(), MAX_DENY_ENTRIES);
    assert_eq!(cert_fence, 0);
    let state = DoorState { grant_fence, deny, ..site.state(1, NOON.minus(10)) };
    assert!(!state.denies(revoked.subject), "the entry was folded into the fence");
    // The revoked holder's grant is still refused, by the fence.
    let mut memory = site.memory();
    memory.apply_door_state(&site.config, &site.seal_state(&state)).unwrap();
    let (c, p) = site.valid(10, 1, 1);
    assert_eq!(memory.admit(&site.config, NOON, &c, &p), Decision::Reject(Error::GrantFenced));
}

#[test]
fn a_list_full_of_issuers_raises_the_certificate_fence() {
    let mut builder = DenyListBuilder::new(Time(0), 0);
    for i in 0..=MAX_DENY_ENTRIES as u32 {
        let e = DenyEntry { subject: DenySubject(u64::from(i).to_le_bytes()), until: NOON.plus(i) };
        let raised = builder.deny(e, DenyKind::Issuer { epoch: 3 });
        assert_eq!(
            raised,
            (i as usize == MAX_DENY_ENTRIES).then_some(FenceRaised::Certificates(4))
        );
    }
    let (_, cert_fence, deny) = builder.finish();
    assert_eq!((cert_fence, deny.len()), (4, MAX_DENY_ENTRIES));
    assert!(deny.windows(2).all(|w| w[0].subject < w[1].subject), "finish sorts the list");
}

#[test]
fn duplicate_subjects_keep_the_later_expiry_and_pruning_drops_the_expired() {
    let mut builder = DenyListBuilder::new(Time(0), 0);
    let s = DenySubject([1; 8]);
    builder.deny(DenyEntry { subject: s, until: Time(10) }, DenyKind::ShortLived);
    builder.deny(DenyEntry { subject: s, until: Time(30) }, DenyKind::ShortLived);
    builder.deny(DenyEntry { subject: DenySubject([2; 8]), until: Time(20) }, DenyKind::ShortLived);
    builder.prune(Time(25));
    let (_, _, deny) = builder.finish();
    assert_eq!(deny.as_slice(), &[DenyEntry { subject: s, until: Time(30) }]);
}

#[test]
fn the_certificate_cache_replaces_round_robin() {
    let mut cache: CertCache<2> = CertCache::new();
    let root = PublicKey([1; 32]);
    let [a, b, c] = [b"a", b"b", b"c"]
        .map(|x| CachedCert { body: CertHash::of(x), signature: Signature([7; 64]) });
    cache.insert(&root, a);
    cache.insert(&root, b);
    cache.insert(&root, a);
    cache.insert(&root, c);
    let has = |x| cache.contains(&root, x);
    assert!(has(&c) && has(&b) && !has(&a));
    // The same body under other signature bytes, or under another root, is not cached.
    assert!(!cache.contains(&root, &CachedCert { signature: Signature([8; 64]), ..c }));
    assert!(!cache.contains(&PublicKey([2; 32]), &c));
    // An entry of another root empties the cache.
    cache.insert(&PublicKey([2; 32]), a);
    assert!(!cache.contains(&root, &b) && cache.contains(&PublicKey([2; 32]), &a));
}

#[test]
fn error_codes_are_unique_and_round_trip() {
    let mut codes: Vec<u16> = Error::ALL.iter().map(|e| e.code()).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), Error::ALL.len());
    for e in Error::ALL {
        assert_eq!(Error::from_code(e.code()), Some(e));
        assert!(!e.message().is_empty() && e.to_string().contains(e.name()));
    }
    assert_eq!(Error::from_code(0), None);
}

#[test]
fn an_all_zero_seed_is_refused_not_a_panic() {
    assert_eq!(SigningKey::from_seed([0; 32]).err(), Some(Error::KeyInvalidSeed));
    assert!(SigningKey::from_seed([0, 0, 0, 1].repeat(8).try_into().unwrap()).is_ok());
}

#[test]
fn only_the_site_server_can_unmask_a_holder_in_the_door_log() {
    // Issue 8, item 9: the log's holder ids linked a driver's visits for anyone in radio range.
    let device = key(5);
    let server = LogSecret::from_seed([0x4C; 32]).unwrap();
    let log_key = server.log_key().unwrap();
    let door_side = LogMask::for_door(&device, &log_key).unwrap();
    let server_side = LogMask::for_server(&server, &device.public_key()).unwrap();
    assert_eq!(door_side, server_side, "door and server derive the same key");
    let holder = key(3).public_key().id();
    let (first, second) = (door_side.apply(7, holder), door_side.apply(8, holder));
    assert_ne!(first, holder);
    assert_ne!(first, second, "two visits of one holder look unrelated");
    assert_eq!(server_side.apply(7, first), holder);
    assert_eq!(server_side.apply(8, second), holder);
    // Another server (another site, or an eavesdropper's guess) gets nothing useful.
    let other = LogSecret::from_seed([0x4D; 32]).unwrap();
    let wrong = LogMask::for_server(&other, &device.public_key()).unwrap();
    assert_ne!(wrong.apply(7, first), holder);
    // A log key of small order would make the mask public: the door refuses it.
    assert_eq!(LogMask::for_door(&device, &LogKey([0; 32])), Err(Error::EnrolmentMismatch));
    assert_eq!(LogSecret::from_seed([0; 32]).err(), Some(Error::KeyInvalidSeed));
    // The record reader unmasks with the record's own sequence.
    let r = record(
        SITE,
        DOOR,
        7,
        NOON,
        ChainHash::GENESIS,
        AuditEvent::Admitted {
            issuer: key(2).public_key().id(),
            grant_serial: 1,
            use_index: 0,
            holder: first,
            role: Role::Delivery,
            package: PackageCommitment::new(&[1; 16], b"1Z"),
        },
    );
    assert_eq!(r.holder(&server_side), Some(holder));
}
