//! The HTTP layer: parse, authenticate, rate-limit, call the service, map errors to statuses.
//!
//! Every error body is `{"code", "message"}`; a 5xx never carries internals (they are logged).
//! Bodies are read as bytes under a size limit and parsed here, so malformed, oversized or
//! hostile JSON always gets a 4xx with a clear message.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{
    DefaultBodyLimit, FromRequestParts, MatchedPath, Path, RawQuery, Request, State,
};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use futures_util::FutureExt;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::service::{self, sha256_hex, Kind, Principal, Service};
use crate::store::IdemRow;

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The rules.
    pub service: Service,
    /// Per-token request budget.
    pub limiter: Arc<RateLimiter>,
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
        let body = serde_json::json!({ "code": self.0.code, "message": self.0.message });
        (status_of(self.0.kind), axum::Json(body)).into_response()
    }
}

fn err(kind: Kind, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError(service::Error::new(kind, code, message))
}

/// The authenticated caller, after the rate limit.
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let token = header.and_then(|h| h.strip_prefix("Bearer ")).ok_or_else(|| {
            err(
                Kind::Unauthenticated,
                "unauthenticated",
                "missing API token: send `Authorization: Bearer <token>`",
            )
        })?;
        let principal = state.service.authenticate(token.trim()).await?;
        // The role gate of the endpoint table, before any body is read; the service then checks
        // the scope (which site, carrier, unit) of every object.
        let path = parts.extensions.get::<MatchedPath>().map(|p| p.as_str().to_string());
        let endpoint = path.as_deref().and_then(|path| {
            ENDPOINTS.iter().find(|e| e.path == path && e.method == parts.method.as_str())
        });
        if let Some(e) = endpoint {
            if !e.roles.contains(&principal.role.as_str()) {
                return Err(ApiError(service::Error::forbidden(&format!(
                    "call {} {}",
                    e.method, e.path
                ))));
            }
        }
        if !state.limiter.allow(&principal.token_id) {
            state.service.metrics().rate_limited.inc();
            return Err(err(
                Kind::RateLimited,
                "rate_limited",
                "too many requests for this token: slow down and retry in a few seconds",
            ));
        }
        Ok(Auth(principal))
    }
}

fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(err(Kind::Invalid, "empty_body", "the request needs a JSON body"));
    }
    // No field of this API may hold a NUL character (PostgreSQL text cannot store one).
    if body.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        return Err(err(Kind::Invalid, "invalid_text", "strings must not contain NUL characters"));
    }
    serde_json::from_slice(body).map_err(|e| {
        err(Kind::Invalid, "invalid_json", format!("the body is not the expected JSON: {e}"))
    })
}

/// Reads the body under the size limit, with our own error shape.
pub struct Body(pub Bytes);

impl axum::extract::FromRequest<AppState> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        match Bytes::from_request(req, state).await {
            Ok(b) => Ok(Body(b)),
            Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError(service::Error::new(
                    Kind::Invalid,
                    "payload_too_large",
                    format!("the body is larger than {MAX_BODY_BYTES} bytes"),
                )))
            }
            Err(_) => {
                Err(err(Kind::Invalid, "unreadable_body", "the request body could not be read"))
            }
        }
    }
}

fn ok<T: Serialize>(status: StatusCode, value: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_string(value).map_err(|e| {
        tracing::error!(error = %e, "serialising a response failed");
        err(Kind::Internal, "internal", "the response could not be produced; retry")
    })?;
    Ok(json_response(status, body))
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => {
            let k = v.to_str().ok().filter(|k| !k.is_empty() && k.len() <= 200);
            Ok(Some(k.ok_or_else(|| {
                err(
                    Kind::Invalid,
                    "invalid_idempotency_key",
                    "Idempotency-Key must be 1..=200 visible ASCII characters",
                )
            })?))
        }
    }
}

