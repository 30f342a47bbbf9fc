//! Stripe-style idempotency keys for creating requests.
//!
//! A key belongs to the token that sent it and is bound to the request: method, path (with its
//! ids) and body. The key is reserved before the work starts, so that concurrent requests with
//! one key create exactly one object (the others get `409 idempotency_in_flight` and retry);
//! the answer is stored when the work is done and replayed to a repeat for 24 hours. A repeat
//! with another method, path or body is refused (`409 idempotency_key_reused`). An answer that
//! carries a secret (a new token, a webhook's signing secret) is never stored: a repeat learns
//! which object the first request made, and that its secret is shown only once.

use crate::service::Code;
use std::future::Future;

use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{err, json_response, parse_json, ApiError, AppState};
use crate::service::{self, sha256_hex, Kind, Principal};
use crate::store::{IdemRow, Reservation};

use crate::service::{IDEMPOTENCY_IN_FLIGHT_TIMEOUT as IN_FLIGHT_TIMEOUT, IDEMPOTENCY_TTL};

/// The stored body of an answer whose secret was withheld: only the object's id.
const WITHHELD: &str = "withheld";

/// The request's `Idempotency-Key`, if any, and what it is bound to (method and path).
#[derive(Clone, Debug)]
pub struct IdemKey {
    key: Option<String>,
    binding: String,
}

impl IdemKey {
    /// The key the client sent.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// SHA-256 over method, path and body: what a key is bound to.
    pub fn request_hash(&self, body: &[u8]) -> String {
        let mut bound = Vec::with_capacity(self.binding.len() + 1 + body.len());
        bound.extend_from_slice(self.binding.as_bytes());
        bound.push(b'\n');
        bound.extend_from_slice(body);
        sha256_hex(&bound)
    }
}

impl FromRequestParts<AppState> for IdemKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        let binding = format!("{} {}", parts.method, parts.uri.path());
        let key = match parts.headers.get("idempotency-key") {
            None => None,
            Some(v) => {
                let k = v.to_str().ok().filter(|k| !k.is_empty() && k.len() <= 200);
                Some(
                    k.ok_or_else(|| {
                        err(
                            Kind::Invalid,
                            Code::InvalidIdempotencyKey,
                            "Idempotency-Key must be 1..=200 visible ASCII characters",
                        )
                    })?
                    .to_string(),
                )
            }
        };
        Ok(IdemKey { key, binding })
    }
}

/// Whether a creating request's answer may be stored for replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replay {
    /// The answer holds nothing secret: store it and replay it.
    Answer,
    /// The answer holds a secret shown once: store only the new object's `id`.
    WithoutSecret,
}

/// The answer to a key seen before: its stored response, or a refusal.
fn replayed(stored: IdemRow, request_hash: &str) -> Result<Response, ApiError> {
    if stored.request_hash != request_hash {
        return Err(err(
            Kind::Conflict,
            Code::IdempotencyKeyReused,
            "this Idempotency-Key was used with another method, path or body: use a fresh key",
        ));
    }
    if stored.status == 0 {
        return Err(err(
            Kind::Conflict,
            Code::IdempotencyInFlight,
            "a request with this Idempotency-Key is still being processed: retry in a moment",
        ));
    }
    if stored.status == 1 {
        let id = stored.body.strip_prefix(WITHHELD).unwrap_or("").trim_start_matches(':');
        return Err(err(
            Kind::Conflict,
            Code::IdempotencySecretWithheld,
            format!(
                "this Idempotency-Key already created {id}; its secret was shown only once and is \
                 not kept: if it was lost, revoke {id} and create another"
            ),
        ));
    }
    let status = StatusCode::from_u16(stored.status as u16).unwrap_or(StatusCode::CREATED);
    let mut r = json_response(status, stored.body);
    r.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(r)
}

/// Runs a creating POST under its `Idempotency-Key`, if any (see the module documentation).
pub(super) async fn create<T, R, F, Fut>(
    state: &AppState,
    p: &Principal,
    idem: IdemKey,
    replay: Replay,
    body: Bytes,
    f: F,
) -> Result<Response, ApiError>
where
    T: DeserializeOwned,
    R: Serialize,
    F: FnOnce(T) -> Fut,
    Fut: Future<Output = service::Result<R>>,
{
    let Some(key) = idem.key() else {
        let req: T = parse_json(&body)?;
        let out = f(req).await?;
        return super::ok(StatusCode::CREATED, &out);
    };
    let store = state.service.store();
    let request_hash = idem.request_hash(&body);
    let now = service::now();
    let reservation = store
        .reserve_idempotent(
            p.token_id(),
            key,
            &request_hash,
            now,
            IDEMPOTENCY_TTL,
            IN_FLIGHT_TIMEOUT,
        )
        .await
        .map_err(service::Error::from)?;
    if let Reservation::Taken(stored) = reservation {
        return replayed(stored, &request_hash);
    }
    // Reserved. A failure releases the key for a retry; success stores the answer. A request
    // dropped in between (the client went away) leaves the reservation in flight: whether its
    // object was committed is unknown, so a retry is answered 409 until IN_FLIGHT_TIMEOUT.
    let result = async {
        let req: T = parse_json(&body)?;
        let out = f(req).await?;
        serde_json::to_value(&out).map_err(|_| err(Kind::Internal, Code::Internal, "retry"))
    }
    .await;
    let value = match result {
        Ok(value) => value,
        Err(e) => {
            if let Err(release) = store.release_idempotent(p.token_id(), key).await {
                tracing::warn!(error = %release, "releasing an idempotency key failed");
            }
            return Err(e);
        }
    };
    let json = value.to_string();
    let (status, stored) = match replay {
        Replay::Answer => (201, json.clone()),
        Replay::WithoutSecret => {
            (1, format!("{WITHHELD}:{}", value["id"].as_str().unwrap_or_default()))
        }
    };
    let row = IdemRow { request_hash, status, body: stored };
    store.finish_idempotent(p.token_id(), key, &row).await.map_err(service::Error::from)?;
    Ok(json_response(StatusCode::CREATED, json))
}
