//! Webhook endpoints.

use axum::extract::{Path, State};
use axum::routing::post;
use axum::Router;

use super::{create, AppState, Auth, Body, IdemKey, Replay, Res, S};

/// This resource's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/v1/sites/{site_id}/webhooks", post(add_webhook))
}

async fn add_webhook(
    State(s): S,
    Auth(p): Auth,
    Path(site): Path<String>,
    h: IdemKey,
    Body(b): Body,
) -> Res {
    create(&s, &p, h, Replay::WithoutSecret, b, |r| s.service.add_webhook(&p, &site, r)).await
}
