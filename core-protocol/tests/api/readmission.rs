//! Issue 14, item 6: re-admission at one signature. A multi-use grant whose issuer signature
//! the door verified is remembered (the grant's and its certificate's exact bytes, under the
//! root), and its next entry checks only the holder's proof. These tests pin that the cache changes no
//! verdict: it vouches for nothing but the very bytes it verified.

use super::fixture::*;
use porter_protocol::*;

/// A two-use grant with this package, sealed by the site's issuer.
fn two_use(site: &Site, package: u8) -> Vec<u8> {
    let grant = Grant {
        package: PackageCommitment::new(&[package; 16], b"1Z999AA10123456784"),
        ..site.grant_body(40, 2)
    };
    site.seal_grant(&grant)
}

#[test]
fn a_multi_use_grant_is_remembered_once_verified_and_a_single_use_one_is_not() {
    let site = Site::new();
    let mut memory = site.memory();
    let (challenge, p) = site.valid(10, 1, 1);
    assert!(matches!(memory.admit(&site.config, NOON, &challenge, &p), Decision::Admit(_)));
    assert_eq!(memory.grants().len(), 0, "a single-use grant cannot come back");
    let cert = site.seal_cert(&site.certificate_body());
    let grant = two_use(&site, 1);
    for (nonce, use_index) in [(2, 0), (3, 1)] {
        let challenge = site.challenge(NOON, nonce);
        let p = site.present(&challenge, &grant, &cert, None);
        match memory.admit(&site.config, NOON, &challenge, &p) {
            Decision::Admit(a) => assert_eq!(a.use_index, use_index),
            Decision::Reject(e) => panic!("use {use_index} refused: {e}"),
        }
        assert_eq!(memory.grants().len(), 1);
    }
    let challenge = site.challenge(NOON, 4);
    let p = site.present(&challenge, &grant, &cert, None);
    assert_eq!(
        memory.admit(&site.config, NOON, &challenge, &p),
        Decision::Reject(Error::ReplayDuplicate)
    );
}

/// The holder's proof covers the grant's signature, not its body. Were the cache keyed by the
/// signature alone, a relay could put another body (here: another package) under the cached
/// signature the holder signed and be admitted without any issuer signature over it.
#[test]
fn a_relay_cannot_swap_a_grant_body_under_a_cached_signature() {
    let site = Site::new();
    let mut memory = site.memory();
    let cert = site.seal_cert(&site.certificate_body());
    let grant = two_use(&site, 1);
    let challenge = site.challenge(NOON, 1);
    let p = site.present(&challenge, &grant, &cert, None);
    assert!(matches!(memory.admit(&site.config, NOON, &challenge, &p), Decision::Admit(_)));
    assert_eq!(memory.grants().len(), 1);

    // The holder answers its second entry; the relay swaps in another body, same signature.
    let other = two_use(&site, 2);
    let challenge = site.challenge(NOON, 2);
    let sent = site.present(&challenge, &grant, &cert, None);
    let swapped = [&other[..other.len() - 64], &grant[grant.len() - 64..]].concat();
    let mut body = vec![0u8; MAX_PRESENTATION_LEN];
    let body = Presentation::new(&swapped, &cert, None).encode_body(&mut body).unwrap();
    let proof: [u8; 64] = sent[sent.len() - 64..].try_into().unwrap();
    let mut out = vec![0u8; MAX_PRESENTATION_LEN];
    let relayed = Presentation::assemble(body, &proof, &mut out).unwrap();
    let before = memory.clone();
    assert_eq!(
        memory.admit(&site.config, NOON, &challenge, relayed),
        Decision::Reject(Error::GrantBadSignature)
    );
    assert_eq!(memory, before);
    // What the holder sent is admitted, from the cache.
    assert!(matches!(memory.admit(&site.config, NOON, &challenge, &sent), Decision::Admit(_)));
}

