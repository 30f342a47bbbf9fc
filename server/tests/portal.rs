//! The web portal over HTTP: sessions, roles and scopes, CSRF, languages, invitations, the
//! sign-in rate limit, and the manager's and resident's pages against a real site. (Passkey
//! ceremonies need a browser's authenticator: `tests/browser/` drives Chromium's virtual one.)

#[path = "api/harness.rs"]
mod harness;

#[path = "portal/browser.rs"]
mod browser;
#[path = "portal/mail.rs"]
mod mail;
#[path = "portal/paging.rs"]
mod paging;
#[path = "portal/revocation.rs"]
mod revocation;

use std::sync::Arc;

use harness::{call, fresh_database, Backend, World};
use porter_server::client::Targets;
use porter_server::http::{router_with, AppState};
use porter_server::metrics::Metrics;
use porter_server::portal::store::{
    create_account, AccountRow, InvitationRow, NewAccount, SessionRow,
};
use porter_server::portal::{self, Portal};
use porter_server::service::{new_id, now, sha256_hex};
use porter_server::store::TokenRow;
use porter_server::{Service, Store};
use serde_json::json;

/// A server with the portal, on a fresh SQLite database.
struct PortalServer {
    base: String,
    /// `http://localhost:<port>`: the passkeys' origin (an IP address cannot be one).
    origin: String,
    service: Service,
    http: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PortalServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PortalServer {
    async fn start() -> PortalServer {
        PortalServer::on(&Backend::Sqlite).await
    }

    /// A server with the portal on a fresh database of `backend`.
    async fn on(backend: &Backend) -> PortalServer {
        PortalServer::on_database(&fresh_database(backend).await).await
    }

    /// A server with the portal on the database at `url` (another process of the same
    /// deployment, when two share it).
    async fn on_database(url: &str) -> PortalServer {
        let store = Store::connect(url).await.unwrap();
        let service = Service::new(store, Arc::new(Metrics::default()))
            .with_webhook_targets(Targets::allowing(&["127.0.0.1"]).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let origin = format!("http://localhost:{}", addr.port());
        let portal = Portal::new(service.clone(), &origin, false).unwrap();
        let app = router_with(AppState::new(service.clone(), 10_000), portal::router(portal));
        let task = tokio::spawn(async move {
            let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
            axum::serve(listener, app).await.unwrap();
        });
        let http =
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        PortalServer { base, origin, service, http, task }
    }

    /// A signed-in browser for the holder of API token `api_token` (its role and scope), the
    /// way an accepted invitation makes one: returns the session cookie and CSRF token.
    async fn sign_in(&self, api_token: &str, name: &str) -> Browser {
        let principal = self.service.authenticate(api_token).await.unwrap();
        let store = self.service.store();
        // The API token's row: the role and scope the portal account is made with.
        let p = store.token(principal.token_id()).await.unwrap().unwrap();
        let secret = hex::encode(rand::random::<[u8; 32]>());
        let invitation = InvitationRow {
            hash: sha256_hex(secret.as_bytes()),
            id: new_id("inv"),
            role: p.role,
            site_id: p.site_id.clone().unwrap(),
            unit_id: p.unit_id.clone(),
            resident_id: p.resident_id.clone(),
            display_name: name.into(),
            email: None,
            created_by: None,
            created_at: now(),
            expires_at: now() + 600,
            used_at: None,
        };
        invitation.insert(store).await.unwrap();
        let token = TokenRow {
            hash: sha256_hex(&rand::random::<[u8; 32]>()),
            id: new_id("tok"),
            site_id: p.site_id.clone(),
            unit_id: p.unit_id.clone(),
            resident_id: p.resident_id.clone(),
            label: format!("portal: {name}"),
            created_at: now(),
            ..TokenRow::of_role(p.role)
        };
        let account = AccountRow {
            id: new_id("acct"),
            token_id: token.id.clone(),
            display_name: name.into(),
            email: None,
            user_handle: new_id("user"),
            created_at: now(),
            lang: "en".into(),
        };
        let new = NewAccount {
            invitation_hash: invitation.hash.clone(),
            token,
            account: account.clone(),
            passkey: (new_id("cred"), "{}".into()),
        };
        assert!(create_account(store, &new, now()).await.unwrap());
        let cookie = hex::encode(rand::random::<[u8; 32]>());
        let csrf = hex::encode(rand::random::<[u8; 32]>());
        let session = SessionRow {
            hash: sha256_hex(cookie.as_bytes()),
            account_id: account.id.clone(),
            csrf: csrf.clone(),
            created_at: now(),
            expires_at: now() + 600,
        };
        session.insert(store).await.unwrap();
        Browser { cookie, csrf, token_id: new.token.id.into() }
    }

    async fn get(&self, path: &str, browser: Option<&Browser>, lang: &str) -> Page {
        let mut req = self.http.get(format!("{}{path}", self.base)).header("Accept-Language", lang);
        if let Some(b) = browser {
            req = req.header("Cookie", format!("porter_session={}", b.cookie));
        }
        Page::of(req.send().await.unwrap()).await
    }

    async fn post(&self, path: &str, browser: &Browser, form: &[(&str, &str)]) -> Page {
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Cookie", format!("porter_session={}", browser.cookie))
            .form(form);
        Page::of(req.send().await.unwrap()).await
    }
}

struct Browser {
    cookie: String,
    csrf: String,
    token_id: String,
}

#[derive(Debug)]
struct Page {
    status: u16,
    location: String,
    set_cookie: Vec<String>,
    content_type: String,
    body: String,
}

impl Page {
    async fn of(r: reqwest::Response) -> Page {
        let header = |n: &str| {
            r.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
        };
        let location = header("location");
        let content_type = header("content-type");
        let set_cookie = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        Page {
            status: r.status().as_u16(),
            location,
            set_cookie,
            content_type,
            body: r.text().await.unwrap(),
        }
    }
}

async fn world(server: &PortalServer) -> World {
    let operator = Service::bootstrap_operator(server.service.store(), "test").await.unwrap().token;
    World::setup(
        &server.base,
        &operator,
        harness::cert_options(),
        json!({"doors": [1], "max_uses": 4, "max_lifetime_minutes": 15}),
    )
    .await
}

/// Each role reaches its own pages only; without a session every page sends to sign-in.
/// (On every backend: the pages' own queries run on SQLite and PostgreSQL alike.)
#[tokio::test]
async fn each_role_sees_its_own_pages_and_not_the_others() {
    for backend in harness::backends() {
        each_role_sees_its_own_pages_on(&backend).await;
    }
}

async fn each_role_sees_its_own_pages_on(backend: &Backend) {
    let server = PortalServer::on(backend).await;
    let w = world(&server).await;
    let manager = server.sign_in(&w.manager, "Maud Manager").await;
    let resident = server.sign_in(&w.resident, "Rémi Resident").await;

    for path in [
        "/portal/manager",
        "/portal/manager/carriers",
        "/portal/manager/deliveries",
        "/portal/manager/log",
        "/portal/manager/residents",
        "/portal/manager/tokens",
        "/portal/manager/revocations",
    ] {
        let page = server.get(path, Some(&manager), "en").await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert!(page.body.contains("Maud Manager"), "{path}");
        assert_eq!(server.get(path, Some(&resident), "en").await.status, 403, "{path}");
        let anonymous = server.get(path, None, "en").await;
        assert_eq!((anonymous.status, anonymous.location.as_str()), (303, "/portal/sign-in"));
    }
    for path in ["/portal/resident", "/portal/resident/entries", "/portal/resident/settings"] {
        let page = server.get(path, Some(&resident), "en").await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert_eq!(server.get(path, Some(&manager), "en").await.status, 403, "{path}");
    }
    // The home page sends each role to its own pages.
    assert_eq!(server.get("/portal", Some(&manager), "en").await.location, "/portal/manager");
    assert_eq!(server.get("/portal", Some(&resident), "en").await.location, "/portal/resident");
    // The manager's dashboard shows the door and the carrier page the approval's limits.
    let carriers = server.get("/portal/manager/carriers", Some(&manager), "en").await;
    assert!(carriers.body.contains("4 entries, 15 minutes per grant"), "{}", carriers.body);
    // The resident's policy page names the approved carrier in plain words.
    let home = server.get("/portal/resident", Some(&resident), "en").await;
    assert!(home.body.contains("may enter"), "{}", home.body);
}

/// A resident sees their unit's deliveries, never another unit's.
#[tokio::test]
async fn a_resident_sees_nothing_of_other_units() {
    let server = PortalServer::start().await;
    let w = world(&server).await;
    let unit = call(
        &w.base,
        "POST",
        &format!("/v1/sites/{}/units", w.site_id),
        &w.manager,
        Some(json!({"label": "7C"})),
    )
    .await
    .ok();
    let other = call(
        &w.base,
        "POST",
        &format!("/v1/sites/{}/units/{}/residents", w.site_id, unit["id"].as_str().unwrap()),
        &w.manager,
        Some(json!({"display_name": "Neighbour"})),
    )
    .await
    .ok();
    let other_token = call(
        &w.base,
        "POST",
        "/v1/tokens",
        &w.manager,
        Some(json!({"role": "resident", "resident_id": other["id"]})),
    )
    .await
    .ok();
    let mine = server.sign_in(&w.resident, "Rémi").await;
    let neighbour = server.sign_in(other_token["token"].as_str().unwrap(), "Neighbour").await;
    // World announced one delivery for 4B: its window shows on 4B's page only.
    let rows = |body: &str| body.matches("<td>").count();
    let mine_page = server.get("/portal/resident", Some(&mine), "en").await.body;
    let their_page = server.get("/portal/resident", Some(&neighbour), "en").await.body;
    assert!(mine_page.contains("announced"), "{mine_page}");
    assert!(!their_page.contains("announced"), "{their_page}");
    assert!(their_page.contains("No deliveries."));
    assert!(rows(&mine_page) > rows(&their_page));
}

/// A form without the session's CSRF token changes nothing (403); with it the opt-out is
/// saved, and the server then refuses the next grant for that unit.
#[tokio::test]
async fn csrf_is_required_and_the_opt_out_refuses_the_next_grant() {
    let server = PortalServer::start().await;
    let w = world(&server).await;
    let resident = server.sign_in(&w.resident, "Rémi").await;
    let other = server.sign_in(&w.manager, "Maud").await;

    for csrf in ["", "0000", other.csrf.as_str()] {
        let page = server
            .post("/portal/resident/opt-out", &resident, &[("csrf", csrf), ("opted_out", "yes")])
            .await;
        assert_eq!(page.status, 403, "csrf {csrf:?}: {}", page.body);
    }
    let no_field =
        server.post("/portal/resident/opt-out", &resident, &[("opted_out", "yes")]).await;
    assert!(no_field.status >= 400 && no_field.status < 500, "{no_field:?}");
    // Nothing changed: a grant is still issued.
    w.ask(&w.delivery_id, json!({"uses": 1, "lifetime_minutes": 10})).await.ok();

    let saved = server
        .post(
            "/portal/resident/opt-out",
            &resident,
            &[("csrf", &resident.csrf), ("opted_out", "yes")],
        )
        .await;
    assert_eq!((saved.status, saved.location.as_str()), (303, "/portal/resident/settings"));
    let refused = w.ask(&w.delivery_id, json!({"uses": 1, "lifetime_minutes": 10})).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.code(), "resident_opted_out");
    let settings = server.get("/portal/resident/settings", Some(&resident), "en").await.body;
    assert!(settings.contains(r#"value="yes" checked"#), "{settings}");
}

/// Sign-out ends the session on the server: the old cookie no longer works.
#[tokio::test]
async fn sign_out_ends_the_session_on_the_server() {
    let server = PortalServer::start().await;
    let w = world(&server).await;
    let manager = server.sign_in(&w.manager, "Maud").await;
    let refused = server.post("/portal/sign-out", &manager, &[("csrf", "nope")]).await;
    assert_eq!(refused.status, 403);
    assert_eq!(server.get("/portal/manager", Some(&manager), "en").await.status, 200);
    let out = server.post("/portal/sign-out", &manager, &[("csrf", &manager.csrf)]).await;
    assert_eq!((out.status, out.location.as_str()), (303, "/portal/sign-in"));
    assert!(out
        .set_cookie
        .iter()
        .any(|c| c.starts_with("porter_session=;") && c.contains("Max-Age=0")));
    assert_eq!(server.get("/portal/manager", Some(&manager), "en").await.status, 303);
}

/// Removing a resident (a manager's form) revokes their tokens: their portal session ends.
#[tokio::test]
async fn removing_a_resident_ends_their_portal_access() {
    let server = PortalServer::start().await;
    let w = world(&server).await;
    let manager = server.sign_in(&w.manager, "Maud").await;
    let resident = server.sign_in(&w.resident, "Rémi").await;
    assert_eq!(server.get("/portal/resident", Some(&resident), "en").await.status, 200);
    let path = format!("/portal/manager/residents/{}/remove", w.resident_id);
    let removed = server.post(&path, &manager, &[("csrf", &manager.csrf)]).await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    assert_eq!(server.get("/portal/resident", Some(&resident), "en").await.status, 303);
    // And the manager's token list shows the portal account's token revoked.
    let tokens = server.get("/portal/manager/tokens", Some(&manager), "en").await.body;
    assert!(tokens.contains("portal: Rémi") && tokens.contains("revoked"), "{tokens}");
    let _ = resident.token_id;
}

/// A manager invites a resident from the portal: the link works once, for a person of that
/// unit, and an unknown or used link is refused.
#[tokio::test]
async fn a_manager_invites_a_resident_with_a_one_time_link() {
    let server = PortalServer::start().await;
    let w = world(&server).await;
    let manager = server.sign_in(&w.manager, "Maud").await;
    let page = server
        .post(
            "/portal/manager/residents/invite",
            &manager,
            &[
                ("csrf", &manager.csrf),
                ("unit_id", &w.unit_id),
                ("display_name", "Nadia"),
                ("email", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    // The page escapes the link's slashes in the attribute (`&#x2f;`); a browser reads `/`.
    let body = page.body.replace("&#x2f;", "/");
    let start = body.find("/portal/invitations/").expect("an invitation link");
    let path: String = body[start..].chars().take_while(|c| *c != '"').collect();
    let invitation = server.get(&path, None, "fr").await;
    assert_eq!(invitation.status, 200, "{}", invitation.body);
    assert!(invitation.body.contains("Nadia") && invitation.body.contains("Créer ma clé"));
    // Another unit's id from another site is refused by the service's scope check.
    let foreign = server
        .post(
            "/portal/manager/residents/invite",
            &manager,
            &[
                ("csrf", &manager.csrf),
                ("unit_id", "unit_000000000000deadbeef"),
                ("display_name", "X"),
            ],
        )
        .await;
    assert_eq!(foreign.status, 404, "{}", foreign.body);
    assert_eq!(server.get("/portal/invitations/0123", None, "en").await.status, 404);
    // The operator's CLI path: a manager invitation for an unknown site is refused.
    let missing =
        portal::invite_manager(server.service.store(), &"site_nope".into(), "M", None).await;
    assert!(missing.is_err());
    let ok = portal::invite_manager(
        server.service.store(),
        &w.site_id.as_str().into(),
        "Maud 2",
        Some("maud@example.org"),
    )
    .await
    .unwrap();
    assert_eq!(server.get(&ok.path, None, "en").await.status, 200);
    // The operator's `porter invite-resident`: a resident of that site only, by id.
    let store = server.service.store();
    let (site, resident) = (w.site_id.as_str().into(), w.resident_id.as_str().into());
    assert!(portal::invite_resident(store, &site, &"res_nope".into(), None).await.is_err());
    let elsewhere = portal::invite_resident(store, &"site_nope".into(), &resident, None).await;
    assert!(elsewhere.is_err(), "a resident is invited to their own site only");
    let ok = portal::invite_resident(store, &site, &resident, None).await.unwrap();
    let name = store.resident(&w.resident_id.as_str().into()).await.unwrap().unwrap().display_name;
    let page = server.get(&ok.path, None, "en").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(&name) && page.body.contains("passkey-register"), "{}", page.body);
}

/// The language is the switch's cookie if set, else the browser's preference.
#[tokio::test]
async fn pages_speak_the_browsers_language_and_the_switch_overrides_it() {
    let server = PortalServer::start().await;
    let fr = server.get("/portal/sign-in", None, "fr-FR,fr;q=0.9,en;q=0.5").await;
    assert!(
        fr.body.contains(r#"<html lang="fr">"#) && fr.body.contains("Connexion"),
        "{}",
        fr.body
    );
    let en = server.get("/portal/sign-in", None, "de, en;q=0.5").await;
    assert!(en.body.contains(r#"<html lang="en">"#) && en.body.contains("Sign in"));
    let switch = server.get("/portal/lang/fr?back=/portal/sign-in", None, "en").await;
    assert_eq!((switch.status, switch.location.as_str()), (303, "/portal/sign-in"));
    assert!(switch.set_cookie[0].starts_with("porter_lang=fr;"));
    let r = server
        .http
        .get(format!("{}/portal/sign-in", server.base))
        .header("Accept-Language", "en")
        .header("Cookie", "porter_lang=fr")
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("Connexion"));
    // The switch never redirects off the portal.
    let away = server.get("/portal/lang/en?back=//evil.example/", None, "en").await;
    assert_eq!(away.location, "/portal");
}

/// Passkey ceremonies take JSON only and are limited per client address.
#[tokio::test]
async fn sign_in_attempts_are_rate_limited() {
    let server = PortalServer::start().await;
    let url = format!("{}/portal/sign-in/start", server.base);
    let form = server.http.post(&url).body("{}").header("Content-Type", "text/plain").send().await;
    assert_eq!(form.unwrap().status(), 415);
    let mut statuses = Vec::new();
    for _ in 0..portal::SIGN_IN_ATTEMPTS_PER_MINUTE + 2 {
        let r = server
            .http
            .post(&url)
            .header("Content-Type", "application/json")
            .body("{}")
            .send()
            .await;
        statuses.push(r.unwrap().status().as_u16());
    }
    assert!(statuses[..8].iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}

/// Two porter processes on one database (a deployment behind a load balancer) share the
/// sign-in limit: a client spreading its attempts over both gets no more than from one.
#[tokio::test]
async fn the_sign_in_limit_holds_across_processes() {
    for backend in harness::backends() {
        let url = fresh_database(&backend).await;
        let servers =
            [PortalServer::on_database(&url).await, PortalServer::on_database(&url).await];
        let mut statuses = Vec::new();
        for n in 0..portal::SIGN_IN_ATTEMPTS_PER_MINUTE + 2 {
            let server = &servers[n as usize % 2];
            let r = server
                .http
                .post(format!("{}/portal/sign-in/start", server.base))
                .header("Content-Type", "application/json")
                .body("{}")
                .send()
                .await;
            statuses.push(r.unwrap().status().as_u16());
        }
        let limit = portal::SIGN_IN_ATTEMPTS_PER_MINUTE as usize;
        assert!(statuses[..limit].iter().all(|s| *s == 200), "{statuses:?}");
        assert!(statuses[limit..].iter().all(|s| *s == 429), "{statuses:?}");
    }
}

/// The session cookie is Secure, HttpOnly and SameSite=Strict (checked on the ceremony
/// cookie, made the same way), and pages forbid framing and inline scripts.
#[tokio::test]
async fn cookies_and_pages_carry_their_protections() {
    let server = PortalServer::start().await;
    let r = server
        .http
        .post(format!("{}/portal/sign-in/start", server.base))
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    let cookie = r.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    for flag in ["Secure", "HttpOnly", "SameSite=Strict", "Max-Age=300"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    let page = server.http.get(format!("{}/portal/sign-in", server.base)).send().await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
}

/// The access log filters by outcome and exports CSV in the site's local time.
#[tokio::test]
async fn the_access_log_exports_csv() {
    let server = PortalServer::start().await;
    let w = world(&server).await;
    let manager = server.sign_in(&w.manager, "Maud").await;
    let csv = server.get("/portal/manager/log.csv?outcome=unmatched", Some(&manager), "en").await;
    assert_eq!(csv.status, 200);
    assert!(csv.content_type.starts_with("text/csv"));
    assert!(csv.body.starts_with("local_time,unix_time,door,sequence,carrier,grant\r\n"));
    let json = server.get("/portal/manager/revocations/list.json", Some(&manager), "en").await;
    let list: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(list["site_number"], w.site_number);
}
