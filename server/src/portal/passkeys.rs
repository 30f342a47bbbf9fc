//! Invitations, passkey registration and sign-in, sign-out.
//!
//! An invitation is a one-time link (a 256-bit secret, stored hashed) that expires after
//! [`INVITATION_LIFETIME`]. Opening it shows a button that registers a passkey; the server
//! keeps the ceremony's state under the hash of a short-lived cookie, and on success creates
//! the account, its API token (the invitation's role and scope) and the passkey in one
//! transaction that also uses up the invitation. Sign-in is a discoverable-credential
//! ceremony: the browser offers the passkeys it holds for this origin, no name is typed.
//!
//! The ceremony endpoints take JSON only (`Content-Type: application/json`): a cross-site page
//! cannot send that without a CORS preflight, which the portal never grants, so they need no
//! form token; they are rate-limited per client address.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Uuid,
};

use super::session::{
    cookie, new_secret, set_cookie, ClientAddr, Lang, SignInFirst, Signed, SESSION_COOKIE,
    SESSION_LIFETIME,
};
use super::store::{self as portal_store, AccountRow, InvitationRow, NewAccount, SessionRow};
use super::{home_of, page, see_other, PageError, PageResult, Portal};
use crate::ids::{ResidentId, SiteId, TokenId, UnitId};
use crate::service::{self, new_id, now, sha256_hex, Code, Kind, Role};
use crate::store::{Store, TokenRow};

/// How long an invitation link works: 7 days.
pub const INVITATION_LIFETIME: i64 = 7 * 86_400;
/// How long a passkey ceremony may take: 5 minutes.
const CEREMONY_LIFETIME: i64 = 300;
const CEREMONY_COOKIE: &str = "porter_ceremony";

/// A new invitation: give `path` (joined to the portal's address) to the invitee, once.
#[derive(Clone, Debug, Serialize)]
pub struct Invitation {
    /// Invitation id.
    pub id: String,
    /// `/portal/invitations/<secret>`: the one-time link's path.
    pub path: String,
    /// When the link stops working (Unix seconds).
    pub expires_at: i64,
}

/// Who is invited to what.
pub(crate) struct Invitee<'a> {
    pub role: Role,
    pub site_id: &'a str,
    pub unit_id: Option<&'a str>,
    pub resident_id: Option<&'a str>,
    pub display_name: &'a str,
    pub email: Option<&'a str>,
    pub created_by: Option<&'a str>,
}

/// Invites a site's manager (the operator's `porter invite-manager`).
pub async fn invite_manager(
    store: &Store,
    site_id: &str,
    display_name: &str,
    email: Option<&str>,
) -> service::Result<Invitation> {
    store.site(&SiteId::from(site_id)).await?.ok_or_else(|| service::Error::not_found("site"))?;
    let invitee = Invitee {
        role: Role::Manager,
        site_id,
        unit_id: None,
        resident_id: None,
        display_name,
        email,
        created_by: None,
    };
    invite(store, &invitee).await
}

/// Invites an existing resident of one of the site's units to the portal (the operator's
/// `porter invite-resident`; a manager does the same from the Residents page). The account the
/// link makes is that resident's, with the resident role and scope.
pub async fn invite_resident(
    store: &Store,
    site_id: &str,
    resident_id: &str,
    email: Option<&str>,
) -> service::Result<Invitation> {
    let resident = store
        .resident(&ResidentId::from(resident_id))
        .await?
        .ok_or_else(|| service::Error::not_found("resident"))?;
    // A resident of another site is as unknown here as a missing one.
    let unit = store
        .unit(&resident.unit_id)
        .await?
        .filter(|u| u.site_id == *site_id)
        .ok_or_else(|| service::Error::not_found("resident"))?;
    let invitee = Invitee {
        role: Role::Resident,
        site_id,
        unit_id: Some(unit.id.as_str()),
        resident_id: Some(resident.id.as_str()),
        display_name: &resident.display_name,
        email,
        created_by: None,
    };
    invite(store, &invitee).await
}

/// Stores an invitation after checking its text fields.
pub(crate) async fn invite(store: &Store, who: &Invitee<'_>) -> service::Result<Invitation> {
    let name = who.display_name.trim();
    if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(service::Error::invalid(
            Code::InvalidText,
            "the name must be 1..=200 bytes of printable text",
        ));
    }
    let email = who.email.map(str::trim).filter(|e| !e.is_empty());
    if let Some(e) = email {
        check_email(e)?;
    }
    let secret = new_secret();
    let created_at = now();
    let row = InvitationRow {
        hash: sha256_hex(secret.as_bytes()),
        id: new_id("inv"),
        role: who.role.as_str().into(),
        site_id: who.site_id.into(),
        unit_id: who.unit_id.map(Into::into),
        resident_id: who.resident_id.map(Into::into),
        display_name: name.into(),
        email: email.map(Into::into),
        created_by: who.created_by.map(Into::into),
        created_at,
        expires_at: created_at + INVITATION_LIFETIME,
        used_at: None,
    };
    row.insert(store).await?;
    Ok(Invitation {
        id: row.id,
        path: format!("/portal/invitations/{secret}"),
        expires_at: row.expires_at,
    })
}

