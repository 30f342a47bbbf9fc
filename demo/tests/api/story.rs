//! The same flow as `./demo.sh`, run by `cargo test --workspace`: the real `porter` and
//! `porter-door-sim` binaries of this build, the real `porter-ffi` phone.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use porter_demo::{Narrator, Options, Programs};
use porter_protocol::{Coarse, Error};

/// The target profile directory this test binary was built into (`target/debug`).
pub(crate) fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/api-<hash>
    exe.parent().and_then(Path::parent).expect("target/<profile>/deps").to_path_buf()
}

fn newest_source(dir: &Path) -> SystemTime {
    let mut newest = SystemTime::UNIX_EPOCH;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let t = if path.is_dir() {
            newest_source(&path)
        } else {
            entry.metadata().and_then(|m| m.modified()).unwrap_or(SystemTime::UNIX_EPOCH)
        };
        newest = newest.max(t);
    }
    newest
}

/// `porter`, `porter-root` and `porter-door-sim` of this build. `cargo test --workspace` has built both (the
/// server's and the firmware's tests run them); when only this package is tested, or they are
/// older than their sources, they are built here.
pub(crate) fn programs() -> Programs {
    let dir = profile_dir();
    let programs = Programs::in_dir(&dir);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root");
    let newest = |dirs: &[&str]| {
        dirs.iter().map(|d| newest_source(&root.join(d))).max().unwrap_or(SystemTime::UNIX_EPOCH)
    };
    let fresh = |p: &Path, sources: SystemTime| {
        std::fs::metadata(p).and_then(|m| m.modified()).is_ok_and(|t| t >= sources)
    };
    let porter_fresh = fresh(
        &programs.porter,
        newest(&[
            "server/src",
            "server/migrations",
            // Embedded in the binary (include_str!): a page changed here is a new `porter`.
            "server/templates",
            "server/locales",
            "server/static",
            "core-protocol/src",
        ]),
    );
    let root_fresh = fresh(&programs.porter_root, newest(&["root/src", "core-protocol/src"]));
    let sim_fresh = fresh(&programs.door_sim, newest(&["device-fw/src", "core-protocol/src"]));
    if !(porter_fresh && root_fresh && sim_fresh) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        // Two builds: cargo skips a required-features binary when the feature is named for
        // another `-p` of the same command.
        for args in [
            &[
                "build",
                "-p",
                "porter-server",
                "--bin",
                "porter",
                "-p",
                "porter-root",
                "--bin",
                "porter-root",
            ][..],
            &["build", "-p", "porter-device", "--features", "std", "--bin", "porter-door-sim"],
        ] {
            let mut cmd = Command::new(&cargo);
            cmd.current_dir(root).args(args);
            if dir.file_name().is_some_and(|n| n == "release") {
                cmd.arg("--release");
            }
            if let Some(target) = dir.parent() {
                cmd.env("CARGO_TARGET_DIR", target);
            }
            let status = cmd.status().expect("cargo runs");
            assert!(status.success(), "`cargo {}` failed", args.join(" "));
        }
    }
    programs.check().expect("the programs exist");
    programs
}

pub(crate) fn work_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "porter-demo-test-{tag}-{}-{:x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

/// A narrator whose story the test can read afterwards.
#[derive(Clone, Default)]
struct Transcript(Arc<Mutex<Vec<u8>>>);

