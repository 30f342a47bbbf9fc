//! The site root's offline tool, run as the `porter-root` binary.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use porter_protocol::{
    Certificate, Challenge, Decision, DenySubject, DoorState, Enrolment, Error as PError,
    PublicKey, SigningKey, Time,
};
use porter_testkit::{Site, SITE};
use serde_json::{json, Value};

fn porter_root(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_porter-root")).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("porter-root-test-{tag}-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn new_key() -> SigningKey {
    SigningKey::from_seed(rand::random()).unwrap()
}

fn hex_key(k: &SigningKey) -> String {
    hex::encode(k.public_key().0)
}

/// A root key for site 77 in a fresh directory: (dir, key file, root public key).
fn site_77() -> (PathBuf, String, PublicKey) {
    let dir = temp_dir("cli");
    let key = dir.join("root.key");
    let key_s = key.to_str().unwrap().to_string();
    let (ok, out, err) = porter_root(&["init", "--key", &key_s, "--site", "77"]);
    assert!(ok, "{err}");
    let root_hex = out.lines().find_map(|l| l.strip_prefix("root_key ")).unwrap().to_string();
    (dir, key_s, PublicKey(hex::decode(&root_hex).unwrap().try_into().unwrap()))
}

fn revocation(n: u32, kind: &str, subject: [u8; 8], epoch: Option<i64>) -> Value {
    json!({
        "id": format!("rev_{n}"), "kind": kind, "target_id": format!("{kind}_{n}"),
        "subject": hex::encode(subject), "until": now() + 1000 + i64::from(n), "epoch": epoch
    })
}

fn list_file(dir: &Path, list: &Value) -> String {
    let file = dir.join(format!("revocations-{:08x}.json", rand::random::<u32>()));
    std::fs::write(&file, list.to_string()).unwrap();
    file.to_str().unwrap().to_string()
}

fn sign_state(key: &str, list: &str) -> (bool, String, String) {
    porter_root(&["sign-state", "--key", key, "--revocations", list])
}

#[test]
fn root_tools_work_offline_on_a_private_key_file() {
    let (dir, key_s, root) = site_77();
    let key = Path::new(&key_s);
    assert_eq!(std::fs::metadata(key).unwrap().permissions().mode() & 0o777, 0o600);
    // Never overwrites.
    assert!(!porter_root(&["init", "--key", &key_s]).0);

    let issuer = hex_key(&new_key());
    let (ok, out, err) = porter_root(&[
        "certify-issuer",
        "--key",
        &key_s,
        "--issuer",
        &issuer,
        "--doors",
        "1,3",
        "--max-uses",
        "2",
        "--zone",
        "CET-1CEST,M3.5.0,M10.5.0/3",
    ]);
    assert!(ok, "{err}");
    let cert = Certificate::decode_verified(&hex::decode(out.trim()).unwrap(), &root).unwrap();
    assert_eq!(
        (cert.site.0, cert.limits.max_uses, hex::encode(cert.issuer.0)),
        (77, 2, issuer.clone())
    );
    assert_eq!(cert.limits.zone.to_string(), "CET-1CEST,M3.5.0,M10.5.0/3");
    // Or the zone straight from the server's site record.
    let record = dir.join("site.json");
    let site = json!({"id": "site_1", "site_number": 77, "name": "x", "root_key": "", "zone": "AEST-10AEDT,M10.1.0,M4.1.0/3"});
    std::fs::write(&record, site.to_string()).unwrap();
    let record_s = record.to_str().unwrap();
    let (ok, out, err) =
        porter_root(&["certify-issuer", "--key", &key_s, "--issuer", &issuer, "--site", record_s]);
    assert!(ok, "{err}");
    let cert = Certificate::decode_verified(&hex::decode(out.trim()).unwrap(), &root).unwrap();
    assert_eq!(cert.limits.zone.to_string(), "AEST-10AEDT,M10.1.0,M4.1.0/3");
    // A weak issuer key is refused offline.
    let (ok, _, err) = porter_root(&[
        "certify-issuer",
        "--key",
        &key_s,
        "--issuer",
        &"00".repeat(32),
        "--zone",
        "UTC0",
    ]);
    assert!(!ok && err.contains("not a usable"), "{err}");

    let device = new_key();
    let (ok, out, err) = porter_root(&[
        "enroll-device",
        "--key",
        &key_s,
        "--door",
        "3",
        "--device",
        &hex_key(&device),
        "--log-key",
        &"42".repeat(32),
    ]);
    assert!(ok, "{err}");
    let e = Enrolment::decode_for_device(
        &hex::decode(out.trim()).unwrap(),
        &root,
        &device.public_key(),
    )
    .unwrap();
    assert_eq!(e.door.0, 3);
    assert_eq!(e.log_key, Some(porter_protocol::LogKey([0x42; 32])));

    // sign-state from a revocation list, with a full deny-list folding into a fence.
    let revocations: Vec<Value> = (0..300u32)
        .map(|n| revocation(n, "grant", (u64::from(n) + 1).to_be_bytes(), None))
        .collect();
    let list = json!({"site_number": 77, "current_sequence": 4, "grant_fence": 0, "cert_epoch_fence": 0, "revocations": revocations});
    let (ok, out, err) = sign_state(&key_s, &list_file(&dir, &list));
    assert!(ok, "{err}");
    assert!(err.contains("raised a fence"), "{err}");
    let bytes = hex::decode(out.trim()).unwrap();
    let state = DoorState::genesis(porter_protocol::SiteId(77))
        .accept_newer(DoorState::decode(&bytes).unwrap(), &root)
        .unwrap();
    assert_eq!((state.sequence, state.deny.len(), state.clock_reset), (5, 256, false));
    assert!(state.grant_fence.0 > 0);

    // A key file others can read is refused.
    std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (ok, _, err) = porter_root(&[
        "enroll-device",
        "--key",
        &key_s,
        "--door",
        "3",
        "--device",
        &hex_key(&device),
        "--log-key",
        &"42".repeat(32),
    ]);
    assert!(!ok && err.contains("chmod 600"), "{err}");
}

/// Two revoked objects with one deny subject: a door would deny both or neither by accident, so
/// nothing is signed.
#[test]
fn sign_state_refuses_colliding_deny_subjects() {
    let (dir, key, _) = site_77();
    let driver = new_key();
    let subject = DenySubject::holder(&driver.public_key()).0;
    let mut list = json!({"site_number": 77, "current_sequence": 1, "grant_fence": 0, "cert_epoch_fence": 0,
        "revocations": [revocation(1, "driver", subject, None), revocation(2, "issuer", subject, Some(1))]});
    let (ok, out, err) = sign_state(&key, &list_file(&dir, &list));
    assert!(!ok && out.is_empty(), "{out}");
    assert!(err.contains("share the deny subject") && err.contains("rev_1"), "{err}");

    // The same object listed twice is no collision.
    list["revocations"][1] = list["revocations"][0].clone();
    let (ok, _, err) = sign_state(&key, &list_file(&dir, &list));
    assert!(ok, "{err}");
}

/// Everything sign-state puts in the state comes from the server's list or a flag the manager
/// typed: a missing field, an unknown kind or an issuer without its epoch is refused.
#[test]
fn sign_state_takes_nothing_by_default() {
    let (dir, key, _) = site_77();
    let good = json!({"site_number": 77, "current_sequence": 1, "grant_fence": 0, "cert_epoch_fence": 0,
        "revocations": [revocation(1, "issuer", [1; 8], Some(3))]});
    assert!(sign_state(&key, &list_file(&dir, &good)).0);

    let mut cases = Vec::new();
    for field in
        ["site_number", "current_sequence", "grant_fence", "cert_epoch_fence", "revocations"]
    {
        let mut l = good.clone();
        l.as_object_mut().unwrap().remove(field);
        cases.push((field.to_string(), l, field.to_string()));
    }
    let mut l = good.clone();
    l["revocations"][0]["epoch"] = Value::Null;
    cases.push(("issuer without epoch".into(), l, "no certificate epoch".into()));
    let mut l = good.clone();
    l["revocations"][0]["kind"] = json!("holder");
    cases.push(("unknown kind".into(), l, "unknown variant".into()));
    let mut l = good.clone();
    l["revocations"][0]["until"] = json!(-5);
    cases.push(("negative until".into(), l, "until is -5".into()));
    let mut l = good.clone();
    l["grant_fence"] = json!(1i64 << 40);
    cases.push(("fence past 2106".into(), l, "grant_fence".into()));
    let mut l = good.clone();
    l["site_number"] = json!(78);
    cases.push(("another site".into(), l, "for site 78".into()));
    for (what, list, expected) in cases {
        let (ok, _, err) = sign_state(&key, &list_file(&dir, &list));
        assert!(!ok && err.contains(&expected), "{what}: {err}");
    }

    // Nor has the zone of a certificate: from the site record or a flag, never UTC by default.
    let issuer = hex_key(&new_key());
    let (ok, _, err) = porter_root(&["certify-issuer", "--key", &key, "--issuer", &issuer]);
    assert!(!ok && err.contains("--site"), "{err}");
    let record = dir.join("other-site.json");
    std::fs::write(&record, json!({"site_number": 78, "zone": "UTC0"}).to_string()).unwrap();
    let record = record.to_str().unwrap();
    let (ok, _, err) =
        porter_root(&["certify-issuer", "--key", &key, "--issuer", &issuer, "--site", record]);
    assert!(!ok && err.contains("for site 78"), "{err}");
    let (ok, _, err) =
        porter_root(&["certify-issuer", "--key", &key, "--issuer", &issuer, "--zone", "CET"]);
    assert!(!ok && err.contains("POSIX TZ"), "{err}");
}

/// `porter-root sign-state` with `--clock-reset`, confirmed (or not) on standard input.
fn sign_reset(key: &str, list: &str, current: &str, confirm: &str) -> (bool, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_porter-root"))
        .args(["sign-state", "--key", key, "--revocations", list, "--clock-reset"])
        .args(["--current-state", current])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A refused reset exits before it reads the confirmation: the pipe may already be closed.
    let _ = child.stdin.take().unwrap().write_all(confirm.as_bytes());
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The testkit's site root (`key(1)`, site `SITE`) as a key file, and the site's newest door
/// state dated `ahead` seconds after now, saved as GET /v1/sites/{id}/door-state shows it.
fn testkit_root_and_state(site: &Site, ahead: i64) -> (PathBuf, String, Vec<u8>, String) {
    let dir = temp_dir("reset");
    let key = dir.join("root.key");
    let file = json!({"kind": "porter-site-root", "site": SITE.0,
        "public_key": hex::encode(site.root.public_key().0), "seed": hex::encode(site.root.seed())});
    std::fs::write(&key, file.to_string()).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let issued_at = u32::try_from(now() + ahead).unwrap();
    let state = site.seal_state(&site.state(1, Time(issued_at)));
    let current = dir.join("door-state.json");
    std::fs::write(
        &current,
        json!({"sequence": 1, "issued_at": issued_at, "state": hex::encode(&state)}).to_string(),
    )
    .unwrap();
    let list = list_file(
        &dir,
        &json!({"site_number": SITE.0, "current_sequence": 1, "grant_fence": 0,
            "cert_epoch_fence": 0, "revocations": []}),
    );
    (dir, key.to_str().unwrap().to_string(), state, format!("{}\n{}", current.display(), list))
}

/// A grant of serial `serial` issued at `issued` (valid ten minutes), presented to the door's
/// challenge made at `at`.
fn attempt(site: &Site, serial: u64, issued: Time, at: Time) -> (Challenge, Vec<u8>) {
    let mut grant = site.grant_body(serial, 1);
    grant.not_before = issued;
    grant.not_after = issued.plus(600);
    // The certificate around the real clock, not the fixture's fixed noon.
    let mut cert = site.certificate_body();
    cert.not_before = issued.minus(86_400);
    cert.not_after = issued.plus(86_400);
    let challenge = site.challenge(at, serial as u8);
    let p = site.present(&challenge, &site.seal_grant(&grant), &site.seal_cert(&cert), None);
    (challenge, p)
}

/// Issue 8 item 3 / T18: a door that took a state dated ten years ahead refuses everything;
/// the manager's confirmed clock reset brings it back: grants issued after the reset are
/// admitted, grants issued before it are fenced.
#[test]
fn a_clock_reset_recovers_a_door_bricked_by_a_state_dated_ahead() {
    let site = Site::new();
    let ten_years = 10 * 365 * 86_400;
    let (_dir, key, ahead_state, files) = testkit_root_and_state(&site, ten_years);
    let (current, list) = files.split_once('\n').unwrap();
    let mut door = site.memory();
    door.apply_door_state(&site.config, &ahead_state).unwrap();
    let clock = Time(u32::try_from(now()).unwrap());
    let (c, p) = attempt(&site, 10, clock.minus(60), clock);
    assert!(matches!(door.admit(&site.config, clock, &c, &p), Decision::Reject(_)), "bricked");

    // Not confirmed: nothing signed.
    let (ok, out, err) = sign_reset(&key, list, current, "yes\n");
    assert!(!ok && out.is_empty() && err.contains("not confirmed"), "{err}");
    assert!(err.contains("EVERY GRANT ISSUED BEFORE IT STOPS WORKING"), "{err}");
    assert!(err.contains("3650 days"), "the reason, how far ahead: {err}");

    let (ok, out, err) = sign_reset(&key, list, current, "reset\n");
    assert!(ok, "{err}");
    let bytes = hex::decode(out.trim()).unwrap();
    let state = DoorState::genesis(SITE)
        .accept_newer(DoorState::decode(&bytes).unwrap(), &site.root.public_key())
        .unwrap();
    assert!(state.clock_reset);
    assert_eq!(state.sequence, 2, "one more than the server's current");
    let reset_at = state.issued_at;
    assert!(reset_at.0.abs_diff(clock.0) < 60, "dated at the tool's clock");
    assert!(state.grant_fence >= reset_at, "fences every grant issued before it");

    // The door takes it and its time comes back.
    assert_eq!(door.apply_door_state(&site.config, &bytes), Ok(2));
    assert_eq!(door.floor(), reset_at);
    let at = reset_at.plus(5);
    let (c, p) = attempt(&site, 11, reset_at, at);
    assert!(matches!(door.admit(&site.config, at, &c, &p), Decision::Admit(_)), "fresh grant");
    let (c, p) = attempt(&site, 12, reset_at.minus(120), at);
    assert_eq!(door.admit(&site.config, at, &c, &p), Decision::Reject(PError::GrantFenced));
    // Taken once: the same reset again is not newer.
    assert_eq!(door.apply_door_state(&site.config, &bytes), Err(PError::StateNotNewer));
}

/// A reset is refused when the site's newest state is not dated ahead of this machine's clock
/// by more than a few minutes: either no reset is needed or this clock is the wrong one.
#[test]
fn a_clock_reset_is_refused_unless_the_current_state_is_dated_ahead() {
    let site = Site::new();
    for (ahead, expected) in [(-3600, "no clock reset needed"), (120, "within ordinary skew")] {
        let (_dir, key, _, files) = testkit_root_and_state(&site, ahead);
        let (current, list) = files.split_once('\n').unwrap();
        let (ok, out, err) = sign_reset(&key, list, current, "reset\n");
        assert!(!ok && out.is_empty() && err.contains(expected), "{ahead}: {err}");
    }
    // The state must be this root's, and the one the list was exported with.
    let (dir, key, _, files) = testkit_root_and_state(&site, 86_400);
    let (current, _) = files.split_once('\n').unwrap();
    let later = list_file(
        &dir,
        &json!({"site_number": SITE.0, "current_sequence": 2, "grant_fence": 0,
            "cert_epoch_fence": 0, "revocations": []}),
    );
    let (ok, _, err) = sign_reset(&key, &later, current, "reset\n");
    assert!(!ok && err.contains("one right after the other"), "{err}");
    let (_, other_key, _) = site_77();
    let (ok, _, err) = sign_reset(&other_key, &later, current, "reset\n");
    assert!(!ok && err.contains("site 77"), "{err}");
    // And a reset always names the state it answers.
    let (ok, _, err) =
        porter_root(&["sign-state", "--key", &key, "--revocations", &later, "--clock-reset"]);
    assert!(!ok && err.contains("--current-state"), "{err}");
}

/// The enrolment names the site server's log key, from `--log-key` or the saved site record;
/// without one the tool refuses, so no door is enrolled logging holders in clear by mistake.
#[test]
fn enroll_device_names_the_site_log_key() {
    let (dir, key, root) = site_77();
    let key_s = key.as_str();
    let device = new_key();
    let device_hex = hex_key(&device);
    let enrol = |extra: &[&str]| {
        let mut args =
            vec!["enroll-device", "--key", key_s, "--door", "2", "--device", &device_hex];
        args.extend_from_slice(extra);
        porter_root(&args)
    };
    let record = dir.join("site-log.json");
    let site = json!({"id": "site_1", "site_number": 77, "name": "x", "root_key": "", "zone": "UTC0", "log_key": "07".repeat(32)});
    std::fs::write(&record, site.to_string()).unwrap();
    let (ok, out, err) = enrol(&["--site", record.to_str().unwrap()]);
    assert!(ok, "{err}");
    let bytes = hex::decode(out.trim()).unwrap();
    let e = Enrolment::decode_for_device(&bytes, &root, &device.public_key()).unwrap();
    assert_eq!(e.log_key, Some(porter_protocol::LogKey([7; 32])));

    let (ok, _, err) = enrol(&[]);
    assert!(!ok && err.contains("--site"), "{err}");
    let (ok, _, err) = enrol(&["--log-key", "beef"]);
    assert!(!ok && err.contains("not a log key"), "{err}");
    // A record of another site, or from a server without log keys, is refused.
    let other = json!({"site_number": 78, "zone": "UTC0", "log_key": "07".repeat(32)});
    std::fs::write(&record, other.to_string()).unwrap();
    let (ok, _, err) = enrol(&["--site", record.to_str().unwrap()]);
    assert!(!ok && err.contains("site 78"), "{err}");
    std::fs::write(&record, json!({"site_number": 77, "zone": "UTC0"}).to_string()).unwrap();
    let (ok, _, err) = enrol(&["--site", record.to_str().unwrap()]);
    assert!(!ok && err.contains("no log_key"), "{err}");
}
