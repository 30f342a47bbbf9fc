//! Cookies, sessions and CSRF.
//!
//! A session is a random 256-bit secret in a `Secure; HttpOnly; SameSite=Strict` cookie; the
//! server stores only its SHA-256 with the account and the expiry, so a database dump signs
//! no-one in and sign-out ends it everywhere. Every form carries the session's synchroniser
//! token (`csrf`), compared in constant time; a form without it, or with another session's,
//! is refused with 403 before anything changes.

use std::net::SocketAddr;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::Value;
use serde::Deserialize;

use super::i18n::{negotiate, LANG_COOKIE};
use super::store::{AccountRow, SessionRow};
use super::{home_of, see_other, PageError, PageResult, Portal};
use crate::ids::SiteId;
use crate::service::{now, sha256_hex, Principal, Role};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "porter_session";
/// How long a session lasts: 12 hours, then sign in again.
pub const SESSION_LIFETIME: i64 = 12 * 3600;
/// The cookie that names a passkey ceremony in progress (cleared when a session starts).
pub(crate) const CEREMONY_COOKIE: &str = "porter_ceremony";

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: Secure, HttpOnly, SameSite=Strict, the whole portal, `max_age` seconds
/// (0 deletes it).
pub(crate) fn set_cookie(name: &str, value: &str, max_age: i64) -> HeaderValue {
    let v = format!(
        "{name}={value}; Path=/portal; Max-Age={max_age}; Secure; HttpOnly; SameSite=Strict"
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A new random secret for a cookie or link: 256 bits, hex.
pub(crate) fn new_secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Equal strings, compared in time independent of where they differ.
pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The language of the request.
pub(crate) struct Lang(pub &'static str);

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let accept = parts.headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
        Ok(Lang(negotiate(cookie(&parts.headers, LANG_COOKIE), accept)))
    }
}

/// The client's address, for the sign-in rate limit ("unknown" when the server was not
/// started with connection info, as in some tests: they then share one bucket).
pub(crate) struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let addr = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
        Ok(ClientAddr(addr.unwrap_or_else(|| "unknown".into())))
    }
}

/// A signed-in person: their session, account, and the principal the account acts as.
pub(crate) struct Signed {
    /// SHA-256 of the session cookie.
    pub session_hash: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// The account.
    pub account: AccountRow,
    /// The API role and scope.
    pub principal: Principal,
    /// The page language.
    pub lang: &'static str,
}

/// Not signed in (or the session ended): go to the sign-in page.
pub(crate) struct SignInFirst;

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        let mut r = Redirect::to("/portal/sign-in").into_response();
        r.headers_mut().insert(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0));
        r
    }
}

impl FromRequestParts<Portal> for Signed {
    type Rejection = SignInFirst;

    async fn from_request_parts(parts: &mut Parts, portal: &Portal) -> Result<Self, SignInFirst> {
        let Lang(lang) = Lang::from_request_parts(parts, portal).await.map_err(|_| SignInFirst)?;
        let secret = cookie(&parts.headers, SESSION_COOKIE).ok_or(SignInFirst)?;
        let hash = sha256_hex(secret.as_bytes());
        let store = portal.service.store();
        let session =
            SessionRow::live(store, &hash, now()).await.ok().flatten().ok_or(SignInFirst)?;
        let account =
            AccountRow::get(store, &session.account_id).await.ok().flatten().ok_or(SignInFirst)?;
        // The account's token decides the role and scope; revoking it (or removing the
        // resident, which revokes their tokens) ends the portal access too.
        let principal =
            portal.service.principal_of_token(&account.token_id).await.map_err(|_| SignInFirst)?;
        Ok(Signed { session_hash: hash, csrf: session.csrf, account, principal, lang })
    }
}

/// The site a manager or resident belongs to (the empty id for other roles: no site has it,
/// so whatever is read with it is empty or not found).
pub(crate) fn site_of(p: &Principal) -> SiteId {
    p.site().cloned().unwrap_or_default()
}

impl Signed {
    /// Refuses a form whose `csrf` field is not this session's token.
    pub fn check_csrf(&self, presented: &str) -> Result<(), PageError> {
        if constant_time_eq(&self.csrf, presented) {
            Ok(())
        } else {
            Err(PageError::Csrf)
        }
    }

    /// Refuses a page of another role (a manager's page to a resident, say) with 403.
    pub fn require(&self, role: Role) -> Result<(), PageError> {
        if self.principal.role() == role {
            Ok(())
        } else {
            Err(PageError::Service(crate::service::Error::forbidden("open this page")))
        }
    }

    /// The site's record (name, zone) as this person may see it.
    pub async fn site(&self, portal: &Portal) -> Result<crate::service::SiteView, PageError> {
        Ok(portal.service.get_site(&self.principal, &site_of(&self.principal)).await?)
    }

    /// The context every signed-in page has, with `extra` merged in.
    pub async fn context(
        &self,
        portal: &Portal,
        current: &str,
        extra: Value,
    ) -> Result<Value, PageError> {
        let site = self.site(portal).await?;
        let base = minijinja::context! {
            lang => self.lang,
            zone => site.zone,
            site_name => site.name,
            csrf => self.csrf,
            me => self.account.display_name,
            role => self.principal.role().as_str(),
            current => current,
        };
        Ok(minijinja::context! { ..extra, ..base })
    }
}

/// `?back=/portal/...`: where to go after switching language.
#[derive(Deserialize)]
pub(crate) struct Back {
    back: Option<String>,
}

/// `GET /portal/lang/{lang}`: remembers the language in a cookie and returns to the page.
/// A plain link, so the switch works without JavaScript and changes nothing but the cookie.
pub(crate) async fn switch_language(Path(lang): Path<String>, Query(q): Query<Back>) -> Response {
    let lang = negotiate(Some(&lang), None);
    // Only portal paths: never an open redirect. And only what a `Location` header can hold
    // (visible ASCII, as the portal's own links are): a decoded `%0a` or any non-ASCII
    // character made the redirect fail with a 500.
    let back = q
        .back
        .filter(|b| b.starts_with("/portal") && !b.contains("//") && !b.contains('\\'))
        .filter(|b| b.bytes().all(|c| c.is_ascii_graphic()))
        .unwrap_or_else(|| "/portal".into());
    let mut r = Redirect::to(&back).into_response();
    let cookie = format!(
        "{LANG_COOKIE}={lang}; Path=/portal; Max-Age=31536000; Secure; HttpOnly; SameSite=Lax"
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_several_headers() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; porter_session=abc"));
        h.append(header::COOKIE, HeaderValue::from_static("porter_lang=fr"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, LANG_COOKIE), Some("fr"));
        assert_eq!(cookie(&h, "b"), None);
    }

    #[test]
    fn csrf_comparison_needs_the_whole_token() {
        assert!(constant_time_eq("abcd", "abcd"));
        assert!(!constant_time_eq("abcd", "abce"));
        assert!(!constant_time_eq("abcd", "abc"));
        assert!(!constant_time_eq("abcd", ""));
    }
}

/// `GET /portal`: the role's home page, or sign-in.
pub(crate) async fn home(signed: Result<Signed, SignInFirst>) -> Response {
    match signed {
        Ok(s) => see_other(home_of(&s.principal)),
        Err(_) => see_other("/portal/sign-in"),
    }
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