/// A plausible address: one `@`, something on each side, no spaces or controls, at most 254
/// bytes. (Deliverability is the mail relay's to judge.)
pub(crate) fn check_email(e: &str) -> service::Result<()> {
    let ok = e.len() <= 254
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(e.split_once('@'), Some((l, d)) if !l.is_empty() && d.contains('.') && !d.contains('@'));
    if ok {
        Ok(())
    } else {
        Err(service::Error::invalid(Code::InvalidText, "the email address is not valid"))
    }
}

/// `GET /portal`: the role's home page, or sign-in.
pub(crate) async fn home(signed: Result<Signed, SignInFirst>) -> Response {
    match signed {
        Ok(s) => see_other(home_of(&s.principal)),
        Err(_) => see_other("/portal/sign-in"),
    }
}

/// `GET /portal/sign-in`.
pub(crate) async fn sign_in_page(State(portal): State<Portal>, Lang(lang): Lang) -> PageResult {
    page(
        &portal,
        "sign_in.html",
        minijinja::context! { lang, zone => "UTC0", current => "/portal/sign-in" },
    )
}

/// `GET /portal/invitations/{secret}`: who is invited, and the button that makes a passkey.
pub(crate) async fn invitation_page(
    State(portal): State<Portal>,
    Lang(lang): Lang,
    Path(secret): Path<String>,
) -> PageResult {
    let live =
        InvitationRow::live(portal.service.store(), &sha256_hex(secret.as_bytes()), now()).await?;
    let Some(inv) = live else {
        return Err(PageError::Service(service::Error::not_found(
            "invitation (it was used, has expired or never existed: ask for a new one)",
        )));
    };
    let site = portal.service.store().site(&SiteId::from(inv.site_id.as_str())).await?;
    page(
        &portal,
        "invitation.html",
        minijinja::context! {
            lang, zone => "UTC0",
            current => format!("/portal/invitations/{secret}"),
            name => inv.display_name,
            invited_role => inv.role,
            site_name => site.map(|s| s.name).unwrap_or_default(),
            start => format!("/portal/invitations/{secret}/start"),
            finish => format!("/portal/invitations/{secret}/finish"),
        },
    )
}

/// A JSON answer for the ceremony scripts: `{"error": message}` with a status.
fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

fn from_service(e: service::Error) -> Response {
    let status = match e.kind {
        Kind::Internal => StatusCode::SERVICE_UNAVAILABLE,
        Kind::NotFound => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    };
    json_error(status, &e.message)
}

/// The guard of every ceremony endpoint: JSON only, and within the client's attempt budget.
/// Answers the refusal, if any.
fn refuse(portal: &Portal, headers: &HeaderMap, client: &str) -> Option<Response> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Some(json_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "send application/json"));
    }
    if !portal.attempts.allow(client) {
        portal.service.metrics().rate_limited.inc();
        return Some(json_error(
            StatusCode::TOO_MANY_REQUESTS,
            "too many sign-in attempts from this address: wait a minute and try again",
        ));
    }
    None
}

/// Starts a ceremony: stores `state` and answers `options` with the ceremony cookie.
async fn begin_ceremony<T: Serialize>(
    portal: &Portal,
    kind: &str,
    invitation_hash: Option<&str>,
    state: &str,
    options: &T,
) -> Response {
    let secret = new_secret();
    let stored = portal_store::put_ceremony(
        portal.service.store(),
        &sha256_hex(secret.as_bytes()),
        kind,
        invitation_hash,
        state,
        now() + CEREMONY_LIFETIME,
    )
    .await;
    if let Err(e) = stored {
        return from_service(e.into());
    }
    let mut r = Json(options).into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(CEREMONY_COOKIE, &secret, CEREMONY_LIFETIME));
    r
}

/// Takes the ceremony of the request's cookie (once).
async fn end_ceremony(
    portal: &Portal,
    headers: &HeaderMap,
    kind: &str,
) -> Result<(Option<String>, String), Response> {
    let expired = || {
        json_error(
            StatusCode::BAD_REQUEST,
            "this passkey request expired: reload the page and try again",
        )
    };
    let secret = cookie(headers, CEREMONY_COOKIE).ok_or_else(expired)?;
    let taken = portal_store::take_ceremony(
        portal.service.store(),
        &sha256_hex(secret.as_bytes()),
        kind,
        now(),
    )
    .await
    .map_err(|e| from_service(e.into()))?;
    taken.ok_or_else(expired)
}

