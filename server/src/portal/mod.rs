//! The web portal (`/portal`): server-rendered pages for property managers and residents.
//!
//! People sign in with passkeys (WebAuthn) after a one-time invitation; a session cookie maps
//! to an account, and the account to the API token whose role and scope it acts with, so every
//! page calls the same service functions, under the same scope checks, as the API.
//!
//! ```text
//! i18n.rs      English and French (Fluent), chosen from a cookie or Accept-Language
//! render.rs    minijinja templates (templates/), times in the site's zone
//! session.rs   cookies, sessions (stored hashed), CSRF synchroniser tokens, the extractors,
//!              sign-out
//! invitations.rs  one-time invitation links and their page
//! passkeys.rs  passkey registration and sign-in (webauthn-rs)
//! manager.rs   the manager's pages;  resident.rs  the resident's pages
//! store.rs     the portal's rows
//! ```

pub mod i18n;
mod invitations;
pub mod mail;
mod manager;
mod passkeys;
mod reads;
pub mod render;
mod resident;
mod session;
pub mod store;

use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::Value;
use webauthn_rs::prelude::Url;
use webauthn_rs::{Webauthn, WebauthnBuilder};

use crate::service::{self, Principal, Role, Service};

pub use invitations::{invite_manager, invite_resident, Invitation, INVITATION_LIFETIME};
pub use session::SESSION_LIFETIME;

/// What the portal's handlers share.
#[derive(Clone, Debug)]
pub struct Portal {
    service: Service,
    pages: render::Pages,
    catalog: Arc<i18n::Catalog>,
    webauthn: Arc<Webauthn>,
    base_url: Url,
}

/// Sign-in attempts allowed per client address per minute (counted in the database: one limit
/// across every process).
pub const SIGN_IN_ATTEMPTS_PER_MINUTE: u32 = 10;

impl Portal {
    /// A portal served at `base_url` (its origin is the WebAuthn relying party: passkeys made
    /// for one origin work there only).
    /// With `any_port`, passkeys are accepted from the host on any port (a server on port 0).
    pub fn new(service: Service, base_url: &str, any_port: bool) -> Result<Portal, String> {
        let base_url = Url::parse(base_url)
            .map_err(|e| format!("portal_url {base_url:?} is not a URL: {e}"))?;
        let host = base_url
            .host_str()
            .ok_or_else(|| format!("portal_url {base_url} has no host name"))?
            .to_string();
        let webauthn = WebauthnBuilder::new(&host, &base_url)
            .and_then(|b| b.rp_name("Porter").allow_any_port(any_port).build())
            .map_err(|e| format!("portal_url {base_url} cannot be a passkey origin: {e}"))?;
        let catalog = Arc::new(i18n::Catalog::load()?);
        Ok(Portal {
            service,
            pages: render::Pages::load(catalog.clone())?,
            catalog,
            webauthn: Arc::new(webauthn),
            base_url,
        })
    }

    /// The absolute address of a portal path (for invitation links).
    pub fn link(&self, path: &str) -> String {
        self.base_url.join(path).map(|u| u.to_string()).unwrap_or_else(|_| path.to_string())
    }

    /// The service the pages call.
    pub fn service(&self) -> &Service {
        &self.service
    }
}

/// The portal's routes, under `/portal`.
pub fn router(portal: Portal) -> Router {
    Router::new()
        .route("/portal", get(session::home))
        .route("/portal/static/portal.css", get(stylesheet))
        .route("/portal/static/passkey.js", get(script))
        .route("/portal/lang/{lang}", get(session::switch_language))
        .route("/portal/sign-in", get(passkeys::sign_in_page))
        .route("/portal/sign-in/start", post(passkeys::sign_in_start))
        .route("/portal/sign-in/finish", post(passkeys::sign_in_finish))
        .route("/portal/sign-out", post(session::sign_out))
        .route("/portal/invitations/{secret}", get(invitations::invitation_page))
        .route("/portal/invitations/{secret}/start", post(passkeys::register_start))
        .route("/portal/invitations/{secret}/finish", post(passkeys::register_finish))
        .merge(manager::routes())
        .merge(resident::routes())
        // After every route: a portal path asked with another method gets the portal's error
        // page (axum's own 405 has no body).
        .method_not_allowed_fallback(|| async { PageError::MethodNotAllowed })
        .with_state(portal)
}