/// Runs a creating POST under its `Idempotency-Key`, if any: a repeat with the same key and
/// body gets the stored response; the same key with another body is refused.
async fn create<T, R, F, Fut>(
    state: &AppState,
    p: &Principal,
    headers: &HeaderMap,
    body: Bytes,
    f: F,
) -> Result<Response, ApiError>
where
    T: DeserializeOwned,
    R: Serialize,
    F: FnOnce(T) -> Fut,
    Fut: Future<Output = service::Result<R>>,
{
    let key = idempotency_key(headers)?;
    let store = state.service.store();
    let request_hash = sha256_hex(&body);
    if let Some(key) = key {
        if let Some(stored) =
            store.idempotent(&p.token_id, key).await.map_err(service::Error::from)?
        {
            if stored.request_hash != request_hash {
                return Err(err(
                    Kind::Conflict,
                    "idempotency_key_reused",
                    "this Idempotency-Key was used with a different body: use a fresh key",
                ));
            }
            let status = StatusCode::from_u16(stored.status as u16).unwrap_or(StatusCode::CREATED);
            let mut r = json_response(status, stored.body);
            r.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            return Ok(r);
        }
    }
    let req: T = parse_json(&body)?;
    let out = f(req).await?;
    let json = serde_json::to_string(&out).map_err(|_| err(Kind::Internal, "internal", "retry"))?;
    if let Some(key) = key {
        let row = IdemRow { request_hash, status: 201, body: json.clone() };
        store
            .save_idempotent(&p.token_id, key, &row, service::now())
            .await
            .map_err(service::Error::from)?;
    }
    Ok(json_response(StatusCode::CREATED, json))
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
                    err(Kind::Invalid, "invalid_limit", "limit must be a number between 1 and 200")
                })?)
            }
            _ => {}
        }
    }
    Ok(service::page(after, limit)?)
}

// ---------------------------------------------------------------------------------------------
// The endpoints. Each names the roles that may call it (the authorisation matrix test reads
// this table and checks every other role is refused).

/// One endpoint of the API.
#[derive(Clone, Copy, Debug)]
pub struct Endpoint {
    /// HTTP method.
    pub method: &'static str,
    /// Path template.
    pub path: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Roles allowed to call it (within their own scope).
    pub roles: &'static [&'static str],
}

macro_rules! ep {
    ($m:literal, $p:literal, $s:literal, [$($r:literal),*]) => {
        Endpoint { method: $m, path: $p, summary: $s, roles: &[$($r),*] }
    };
}

