//! `porter-demo --stay`: the links it prints keep working while it waits, the portal they open
//! shows what the door simulator did (in headless Chromium), and Ctrl-C (SIGINT) stops every
//! child and removes the temporary directory.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use porter_demo::http::Api;

use crate::story::{profile_dir, programs};

/// The value after `prefix` in `text`, up to the end of its line.
fn after<'a>(text: &'a str, prefix: &str) -> &'a str {
    let at = text.find(prefix).unwrap_or_else(|| panic!("no {prefix:?} in:\n{text}"));
    text[at + prefix.len()..].lines().next().unwrap_or("").trim()
}

/// The processes `pid` has started and not yet reaped, from every one of its threads.
fn children(pid: u32) -> Vec<u32> {
    let mut all = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten() {
        let list = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        all.extend(list.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
    }
    all
}

/// Sends `signal` (`INT`, `KILL`) to `pid`; whether it was delivered.
fn signal(pid: u32, signal: &str) -> bool {
    Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The running demo. However the test ends, a failed assertion included, dropping this stops
/// the demo and its server and door: Ctrl-C first (the demo's own clean stop), then SIGKILL
/// for whatever is still running, and the temporary directory is removed.
struct RunningDemo {
    child: Child,
    /// Its temporary directory, once the demo has printed it.
    work: Option<PathBuf>,
}

impl Drop for RunningDemo {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // Known while the demo lives: after it dies they are re-parented and out of sight.
        let server_and_door = children(self.child.id());
        signal(self.child.id(), "INT");
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pid in server_and_door {
            // Only a process of ours still under that number: `porter` or `porter-door-sim`.
            let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if name.starts_with("porter") {
                signal(pid, "KILL");
            }
        }
        if let Some(work) = &self.work {
            let _ = std::fs::remove_dir_all(work);
        }
    }
}

/// Asks the page at `link` (`http://localhost:port/portal/...`) from the server on loopback.
fn fetch(link: &str) -> (u16, String) {
    let rest = link.strip_prefix("http://localhost:").expect("a localhost link");
    let (port, path) = rest.split_at(rest.find('/').expect("a path"));
    Api::new(&format!("http://127.0.0.1:{port}")).unwrap().page(path).unwrap()
}

#[test]
fn stay_serves_the_links_until_ctrl_c_then_stops_everything() {
    let programs = programs();
    assert!(programs.porter.starts_with(profile_dir()));
    let child = Command::new(env!("CARGO_BIN_EXE_porter-demo"))
        .args(["--bin-dir", profile_dir().to_str().unwrap(), "--stay"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("porter-demo runs");
    let mut demo = RunningDemo { child, work: None };
    let stdout = demo.child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut story = String::new();
    // A guard against a hung demo, not a measurement.
    while !story.contains("Press Ctrl-C") {
        match lines.recv_timeout(Duration::from_secs(300)) {
            Ok(line) => story.push_str(&format!("{line}\n")),
            Err(e) => panic!("the demo never said it stays ({e}):\n{story}"),
        }
    }
    let work = PathBuf::from(after(&story, "working in ").trim_end_matches('.'));
    demo.work = Some(work.clone());
    assert!(work.is_dir(), "{} should exist while the demo stays", work.display());
    let server_and_door = children(demo.child.id());
    assert_eq!(server_and_door.len(), 2, "the server and the door run: {server_and_door:?}");

    // The printed links serve their invitation pages, and looking does not use them up.
    let manager = after(&story, "Manager's invitation (C. Durand): ").to_string();
    let resident = after(&story, "Resident's invitation (A. Martin, flat 4B): ").to_string();
    for (link, name) in [(&manager, "C. Durand"), (&resident, "A. Martin")] {
        for _ in 0..2 {
            let (status, page) = fetch(link);
            assert_eq!(status, 200, "{link}: {page}");
            assert!(page.contains(name) && page.contains("passkey-register"), "{page}");
        }
    }
    let (portal_status, _) = fetch(&format!("{}/sign-in", after(&story, "The portal:          ")));
    assert_eq!(portal_status, 200);

    the_portal_shows_what_the_door_did(&resident, &manager);

    assert!(signal(demo.child.id(), "INT"), "SIGINT reaches the demo");
    let status = demo.child.wait().unwrap();
    let rest: String = lines.iter().map(|l| format!("{l}\n")).collect();
    assert!(status.success(), "{status}:\n{story}{rest}");
    assert!(rest.contains("SIGINT: stopping") && rest.contains("Demo complete"), "{rest}");
    for pid in server_and_door {
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "child {pid} outlived the demo");
    }
    assert!(!work.exists(), "{} was left behind", work.display());
}

/// The two links in headless Chromium (`server/tests/browser/demo.mjs`): each person makes
/// their passkey; the resident's page shows the parcel the story delivered with the receipt
/// door 1 ("Street door") signed, carried back by the driver's phone with the door's log, and
/// the entry by Rapid Parcel through that door; the manager's page shows door 1's log took door
/// state 2, the revocation a second phone carried. axe-core finds nothing on any page.
///
/// Runs when `PORTER_PORTAL_TOOLS=1` (demo/ci.sh sets it; server/ci-install.sh installs
/// Chromium and the pinned npm packages); skipped otherwise.
fn the_portal_shows_what_the_door_did(resident: &str, manager: &str) {
    if std::env::var("PORTER_PORTAL_TOOLS").as_deref() != Ok("1") {
        eprintln!(
            "browser check skipped: set PORTER_PORTAL_TOOLS=1 (needs chromium and \
             server/tests/browser/node_modules, see server/ci-install.sh)"
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new("node")
        .arg(root.join("server/tests/browser/demo.mjs"))
        .args([resident, manager])
        .arg(root.join("docs/screenshots"))
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the browser check failed:\n{stderr}\n{stdout}");
    let facts: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("facts from the browser");
    assert_eq!(facts["axe_violations"], 0, "{stderr}");
    let rows = |key: &str| -> Vec<String> {
        let list = facts[key].as_array().unwrap_or_else(|| panic!("no {key}: {facts}"));
        list.iter().map(|r| r.as_str().unwrap_or_default().to_string()).collect()
    };
    // Two parcels for flat 4B: the first went in through door 1, the second (the revoked
    // driver's) never did.
    let deliveries = rows("resident_deliveries");
    let received: Vec<&String> =
        deliveries.iter().filter(|r| r.contains("signed a receipt")).collect();
    assert_eq!(deliveries.len(), 2, "{deliveries:?}");
    assert_eq!(received.len(), 1, "{deliveries:?}");
    assert!(received[0].contains("door 1 (Street door) signed a receipt"), "{deliveries:?}");
    let entries = rows("resident_entries");
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].contains("1 · Street door") && entries[0].contains("Rapid Parcel"));
    let door_states = rows("door_states");
    assert_eq!(door_states, ["1 · Street door: taken: state 2"], "{facts}");
}
