//! The public Ed25519 edge-case vectors (`spec/vectors/ed25519/`, copied from Wycheproof,
//! ed25519-speccheck and CCTV): the verifier behind every Porter signature accepts and rejects
//! exactly as recorded there, and no weak issuer or holder key ever gets anyone in.

use super::fixture::*;
use porter_protocol::*;
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/../spec/vectors/ed25519/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn bytes<const N: usize>(hex_str: &str) -> Option<[u8; N]> {
    hex::decode(hex_str).ok()?.try_into().ok()
}

/// (key, message, signature) of every case whose key and signature have the right lengths.
fn all_cases() -> Vec<([u8; 32], Vec<u8>, [u8; 64])> {
    let mut out = Vec::new();
    for group in load("wycheproof_ed25519_test.json")["testGroups"].as_array().unwrap() {
        let Some(pk) = bytes::<32>(group["publicKey"]["pk"].as_str().unwrap()) else { continue };
        for t in group["tests"].as_array().unwrap() {
            if let Some(sig) = bytes::<64>(t["sig"].as_str().unwrap()) {
                out.push((pk, hex::decode(t["msg"].as_str().unwrap()).unwrap(), sig));
            }
        }
    }
    for c in load("speccheck_cases.json").as_array().unwrap() {
        let pk = bytes::<32>(c["pub_key"].as_str().unwrap()).unwrap();
        let sig = bytes::<64>(c["signature"].as_str().unwrap()).unwrap();
        out.push((pk, hex::decode(c["message"].as_str().unwrap()).unwrap(), sig));
    }
    for c in load("cctv_ed25519vectors.json").as_array().unwrap() {
        let (Some(pk), Some(sig)) =
            (bytes::<32>(c["key"].as_str().unwrap()), bytes::<64>(c["sig"].as_str().unwrap()))
        else {
            continue;
        };
        out.push((pk, c["msg"].as_str().unwrap().as_bytes().to_vec(), sig));
    }
    out
}

#[test]
fn wycheproof_labels_all_agree() {
    let doc = load("wycheproof_ed25519_test.json");
    let (mut valid, mut invalid) = (0, 0);
    for group in doc["testGroups"].as_array().unwrap() {
        let pk = bytes::<32>(group["publicKey"]["pk"].as_str().unwrap());
        for t in group["tests"].as_array().unwrap() {
            let expected = t["result"].as_str().unwrap() == "valid";
            let msg = hex::decode(t["msg"].as_str().unwrap()).unwrap();
            let got = match (pk, bytes::<64>(t["sig"].as_str().unwrap())) {
                (Some(pk), Some(sig)) => verify_raw(&pk, &msg, &sig),
                _ => false, // a wrong-length key or signature cannot even be decoded
            };
            assert_eq!(got, expected, "Wycheproof tcId {}", t["tcId"]);
            if expected {
                valid += 1
            } else {
                invalid += 1
            }
        }
    }
    assert_eq!((valid, invalid), (88, 63));
}

#[test]
fn speccheck_accepts_only_the_mixed_order_cases() {
    let accepted: Vec<usize> = load("speccheck_cases.json")
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            let pk = bytes::<32>(c["pub_key"].as_str().unwrap()).unwrap();
            let sig = bytes::<64>(c["signature"].as_str().unwrap()).unwrap();
            verify_raw(&pk, &hex::decode(c["message"].as_str().unwrap()).unwrap(), &sig)
        })
        .map(|(i, _)| i)
        .collect();
    assert_eq!(accepted, vec![3, 4, 5]);
}

#[test]
fn cctv_accepts_106_and_no_weak_component() {
    let mut accepted = 0;
    for c in load("cctv_ed25519vectors.json").as_array().unwrap() {
        // A key or signature of the wrong length cannot be decoded at all: refused.
        let (Some(pk), Some(sig)) =
            (bytes::<32>(c["key"].as_str().unwrap()), bytes::<64>(c["sig"].as_str().unwrap()))
        else {
            continue;
        };
        if verify_raw(&pk, c["msg"].as_str().unwrap().as_bytes(), &sig) {
            accepted += 1;
            // `flags` is null for plain cases.
            let flags: Vec<&str> = c["flags"]
                .as_array()
                .map(|f| f.iter().map(|f| f.as_str().unwrap()).collect())
                .unwrap_or_default();
            for bad in ["low_order_A", "low_order_R", "non_canonical_A", "non_canonical_R"] {
                assert!(!flags.contains(&bad), "case {} accepted with {bad}", c["number"]);
            }
        }
    }
    assert_eq!(accepted, 106);
}

/// Every key in the vectors that `validate` refuses, deduplicated.
fn weak_keys() -> Vec<[u8; 32]> {
    let mut keys: Vec<[u8; 32]> = all_cases()
        .into_iter()
        .map(|(k, _, _)| k)
        .filter(|k| PublicKey(*k).validate().is_err())
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

#[test]
fn a_weak_holder_key_never_admits() {
    let site = Site::new();
    let cert = site.seal_cert(&site.certificate_body());
    let weak = weak_keys();
    assert!(weak.len() >= 8, "the vectors should hold several weak keys, found {}", weak.len());
    // For each weak key, every signature the vectors pair with it is tried as the proof, as is
    // the all-zero signature that small-order keys accept under lax verifiers.
    let cases = all_cases();
    for key in &weak {
        let mut grant = site.grant_body(10, 1);
        grant.holder = PublicKey(*key);
        let grant = site.seal_grant(&grant);
        let challenge = site.challenge(NOON, 1);
        let mut proofs: Vec<[u8; 64]> =
            cases.iter().filter(|(k, _, _)| k == key).map(|(_, _, s)| *s).collect();
        proofs.push([0; 64]);
        for proof in proofs {
            let mut body = vec![0u8; MAX_PRESENTATION_LEN];
            let body = Presentation::new(&grant, &cert, None).encode_body(&mut body).unwrap();
            let mut buf = vec![0u8; MAX_PRESENTATION_LEN];
            let bytes = Presentation::assemble(body, &proof, &mut buf).unwrap();
            let mut memory = site.memory();
            let decision = memory.admit(&site.config, NOON, &challenge, bytes);
            assert_eq!(
                decision,
                Decision::Reject(Error::HolderWeakKey),
                "holder key {}",
                hex::encode(key)
            );
        }
    }
}

#[test]
fn a_weak_issuer_key_never_admits() {
    let site = Site::new();
    let cases = all_cases();
    for key in weak_keys() {
        let mut cert = site.certificate_body();
        cert.issuer = PublicKey(key);
        let cert = site.seal_cert(&cert);
        // The grant's signature is taken from the vectors for that key, or all zeros.
        let mut sigs: Vec<[u8; 64]> =
            cases.iter().filter(|(k, _, _)| *k == key).map(|(_, _, s)| *s).collect();
        sigs.push([0; 64]);
        for sig in sigs {
            let mut grant_bytes = vec![0u8; MAX_GRANT_LEN];
            let body = encode(&site.grant_body(10, 1), &mut grant_bytes).unwrap().to_vec();
            let grant = [body, sig.to_vec()].concat();
            let challenge = site.challenge(NOON, 1);
            let p = site.present(&challenge, &grant, &cert, None);
            let mut memory = site.memory();
            assert_eq!(
                memory.admit(&site.config, NOON, &challenge, &p),
                Decision::Reject(Error::CertWeakKey),
                "issuer key {}",
                hex::encode(key)
            );
        }
    }
}
