//! Doors.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;

use super::{create, ok, page_of, AppState, Auth, Body, IdemKey, Replay, Res, S};

/// This resource's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/v1/sites/{site_id}/doors", post(add_door).get(list_doors))
}

async fn add_door(
    State(s): S,
    Auth(p): Auth,
    Path(site): Path<String>,
    h: IdemKey,
    Body(b): Body,
) -> Res {
    create(&s, &p, h, Replay::Answer, b, |r| s.service.add_door(&p, &site, r)).await
}
async fn list_doors(State(s): S, Auth(p): Auth, Path(site): Path<String>, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_doors(&p, &site, &page_of(&q)?).await?)
}