/// The same grant bytes under another issuer's certificate were never verified under that
/// issuer's key: a cache that ignored the key would admit them.
#[test]
fn cached_grant_bytes_under_another_issuer_certificate_are_checked_again() {
    let site = Site::new();
    let mut memory = site.memory();
    let cert = site.seal_cert(&site.certificate_body());
    let grant = two_use(&site, 1);
    let challenge = site.challenge(NOON, 1);
    let p = site.present(&challenge, &grant, &cert, None);
    assert!(matches!(memory.admit(&site.config, NOON, &challenge, &p), Decision::Admit(_)));
    // A second issuer, certified by the same root: its key did not sign this grant.
    let other =
        site.seal_cert(&Certificate { issuer: key(9).public_key(), ..site.certificate_body() });
    let challenge = site.challenge(NOON, 2);
    let p = site.present(&challenge, &grant, &other, None);
    assert_eq!(
        memory.admit(&site.config, NOON, &challenge, &p),
        Decision::Reject(Error::GrantBadSignature)
    );
}

/// Entries vouch only for the root their certificate was verified under: after a root change
/// the cache empties itself, and the grant's signature is checked again.
#[test]
fn a_root_change_empties_the_grant_cache() {
    let site = Site::new();
    let mut memory = site.memory();
    let cert = site.seal_cert(&site.certificate_body());
    let grant = two_use(&site, 1);
    let challenge = site.challenge(NOON, 1);
    let p = site.present(&challenge, &grant, &cert, None);
    assert!(matches!(memory.admit(&site.config, NOON, &challenge, &p), Decision::Admit(_)));
    let new_root = key(8);
    let config = DoorConfig { root: new_root.public_key(), ..site.config.clone() };
    let mut buf = [0u8; MAX_CERTIFICATE_LEN];
    let cert = site.certificate_body().seal(&new_root, &mut buf).unwrap().to_vec();
    let other = two_use(&site, 3);
    let challenge = site.challenge(NOON, 2);
    let p = site.present(&challenge, &other, &cert, None);
    assert!(matches!(memory.admit(&config, NOON, &challenge, &p), Decision::Admit(_)));
    assert_eq!(memory.grants().len(), 1, "the old root's entry is gone, the new one is in");
}

/// A two-use grant admitted once, so that its next entry hits the cache: the site, the door's
/// memory, the sealed grant and certificate.
fn cached(site: &Site) -> (DoorMemory, Vec<u8>, Vec<u8>) {
    let mut memory = site.memory();
    let cert = site.seal_cert(&site.certificate_body());
    let grant = two_use(site, 1);
    let challenge = site.challenge(NOON, 1);
    let p = site.present(&challenge, &grant, &cert, None);
    assert!(matches!(memory.admit(&site.config, NOON, &challenge, &p), Decision::Admit(_)));
    assert_eq!(memory.grants().len(), 1);
    (memory, grant, cert)
}

/// A hit skips both the root's and the issuer's signature, so the entry must stand for every
/// byte of both messages: the cached grant and its certificate with any one byte changed, in a
/// presentation the holder signed afresh, are refused (their signatures are checked again) and
/// change nothing, and the unchanged pair is still admitted from the cache afterwards.
#[test]
fn every_byte_of_a_cached_grant_and_of_its_certificate_is_bound() {
    let site = Site::new();
    let (mut memory, grant, cert) = cached(&site);
    let before = memory.clone();
    for (what, at) in
        (0..grant.len()).map(|i| ("grant", i)).chain((0..cert.len()).map(|i| ("cert", i)))
    {
        let (mut g, mut c) = (grant.clone(), cert.clone());
        let bytes = if what == "grant" { &mut g } else { &mut c };
        bytes[at] ^= 0x01;
        let challenge = site.challenge(NOON, 2);
        let p = site.present(&challenge, &g, &c, None);
        let verdict = memory.admit(&site.config, NOON, &challenge, &p);
        assert!(matches!(verdict, Decision::Reject(_)), "{what} byte {at} changed: {verdict:?}");
        assert_eq!(memory, before, "{what} byte {at}: a refusal changes nothing");
        assert!(memory.grants().len() == 1, "{what} byte {at}: the entry stays");
    }
    let challenge = site.challenge(NOON, 3);
    let p = site.present(&challenge, &grant, &cert, None);
    assert!(matches!(memory.admit(&site.config, NOON, &challenge, &p), Decision::Admit(_)));
}

