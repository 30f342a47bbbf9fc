//! API tokens.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;

use super::{create, AppState, Auth, Body, Res, S};

/// This resource's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/v1/tokens", post(create_token))
}

async fn create_token(State(s): S, Auth(p): Auth, h: HeaderMap, Body(b): Body) -> Res {
    create(&s, &p, &h, b, |r| s.service.create_token(&p, r)).await
}
