//! Carriers and approvals.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;

use super::{create, ok, page_of, AppState, Auth, Body, IdemKey, Replay, Res, S};

/// This resource's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/carriers", post(create_carrier).get(list_carriers))
        .route("/v1/sites/{site_id}/approvals", post(approve).get(list_approvals))
        .route("/v1/sites/{site_id}/approvals/{approval_id}/withdraw", post(withdraw))
}

async fn create_carrier(State(s): S, Auth(p): Auth, h: IdemKey, Body(b): Body) -> Res {
    create(&s, &p, h, Replay::Answer, b, |r| s.service.create_carrier(&p, r)).await
}
async fn list_carriers(State(s): S, Auth(p): Auth, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_carriers(&p, &page_of(&q)?).await?)
}
async fn approve(
    State(s): S,
    Auth(p): Auth,
    Path(site): Path<String>,
    h: IdemKey,
    Body(b): Body,
) -> Res {
    create(&s, &p, h, Replay::Answer, b, |r| s.service.approve(&p, &site, r)).await
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
