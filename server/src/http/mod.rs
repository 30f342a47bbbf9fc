//! The HTTP layer: parse, authenticate, rate-limit, call the service, map errors to statuses.
//! This module holds the router (every declared route of every resource) and the state the
//! handlers share; `errors` maps refusals to statuses, `extract` reads requests, `ops` wraps
//! every request and serves `/healthz` and `/metrics`, and one module per resource holds its
//! routes.
//!
//! Every error body is `{"code", "message"}`; a 5xx never carries internals (they are logged).
//! Bodies are read as bytes under a size limit and parsed here, so malformed, oversized or
//! hostile JSON always gets a 4xx with a clear message.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::service::{sha256_hex, Code, Kind, Service};

mod audit;
mod carriers;
mod deliveries;
mod doors;
mod drivers;
mod errors;
mod extract;
mod grants;
mod idempotency;
mod issuers;
mod openapi;
mod ops;
mod refusals;
mod revocations;
mod route;
mod sites;
mod tokens;
mod units;
mod webhooks;

pub use openapi::{endpoints, openapi, Endpoint};
pub use refusals::{JsonRefusalAcceptor, JsonRefusalListener, JsonRefusals};

pub use errors::{ApiError, ErrorBody};
pub(crate) use extract::bearer;
pub use extract::{Auth, Body, GrantAuth, RateLimiter};

use errors::err;
use extract::{json_response, ok, page_of, parse_json, BodyLimit};
use idempotency::{create, IdemKey, Replay};
use ops::{count, healthz, metrics};

/// The largest request body accepted, unless a route declares its own limit
/// ([`Declared::with_body_limit`]: audit batches).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

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
