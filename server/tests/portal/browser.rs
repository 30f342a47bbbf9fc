//! The portal in headless Chromium (`tests/browser/portal.mjs`): invitation, passkey
//! registration and sign-in on Chromium's virtual authenticator, every page of both roles
//! checked by axe-core and photographed, what each role cannot see, CSRF refusal, and an
//! opt-out made in the browser that makes the server refuse the next grant.
//!
//! Runs when `PORTER_PORTAL_TOOLS=1` (server/ci.sh sets it; `server/ci-install.sh` installs
//! Chromium and `npm ci`s the pinned playwright-core and axe-core); skipped otherwise.

use std::path::Path;
use std::process::Command;

use serde_json::json;

use super::{world, PortalServer};

#[tokio::test]
async fn the_portal_works_in_headless_chromium() {
    if std::env::var("PORTER_PORTAL_TOOLS").as_deref() != Ok("1") {
        eprintln!(
            "skipped: set PORTER_PORTAL_TOOLS=1 (needs chromium and tests/browser/node_modules)"
        );
        return;
    }
    let server = PortalServer::start().await;
    let w = world(&server).await;
    let invitation = porter_server::portal::invite_manager(
        server.service.store(),
        &w.site_id.as_str().into(),
        "Maud Manager",
        Some("maud@example.org"),
    )
    .await
    .unwrap();
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shots = here.join("../docs/screenshots");
    let origin = server.origin.clone();
    let script = here.join("tests/browser/portal.mjs");
    let path = invitation.path.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node").arg(script).arg(origin).arg(path).arg(shots).output()
    })
    .await
    .unwrap()
    .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "browser test failed:\n{stderr}\n{stdout}");
    let facts: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("facts from the browser");
    assert_eq!(facts["axe_violations"], 0, "{stderr}");
    assert!(facts["pages"].as_array().unwrap().len() >= 14, "{facts}");
    assert_eq!(facts["signed_in_again"], true);
    assert_eq!(facts["email_lang"], "fr", "the French resident's emails: {facts}");
    // The opt-out the resident made in the browser refuses the next grant for unit 4B.
    assert_eq!(facts["opted_out"], true);
    let refused = w.ask(&w.delivery_id, json!({"uses": 1, "lifetime_minutes": 10})).await;
    assert_eq!((refused.status, refused.code()), (422, "resident_opted_out"), "{}", refused.body);
}
