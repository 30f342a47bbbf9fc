//! Units, residents, and a resident's own profile.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::Router;

use super::{create, ok, page_of, parse_json, AppState, Auth, Body, IdemKey, Replay, Res, S};

/// This resource's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/sites/{site_id}/units", post(create_unit).get(list_units))
        .route("/v1/sites/{site_id}/units/{unit_id}/residents", post(add_resident))
        .route("/v1/residents/{resident_id}", delete(remove_resident))
        .route("/v1/me", get(me))
        .route("/v1/me/opt-out", put(opt_out))
        .route("/v1/me/notifications", get(notifications))
}

async fn create_unit(
    State(s): S,
    Auth(p): Auth,
    Path(site): Path<String>,
    h: IdemKey,
    Body(b): Body,
) -> Res {
    create(&s, &p, h, Replay::Answer, b, |r| s.service.create_unit(&p, &site, r)).await
}
async fn list_units(State(s): S, Auth(p): Auth, Path(site): Path<String>, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_units(&p, &site, &page_of(&q)?).await?)
}
async fn add_resident(
    State(s): S,
    Auth(p): Auth,
    Path((site, unit)): Path<(String, String)>,
    h: IdemKey,
    Body(b): Body,
) -> Res {
    create(&s, &p, h, Replay::Answer, b, |r| s.service.add_resident(&p, &site, &unit, r)).await
}
async fn me(State(s): S, Auth(p): Auth) -> Res {
    ok(StatusCode::OK, &s.service.me(&p).await?)
}
async fn opt_out(State(s): S, Auth(p): Auth, Body(b): Body) -> Res {
    let req = parse_json(&b)?;
    ok(StatusCode::OK, &s.service.set_opt_out(&p, req).await?)
}
async fn notifications(State(s): S, Auth(p): Auth, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.my_notifications(&p, &page_of(&q)?).await?)
}
async fn remove_resident(State(s): S, Auth(p): Auth, Path(id): Path<String>) -> Res {
    ok(StatusCode::OK, &s.service.remove_resident(&p, &id).await?)
}