/// Every endpoint under `/v1`.
pub const ENDPOINTS: &[Endpoint] = &[
    ep!(
        "POST",
        "/v1/tokens",
        "Create an API token for a role within your scope",
        ["operator", "manager", "carrier"]
    ),
    ep!("POST", "/v1/sites", "Create a site from its root public key", ["operator"]),
    ep!("GET", "/v1/sites", "List sites", ["operator", "manager"]),
    ep!(
        "GET",
        "/v1/sites/{site_id}",
        "Read a site",
        ["operator", "manager", "resident", "device", "carrier", "driver"]
    ),
    ep!("POST", "/v1/sites/{site_id}/doors", "Enrol a door (root-signed enrolment)", ["manager"]),
    ep!("GET", "/v1/sites/{site_id}/doors", "List doors", ["manager"]),
    ep!(
        "POST",
        "/v1/sites/{site_id}/issuers",
        "Make an issuer key to be certified by the root",
        ["manager"]
    ),
    ep!("GET", "/v1/sites/{site_id}/issuers", "List issuer keys", ["manager"]),
    ep!(
        "PUT",
        "/v1/sites/{site_id}/issuers/{issuer_id}/certificate",
        "Upload a root-signed issuer certificate",
        ["manager"]
    ),
    ep!("POST", "/v1/carriers", "Create a carrier", ["operator"]),
    ep!("GET", "/v1/carriers", "List carriers", ["operator", "manager", "carrier"]),
    ep!(
        "POST",
        "/v1/sites/{site_id}/approvals",
        "Approve a carrier at a site with limits",
        ["manager"]
    ),
    ep!("GET", "/v1/sites/{site_id}/approvals", "List approvals", ["manager"]),
    ep!(
        "POST",
        "/v1/sites/{site_id}/approvals/{approval_id}/withdraw",
        "Withdraw an approval",
        ["manager"]
    ),
    ep!("POST", "/v1/drivers", "Register a driver's holder key", ["carrier"]),
    ep!("GET", "/v1/drivers", "List drivers", ["carrier"]),
    ep!("POST", "/v1/drivers/{driver_id}/revoke", "Retire a driver at every site", ["carrier"]),
    ep!("POST", "/v1/sites/{site_id}/units", "Create a unit", ["manager"]),
    ep!("GET", "/v1/sites/{site_id}/units", "List units", ["manager"]),
    ep!("POST", "/v1/sites/{site_id}/units/{unit_id}/residents", "Add a resident", ["manager"]),
    ep!("GET", "/v1/me", "Read your resident profile", ["resident"]),
    ep!("PUT", "/v1/me/opt-out", "Refuse or accept in-building delivery", ["resident"]),
    ep!("GET", "/v1/me/notifications", "Read your notifications", ["resident"]),
    ep!("POST", "/v1/deliveries", "Announce a delivery", ["carrier"]),
    ep!(
        "GET",
        "/v1/deliveries",
        "List deliveries (carrier: own; resident: own unit)",
        ["carrier", "driver", "resident"]
    ),
    ep!(
        "GET",
        "/v1/deliveries/{delivery_id}",
        "Read a delivery",
        ["carrier", "driver", "resident", "manager"]
    ),
    ep!("POST", "/v1/deliveries/{delivery_id}/cancel", "Cancel a delivery", ["carrier"]),
    ep!("POST", "/v1/deliveries/{delivery_id}/grants", "Ask for a grant at the door", ["driver"]),
    ep!(
        "POST",
        "/v1/sites/{site_id}/revocations",
        "Revoke an issuer, driver or grant",
        ["manager"]
    ),
    ep!(
        "GET",
        "/v1/sites/{site_id}/revocations",
        "The pending deny-list for `porter root sign-state`",
        ["manager"]
    ),
    ep!("POST", "/v1/sites/{site_id}/door-states", "Upload a root-signed door state", ["manager"]),
    ep!(
        "GET",
        "/v1/sites/{site_id}/door-states/latest",
        "The newest door state to carry to doors",
        ["manager", "device", "carrier", "driver", "operator"]
    ),
    ep!("POST", "/v1/sites/{site_id}/webhooks", "Add a webhook endpoint", ["manager"]),
    ep!("GET", "/v1/sites/{site_id}/alarms", "List alarms", ["manager"]),
    ep!("GET", "/v1/sites/{site_id}/grants", "List grants issued at the site", ["manager"]),
    ep!(
        "GET",
        "/v1/sites/{site_id}/entries",
        "The access log: carrier, door, time",
        ["manager", "resident", "operator"]
    ),
    ep!(
        "GET",
        "/v1/sites/{site_id}/policy",
        "The delivery-access policy residents see",
        ["manager", "resident", "operator"]
    ),
    ep!("POST", "/v1/receipts", "Upload a door's signed receipt", ["driver", "device"]),
    ep!(
        "POST",
        "/v1/audit-batches",
        "Upload a run of a door's log and its signed head",
        ["driver", "device"]
    ),
];

