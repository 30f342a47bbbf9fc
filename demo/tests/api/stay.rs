//! `porter-demo --stay`: the links it prints keep working while it waits, and Ctrl-C (SIGINT)
//! stops every child and removes the temporary directory.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

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
    let mut demo = Command::new(env!("CARGO_BIN_EXE_porter-demo"))
        .args(["--bin-dir", profile_dir().to_str().unwrap(), "--stay"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("porter-demo runs");
    let stdout = demo.stdout.take().unwrap();
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
            Err(e) => {
                let _ = demo.kill();
                panic!("the demo never said it stays ({e}):\n{story}");
            }
        }
    }
    let work = PathBuf::from(after(&story, "working in ").trim_end_matches('.'));
    assert!(work.is_dir(), "{} should exist while the demo stays", work.display());
    let server_and_door = children(demo.id());
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

    let interrupted = Command::new("kill").args(["-INT", &demo.id().to_string()]).status();
    assert!(interrupted.unwrap().success());
    let status = demo.wait().unwrap();
    let rest: String = lines.iter().map(|l| format!("{l}\n")).collect();
    assert!(status.success(), "{status}:\n{story}{rest}");
    assert!(rest.contains("SIGINT: stopping") && rest.contains("Demo complete"), "{rest}");
    for pid in server_and_door {
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "child {pid} outlived the demo");
    }
    assert!(!work.exists(), "{} was left behind", work.display());
}
