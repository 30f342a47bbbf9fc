//! The fuzz target `server_portal`'s entry point: one request to the web portal's routes
//! (`/portal/**`: pages, forms, sessions, CSRF, the sign-in limiter, invitations), built from
//! the fuzzer's bytes, through the real router (portal beside the API, as `porter serve`
//! mounts it) over an in-memory SQLite store holding one site with a manager and a resident
//! signed in.
//!
//! Input: `[method, who, route, path params \0 form \0 cookie]`.
//! * `method`: GET, POST, HEAD or PUT (`% 4`);
//! * `who` bits 0-1: no session, the manager's, the resident's, or the cookie value from the
//!   input; bits 2-3: the form's `csrf` field: the session's own token, none, the other
//!   session's token, or whatever the form says; bit 4: the body is sent as a form
//!   (`application/x-www-form-urlencoded`); bits 5-6: which of four client addresses sends it
//!   (the sign-in limiter counts per address); bit 7: the page in French;
//! * `route`: a portal route (its `{params}` filled from the input's path part, split at `/`;
//!   `$n` names the n-th id the site holds: a unit, a resident, a carrier, a token), or, past
//!   the last route, the path part itself.
//!
//! Checks, whatever the input: no panic; no 5xx; a redirect names where to (`Location`); a
//! refusal has a body and is a portal error page (HTML with its alert), an extractor's plain
//! text, or the API's `{"code", "message"}`; without a valid session nothing but the public
//! pages answers 2xx; a manager's pages never answer a resident and a resident's never a
//! manager; a form that changes something (a POST behind a session) succeeds only with the
//! session's own CSRF token.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::body::{to_bytes, Body};
use axum::extract::connect_info::ConnectInfo;
use axum::http::{header, Method, Request};
use axum::Router;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::http::{router_with, AppState};
use crate::metrics::Metrics;
use crate::portal::store::{create_account, AccountRow, InvitationRow, NewAccount, SessionRow};
use crate::portal::{self, Portal};
use crate::service::{new_id, now, sha256_hex};
use crate::store::TokenRow;
use crate::{Service, Store};

/// The portal's routes (as `portal::router` declares them), then whatever the input says.
pub const ROUTES: &[&str] = &[
    "/portal",
    "/portal/static/portal.css",
    "/portal/static/passkey.js",
    "/portal/lang/{lang}",
    "/portal/sign-in",
    "/portal/sign-in/start",
    "/portal/sign-in/finish",
    "/portal/sign-out",
    "/portal/invitations/{secret}",
    "/portal/invitations/{secret}/start",
    "/portal/invitations/{secret}/finish",
    "/portal/manager",
    "/portal/manager/carriers",
    "/portal/manager/carriers/{id}/withdraw",
    "/portal/manager/deliveries",
    "/portal/manager/log",
    "/portal/manager/log.csv",
    "/portal/manager/residents",
    "/portal/manager/units",
    "/portal/manager/residents/invite",
    "/portal/manager/residents/{id}/remove",
    "/portal/manager/tokens",
    "/portal/manager/tokens/{id}/revoke",
    "/portal/manager/revocations",
    "/portal/manager/revocations/revoke",
    "/portal/manager/revocations/list.json",
    "/portal/manager/revocations/door-state",
    "/portal/resident",
    "/portal/resident/entries",
    "/portal/resident/settings",
    "/portal/resident/opt-out",
    "/portal/resident/email",
];

/// What answers 2xx without a session: the sign-in page and its start, the static files, and
/// the API's public routes (a raw path may reach them).
const PUBLIC: &[(&str, &str)] = &[
    ("GET", "/portal/sign-in"),
    ("POST", "/portal/sign-in/start"),
    ("GET", "/portal/static/portal.css"),
    ("GET", "/portal/static/passkey.js"),
    ("GET", "/v1/openapi.json"),
    ("GET", "/healthz"),
    ("GET", "/livez"),
];

const METHODS: [Method; 4] = [Method::GET, Method::POST, Method::HEAD, Method::PUT];

/// A signed-in person: the session cookie and its CSRF token.
struct Session {
    cookie: String,
    csrf: String,
    row: SessionRow,
}