impl Write for Transcript {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Transcript {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[test]
fn the_whole_delivery_behaves_as_the_product_promises() {
    let work = work_dir("story");
    let transcript = Transcript::default();
    let mut n = Narrator::new(Box::new(transcript.clone()));
    let options = Options { programs: programs(), work_dir: work.clone(), stay: false };
    let result = porter_demo::run(&options, &mut n);
    let story = transcript.text();
    let _ = std::fs::remove_dir_all(&work);
    let outcome = result.unwrap_or_else(|e| panic!("the demo failed: {e}\n{story}"));

    // Step 4: one entry, then the spent grant refused, with the precise reason in the log.
    assert_eq!(
        (outcome.replay_coarse, outcome.replay_reason),
        (Coarse::Spent, Error::ReplayDuplicate)
    );
    // ... and stays spent after the door reboots on its flash image.
    assert_eq!(outcome.spent_after_reboot, Some((Coarse::Spent, Error::ReplayDuplicate)));
    // Step 5: receipt matched to the grant; the whole log accepted; the resident told twice.
    assert!(outcome.receipt_matched);
    let (accepted, length) = outcome.log_uploaded;
    assert!(
        accepted == length && length >= 3,
        "log {accepted}/{length}: enrolled, admitted, rejected at least"
    );
    assert_eq!(outcome.resident_notifications, ["delivery.announced", "delivery.entered"]);
    assert_eq!(outcome.entry_carriers, ["Rapid Parcel"]);
    // Step 6: the server refuses at once; the door refuses once a phone carried state 2.
    assert_eq!(outcome.revoked_grant_refusal, (422, "driver_revoked".to_string()));
    assert_eq!(outcome.door_state_sequence, 2);
    assert_eq!(outcome.revoked_at_door, (Coarse::Denied, Error::HolderRevoked));
    assert!(outcome.alarms.is_empty(), "{:?}", outcome.alarms);
    assert!(outcome.elapsed < Duration::from_secs(60), "took {:?}", outcome.elapsed);

    // The story a newcomer reads names every step and both refusals with their codes.
    for step in 1..=6 {
        assert!(story.contains(&format!("== Step {step}.")), "step {step} missing:\n{story}");
    }
    for e in [Error::ReplayDuplicate, Error::HolderRevoked] {
        let reason = format!("reason {} {}", e.code(), e.name());
        assert!(story.contains(&reason), "{reason} missing:\n{story}");
    }
    assert!(story.contains("422 driver_revoked"), "{story}");
    // Step 7: the portal's address and two distinct one-time links on it, printed (the demo
    // itself fetched each page twice; the --stay test fetches them from outside).
    let portal = outcome.portal.expect("step 7 ran");
    assert!(portal.portal.starts_with("http://localhost:") && portal.portal.ends_with("/portal"));
    for link in [&portal.manager, &portal.resident] {
        assert!(link.starts_with(&format!("{}/invitations/", portal.portal)), "{link}");
        assert!(story.contains(link.as_str()), "{link} not printed:\n{story}");
    }
    assert_ne!(portal.manager, portal.resident);
    assert!(story.contains("== Step 7.") && story.contains("Secure"), "{story}");
    eprintln!("{story}\nthe story took {:?}", outcome.elapsed);
}

#[test]
fn missing_programs_fail_the_demo_with_a_way_out() {
    let empty = work_dir("nobin");
    let out = Command::new(env!("CARGO_BIN_EXE_porter-demo"))
        .args(["--bin-dir", empty.to_str().unwrap()])
        .output()
        .expect("porter-demo runs");
    let _ = std::fs::remove_dir_all(&empty);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("DEMO FAILED") && !stdout.contains("Demo complete"), "{stdout}");
    assert!(stderr.contains("cargo build --release -p porter-device --features std"), "{stderr}");
}

#[test]
fn a_door_that_dies_stops_the_demo_at_step_2() {
    // The real server and root tools, and a "door" that announces itself and then dies.
    let programs = programs();
    let bin = work_dir("deadsim");
    std::os::unix::fs::symlink(&programs.porter, bin.join("porter")).unwrap();
    std::os::unix::fs::symlink(&programs.porter_root, bin.join("porter-root")).unwrap();
    let sim = bin.join("porter-door-sim");
    std::fs::write(
        &sim,
        format!(
            "#!/bin/sh\necho listening 127.0.0.1:9\necho device-key {}\nexit 3\n",
            "11".repeat(32)
        ),
    )
    .unwrap();
    std::fs::set_permissions(&sim, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_porter-demo"))
        .args(["--bin-dir", bin.to_str().unwrap()])
        .output()
        .expect("porter-demo runs");
    let _ = std::fs::remove_dir_all(&bin);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("== Step 1.") && stdout.contains("DEMO FAILED: step 2"), "{stdout}");
    assert!(!stdout.contains("Demo complete"), "{stdout}");
}
