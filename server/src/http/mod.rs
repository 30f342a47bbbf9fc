//! The HTTP layer: parse, authenticate, rate-limit, call the service, map errors to statuses.
//!
//! Every error body is `{"code", "message"}`; a 5xx never carries internals (they are logged).
//! Bodies are read as bytes under a size limit and parsed here, so malformed, oversized or
//! hostile JSON always gets a 4xx with a clear message.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, MatchedPath, RawQuery, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::FutureExt;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::service::{self, sha256_hex, Code, Kind, Principal, Service};

mod audit;
mod carriers;
mod deliveries;
mod doors;
mod drivers;
mod grants;
mod idempotency;
mod issuers;
mod openapi;
mod refusals;
mod revocations;
mod sites;
mod tokens;
mod units;
mod webhooks;

pub use openapi::{endpoints, openapi, Endpoint};
pub use refusals::{JsonRefusalAcceptor, JsonRefusalListener, JsonRefusals};

use idempotency::{create, IdemKey, Replay};

/// The largest request body accepted, unless a route declares its own limit
/// ([`Declared::with_body_limit`]: audit batches).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The body limit in force for a request (set per route, read when a body is too large).
#[derive(Clone, Copy, Debug)]
struct BodyLimit(usize);

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The rules.
    pub service: Service,
    /// Per-token request budget.
    pub limiter: Arc<RateLimiter>,
    /// SHA-256 of the bearer token `/metrics` requires; `None`: `/metrics` is closed.
    pub metrics_token_hash: Option<Arc<str>>,
}

impl AppState {
    /// The state of a router over `service`, allowing `rate_limit_per_minute` per token, with
    /// `/metrics` closed.
    pub fn new(service: Service, rate_limit_per_minute: u32) -> AppState {
        AppState {
            service,
            limiter: Arc::new(RateLimiter::new(rate_limit_per_minute)),
            metrics_token_hash: None,
        }
    }

    /// Opens `/metrics` to callers presenting `Authorization: Bearer <token>`.
    pub fn with_metrics_token(mut self, token: Option<&str>) -> AppState {
        self.metrics_token_hash = token.map(|t| Arc::from(sha256_hex(t.as_bytes())));
        self
    }
}

/// The token of an `Authorization: Bearer <token>` header; the scheme name is
/// case-insensitive (RFC 9110 section 11.1).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// A token bucket per API token: `per_minute` requests, refilled continuously.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` requests a minute per token (bursts up to that).
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `token`'s bucket; false if it is empty.
    pub fn allow(&self, token: &str) -> bool {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 100_000 {
            buckets.retain(|_, (_, at)| now.duration_since(*at).as_secs() < 120);
        }
        let (tokens, at) = buckets.entry(token.to_string()).or_insert((self.per_minute, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.per_minute / 60.0)
            .min(self.per_minute);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Every error answer's body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// A stable machine code: match on it.
    pub code: Code,
    /// What went wrong and what to do, for people.
    pub message: String,
}

/// A service error as an HTTP response.
#[derive(Debug)]
pub struct ApiError(pub service::Error);

impl From<service::Error> for ApiError {
    fn from(e: service::Error) -> Self {
        ApiError(e)
    }
}

fn status_of(kind: Kind) -> StatusCode {
    match kind {
        Kind::Invalid => StatusCode::BAD_REQUEST,
        Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::Refused => StatusCode::UNPROCESSABLE_ENTITY,
        Kind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        Kind::Internal => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(self.0.kind);
        let body = ErrorBody { code: self.0.code, message: self.0.message };
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // Every 503 is worth retrying (RFC 9110 section 10.2.3): say when.
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

fn err(kind: Kind, code: Code, message: impl Into<String>) -> ApiError {
    ApiError(service::Error::new(kind, code, message))
}

/// The authenticated caller, after the rate limit.
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers).ok_or_else(|| {
            err(
                Kind::Unauthenticated,
                Code::Unauthenticated,
                "missing API token: send `Authorization: Bearer <token>`",
            )
        })?;
        let principal = state.service.authenticate(token).await?;
        // The role gate, before any body is read; fails closed: a route without a declaration
        // is refused to every role. The service then checks the scope (which site, carrier,
        // unit) of every object.
        let endpoint = parts.extensions.get::<Endpoint>().copied();
        match endpoint {
            Some(e) if e.roles.contains(&principal.role()) => {}
            Some(e) => {
                return Err(ApiError(service::Error::forbidden(&format!(
                    "call {} {}",
                    e.method, e.path
                ))))
            }
            None => {
                return Err(ApiError(service::Error::forbidden(
                    "call an endpoint that declares no roles",
                )))
            }
        }
        if !state.limiter.allow(principal.token_id().as_str()) {
            state.service.metrics().rate_limited.inc();
            return Err(err(
                Kind::RateLimited,
                Code::RateLimited,
                "too many requests for this token: slow down and retry in a few seconds",
            ));
        }
        Ok(Auth(principal))
    }
}

fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(err(Kind::Invalid, Code::EmptyBody, "the request needs a JSON body"));
    }
    // No field of this API may hold a NUL character (PostgreSQL text cannot store one).
    if body.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        return Err(err(
            Kind::Invalid,
            Code::InvalidText,
            "strings must not contain NUL characters",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        err(Kind::Invalid, Code::InvalidJson, format!("the body is not the expected JSON: {e}"))
    })
}

/// Reads the body under the size limit, with our own error shape.
pub struct Body(pub Bytes);

impl axum::extract::FromRequest<AppState> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let limit = req.extensions().get::<BodyLimit>().map_or(MAX_BODY_BYTES, |l| l.0);
        match Bytes::from_request(req, state).await {
            Ok(b) => Ok(Body(b)),
            Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError(service::Error::new(
                    Kind::Invalid,
                    Code::PayloadTooLarge,
                    format!("the body is larger than {limit} bytes, this endpoint's limit"),
                )))
            }
            Err(_) => {
                Err(err(Kind::Invalid, Code::UnreadableBody, "the request body could not be read"))
            }
        }
    }
}

fn ok<T: Serialize>(status: StatusCode, value: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_string(value).map_err(|e| {
        tracing::error!(error = %e, "serialising a response failed");
        err(Kind::Internal, Code::Internal, "the response could not be produced; retry")
    })?;
    Ok(json_response(status, body))
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn page_of(q: &RawQuery) -> Result<crate::store::Page, ApiError> {
    let mut after = None;
    let mut limit = None;
    for pair in q.0.as_deref().unwrap_or("").split('&').filter(|s| !s.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "after" => after = Some(v.to_string()),
            "limit" => {
                limit = Some(v.parse::<i64>().map_err(|_| {
                    err(
                        Kind::Invalid,
                        Code::InvalidLimit,
                        "limit must be a number between 1 and 200",
                    )
                })?)
            }
            _ => {}
        }
    }
    Ok(service::page(after, limit)?)
}

type Res = Result<Response, ApiError>;
type S = State<AppState>;

/// A route: its declaration and its handler.
pub struct Declared {
    /// What the router, the role gate and the OpenAPI document know of it.
    pub endpoint: Endpoint,
    handler: axum::routing::MethodRouter<AppState>,
    /// The largest body the route reads.
    pub body_limit: usize,
}

impl Declared {
    /// Lets the route read bodies up to `bytes` (instead of [`MAX_BODY_BYTES`]): for a
    /// request whose documented maximum needs more, derived from that maximum.
    fn with_body_limit(self, bytes: usize) -> Declared {
        Declared { body_limit: bytes, ..self }
    }
}

/// Pairs a declaration with its handler.
fn declare(endpoint: Endpoint, handler: axum::routing::MethodRouter<AppState>) -> Declared {
    Declared { endpoint, handler, body_limit: MAX_BODY_BYTES }
}

/// Every declared route of every resource: the only routes the router has under `/v1`.
fn declared() -> Vec<Declared> {
    [
        audit::routes(),
        carriers::routes(),
        deliveries::routes(),
        doors::routes(),
        drivers::routes(),
        grants::routes(),
        issuers::routes(),
        revocations::routes(),
        sites::routes(),
        tokens::routes(),
        units::routes(),
        webhooks::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The whole router: `/v1`, `/healthz`, `/metrics`.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// The whole router with `extra` routes (the web portal) beside the API: they share the
/// request log, the metrics, the path guard and the body limit.
pub fn router_with(state: AppState, extra: Router) -> Router {
    let mut v1 = Router::new().route("/v1/openapi.json", get(|| async { axum::Json(openapi()) }));
    for d in declared() {
        // The declaration travels with the request: the role gate in `Auth` reads it.
        // The route's own body limit overrides the router's default below.
        type Handler = axum::routing::MethodRouter<AppState>;
        let handler: Handler = d.handler.layer(axum::Extension(d.endpoint));
        let handler: Handler = handler.layer(axum::Extension(BodyLimit(d.body_limit)));
        let handler: Handler = handler.layer(DefaultBodyLimit::max(d.body_limit));
        v1 = v1.route(d.endpoint.path, handler);
    }
    v1.route("/healthz", get(healthz))
        // Liveness: the process answers (no database); `/healthz` is readiness.
        .route("/livez", get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }))
        .route("/metrics", get(metrics))
        .fallback(|| async {
            err(Kind::NotFound, Code::NoSuchEndpoint, "no such endpoint: see /v1/openapi.json")
        })
        .method_not_allowed_fallback(|| async {
            let body = ErrorBody {
                code: Code::MethodNotAllowed,
                message: "this endpoint does not take that method: see /v1/openapi.json".into(),
            };
            (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body))
        })
        .with_state(state.clone())
        .merge(extra)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state, count))
}

