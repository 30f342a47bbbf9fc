//! API tokens.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;

use super::{create, ok, page_of, AppState, Auth, Body, IdemKey, Replay, Res, S};

/// This resource's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/tokens", post(create_token).get(list_tokens))
        .route("/v1/tokens/{token_id}/revoke", post(revoke_token))
}

async fn create_token(State(s): S, Auth(p): Auth, h: IdemKey, Body(b): Body) -> Res {
    create(&s, &p, h, Replay::WithoutSecret, b, |r| s.service.create_token(&p, r)).await
}
async fn list_tokens(State(s): S, Auth(p): Auth, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_tokens(&p, &page_of(&q)?).await?)
}
async fn revoke_token(State(s): S, Auth(p): Auth, Path(id): Path<String>) -> Res {
    ok(StatusCode::OK, &s.service.revoke_token(&p, &id).await?)
}
