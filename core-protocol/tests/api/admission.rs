use super::fixture::*;
use porter_protocol::*;

#[test]
fn a_valid_presentation_is_admitted_once() {
    let site = Site::new();
    let mut memory = site.memory();
    let (challenge, p) = site.valid(10, 1, 1);
    match memory.admit(&site.config, NOON, &challenge, &p) {
        Decision::Admit(a) => {
            assert_eq!(a.grant_serial, 10);
            assert_eq!(a.use_index, 0);
            assert_eq!(a.holder, site.holder.public_key().id());
        }
        Decision::Reject(e) => panic!("rejected: {e}"),
    }
    let before = memory.clone();
    assert_eq!(
        memory.admit(&site.config, NOON, &challenge, &p),
        Decision::Reject(Error::ReplayDuplicate)
    );
    assert_eq!(memory, before);
}

/// Every single-bit flip anywhere in a presentation (grant, certificate, carried door state,
/// lengths, proof) is refused, and leaves the door's memory as it was.
#[test]
fn every_single_bit_flip_is_refused() {
    let site = Site::new();
    let challenge = site.challenge(NOON, 1);
    let cert = site.seal_cert(&site.certificate_body());
    let grant = site.seal_grant(&site.grant_body(10, 1));
    let mut state = site.state(1, NOON.minus(10));
    state.deny.push(DenyEntry { subject: DenySubject([9; 8]), until: NOON }).unwrap();
    let state = site.seal_state(&state);
    let p = site.present(&challenge, &grant, &cert, Some(&state));
    let fresh = site.memory();
    let mut reasons = std::collections::BTreeSet::new();
    for bit in 0..p.len() * 8 {
        let mut flipped = p.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        let mut memory = fresh.clone();
        match memory.admit(&site.config, NOON, &challenge, &flipped) {
            Decision::Admit(_) => panic!("bit {bit} flipped and still admitted"),
            Decision::Reject(e) => {
                reasons.insert(e.name());
            }
        }
        assert_eq!(memory, fresh, "bit {bit}: a refusal changed the memory");
    }
    // The unflipped presentation is admitted, so the flips are what is refused.
    let mut memory = fresh.clone();
    assert!(matches!(memory.admit(&site.config, NOON, &challenge, &p), Decision::Admit(_)));
    assert!(reasons.len() >= 5, "flips should be caught at several layers: {reasons:?}");
}

#[test]
fn steady_state_skips_the_certificate_signature_but_not_its_checks() {
    let site = Site::new();
    let mut memory = site.memory();
    let (c, p) = site.valid(10, 1, 1);
    assert!(matches!(memory.admit(&site.config, NOON, &c, &p), Decision::Admit(_)));
    // The certificate is cached now; a fence still refuses it.
    let mut st = site.state(1, NOON);
    st.cert_epoch_fence = 5;
    memory.apply_door_state(&site.config, &site.seal_state(&st)).unwrap();
    let (c, p) = site.valid(11, 1, 2);
    assert_eq!(memory.admit(&site.config, NOON, &c, &p), Decision::Reject(Error::CertFenced));
}

#[test]
fn memory_survives_encoding() {
    let site = Site::new();
    let mut memory = site.memory();
    let (c, p) = site.valid(10, 2, 1);
    assert!(matches!(memory.admit(&site.config, NOON, &c, &p), Decision::Admit(_)));
    let mut buf = vec![0u8; MAX_DOOR_MEMORY_LEN];
    let bytes = memory.encode(&mut buf).unwrap();
    let restored: DoorMemory = DoorMemory::decode(bytes).unwrap();
    assert_eq!(restored, memory);
}

#[test]
fn full_memory_fits_its_bounds() {
    // The largest door state: 256 deny entries with five-byte varints everywhere.
    let site = Site::new();
    let mut state = site.state(u64::MAX, Time(u32::MAX));
    state.grant_fence = Time(u32::MAX);
    state.cert_epoch_fence = u32::MAX;
    for i in 0..MAX_DENY_ENTRIES as u64 {
        let subject = DenySubject((i << 48 | 0xffff).to_be_bytes());
        state.deny.push(DenyEntry { subject, until: Time(u32::MAX) }).unwrap();
    }
    let sealed = site.seal_state(&state);
    assert!(sealed.len() <= MAX_DOOR_STATE_LEN, "{} bytes", sealed.len());
    let mut memory = site.memory();
    memory.apply_door_state(&site.config, &sealed).unwrap();
    let mut buf = vec![0u8; MAX_DOOR_MEMORY_LEN];
    let len = memory.encode(&mut buf).unwrap().len();
    assert!(len <= MAX_DOOR_MEMORY_LEN);
    // A presentation carrying the largest state, the largest certificate and grant fits too.
    let cert = site.seal_cert(&site.certificate_body());
    let grant = site.seal_grant(&site.grant_body(10, 1));
    let p = site.present(&site.challenge(NOON, 1), &grant, &cert, Some(&sealed));
    assert!(p.len() <= MAX_PRESENTATION_LEN);
}

#[test]
fn a_grant_fits_the_160_byte_budget() {
    let site = Site::new();
    // The worst case: every varint at its widest, and a door number of 16,384 or more (a
    // three-byte varint; the spec once said 158 bytes, true only below 16,384).
    let mut grant = site.grant_body(u64::MAX - 64, 32);
    grant.site = SiteId(u32::MAX);
    grant.doors = heapless::Vec::from_slice(&[DoorId(u16::MAX)]).unwrap();
    grant.not_before = Time(u32::MAX - 1000);
    grant.not_after = Time(u32::MAX);
    let bytes = site.seal_grant(&grant);
    assert!(bytes.len() <= 160, "a one-door grant is {} bytes", bytes.len());
    println!(
        "one-door grant with holder key and package commitment: {} bytes (worst case)",
        bytes.len()
    );
}

#[test]
fn verifier_ram_is_within_4_kib() {
    let size = std::mem::size_of::<DoorMemory>();
    println!(
        "DoorMemory: {size} bytes (DoorState {}, ReplayTable {}, CertCache {})",
        std::mem::size_of::<DoorState>(),
        std::mem::size_of::<ReplayTable<REPLAY_ISSUERS, REPLAY_WORDS>>(),
        std::mem::size_of::<CertCache<CERT_CACHE_ENTRIES>>()
    );
    assert!(size <= 4096, "DoorMemory is {size} bytes");
}

/// A warm cache skips the root's signature only for a body the root signed: a widened body
/// carrying the cached certificate's signature is verified, and refused.
#[test]
fn a_warm_cache_does_not_vouch_for_an_altered_certificate_body() {
    let site = Site::new();
    let mut memory = site.memory();
    let (c, p) = site.valid(10, 1, 1);
    assert!(matches!(memory.admit(&site.config, NOON, &c, &p), Decision::Admit(_)));

    let genuine = site.seal_cert(&site.certificate_body());
    let mut widened = site.certificate_body();
    widened.limits.max_uses = 32;
    widened.limits.max_grant_lifetime = 86_400;
    let mut buf = [0u8; MAX_CERTIFICATE_LEN];
    let body_len = encode(&widened, &mut buf).unwrap().len();
    let forged = [&buf[..body_len], &genuine[genuine.len() - 64..]].concat();

    let challenge = site.challenge(NOON, 2);
    let grant = site.seal_grant(&site.grant_body(11, 32));
    let p = site.present(&challenge, &grant, &forged, None);
    assert_eq!(
        memory.admit(&site.config, NOON, &challenge, &p),
        Decision::Reject(Error::CertBadSignature)
    );
}