/// What a registration ceremony keeps between its two halves.
#[derive(Serialize, Deserialize)]
struct Registration {
    user_handle: Uuid,
    state: PasskeyRegistration,
}

/// `POST /portal/invitations/{secret}/start`: the passkey creation options.
pub(crate) async fn register_start(
    State(portal): State<Portal>,
    ClientAddr(client): ClientAddr,
    Path(secret): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = refuse(&portal, &headers, &client) {
        return refusal;
    }
    let hash = sha256_hex(secret.as_bytes());
    let inv = match InvitationRow::live(portal.service.store(), &hash, now()).await {
        Ok(Some(inv)) => inv,
        Ok(None) => {
            return json_error(StatusCode::NOT_FOUND, "this invitation was used or has expired")
        }
        Err(e) => return from_service(e.into()),
    };
    let user_handle = Uuid::from_bytes(rand::random());
    let started = portal.webauthn.start_passkey_registration(
        user_handle,
        &inv.display_name,
        &inv.display_name,
        None,
    );
    let (options, state) = match started {
        Ok(pair) => pair,
        Err(e) => {
            tracing::error!(error = %e, "passkey registration could not start");
            return json_error(StatusCode::SERVICE_UNAVAILABLE, "passkeys are unavailable; retry");
        }
    };
    let state = serde_json::to_string(&Registration { user_handle, state }).unwrap_or_default();
    begin_ceremony(&portal, "register", Some(&hash), &state, &options).await
}

/// `POST /portal/invitations/{secret}/finish`: verifies the new passkey, creates the account
/// and signs it in.
pub(crate) async fn register_finish(
    State(portal): State<Portal>,
    ClientAddr(client): ClientAddr,
    Path(secret): Path<String>,
    headers: HeaderMap,
    Json(credential): Json<RegisterPublicKeyCredential>,
) -> Response {
    if let Some(refusal) = refuse(&portal, &headers, &client) {
        return refusal;
    }
    let hash = sha256_hex(secret.as_bytes());
    let (invitation_hash, state) = match end_ceremony(&portal, &headers, "register").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if invitation_hash.as_deref() != Some(hash.as_str()) {
        return json_error(
            StatusCode::BAD_REQUEST,
            "this passkey request was for another invitation",
        );
    }
    let Ok(reg) = serde_json::from_str::<Registration>(&state) else {
        return json_error(StatusCode::BAD_REQUEST, "this passkey request cannot be read: retry");
    };
    let passkey = match portal.webauthn.finish_passkey_registration(&credential, &reg.state) {
        Ok(p) => p,
        Err(e) => {
            tracing::info!(error = %e, "a passkey registration was refused");
            return json_error(StatusCode::BAD_REQUEST, "the passkey could not be verified");
        }
    };
    let store = portal.service.store();
    let inv = match InvitationRow::live(store, &hash, now()).await {
        Ok(Some(inv)) => inv,
        Ok(None) => {
            return json_error(StatusCode::NOT_FOUND, "this invitation was used or has expired")
        }
        Err(e) => return from_service(e.into()),
    };
    let created_at = now();
    let token_id: TokenId = new_id("tok");
    let account = AccountRow {
        id: new_id("acct"),
        token_id: token_id.clone(),
        display_name: inv.display_name.clone(),
        email: inv.email.clone(),
        user_handle: reg.user_handle.to_string(),
        created_at,
    };
    // An invitation names a role the portal itself wrote; anything else is a damaged row.
    let Some(role) = Role::parse(&inv.role) else {
        tracing::error!(role = %inv.role, "a portal invitation names an unknown role");
        return json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "this invitation is damaged: ask for a new one",
        );
    };
    let token = TokenRow {
        // The account's token is never shown: its secret is thrown away, only a hash of it
        // kept, so it works for the portal session alone (the API needs the secret).
        hash: sha256_hex(new_secret().as_bytes()),
        id: token_id,
        site_id: Some(SiteId::from(inv.site_id.as_str())),
        unit_id: inv.unit_id.as_deref().map(UnitId::from),
        resident_id: inv.resident_id.as_deref().map(ResidentId::from),
        label: format!("portal: {}", inv.display_name),
        created_at,
        expires_at: None,
        created_by: inv.created_by.as_deref().map(TokenId::from),
        ..TokenRow::of_role(role)
    };
    let new = NewAccount {
        invitation_hash: hash,
        token,
        account: account.clone(),
        passkey: (
            hex::encode(passkey.cred_id().as_ref()),
            serde_json::to_string(&passkey).unwrap_or_default(),
        ),
    };
    match portal_store::create_account(store, &new, created_at).await {
        Ok(true) => {}
        Ok(false) => {
            return json_error(StatusCode::NOT_FOUND, "this invitation was used or has expired")
        }
        Err(e) => return from_service(e.into()),
    }
    start_session(&portal, &account.id).await
}

