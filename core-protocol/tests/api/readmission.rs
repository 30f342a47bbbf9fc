//! Issue 14, item 6: re-admission at one signature. A multi-use grant whose issuer signature
//! the door verified is remembered (exact signed body, signature, issuer key, root), and its
//! next entry checks only the holder's proof. These tests pin that the cache changes no
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
