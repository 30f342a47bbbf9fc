//! What a handler extracts from a request, each with the API's own refusals: the caller
//! (bearer token, role gate, rate limit), the body (under the route's size limit), JSON, a page
//! of a listing; and the JSON answer.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, RawQuery, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{err, ApiError, AppState, Endpoint, MAX_BODY_BYTES};
use crate::service::{self, Code, Kind, Principal};

/// The body limit in force for a request (set per route, read when a body is too large).
#[derive(Clone, Copy, Debug)]
pub(super) struct BodyLimit(pub(super) usize);

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

/// The authenticated caller, after the rate limit.
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        caller(parts, state, false).await.map(Auth)
    }
}

/// The caller of a grant request: [`Auth`], the token resolved from the server's memory when
/// it was seen before (the grant service confirms it in the database before it issues,
/// refuses or replays anything: see `Service::authenticate_for_grant`).
pub struct GrantAuth(pub Principal);

impl FromRequestParts<AppState> for GrantAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        caller(parts, state, true).await.map(GrantAuth)
    }
}

/// The caller of a request: bearer token, role gate, rate limit.
async fn caller(parts: &Parts, state: &AppState, for_grant: bool) -> Result<Principal, ApiError> {
    let token = bearer(&parts.headers).ok_or_else(|| {
        err(
            Kind::Unauthenticated,
            Code::Unauthenticated,
            "missing API token: send `Authorization: Bearer <token>`",
        )
    })?;
    let principal = if for_grant {
        state.service.authenticate_for_grant(token).await?
    } else {
        state.service.authenticate(token).await?
    };
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
    Ok(principal)
}

pub(super) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
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
    serde_json::from_slice(body).or_else(|e| {
        // JSON Schema counts `5.0` as an integer, so a client may send one where the document
        // says `integer`; serde does not. Only a refused body pays for the second reading.
        let retry = serde_json::from_slice(body).ok().and_then(|mut value| {
            integral_floats_as_integers(&mut value).then(|| T::deserialize(value).ok())?
        });
        retry.ok_or_else(|| {
            err(Kind::Invalid, Code::InvalidJson, format!("the body is not the expected JSON: {e}"))
        })
    })
}

/// Rewrites every number with no fractional part (`5.0`, `1e3`) as an integer, in place;
/// true if it rewrote any. Only up to 2^53, where every integer has an exact `f64`: a larger
/// one may already have been rounded when it was read, and stays a float (which the field it
/// was meant for then refuses).
fn integral_floats_as_integers(value: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    match value {
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() <= EXACT => {
                *n = serde_json::Number::from(f as i64);
                true
            }
            _ => false,
        },
        Value::Array(items) => {
            items.iter_mut().fold(false, |any, v| integral_floats_as_integers(v) | any)
        }
        Value::Object(map) => {
            map.values_mut().fold(false, |any, v| integral_floats_as_integers(v) | any)
        }
        _ => false,
    }
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

pub(super) fn ok<T: Serialize>(status: StatusCode, value: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_string(value).map_err(|e| {
        tracing::error!(error = %e, "serialising a response failed");
        err(Kind::Internal, Code::Internal, "the response could not be produced; retry")
    })?;
    Ok(json_response(status, body))
}

pub(super) fn json_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

pub(super) fn page_of(q: &RawQuery) -> Result<crate::store::Page, ApiError> {
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

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Counts {
        uses: u8,
        lifetime: i64,
        doors: Vec<u16>,
    }

    /// JSON Schema counts `2.0` as an integer (the API fuzzer sends them where the document
    /// says `integer`); a fraction, a value out of the field's range, or one past 2^53 (which
    /// an `f64` may have rounded) is still refused.
    #[test]
    fn integral_floats_are_read_as_integers_and_nothing_else_is() {
        let read = |body: &str| super::parse_json::<Counts>(body.as_bytes());
        let want = Counts { uses: 2, lifetime: 600, doors: vec![1, 3] };
        assert_eq!(read(r#"{"uses": 2, "lifetime": 600, "doors": [1, 3]}"#).unwrap(), want);
        assert_eq!(read(r#"{"uses": 2.0, "lifetime": 6e2, "doors": [1.0, 3]}"#).unwrap(), want);
        for refused in [
            r#"{"uses": 2.5, "lifetime": 600, "doors": []}"#,
            r#"{"uses": 256.0, "lifetime": 600, "doors": []}"#,
            r#"{"uses": -1.0, "lifetime": 600, "doors": []}"#,
            r#"{"uses": 1, "lifetime": 9007199254740994.0, "doors": []}"#,
            r#"{"uses": 1, "lifetime": 1e300, "doors": []}"#,
        ] {
            let e = read(refused).unwrap_err();
            assert_eq!(e.0.code.as_str(), "invalid_json", "{refused}");
        }
    }

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
