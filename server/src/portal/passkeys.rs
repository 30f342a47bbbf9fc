//! Passkeys (WebAuthn, webauthn-rs): registration from an invitation, and sign-in.
//!
//! An invitation's page (`invitations.rs`) shows a button that registers a passkey; the server
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
use axum::Json;
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Uuid,
};

use super::session::{
    cookie, new_secret, set_cookie, ClientAddr, Lang, CEREMONY_COOKIE, SESSION_COOKIE,
    SESSION_LIFETIME,
};
use super::store::{self as portal_store, AccountRow, InvitationRow, NewAccount, SessionRow};
use super::{page, PageResult, Portal, SIGN_IN_ATTEMPTS_PER_MINUTE};
use crate::ids::{AccountId, TokenId};
use crate::service::{self, new_id, now, sha256_hex, Kind};
use crate::store::TokenRow;

/// How long a passkey ceremony may take: 5 minutes.
const CEREMONY_LIFETIME: i64 = 300;

/// `GET /portal/sign-in`.
pub(crate) async fn sign_in_page(State(portal): State<Portal>, Lang(lang): Lang) -> PageResult {
    page(
        &portal,
        "sign_in.html",
        minijinja::context! { lang, zone => "UTC0", current => "/portal/sign-in" },
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

/// The guard of every ceremony endpoint: JSON only, and within the client's attempt budget
/// ([`SIGN_IN_ATTEMPTS_PER_MINUTE`], shared by every process on the database). Answers the
/// refusal, if any.
async fn refuse(portal: &Portal, headers: &HeaderMap, client: &str) -> Option<Response> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Some(json_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "send application/json"));
    }
    let limit = i64::from(SIGN_IN_ATTEMPTS_PER_MINUTE);
    let allowed =
        match portal_store::take_attempt(portal.service.store(), client, limit, now()).await {
            Ok(allowed) => allowed,
            Err(e) => return Some(from_service(e.into())),
        };
    if !allowed {
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
    if let Some(refusal) = refuse(&portal, &headers, &client).await {
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
    Lang(lang): Lang,
    Path(secret): Path<String>,
    headers: HeaderMap,
    Json(credential): Json<RegisterPublicKeyCredential>,
) -> Response {
    if let Some(refusal) = refuse(&portal, &headers, &client).await {
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
        // Emails in the language the person read the invitation in, until they pick another.
        lang: lang.to_string(),
    };
    let token = TokenRow {
        // The account's token is never shown: its secret is thrown away, only a hash of it
        // kept, so it works for the portal session alone (the API needs the secret).
        hash: sha256_hex(new_secret().as_bytes()),
        id: token_id,
        site_id: Some(inv.site_id.clone()),
        unit_id: inv.unit_id.clone(),
        resident_id: inv.resident_id.clone(),
        label: format!("portal: {}", inv.display_name),
        created_at,
        expires_at: None,
        created_by: inv.created_by.clone(),
        ..TokenRow::of_role(inv.role)
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
    if let Some(refusal) = refuse(&portal, &headers, &client).await {
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
    if let Some(refusal) = refuse(&portal, &headers, &client).await {
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
async fn start_session(portal: &Portal, account_id: &AccountId) -> Response {
    let secret = new_secret();
    let created_at = now();
    let session = SessionRow {
        hash: sha256_hex(secret.as_bytes()),
        account_id: account_id.clone(),
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