/// The OpenAPI 3.1 document, built from [`ENDPOINTS`].
pub fn openapi() -> serde_json::Value {
    let mut paths = serde_json::Map::new();
    for e in ENDPOINTS {
        let params: Vec<serde_json::Value> = e
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| serde_json::json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut op = serde_json::json!({
            "summary": e.summary,
            "description": format!("Roles: {}.", e.roles.join(", ")),
            "security": [{"bearer": []}],
            "parameters": params,
            "responses": {
                "200": {"description": "OK"},
                "201": {"description": "Created"},
                "4XX": {"description": "Refused", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        });
        if e.method == "POST" || e.method == "PUT" {
            let mut media = serde_json::json!({"schema": {"type": "object"}});
            if let Some(example) = example_body(e.method, e.path) {
                media["example"] = example;
            }
            op["requestBody"] = serde_json::json!({"content": {"application/json": media}});
            if let Some(params) = op["parameters"].as_array_mut() {
                params.push(serde_json::json!({
                    "name": "Idempotency-Key", "in": "header", "required": false,
                    "schema": {"type": "string"},
                }));
            }
        }
        let entry = paths.entry(e.path.to_string()).or_insert_with(|| serde_json::json!({}));
        entry[e.method.to_lowercase()] = op;
    }
    serde_json::json!({
        "openapi": "3.1.0",
        "info": {"title": "Porter server", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "string"}, "message": {"type": "string"}}}},
        },
    })
}

/// An example request body per creating endpoint, for the OpenAPI document.
fn example_body(method: &str, path: &str) -> Option<serde_json::Value> {
    use serde_json::json;
    Some(match (method, path) {
        ("POST", "/v1/tokens") => {
            json!({"role": "manager", "site_id": "site_…", "label": "front desk"})
        }
        ("POST", "/v1/sites") => {
            json!({"name": "12 Rue Exemple", "site_number": 12345, "root_key": "<64 hex>", "utc_offset_minutes": 60})
        }
        ("POST", "/v1/sites/{site_id}/doors") => {
            json!({"name": "street door", "enrolment": "<hex from porter root enroll-device>"})
        }
        ("PUT", "/v1/sites/{site_id}/issuers/{issuer_id}/certificate") => {
            json!({"certificate": "<hex from porter root certify-issuer>"})
        }
        ("POST", "/v1/carriers") => json!({"name": "Rapid Parcel"}),
        ("POST", "/v1/sites/{site_id}/approvals") => {
            json!({"carrier_id": "car_…", "issuer_id": "iss_…", "doors": [1], "max_uses": 2, "max_lifetime_minutes": 15})
        }
        ("POST", "/v1/drivers") => json!({"holder_key": "<64 hex>", "label": "van 7"}),
        ("POST", "/v1/sites/{site_id}/units") => json!({"label": "4B"}),
        ("POST", "/v1/sites/{site_id}/units/{unit_id}/residents") => {
            json!({"display_name": "A. Martin"})
        }
        ("PUT", "/v1/me/opt-out") => json!({"opted_out": true}),
        ("POST", "/v1/deliveries") => {
            json!({"site_id": "site_…", "unit": "4B", "tracking_number": "1Z999AA10123456784", "window_start": 1795435200, "window_end": 1795442400})
        }
        ("POST", "/v1/deliveries/{delivery_id}/grants") => {
            json!({"uses": 1, "lifetime_minutes": 10, "doors": [1]})
        }
        ("POST", "/v1/sites/{site_id}/revocations") => json!({"kind": "driver", "id": "drv_…"}),
        ("POST", "/v1/sites/{site_id}/door-states") => {
            json!({"state": "<hex from porter root sign-state>"})
        }
        ("POST", "/v1/sites/{site_id}/webhooks") => {
            json!({"url": "http://resident-app.internal:8080/porter"})
        }
        ("POST", "/v1/receipts") => {
            json!({"site_id": "site_…", "door_number": 1, "receipt": "<hex>"})
        }
        ("POST", "/v1/audit-batches") => {
            json!({"site_id": "site_…", "door_number": 1, "records": ["<hex>"], "head": "<hex>"})
        }
        _ => return None,
    })
}

type Res = Result<Response, ApiError>;
type S = State<AppState>;

