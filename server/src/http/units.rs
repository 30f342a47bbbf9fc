//! Units, residents, and a resident's own profile.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use super::openapi::{body, page};
use super::route;
use super::{create, ok, page_of, parse_json, Auth, Body, Declared, IdemKey, Replay, Res, S};
use crate::ids::{ResidentId, SiteId, UnitId};
use crate::service::{
    NewResident, NewUnit, NotificationView, OptOut, ResidentView, Role, UnitView,
};

/// This resource's routes, each declared once: path, method, handler, roles, contract.
pub(super) fn routes() -> Vec<Declared> {
    vec![
        route::create(
            "/v1/sites/{site_id}/units",
            "Create a unit",
            &[Role::Manager],
            body::<NewUnit>,
            body::<UnitView>,
            create_unit,
        ),
        route::list(
            "/v1/sites/{site_id}/units",
            "List units",
            &[Role::Manager],
            page::<UnitView>,
            list_units,
        ),
        route::create(
            "/v1/sites/{site_id}/units/{unit_id}/residents",
            "Add a resident",
            &[Role::Manager],
            body::<NewResident>,
            body::<ResidentView>,
            add_resident,
        ),
        route::remove(
            "/v1/residents/{resident_id}",
            "Remove a resident (their tokens are revoked, their notifications deleted)",
            &[Role::Manager],
            body::<ResidentView>,
            remove_resident,
        ),
        route::read(
            "/v1/me",
            "Read your resident profile",
            &[Role::Resident],
            body::<ResidentView>,
            me,
        ),
        route::replace(
            "/v1/me/opt-out",
            "Refuse or accept in-building delivery",
            &[Role::Resident],
            body::<OptOut>,
            body::<ResidentView>,
            opt_out,
        ),
        route::list(
            "/v1/me/notifications",
            "Read your notifications",
            &[Role::Resident],
            page::<NotificationView>,
            notifications,
        ),
    ]
}

async fn create_unit(
    State(s): S,
    Auth(p): Auth,
    Path(site): Path<SiteId>,
    h: IdemKey,
    Body(b): Body,
) -> Res {
    create(&s, &p, h, Replay::Answer, b, |r| s.service.create_unit(&p, &site, r)).await
}
async fn list_units(State(s): S, Auth(p): Auth, Path(site): Path<SiteId>, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_units(&p, &site, &page_of(&q)?).await?)
}
async fn add_resident(
    State(s): S,
    Auth(p): Auth,
    Path((site, unit)): Path<(SiteId, UnitId)>,
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
async fn remove_resident(State(s): S, Auth(p): Auth, Path(id): Path<ResidentId>) -> Res {
    ok(StatusCode::OK, &s.service.remove_resident(&p, &id).await?)
}
