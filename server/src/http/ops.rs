//! What wraps every request (the path guard, the request log and counters, the panic guard)
//! and the operational endpoints beside the API: `/healthz` and `/metrics`.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;

use super::{bearer, err, ErrorBody, S};
use crate::service::{sha256_hex, Code, Kind};

/// Guards paths, counts responses and logs one structured line per request (never a body or
/// a token).
pub(super) async fn count(State(state): S, req: Request, next: Next) -> Response {
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

pub(super) async fn healthz(State(state): S) -> Response {
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
pub(super) async fn metrics(State(state): S, headers: HeaderMap) -> Response {
    let presented = bearer(&headers).map(|t| sha256_hex(t.as_bytes()));
    match (&state.metrics_token_hash, presented) {
        // No credentials at all is 401 whether or not metrics are open (the header is what
        // the route requires; what a token would meet is the next question).
        (None, None) => {
            return err(
                Kind::Unauthenticated,
                Code::Unauthenticated,
                "send the metrics token as `Authorization: Bearer <metrics_token>`; this server \
                 has none set yet (metrics_token, PORTER_METRICS_TOKEN), so /metrics is closed",
            )
            .into_response()
        }
        (None, Some(_)) => {
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