async fn stylesheet() -> Response {
    static_file("text/css; charset=utf-8", include_str!("../../static/portal.css"))
}

async fn script() -> Response {
    static_file("text/javascript; charset=utf-8", include_str!("../../static/passkey.js"))
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
    r
}

/// A rendered page, or the reason it could not be shown.
pub(crate) type PageResult = Result<Response, PageError>;

/// Why a page is not shown: a service refusal (shown to the person in their language) or a
/// template bug (logged).
#[derive(Debug)]
pub(crate) enum PageError {
    /// The service refused or failed.
    Service(service::Error),
    /// The page could not be rendered.
    Render(String),
    /// The form's CSRF token did not match the session's.
    Csrf,
    /// The page exists, not for this method (a form posted to a page, say).
    MethodNotAllowed,
}

impl From<service::Error> for PageError {
    fn from(e: service::Error) -> Self {
        PageError::Service(e)
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(e: crate::store::StoreError) -> Self {
        PageError::Service(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            PageError::Service(e) => {
                let status = match e.kind {
                    service::Kind::Invalid | service::Kind::Refused => {
                        StatusCode::UNPROCESSABLE_ENTITY
                    }
                    service::Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
                    service::Kind::Forbidden => StatusCode::FORBIDDEN,
                    service::Kind::NotFound => StatusCode::NOT_FOUND,
                    service::Kind::Conflict => StatusCode::CONFLICT,
                    service::Kind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
                    service::Kind::Internal => StatusCode::SERVICE_UNAVAILABLE,
                };
                (status, e.message)
            }
            PageError::Render(e) => {
                tracing::error!(error = %e, "a portal page failed to render");
                (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be shown".to_string())
            }
            PageError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "this page does not take that method: follow the portal's links and forms"
                    .to_string(),
            ),
            PageError::Csrf => (
                StatusCode::FORBIDDEN,
                "this form is stale or did not come from the portal: reload the page and try again"
                    .to_string(),
            ),
        };
        // A plain, accessible page: the error pages cannot depend on the template engine
        // that may have failed.
        let body = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>Porter: {code}</title><link rel=\"stylesheet\" href=\"/portal/static/portal.css\">\
             </head><body><main id=\"main\"><h1>{code}</h1><p role=\"alert\">{msg}</p>\
             <p><a href=\"/portal\">Porter</a></p></main></body></html>",
            code = status.as_u16(),
            msg = escape(&message),
        );
        let mut r = (status, body).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        r
    }
}

/// HTML-escapes text for the hand-written error page.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// An HTML response with the security headers every portal page carries.
pub(crate) fn html(body: String) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// After a form: back to a page (303, so the browser GETs it).
pub(crate) fn see_other(path: &str) -> Response {
    Redirect::to(path).into_response()
}

/// The home page of a role.
pub(crate) fn home_of(p: &Principal) -> &'static str {
    match p.role() {
        Role::Manager => "/portal/manager",
        Role::Resident => "/portal/resident",
        _ => "/portal/sign-in",
    }
}

/// The links under a list that is shown a page at a time (`templates/pager.html`): back to the
/// first page when this is not it, and on to the next when there is one. A log reads newest
/// first ("older entries"); other lists in the API's order ("next page").
pub(crate) fn pager(first: Option<String>, next: Option<String>, log: bool) -> Value {
    let (first_text, next_text) =
        if log { ("pager-newest", "pager-older") } else { ("pager-first", "pager-next") };
    minijinja::context! { first, next, first_text, next_text }
}

/// Renders `template` with `context`, adding what every page needs.
pub(crate) fn page(portal: &Portal, template: &str, context: Value) -> PageResult {
    portal.pages.render(template, context).map(html).map_err(PageError::Render)
}
