//! The site root's offline tools, run as the `porter` binary.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use porter_protocol::{Certificate, DoorState, Enrolment, PublicKey};

use crate::harness::*;

fn porter(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_porter")).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn root_tools_work_offline_on_a_private_key_file() {
    let dir = temp_dir("cli");
    let key = dir.join("root.key");
    let key_s = key.to_str().unwrap();
    let (ok, out, err) = porter(&["root", "init", "--key", key_s, "--site", "77"]);
    assert!(ok, "{err}");
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    let root_hex = out.lines().find_map(|l| l.strip_prefix("root_key ")).unwrap().to_string();
    let root = PublicKey(hex::decode(&root_hex).unwrap().try_into().unwrap());
    assert!(out.contains("site 77"));
    // Never overwrites.
    assert!(!porter(&["root", "init", "--key", key_s]).0);

    let issuer = hex_key(&new_key());
    let (ok, out, err) = porter(&[
        "root",
        "certify-issuer",
        "--key",
        key_s,
        "--issuer",
        &issuer,
        "--doors",
        "1,3",
        "--max-uses",
        "2",
    ]);
    assert!(ok, "{err}");
    let cert = Certificate::decode_verified(&hex::decode(out.trim()).unwrap(), &root).unwrap();
    assert_eq!((cert.site.0, cert.limits.max_uses, hex::encode(cert.issuer.0)), (77, 2, issuer));
    // A weak issuer key is refused offline.
    let (ok, _, err) =
        porter(&["root", "certify-issuer", "--key", key_s, "--issuer", &"00".repeat(32)]);
    assert!(!ok && err.contains("not a usable"), "{err}");

    let device = new_key();
    let (ok, out, err) = porter(&[
        "root",
        "enroll-device",
        "--key",
        key_s,
        "--door",
        "3",
        "--device",
        &hex_key(&device),
    ]);
    assert!(ok, "{err}");
    let e = Enrolment::decode_for_device(
        &hex::decode(out.trim()).unwrap(),
        &root,
        &device.public_key(),
    )
    .unwrap();
    assert_eq!(e.door.0, 3);

    // sign-state from a revocation list, with a full deny-list folding into a fence.
    let mut revocations = Vec::new();
    for n in 0..300u32 {
        revocations.push(serde_json::json!({
            "id": format!("rev_{n}"), "kind": "grant", "target_id": "g", "subject": hex::encode((n as u64 + 1).to_be_bytes()),
            "until": now() + 1000 + i64::from(n), "epoch": null
        }));
    }
    let list = serde_json::json!({"site_number": 77, "current_sequence": 4, "grant_fence": 0, "cert_epoch_fence": 0, "revocations": revocations});
    let list_file = dir.join("revocations.json");
    std::fs::write(&list_file, list.to_string()).unwrap();
    let (ok, out, err) = porter(&[
        "root",
        "sign-state",
        "--key",
        key_s,
        "--revocations",
        list_file.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(err.contains("raised a fence"), "{err}");
    let bytes = hex::decode(out.trim()).unwrap();
    let state = DoorState::genesis(porter_protocol::SiteId(77))
        .accept_newer(DoorState::decode(&bytes).unwrap(), &root)
        .unwrap();
    assert_eq!((state.sequence, state.deny.len()), (5, 256));
    assert!(state.grant_fence.0 > 0);

    // A key file others can read is refused.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (ok, _, err) = porter(&[
        "root",
        "enroll-device",
        "--key",
        key_s,
        "--door",
        "3",
        "--device",
        &hex_key(&device),
    ]);
    assert!(!ok && err.contains("chmod 600"), "{err}");
}