/// The server under test and its site, made once per fuzzing process.
struct Harness {
    runtime: tokio::runtime::Runtime,
    app: Router,
    store: Store,
    manager: Session,
    resident: Session,
    /// Ids the input may name (`$n`): the second unit, its resident and their API token, a
    /// carrier, the site (none of them the signed-in people's own: removing those would end
    /// their sessions for every later input).
    ids: Vec<String>,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime for the fuzz harness");
        let (app, store, manager, resident, ids) = runtime.block_on(set_up());
        Harness { runtime, app, store, manager, resident, ids }
    })
}

/// The server with the portal, and its site made through the API as an operator and its
/// manager would make it: two units with a resident each (the first signed in), a carrier;
/// the manager signed in.
async fn set_up() -> (Router, Store, Session, Session, Vec<String>) {
    let store = Store::connect("sqlite::memory:").await.expect("an in-memory store");
    let operator =
        Service::bootstrap_operator(&store, "fuzz").await.expect("the operator token").token;
    let service = Service::new(store.clone(), Arc::new(Metrics::default()));
    let portal = Portal::new(service.clone(), "http://localhost:8080", false).expect("the portal");
    let metrics_token = hex::encode(rand::random::<[u8; 16]>());
    let state = AppState::new(service.clone(), u32::MAX).with_metrics_token(Some(&metrics_token));
    let app = router_with(state, portal::router(portal));

    let api = |method: &'static str, path: String, token: &str, body: Value| {
        let (app, token) = (app.clone(), token.to_string());
        async move { api_call(&app, method, &path, &token, body).await }
    };
    let site_number = rand::random::<u32>() | 1;
    let site = json!({"name": "12 Rue Exemple", "site_number": site_number,
                      "root_key": VECTOR_ROOT, "zone": "UTC0"});
    let site_id = text(&api("POST", "/v1/sites".into(), &operator, site).await, "id");
    let manager = json!({"role": "manager", "site_id": site_id});
    let manager_token = text(&api("POST", "/v1/tokens".into(), &operator, manager).await, "token");
    let units = format!("/v1/sites/{site_id}/units");
    let mut ids = Vec::new();
    let mut resident_token = None;
    for (label, name) in [("4B", "A. Martin"), ("7C", "B. Petit")] {
        let unit = api("POST", units.clone(), &manager_token, json!({"label": label})).await;
        let unit_id = text(&unit, "id");
        let residents = format!("{units}/{unit_id}/residents");
        let resident = api("POST", residents, &manager_token, json!({"display_name": name})).await;
        let token = json!({"role": "resident", "resident_id": resident["id"]});
        let token = api("POST", "/v1/tokens".into(), &manager_token, token).await;
        match resident_token {
            // The signed-in resident: not among the ids the input may remove.
            None => resident_token = Some(text(&token, "token")),
            Some(_) => ids.extend([unit_id, text(&resident, "id"), text(&token, "id")]),
        }
    }
    let carrier = json!({"name": "Rapid Parcel"});
    ids.push(text(&api("POST", "/v1/carriers".into(), &operator, carrier).await, "id"));
    ids.push(site_id);

    let manager = sign_in(&service, &manager_token, "Manager").await;
    let resident_token = resident_token.expect("a resident");
    let resident = sign_in(&service, &resident_token, "Resident").await;
    (app, store, manager, resident, ids)
}

/// The vectors' site root key (spec/vectors/), as the OpenAPI examples use it.
const VECTOR_ROOT: &str = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";

