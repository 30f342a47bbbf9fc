//! Revocations and door states.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;

use super::{create, err, ok, AppState, Auth, Body, IdemKey, Replay, Res, S};
use crate::service::Kind;

/// This resource's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/sites/{site_id}/revocations", post(revoke).get(list_revocations))
        .route("/v1/sites/{site_id}/door-states", post(upload_state))
        .route("/v1/sites/{site_id}/door-states/latest", get(latest_state))
}

async fn revoke(
    State(s): S,
    Auth(p): Auth,
    Path(site): Path<String>,
    h: IdemKey,
    Body(b): Body,
) -> Res {
    create(&s, &p, h, Replay::Answer, b, |r| s.service.revoke(&p, &site, r)).await
}
async fn list_revocations(State(s): S, Auth(p): Auth, Path(site): Path<String>) -> Res {
    ok(StatusCode::OK, &s.service.list_revocations(&p, &site).await?)
}
async fn upload_state(
    State(s): S,
    Auth(p): Auth,
    Path(site): Path<String>,
    h: IdemKey,
    Body(b): Body,
) -> Res {
    create(&s, &p, h, Replay::Answer, b, |r| s.service.upload_door_state(&p, &site, r)).await
}
async fn latest_state(State(s): S, Auth(p): Auth, Path(site): Path<String>) -> Res {
    match s.service.latest_door_state(&p, &site).await? {
        Some(state) => ok(StatusCode::OK, &state),
        None => Err(err(
            Kind::NotFound,
            "no_door_state",
            "the site root has not signed a door state yet",
        )),
    }
}