/// Guards paths, counts responses and logs one structured line per request (never a body or
/// a token).
async fn count(State(state): S, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    // Ids in paths are plain ASCII: refuse encoded NULs and control characters before they
    // reach a handler or the database.
    let path = req.uri().path();
    let hostile = path.len() > 1024
        || path.to_ascii_lowercase().contains("%00")
        || path.bytes().any(|b| b.is_ascii_control())
        || !percent_decodes_to_utf8(path);
    let response = if hostile {
        err(Kind::Invalid, Code::InvalidPath, "the path holds characters no Porter id has")
            .into_response()
    } else {
        // The handler runs in its own task, so that a client hanging up cannot cancel it
        // half-way: dropped at an `.await` inside the database driver (in BEGIN, say), a
        // request could hand its pooled connection back still inside a transaction, where it
        // traps the next user's writes. A request, once read, runs to its end.
        // A panic in a handler is a bug: answer 500 with no internals instead of dropping the
        // connection, and log it.
        match tokio::spawn(AssertUnwindSafe(next.run(req)).catch_unwind()).await {
            Ok(Ok(response)) => response,
            Ok(Err(_)) | Err(_) => {
                tracing::error!(%method, route = route.as_deref().unwrap_or("-"), "handler panicked");
                let body = ErrorBody {
                    code: Code::Internal,
                    message: "the server failed on this request; it has been logged".into(),
                };
                (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
            }
        }
    };
    let status = response.status();
    tracing::info!(
        %method,
        route = route.as_deref().unwrap_or("-"),
        status = status.as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    let m = state.service.metrics();
    if status.is_server_error() {
        m.http_server_errors.inc()
    } else if status.is_client_error() {
        m.http_client_errors.inc()
    } else {
        m.http_ok.inc()
    }
    response
}

/// Whether `%XX` escapes in `path` decode to valid UTF-8 (what the path extractor needs).
fn percent_decodes_to_utf8(path: &str) -> bool {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'%', Some(hex)) => {
                std::str::from_utf8(hex).ok().and_then(|h| u8::from_str_radix(h, 16).ok())
            }
            _ => None,
        };
        match decoded {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    std::str::from_utf8(&out).is_ok()
}

async fn healthz(State(state): S) -> Response {
    match state.service.store().ping().await {
        Ok(()) => axum::Json(serde_json::json!({"status": "ok"})).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            err(Kind::Internal, Code::DatabaseUnavailable, "the database does not answer")
                .into_response()
        }
    }
}

/// Prometheus text, for callers with the configured metrics token (compared as SHA-256
/// digests, so the comparison's timing says nothing about the token).
async fn metrics(State(state): S, headers: HeaderMap) -> Response {
    let presented = bearer(&headers).map(|t| sha256_hex(t.as_bytes()));
    match (&state.metrics_token_hash, presented) {
        (None, _) => {
            return err(
                Kind::Forbidden,
                Code::MetricsDisabled,
                "/metrics is closed: set metrics_token (PORTER_METRICS_TOKEN) and send it as a bearer token",
            )
            .into_response()
        }
        (Some(want), Some(got)) if want.as_ref() == got => {}
        (Some(_), _) => {
            return err(
                Kind::Unauthenticated,
                Code::Unauthenticated,
                "send the configured metrics token: `Authorization: Bearer <metrics_token>`",
            )
            .into_response()
        }
    }
    let pending = state.service.store().outbox_pending().await.unwrap_or(-1);
    let mut r = state.service.metrics().render(pending).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    r
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use axum::routing::get;
    use axum::Router;

    use super::{AppState, Auth};
    use crate::metrics::Metrics;
    use crate::service::Service;
    use crate::store::Store;

    /// A route that reaches for a caller without a declaration is refused to every role, the
    /// operator included: the gate fails closed.
    #[tokio::test]
    async fn a_route_without_a_declaration_is_refused() {
        let dir = std::env::temp_dir().join(format!("porter-gate-{:x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::connect(&format!("sqlite://{}/p.db", dir.display())).await.unwrap();
        let operator = Service::bootstrap_operator(&store, "t").await.unwrap().token;
        let state = AppState::new(Service::new(store, Arc::new(Metrics::default())), 100);
        let app: Router = Router::new()
            .route("/v1/undeclared", get(|Auth(_): Auth| async { "reached" }))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/undeclared", listener.local_addr().unwrap());
        let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let auth = format!("Bearer {operator}");
        let r = crate::client::request(
            "GET",
            &url,
            &[("Authorization", &auth)],
            b"",
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        task.abort();
        assert_eq!(r.status, 403, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json()["code"], "forbidden");
    }
}