/// One JSON API call of the set-up; it must succeed.
async fn api_call(app: &Router, method: &str, path: &str, token: &str, body: Value) -> Value {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header("idempotency-key", hex::encode(rand::random::<[u8; 16]>()))
        .body(Body::from(body.to_string()))
        .expect("a set-up request");
    let response = app.clone().oneshot(request).await.expect("the router is infallible");
    let status = response.status();
    let body = to_bytes(response.into_body(), usize::MAX).await.expect("a whole body");
    assert!(
        status.is_success(),
        "set-up {method} {path}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).expect("a JSON answer")
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_else(|| panic!("no {key} in {value}")).to_string()
}

/// A portal account for the holder of API token `token` (its role and scope) and a session,
/// the way an accepted invitation makes them (the passkey ceremony needs an authenticator).
async fn sign_in(service: &Service, token: &str, name: &str) -> Session {
    let principal = service.authenticate(token).await.expect("the set-up's token");
    let store = service.store();
    let p = store.token(principal.token_id()).await.expect("a token row").expect("the token");
    let secret = hex::encode(rand::random::<[u8; 32]>());
    let invitation = InvitationRow {
        hash: sha256_hex(secret.as_bytes()),
        id: new_id("inv"),
        role: p.role,
        site_id: p.site_id.clone().expect("a site's token"),
        unit_id: p.unit_id.clone(),
        resident_id: p.resident_id.clone(),
        display_name: name.into(),
        email: None,
        created_by: None,
        created_at: now(),
        expires_at: now() + 600,
        used_at: None,
    };
    invitation.insert(store).await.expect("the invitation");
    let account_token = TokenRow {
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
        token_id: account_token.id.clone(),
        display_name: name.into(),
        email: None,
        user_handle: new_id("user"),
        created_at: now(),
        lang: "en".into(),
    };
    let new = NewAccount {
        invitation_hash: invitation.hash.clone(),
        token: account_token,
        account: account.clone(),
        passkey: (new_id("cred"), "{}".into()),
    };
    assert!(create_account(store, &new, now()).await.expect("the account"));
    let cookie = hex::encode(rand::random::<[u8; 32]>());
    let csrf = hex::encode(rand::random::<[u8; 32]>());
    let row = SessionRow {
        hash: sha256_hex(cookie.as_bytes()),
        account_id: account.id.clone(),
        csrf: csrf.clone(),
        created_at: now(),
        // Longer than any fuzzing run.
        expires_at: now() + 30 * 86_400,
    };
    row.insert(store).await.expect("the session");
    Session { cookie, csrf, row }
}

/// Who sends the request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    Nobody,
    Manager,
    Resident,
    /// A cookie value from the input: no valid session.
    Stranger,
}

/// The request the input describes: the request, who sent it, and whether its form carries
/// the session's own CSRF token.
fn request(data: &[u8]) -> Option<(Request<Body>, Who, bool)> {
    let h = harness();
    let (&[method, who_byte, route], rest) = data.split_first_chunk::<3>()?;
    let mut parts = rest.splitn(3, |&b| b == 0);
    let path_part = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let form = parts.next().unwrap_or_default();
    let cookie = parts.next().unwrap_or_default();

    let who = [Who::Nobody, Who::Manager, Who::Resident, Who::Stranger][usize::from(who_byte % 4)];
    let (own, other) = match who {
        Who::Manager => (Some(&h.manager), Some(&h.resident)),
        Who::Resident => (Some(&h.resident), Some(&h.manager)),
        _ => (None, Some(&h.manager)),
    };
    let (path, query) = match path_part.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (path_part.clone(), None),
    };
    let mut uri = match ROUTES.get(usize::from(route)) {
        Some(template) => {
            let mut values = path.split('/');
            template
                .split('/')
                .map(|segment| match segment.starts_with('{') {
                    true => h.id(values.next().unwrap_or("x")),
                    false => segment.to_string(),
                })
                .collect::<Vec<_>>()
                .join("/")
        }
        None => path,
    };
    if let Some(query) = query {
        uri = format!("{uri}?{query}");
    }

    // The form's CSRF field, put first; the rest of the form is the input's.
    let (csrf, own_csrf) = match (who_byte >> 2) % 4 {
        0 => (own.map(|s| s.csrf.clone()), own.is_some()),
        1 => (None, false),
        2 => (other.map(|s| s.csrf.clone()), false),
        _ => (None, false),
    };
    let mut body = Vec::new();
    if let Some(csrf) = csrf {
        body.extend_from_slice(format!("csrf={csrf}").as_bytes());
        if !form.is_empty() {
            body.push(b'&');
        }
    }
    body.extend_from_slice(form);

    let mut builder = Request::builder().method(METHODS[usize::from(method % 4)].clone()).uri(uri);
    builder = match (who, own) {
        (_, Some(s)) => builder.header(header::COOKIE, format!("porter_session={}", s.cookie)),
        (Who::Stranger, _) => builder.header(header::COOKIE, cookie),
        _ => builder,
    };
    if who_byte & 0x10 != 0 {
        builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    if who_byte & 0x80 != 0 {
        builder = builder.header(header::ACCEPT_LANGUAGE, "fr-FR,fr;q=0.9");
    }
    // Bytes a header or URI cannot hold are refused by `http` itself: nothing to send.
    let mut request = builder.body(Body::from(body)).ok()?;
    let client = SocketAddr::from(([192, 0, 2, 1 + ((who_byte >> 5) & 3)], 40_000));
    request.extensions_mut().insert(ConnectInfo(client));
    Some((request, who, own_csrf))
}

