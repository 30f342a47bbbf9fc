//! Notification emails through a real SMTP server process: Python's aiosmtpd (pinned in
//! server/ci-install.sh) writing what it receives into a maildir, which the test reads.
//!
//! Runs when `PORTER_PORTAL_TOOLS=1` (server/ci.sh), or when aiosmtpd is importable.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use porter_server::portal::mail::{Mailer, SmtpSettings};
use porter_server::portal::render::local_time;

use super::{world, PortalServer};

/// An aiosmtpd process delivering into a maildir; killed on drop.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpServer {
    fn start() -> Option<SmtpServer> {
        let tools = std::env::var("PORTER_PORTAL_TOOLS").as_deref() == Ok("1");
        let present = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !present {
            assert!(
                !tools,
                "PORTER_PORTAL_TOOLS=1 but aiosmtpd is missing: run server/ci-install.sh"
            );
            eprintln!("skipped: aiosmtpd is not installed (server/ci-install.sh installs it)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let maildir = harness_dir("maildir");
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .spawn()
            .expect("python3 -m aiosmtpd starts");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "aiosmtpd did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(SmtpServer { child, port, maildir })
    }

    /// Every message received so far, as text (quoted-printable soft line breaks joined).
    fn messages(&self) -> Vec<String> {
        let new = self.maildir.join("new");
        let mut out: Vec<String> = std::fs::read_dir(&new)
            .map(|d| d.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok()).collect())
            .unwrap_or_default();
        for m in &mut out {
            *m = m.replace("=\r\n", "").replace("=\n", "");
        }
        out.sort();
        out
    }
}

fn harness_dir(tag: &str) -> PathBuf {
    let dir = super::harness::temp_dir(tag);
    // aiosmtpd's Mailbox makes the maildir itself; it must not exist yet.
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn settings(port: u16, require_tls: bool) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        from: "porter@building.example".into(),
        credentials: None,
        require_tls,
    }
}

/// A resident who gave an address in the portal gets one email per notification, with the
/// delivery's window in the site's local time; nothing is sent twice, and a relay without
/// STARTTLS is refused when TLS is required (the email then goes out on the next round). The
/// emails are in the language the resident picks in their settings.
#[tokio::test]
async fn a_resident_is_emailed_their_delivery_notifications() {
    let Some(smtp) = SmtpServer::start() else { return };
    let server = PortalServer::start().await;
    let w = world(&server).await;
    let resident = server.sign_in(&w.resident, "Rémi").await;
    let saved = server
        .post(
            "/portal/resident/email",
            &resident,
            &[("csrf", &resident.csrf), ("email", "remi@flat4b.example"), ("lang", "en")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let bad = server
        .post("/portal/resident/email", &resident, &[("csrf", &resident.csrf), ("email", "no at")])
        .await;
    assert_eq!(bad.status, 422);

    // A window on whole hours, two hours from now (the site's zone is UTC0).
    let start = (super::harness::now() / 3600 + 2) * 3600;
    w.announce("1Z999AA10123456785", start, start + 3600).await;
    let window =
        format!("between {} and {}", local_time("UTC0", start), local_time("UTC0", start + 3600));
    let strict = Mailer::new(&settings(smtp.port, true)).unwrap();
    let refused = strict.send_due(&server.service).await;
    assert!(refused.is_err_and(|e| e.contains("SMTP")), "a relay without STARTTLS was used");
    assert!(smtp.messages().is_empty());

    let mailer = Mailer::new(&settings(smtp.port, false)).unwrap();
    // The world's first delivery may have been announced in the second the account was made
    // (notifications from that second on are emailed): one or two messages, each once.
    let sent = mailer.send_due(&server.service).await.unwrap();
    assert!((1..=2).contains(&sent), "{sent}");
    assert_eq!(mailer.send_due(&server.service).await, Ok(0), "sent twice");
    let messages = smtp.messages();
    assert_eq!(messages.len(), sent, "{messages:?}");
    let m = messages.iter().find(|m| m.contains(&window));
    let m = m.unwrap_or_else(|| panic!("no email names {window}: {messages:?}"));
    assert!(m.contains("To: remi@flat4b.example"), "{m}");
    assert!(m.contains("From: porter@building.example"), "{m}");
    assert!(m.contains("Subject: Porter: a delivery is on its way to 12 Rue Exemple"), "{m}");
    assert!(m.contains(&window) && window.ends_with(":00"), "{window}: {m}");

    // In French from the next notification on, once the resident asks for it.
    let french = server
        .post(
            "/portal/resident/email",
            &resident,
            &[("csrf", &resident.csrf), ("email", "remi@flat4b.example"), ("lang", "fr")],
        )
        .await;
    assert_eq!(french.status, 303, "{}", french.body);
    let settings = server.get("/portal/resident/settings", Some(&resident), "en").await.body;
    assert!(settings.contains(r#"value="fr" lang="fr" selected"#), "{settings}");
    w.announce("1Z999AA10123456786", start + 7200, start + 10_800).await;
    assert_eq!(mailer.send_due(&server.service).await, Ok(1));
    let messages = smtp.messages();
    let fenetre = format!(
        "entre {} et {}",
        local_time("UTC0", start + 7200),
        local_time("UTC0", start + 10_800)
    );
    let m = messages.iter().find(|m| m.contains(&fenetre));
    let m = m.unwrap_or_else(|| panic!("no email names {fenetre}: {messages:?}"));
    // Non-ASCII subjects are encoded (RFC 2047); the French words of the body are plain.
    assert!(m.contains("a annonc") && m.contains("heure locale de l"), "{m}");
    assert!(!m.contains("announced a delivery"), "{m}");
    let _ = Path::new(&smtp.maildir);
}
