//! Issuer keys and their certificates.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{post, put};
use axum::Router;

use super::{create, ok, page_of, parse_json, AppState, Auth, Body, IdemKey, Replay, Res, S};

/// This resource's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/sites/{site_id}/issuers", post(create_issuer).get(list_issuers))
        .route("/v1/sites/{site_id}/issuers/{issuer_id}/certificate", put(upload_certificate))
}

async fn create_issuer(
    State(s): S,
    Auth(p): Auth,
    Path(site): Path<String>,
    h: IdemKey,
    Body(b): Body,
) -> Res {
    let b = if b.is_empty() { Bytes::from_static(b"{}") } else { b };
    create(&s, &p, h, Replay::Answer, b, |_: serde_json::Map<String, serde_json::Value>| {
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
