//! The fuzz target's entry point (feature `fuzzing`, used only by `fuzz/`): one request, built
//! from the fuzzer's bytes, through the real router (every route's extraction, authentication,
//! role gate, body parsing and validation) over an in-memory SQLite store, and the answer
//! checked. Never in a deployed build: nothing here is reachable from `porter`.
//!
//! Input: `[method, auth, route, path params and query \0 header value \0 body]`.
//! * `method`: one of eight methods (`% 8`);
//! * `auth`: no token, the operator's token, a token that does not exist, or the header value
//!   from the input as `Authorization`;
//! * `route`: an endpoint of the OpenAPI document (its `{params}` filled from the input's
//!   path part, split at `/`), or, past the last endpoint, the path part itself;
//! * the header value goes into `Idempotency-Key` (or `Authorization`, see `auth`).
//!
//! Checks, whatever the input: no panic; no 5xx (the store is in memory and cannot fail); every
//! refusal is `{"code", "message"}` with a code of [`Code::ALL`] and a message; and a request
//! without a valid token gets nothing but a refusal from before authentication
//! ([`PRE_AUTHENTICATION`]), except on the three public routes.

pub mod portal;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::http::{header, Method, Request};
use axum::Router;
use tower::ServiceExt;

use crate::http::{endpoints, router, AppState};
use crate::metrics::Metrics;
use crate::service::Code;
use crate::{Service, Store};

/// The codes a request without a valid token may get: refusals of its token, its path, its
/// method or its size, all decided before any handler's logic runs.
pub const PRE_AUTHENTICATION: &[Code] =
    &[Code::Unauthenticated, Code::InvalidPath, Code::NoSuchEndpoint, Code::MethodNotAllowed];

/// Routes that answer without a token.
const PUBLIC: &[&str] = &["/v1/openapi.json", "/healthz", "/livez"];

const METHODS: [Method; 8] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::HEAD,
    Method::OPTIONS,
    Method::TRACE,
];

/// The server under test, made once per fuzzing process (migrations are slow).
struct Harness {
    runtime: tokio::runtime::Runtime,
    app: Router,
    operator: String,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime for the fuzz harness");
        let (app, operator) = runtime.block_on(async {
            let store = Store::connect("sqlite::memory:").await.expect("an in-memory store");
            let operator = Service::bootstrap_operator(&store, "fuzz")
                .await
                .expect("the operator token")
                .token;
            let service = Service::new(store, Arc::new(Metrics::default()));
            // `/metrics` open, to a token no input can know (so it always refuses: 401).
            let metrics_token = hex::encode(rand::random::<[u8; 16]>());
            let state = AppState::new(service, u32::MAX).with_metrics_token(Some(&metrics_token));
            (router(state), operator)
        });
        Harness { runtime, app, operator }
    })
}

/// The endpoints, listed once per process: building the list (every route's declaration,
/// handlers and all) was a tenth of each execution, and it never changes.
fn route_table() -> &'static [crate::http::Endpoint] {
    static ENDPOINTS: OnceLock<Vec<crate::http::Endpoint>> = OnceLock::new();
    ENDPOINTS.get_or_init(endpoints)
}

