//! Deliveries.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;

use super::{create, ok, page_of, AppState, Auth, Body, IdemKey, Replay, Res, S};

/// This resource's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/deliveries", post(announce).get(list_deliveries))
        .route("/v1/deliveries/{delivery_id}", get(get_delivery))
        .route("/v1/deliveries/{delivery_id}/cancel", post(cancel_delivery))
}

async fn announce(State(s): S, Auth(p): Auth, h: IdemKey, Body(b): Body) -> Res {
    create(&s, &p, h, Replay::Answer, b, |r| s.service.announce(&p, r)).await
}
async fn list_deliveries(State(s): S, Auth(p): Auth, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_deliveries(&p, &page_of(&q)?).await?)
}
async fn get_delivery(State(s): S, Auth(p): Auth, Path(id): Path<String>) -> Res {
    ok(StatusCode::OK, &s.service.get_delivery(&p, &id).await?)
}
async fn cancel_delivery(State(s): S, Auth(p): Auth, Path(id): Path<String>) -> Res {
    ok(StatusCode::OK, &s.service.cancel_delivery(&p, &id).await?)
}