/// The whole router: `/v1`, `/healthz`, `/metrics`.
pub fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/v1/openapi.json", get(|| async { axum::Json(openapi()) }))
        .route("/v1/tokens", post(create_token))
        .route("/v1/sites", post(create_site).get(list_sites))
        .route("/v1/sites/{site_id}", get(get_site))
        .route("/v1/sites/{site_id}/doors", post(add_door).get(list_doors))
        .route("/v1/sites/{site_id}/issuers", post(create_issuer).get(list_issuers))
        .route("/v1/sites/{site_id}/issuers/{issuer_id}/certificate", put(upload_certificate))
        .route("/v1/carriers", post(create_carrier).get(list_carriers))
        .route("/v1/sites/{site_id}/approvals", post(approve).get(list_approvals))
        .route("/v1/sites/{site_id}/approvals/{approval_id}/withdraw", post(withdraw))
        .route("/v1/drivers", post(register_driver).get(list_drivers))
        .route("/v1/drivers/{driver_id}/revoke", post(retire_driver))
        .route("/v1/sites/{site_id}/units", post(create_unit).get(list_units))
        .route("/v1/sites/{site_id}/units/{unit_id}/residents", post(add_resident))
        .route("/v1/me", get(me))
        .route("/v1/me/opt-out", put(opt_out))
        .route("/v1/me/notifications", get(notifications))
        .route("/v1/deliveries", post(announce).get(list_deliveries))
        .route("/v1/deliveries/{delivery_id}", get(get_delivery))
        .route("/v1/deliveries/{delivery_id}/cancel", post(cancel_delivery))
        .route("/v1/deliveries/{delivery_id}/grants", post(issue_grant))
        .route("/v1/sites/{site_id}/revocations", post(revoke).get(list_revocations))
        .route("/v1/sites/{site_id}/door-states", post(upload_state))
        .route("/v1/sites/{site_id}/door-states/latest", get(latest_state))
        .route("/v1/sites/{site_id}/webhooks", post(add_webhook))
        .route("/v1/sites/{site_id}/alarms", get(alarms))
        .route("/v1/sites/{site_id}/grants", get(site_grants))
        .route("/v1/sites/{site_id}/entries", get(entries))
        .route("/v1/sites/{site_id}/policy", get(policy))
        .route("/v1/receipts", post(receipt))
        .route("/v1/audit-batches", post(audit_batch));
    v1.route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(|| async {
            err(Kind::NotFound, "no_such_endpoint", "no such endpoint: see /v1/openapi.json")
        })
        .method_not_allowed_fallback(|| async {
            let body = serde_json::json!({
                "code": "method_not_allowed",
                "message": "this endpoint does not take that method: see /v1/openapi.json",
            });
            (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body))
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .with_state(state)
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
        err(Kind::Invalid, "invalid_path", "the path holds characters no Porter id has")
            .into_response()
    } else {
        // A panic in a handler is a bug: answer 500 with no internals instead of dropping the
        // connection, and log it.
        match AssertUnwindSafe(next.run(req)).catch_unwind().await {
            Ok(response) => response,
            Err(_) => {
                tracing::error!(%method, route = route.as_deref().unwrap_or("-"), "handler panicked");
                let body = serde_json::json!({
                    "code": "internal",
                    "message": "the server failed on this request; it has been logged",
                });
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
            err(Kind::Internal, "database_unavailable", "the database does not answer")
                .into_response()
        }
    }
}

async fn metrics(State(state): S) -> Response {
    let pending = state.service.store().outbox_pending().await.unwrap_or(-1);
    let mut r = state.service.metrics().render(pending).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    r
}