impl Harness {
    /// A path parameter: `$n` names the n-th known id, anything else is itself.
    fn id(&self, value: &str) -> String {
        match value.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) {
            Some(n) if !self.ids.is_empty() => self.ids[n % self.ids.len()].clone(),
            _ => value.to_string(),
        }
    }
}

/// Sends the request the input describes and checks the answer (see the module's comment).
pub fn fuzz_portal(data: &[u8]) {
    let Some((request, who, own_csrf)) = request(data) else { return };
    let h = harness();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let started = std::time::Instant::now();
    let (status, location, content_type, body) = h.runtime.block_on(async {
        let response = h.app.clone().oneshot(request).await.expect("the router is infallible");
        let status = response.status();
        let header =
            |name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let (location, content_type) = (header(header::LOCATION), header(header::CONTENT_TYPE));
        let body = to_bytes(response.into_body(), usize::MAX).await.expect("a whole body");
        (status, location, content_type, body)
    });
    if path == "/portal/sign-out" {
        // A sign-out with the right token ends the session: sign the harness back in.
        h.runtime.block_on(async {
            for s in [&h.manager, &h.resident] {
                if SessionRow::live(&h.store, &s.row.hash, now()).await.ok().flatten().is_none() {
                    s.row.insert(&h.store).await.expect("the session again");
                }
            }
        });
    }
    if super::stalled(status, started.elapsed()) {
        return;
    }
    let what = format!("{method} {path} as {who:?} -> {status}");
    let text = String::from_utf8_lossy(&body);
    assert!(!status.is_server_error(), "{what}: {text}");

    let signed_in = matches!(who, Who::Manager | Who::Resident);
    let to_sign_in = location.as_deref() == Some("/portal/sign-in");
    if status.is_redirection() {
        assert!(location.is_some(), "{what}: a redirect without a Location");
    }
    let success = status.is_success() || (status.is_redirection() && !to_sign_in);
    let public = PUBLIC.iter().any(|(m, p)| *m == method.as_str() && *p == path)
        || (method == Method::HEAD && PUBLIC.iter().any(|(m, p)| *m == "GET" && *p == path));
    if !signed_in && status.is_success() {
        assert!(public, "{what}: a page answered without a session");
    }
    if status.is_success() {
        let other_role = match who {
            Who::Manager => "/portal/resident",
            _ => "/portal/manager",
        };
        assert!(!path.starts_with(other_role), "{what}: another role's page");
    }
    let behind_session = path.starts_with("/portal/manager")
        || path.starts_with("/portal/resident")
        || path == "/portal/sign-out";
    if method == Method::POST && behind_session && success {
        assert!(own_csrf, "{what}: a form succeeded without the session's CSRF token");
    }
    if status.is_client_error() && method != Method::HEAD {
        check_refusal(&what, content_type.as_deref(), &body);
    }
}

/// A refusal: a portal error page (HTML with its alert), an extractor's plain-text reason, the
/// API's `{"code", "message"}` or a passkey ceremony's `{"error"}`; never empty.
fn check_refusal(what: &str, content_type: Option<&str>, body: &[u8]) {
    let text = String::from_utf8_lossy(body);
    assert!(!text.trim().is_empty(), "{what}: a refusal without a body");
    let content_type = content_type.unwrap_or_else(|| panic!("{what}: no Content-Type: {text}"));
    if content_type.starts_with("text/html") {
        assert!(text.contains("role=\"alert\""), "{what}: an error page without its alert: {text}");
    } else if content_type.starts_with("application/json") {
        // The API's shape, or the passkey ceremonies' `{"error": message}` (passkey.js).
        let ceremony = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
            let object = v.as_object()?;
            (object.len() == 1).then(|| object.get("error")?.as_str().map(str::to_string))?
        });
        if ceremony.is_none_or(|m| m.trim().is_empty()) {
            super::error_code(body).unwrap_or_else(|e| panic!("{what}: {e}"));
        }
    } else {
        assert!(content_type.starts_with("text/plain"), "{what}: a refusal as {content_type}");
    }
}
