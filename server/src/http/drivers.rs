//! Drivers.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;

use super::{create, ok, page_of, AppState, Auth, Body, IdemKey, Replay, Res, S};

/// This resource's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/drivers", post(register_driver).get(list_drivers))
        .route("/v1/drivers/challenges", post(driver_challenge))
        .route("/v1/drivers/{driver_id}/revoke", post(retire_driver))
}

async fn register_driver(State(s): S, Auth(p): Auth, h: IdemKey, Body(b): Body) -> Res {
    create(&s, &p, h, Replay::Answer, b, |r| s.service.register_driver(&p, r)).await
}
async fn driver_challenge(State(s): S, Auth(p): Auth) -> Res {
    ok(StatusCode::CREATED, &s.service.driver_challenge(&p).await?)
}
async fn list_drivers(State(s): S, Auth(p): Auth, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_drivers(&p, &page_of(&q)?).await?)
}
async fn retire_driver(State(s): S, Auth(p): Auth, Path(id): Path<String>) -> Res {
    ok(StatusCode::OK, &s.service.retire_driver(&p, &id).await?)
}
