//! Audit: receipts, log batches, alarms and the access log.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;

use super::{ok, page_of, parse_json, AppState, Auth, Body, Res, S};

/// This resource's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/sites/{site_id}/alarms", get(alarms))
        .route("/v1/sites/{site_id}/entries", get(entries))
        .route("/v1/receipts", post(receipt))
        .route("/v1/audit-batches", post(audit_batch))
}

async fn alarms(State(s): S, Auth(p): Auth, Path(site): Path<String>, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_alarms(&p, &site, &page_of(&q)?).await?)
}
async fn entries(State(s): S, Auth(p): Auth, Path(site): Path<String>, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_entries(&p, &site, &page_of(&q)?).await?)
}
async fn receipt(State(s): S, Auth(p): Auth, Body(b): Body) -> Res {
    let req = parse_json(&b)?;
    ok(StatusCode::OK, &s.service.ingest_receipt(&p, req).await?)
}
async fn audit_batch(State(s): S, Auth(p): Auth, Body(b): Body) -> Res {
    let req = parse_json(&b)?;
    ok(StatusCode::OK, &s.service.ingest_batch(&p, req).await?)
}
