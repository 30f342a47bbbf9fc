//! Sites and the policy residents read.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;

use super::{create, ok, page_of, AppState, Auth, Body, IdemKey, Replay, Res, S};

/// This resource's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/sites", post(create_site).get(list_sites))
        .route("/v1/sites/{site_id}", get(get_site))
        .route("/v1/sites/{site_id}/policy", get(policy))
}

async fn create_site(State(s): S, Auth(p): Auth, h: IdemKey, Body(b): Body) -> Res {
    create(&s, &p, h, Replay::Answer, b, |r| s.service.create_site(&p, r)).await
}
async fn list_sites(State(s): S, Auth(p): Auth, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_sites(&p, &page_of(&q)?).await?)
}
async fn get_site(State(s): S, Auth(p): Auth, Path(site): Path<String>) -> Res {
    ok(StatusCode::OK, &s.service.get_site(&p, &site).await?)
}
async fn policy(State(s): S, Auth(p): Auth, Path(site): Path<String>) -> Res {
    ok(StatusCode::OK, &s.service.policy(&p, &site).await?)
}