/// The holder's proof covers the certificate's signature, not its body, and a hit skips the
/// root's signature: a relay that widens the certificate of a cached grant (here: any number of
/// uses) under the signature the holder signed is a miss, and the root's signature fails.
#[test]
fn a_relay_cannot_widen_the_certificate_of_a_cached_grant() {
    let site = Site::new();
    let (mut memory, grant, cert) = cached(&site);
    let mut widened = site.certificate_body();
    widened.limits.max_uses = 32;
    let widened = site.seal_cert(&widened);
    let swapped = [&widened[..widened.len() - 64], &cert[cert.len() - 64..]].concat();
    let challenge = site.challenge(NOON, 2);
    let sent = site.present(&challenge, &grant, &cert, None);
    let mut body = vec![0u8; MAX_PRESENTATION_LEN];
    let body = Presentation::new(&grant, &swapped, None).encode_body(&mut body).unwrap();
    let proof: [u8; 64] = sent[sent.len() - 64..].try_into().unwrap();
    let mut out = vec![0u8; MAX_PRESENTATION_LEN];
    let relayed = Presentation::assemble(body, &proof, &mut out).unwrap();
    let before = memory.clone();
    assert_eq!(
        memory.admit(&site.config, NOON, &challenge, relayed),
        Decision::Reject(Error::CertBadSignature)
    );
    assert_eq!(memory, before);
    assert!(matches!(memory.admit(&site.config, NOON, &challenge, &sent), Decision::Admit(_)));
}

/// The entry holds the grant's and its certificate's bytes (no hash to compute on a hit), so
/// it holds one pair: the latest multi-use grant admitted replaces the one before, whose next
/// entry then pays the issuer's signature again, and is admitted as before.
#[test]
fn the_grant_cache_holds_the_latest_multi_use_grant_and_its_certificate() {
    let site = Site::new();
    let (mut memory, first, cert) = cached(&site);
    let second = site.seal_grant(&site.grant_body(50, 2));
    let challenge = site.challenge(NOON, 2);
    let p = site.present(&challenge, &second, &cert, None);
    assert!(matches!(memory.admit(&site.config, NOON, &challenge, &p), Decision::Admit(_)));
    assert_eq!(memory.grants().len(), GRANT_CACHE_ENTRIES);
    assert_eq!(GRANT_CACHE_ENTRIES, 1);
    let entry = |g: &[u8]| CachedGrant::of(g, &cert).unwrap();
    assert!(memory.grants().contains(&site.config.root, &entry(&second)));
    assert!(!memory.grants().contains(&site.config.root, &entry(&first)));
    let challenge = site.challenge(NOON, 3);
    let p = site.present(&challenge, &first, &cert, None);
    match memory.admit(&site.config, NOON, &challenge, &p) {
        Decision::Admit(a) => assert_eq!(a.use_index, 1),
        Decision::Reject(e) => panic!("the first grant's second entry: {e}"),
    }
    assert!(memory.grants().contains(&site.config.root, &entry(&first)));
}

/// An entry is exact bytes: where the grant ends and the certificate begins is part of it, and
/// a pair longer than an entry holds is not cached at all (its next entry pays the issuer's
/// signature, as without the cache).
#[test]
fn an_entry_is_the_exact_pair_of_messages() {
    let site = Site::new();
    let cert = site.seal_cert(&site.certificate_body());
    let grant = two_use(&site, 1);
    let entry = CachedGrant::of(&grant, &cert).unwrap();
    assert!(entry.holds(&grant, &cert));
    assert!(!entry.holds(&grant[..grant.len() - 1], &cert));
    assert!(!entry.holds(&grant, &cert[..cert.len() - 1]));
    // The same bytes split elsewhere are another pair.
    let moved = [&grant[..], &cert[..1]].concat();
    assert!(!entry.holds(&moved, &cert[1..]));
    let long = vec![7u8; GRANT_CACHE_BYTES - grant.len() + 1];
    assert_eq!(CachedGrant::of(&grant, &long), None, "one byte too long");
    let fits = vec![7u8; GRANT_CACHE_BYTES - grant.len()];
    assert!(CachedGrant::of(&grant, &fits).unwrap().holds(&grant, &fits));
}