/// `POST /portal/sign-in/start`: the options of a discoverable passkey request.
pub(crate) async fn sign_in_start(
    State(portal): State<Portal>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = refuse(&portal, &headers, &client) {
        return refusal;
    }
    let (options, state) = match portal.webauthn.start_discoverable_authentication() {
        Ok(pair) => pair,
        Err(e) => {
            tracing::error!(error = %e, "passkey sign-in could not start");
            return json_error(StatusCode::SERVICE_UNAVAILABLE, "passkeys are unavailable; retry");
        }
    };
    let state = serde_json::to_string(&state).unwrap_or_default();
    begin_ceremony(&portal, "sign_in", None, &state, &options).await
}

/// `POST /portal/sign-in/finish`: verifies the assertion and starts a session.
pub(crate) async fn sign_in_finish(
    State(portal): State<Portal>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Json(credential): Json<PublicKeyCredential>,
) -> Response {
    if let Some(refusal) = refuse(&portal, &headers, &client) {
        return refusal;
    }
    let refused = || json_error(StatusCode::UNAUTHORIZED, "this passkey is not known here");
    let (_, state) = match end_ceremony(&portal, &headers, "sign_in").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(state) = serde_json::from_str::<DiscoverableAuthentication>(&state) else {
        return json_error(StatusCode::BAD_REQUEST, "this passkey request cannot be read: retry");
    };
    let Ok((user_handle, credential_id)) =
        portal.webauthn.identify_discoverable_authentication(&credential)
    else {
        return refused();
    };
    let store = portal.service.store();
    let credential_hex = hex::encode(credential_id);
    let (account_id, stored) = match portal_store::passkey(store, &credential_hex).await {
        Ok(Some(found)) => found,
        Ok(None) => return refused(),
        Err(e) => return from_service(e.into()),
    };
    let Ok(mut passkey) = serde_json::from_str::<Passkey>(&stored) else {
        return refused();
    };
    let account = match AccountRow::get(store, &account_id).await {
        Ok(Some(a)) if a.user_handle == user_handle.to_string() => a,
        Ok(_) => return refused(),
        Err(e) => return from_service(e.into()),
    };
    let result = portal.webauthn.finish_discoverable_authentication(
        &credential,
        state,
        &[(&passkey).into()],
    );
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(error = %e, "a passkey sign-in was refused");
            return refused();
        }
    };
    if passkey.update_credential(&result) == Some(true) {
        let json = serde_json::to_string(&passkey).unwrap_or_default();
        if let Err(e) = portal_store::update_passkey(store, &credential_hex, &json).await {
            return from_service(e.into());
        }
    }
    // A removed resident's passkey still verifies, but their token is revoked: no session.
    if let Err(e) = portal.service.principal_of_token(&account.token_id).await {
        return json_error(StatusCode::FORBIDDEN, &e.message);
    }
    start_session(&portal, &account.id).await
}

/// Creates a session for `account_id` and answers where to go next, with its cookie.
async fn start_session(portal: &Portal, account_id: &str) -> Response {
    let secret = new_secret();
    let created_at = now();
    let session = SessionRow {
        hash: sha256_hex(secret.as_bytes()),
        account_id: account_id.into(),
        csrf: new_secret(),
        created_at,
        expires_at: created_at + SESSION_LIFETIME,
    };
    if let Err(e) = session.insert(portal.service.store()).await {
        return from_service(e.into());
    }
    let mut r = Json(serde_json::json!({ "next": "/portal" })).into_response();
    let h = r.headers_mut();
    h.append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, &secret, SESSION_LIFETIME));
    h.append(header::SET_COOKIE, set_cookie(CEREMONY_COOKIE, "", 0));
    r
}

/// A form that carries only its CSRF token.
#[derive(Deserialize)]
pub(crate) struct CsrfOnly {
    pub(crate) csrf: String,
}

/// `POST /portal/sign-out`: ends the session (server side too) and clears the cookie.
pub(crate) async fn sign_out(
    State(portal): State<Portal>,
    signed: Signed,
    Form(form): Form<CsrfOnly>,
) -> PageResult {
    signed.check_csrf(&form.csrf)?;
    SessionRow::end(portal.service.store(), &signed.session_hash, now()).await?;
    let mut r = see_other("/portal/sign-in");
    r.headers_mut().insert(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0));
    Ok(r)
}