/// The request the input describes, and whether it carries a valid token.
fn request(data: &[u8]) -> Option<(Request<Body>, bool)> {
    let (&[method, auth, route], rest) = data.split_first_chunk::<3>()?;
    let mut parts = rest.splitn(3, |&b| b == 0);
    let path_part = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let header_value = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default().to_vec();

    let all = route_table();
    let (path, query) = match path_part.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (path_part.clone(), None),
    };
    let mut uri = match all.get(usize::from(route)) {
        Some(endpoint) => {
            let mut values = path.split('/');
            endpoint
                .path
                .split('/')
                .map(|segment| match segment.starts_with('{') {
                    true => values.next().unwrap_or("x").to_string(),
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
    let mut builder = Request::builder().method(METHODS[usize::from(method % 8)].clone()).uri(uri);
    let authenticated = match auth % 4 {
        0 => false,
        1 => {
            builder =
                builder.header(header::AUTHORIZATION, format!("Bearer {}", harness().operator));
            true
        }
        2 => {
            builder = builder.header(header::AUTHORIZATION, "Bearer pt_no_such_token");
            false
        }
        _ => {
            builder = builder.header(header::AUTHORIZATION, header_value);
            false
        }
    };
    if auth % 4 != 3 {
        builder = builder.header("idempotency-key", header_value);
    }
    if auth & 0x80 != 0 {
        builder = builder.header(header::CONTENT_TYPE, "application/json");
    }
    // Bytes a header or URI cannot hold are refused by `http` itself: nothing to send.
    builder.body(Body::from(body)).ok().map(|r| (r, authenticated))
}

/// How long sqlx waits for a pooled connection before its `PoolTimedOut` (its default).
const POOL_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether a 503 that took `elapsed` of wall time is the pool's acquire timeout after the
/// fuzzing process was stopped or starved (a benchmark beside it SIGSTOPs or outruns a niced
/// fuzzer for longer than the timeout), which a real server answers the same way and its
/// client retries: not a finding. Run 6 of `server_portal` stopped on one such (fuzz/README.md).
pub(crate) fn stalled(status: axum::http::StatusCode, elapsed: Duration) -> bool {
    let stalled =
        status == axum::http::StatusCode::SERVICE_UNAVAILABLE && elapsed >= POOL_ACQUIRE_TIMEOUT;
    if stalled {
        eprintln!("a 503 after {elapsed:?} of wall time: the process stalled; not judged");
    }
    stalled
}

/// Sends the request the input describes and checks the answer (see the module's comment).
pub fn fuzz_request(data: &[u8]) {
    let Some((request, authenticated)) = request(data) else { return };
    let h = harness();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let started = Instant::now();
    let (status, body) = h.runtime.block_on(async {
        let response = h.app.clone().oneshot(request).await.expect("the router is infallible");
        let status = response.status();
        let body = to_bytes(response.into_body(), usize::MAX).await.expect("a whole body");
        (status, body)
    });
    if stalled(status, started.elapsed()) {
        return;
    }
    let what = format!("{method} {path} -> {status}");
    assert!(!status.is_server_error(), "{what}: {}", String::from_utf8_lossy(&body));
    // A `401` from a route the token could not reach is fine; anything past it is not.
    let public = PUBLIC.contains(&path.as_str());
    if !authenticated && !public {
        assert!(!status.is_success(), "{what}: reached without a valid token");
    }
    // A HEAD answer has its body stripped (or not, off the router's GET routes): nothing to read.
    if status.is_success() || method == Method::HEAD {
        return;
    }
    let code = error_code(&body).unwrap_or_else(|e| panic!("{what}: {e}"));
    if !authenticated && !public {
        assert!(
            PRE_AUTHENTICATION.contains(&code),
            "{what}: {code:?} reached without a valid token"
        );
    }
}

/// The code of an error answer, if it is `{"code", "message"}` with a known code.
fn error_code(body: &[u8]) -> Result<Code, String> {
    let text = String::from_utf8_lossy(body);
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| format!("error body is not JSON ({e}): {text}"))?;
    let object = value.as_object().ok_or_else(|| format!("error body not an object: {text}"))?;
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    if keys != ["code", "message"] {
        return Err(format!("error body has keys {keys:?}: {text}"));
    }
    match object["message"].as_str() {
        Some(m) if !m.trim().is_empty() => {}
        _ => return Err(format!("error body without a message: {text}")),
    }
    Code::ALL
        .iter()
        .copied()
        .find(|c| serde_json::to_value(c).ok().as_ref() == Some(&object["code"]))
        .ok_or_else(|| format!("error code not in Code::ALL: {text}"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::http::StatusCode;

    /// Only a 503 that outlasted the pool's acquire timeout is excused; every other 5xx, and a
    /// quick 503, is still a finding.
    #[test]
    fn only_a_503_after_a_stall_is_excused() {
        assert!(super::stalled(StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(31)));
        assert!(!super::stalled(StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(2)));
        assert!(!super::stalled(StatusCode::INTERNAL_SERVER_ERROR, Duration::from_secs(40)));
    }
}