async fn create_token(State(s): S, Auth(p): Auth, h: HeaderMap, Body(b): Body) -> Res {
    create(&s, &p, &h, b, |r| s.service.create_token(&p, r)).await
}
async fn create_site(State(s): S, Auth(p): Auth, h: HeaderMap, Body(b): Body) -> Res {
    create(&s, &p, &h, b, |r| s.service.create_site(&p, r)).await
}
async fn list_sites(State(s): S, Auth(p): Auth, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_sites(&p, &page_of(&q)?).await?)
}
async fn get_site(State(s): S, Auth(p): Auth, Path(site): Path<String>) -> Res {
    ok(StatusCode::OK, &s.service.get_site(&p, &site).await?)
}
async fn add_door(
    State(s): S,
    Auth(p): Auth,
    Path(site): Path<String>,
    h: HeaderMap,
    Body(b): Body,
) -> Res {
    create(&s, &p, &h, b, |r| s.service.add_door(&p, &site, r)).await
}
async fn list_doors(State(s): S, Auth(p): Auth, Path(site): Path<String>, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_doors(&p, &site, &page_of(&q)?).await?)
}
async fn create_issuer(
    State(s): S,
    Auth(p): Auth,
    Path(site): Path<String>,
    h: HeaderMap,
    Body(b): Body,
) -> Res {
    let b = if b.is_empty() { Bytes::from_static(b"{}") } else { b };
    create(&s, &p, &h, b, |_: serde_json::Map<String, serde_json::Value>| {
        s.service.create_issuer(&p, &site)
    })
    .await
}
async fn list_issuers(State(s): S, Auth(p): Auth, Path(site): Path<String>, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_issuers(&p, &site, &page_of(&q)?).await?)
}
async fn upload_certificate(
    State(s): S,
    Auth(p): Auth,
    Path((site, issuer)): Path<(String, String)>,
    Body(b): Body,
) -> Res {
    let req = parse_json(&b)?;
    ok(StatusCode::OK, &s.service.upload_certificate(&p, &site, &issuer, req).await?)
}
async fn create_carrier(State(s): S, Auth(p): Auth, h: HeaderMap, Body(b): Body) -> Res {
    create(&s, &p, &h, b, |r| s.service.create_carrier(&p, r)).await
}
async fn list_carriers(State(s): S, Auth(p): Auth, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_carriers(&p, &page_of(&q)?).await?)
}
async fn approve(
    State(s): S,
    Auth(p): Auth,
    Path(site): Path<String>,
    h: HeaderMap,
    Body(b): Body,
) -> Res {
    create(&s, &p, &h, b, |r| s.service.approve(&p, &site, r)).await
}
async fn list_approvals(State(s): S, Auth(p): Auth, Path(site): Path<String>, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_approvals(&p, &site, &page_of(&q)?).await?)
}
async fn withdraw(
    State(s): S,
    Auth(p): Auth,
    Path((site, approval)): Path<(String, String)>,
) -> Res {
    s.service.withdraw_approval(&p, &site, &approval).await?;
    ok(StatusCode::OK, &serde_json::json!({"withdrawn": approval}))
}
async fn register_driver(State(s): S, Auth(p): Auth, h: HeaderMap, Body(b): Body) -> Res {
    create(&s, &p, &h, b, |r| s.service.register_driver(&p, r)).await
}
async fn list_drivers(State(s): S, Auth(p): Auth, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_drivers(&p, &page_of(&q)?).await?)
}
async fn retire_driver(State(s): S, Auth(p): Auth, Path(id): Path<String>) -> Res {
    ok(StatusCode::OK, &s.service.retire_driver(&p, &id).await?)
}
async fn create_unit(
    State(s): S,
    Auth(p): Auth,
    Path(site): Path<String>,
    h: HeaderMap,
    Body(b): Body,
) -> Res {
    create(&s, &p, &h, b, |r| s.service.create_unit(&p, &site, r)).await
}
async fn list_units(State(s): S, Auth(p): Auth, Path(site): Path<String>, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_units(&p, &site, &page_of(&q)?).await?)
}
async fn add_resident(
    State(s): S,
    Auth(p): Auth,
    Path((site, unit)): Path<(String, String)>,
    h: HeaderMap,
    Body(b): Body,
) -> Res {
    create(&s, &p, &h, b, |r| s.service.add_resident(&p, &site, &unit, r)).await
}
async fn me(State(s): S, Auth(p): Auth) -> Res {
    ok(StatusCode::OK, &s.service.me(&p).await?)
}
async fn opt_out(State(s): S, Auth(p): Auth, Body(b): Body) -> Res {
    let req = parse_json(&b)?;
    ok(StatusCode::OK, &s.service.set_opt_out(&p, req).await?)
}
async fn notifications(State(s): S, Auth(p): Auth, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.my_notifications(&p, &page_of(&q)?).await?)
}
async fn announce(State(s): S, Auth(p): Auth, h: HeaderMap, Body(b): Body) -> Res {
    create(&s, &p, &h, b, |r| s.service.announce(&p, r)).await
}
async fn list_deliveries(State(s): S, Auth(p): Auth, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_deliveries(&p, &page_of(&q)?).await?)
}
async fn get_delivery(State(s): S, Auth(p): Auth, Path(id): Path<String>) -> Res {
    ok(StatusCode::OK, &s.service.get_delivery(&p, &id).await?)
}
async fn cancel_delivery(State(s): S, Auth(p): Auth, Path(id): Path<String>) -> Res {
    ok(StatusCode::OK, &s.service.cancel_delivery(&p, &id).await?)
}
async fn issue_grant(
    State(s): S,
    Auth(p): Auth,
    Path(id): Path<String>,
    h: HeaderMap,
    Body(b): Body,
) -> Res {
    // Not through `create`: the idempotency record commits in the grant's own transaction.
    let idem = idempotency_key(&h)?
        .map(|key| service::Idempotency { key: key.to_string(), request_hash: sha256_hex(&b) });
    if let Some(idem) = &idem {
        if let Some(replay) = s.service.replayed_grant(&p, idem).await? {
            let mut r = ok(StatusCode::CREATED, &replay)?;
            r.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            return Ok(r);
        }
    }
    let req = parse_json(&b)?;
    ok(StatusCode::CREATED, &s.service.issue_grant(&p, &id, req, idem).await?)
}
async fn revoke(
    State(s): S,
    Auth(p): Auth,
    Path(site): Path<String>,
    h: HeaderMap,
    Body(b): Body,
) -> Res {
    create(&s, &p, &h, b, |r| s.service.revoke(&p, &site, r)).await
}
async fn list_revocations(State(s): S, Auth(p): Auth, Path(site): Path<String>) -> Res {
    ok(StatusCode::OK, &s.service.list_revocations(&p, &site).await?)
}
async fn upload_state(
    State(s): S,
    Auth(p): Auth,
    Path(site): Path<String>,
    h: HeaderMap,
    Body(b): Body,
) -> Res {
    create(&s, &p, &h, b, |r| s.service.upload_door_state(&p, &site, r)).await
}
async fn latest_state(State(s): S, Auth(p): Auth, Path(site): Path<String>) -> Res {
    match s.service.latest_door_state(&p, &site).await? {
        Some(state) => ok(StatusCode::OK, &state),
        None => Err(err(
            Kind::NotFound,
            "no_door_state",
            "the site root has not signed a door state yet",
        )),
    }
}
async fn add_webhook(
    State(s): S,
    Auth(p): Auth,
    Path(site): Path<String>,
    h: HeaderMap,
    Body(b): Body,
) -> Res {
    create(&s, &p, &h, b, |r| s.service.add_webhook(&p, &site, r)).await
}
async fn alarms(State(s): S, Auth(p): Auth, Path(site): Path<String>, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_alarms(&p, &site, &page_of(&q)?).await?)
}
async fn site_grants(State(s): S, Auth(p): Auth, Path(site): Path<String>, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_grants(&p, &site, &page_of(&q)?).await?)
}
async fn entries(State(s): S, Auth(p): Auth, Path(site): Path<String>, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_entries(&p, &site, &page_of(&q)?).await?)
}
async fn policy(State(s): S, Auth(p): Auth, Path(site): Path<String>) -> Res {
    ok(StatusCode::OK, &s.service.policy(&p, &site).await?)
}
async fn receipt(State(s): S, Auth(p): Auth, Body(b): Body) -> Res {
    let req = parse_json(&b)?;
    ok(StatusCode::OK, &s.service.ingest_receipt(&p, req).await?)
}
async fn audit_batch(State(s): S, Auth(p): Auth, Body(b): Body) -> Res {
    let req = parse_json(&b)?;
    ok(StatusCode::OK, &s.service.ingest_batch(&p, req).await?)
}
