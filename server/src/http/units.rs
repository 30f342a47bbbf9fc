//! Units, residents, and a resident's own profile.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};

use super::openapi::{body, page};
use super::{
    create, declare, ok, page_of, parse_json, Auth, Body, Declared, Endpoint, IdemKey, Replay, Res,
    S,
};
use crate::ids::{ResidentId, SiteId, UnitId};
use crate::service::{
    NewResident, NewUnit, NotificationView, OptOut, ResidentView, Role, UnitView,
};

/// This resource's routes, each declared once: path, method, handler, roles, contract.
pub(super) fn routes() -> Vec<Declared> {
    vec![
        declare(
            Endpoint {
                method: "POST",
                path: "/v1/sites/{site_id}/units",
                summary: "Create a unit",
                roles: &[Role::Manager],
                success: 201,
                response: body::<UnitView>,
                request: Some(body::<NewUnit>),
                idempotent: true,
                paged: false,
            },
            post(create_unit),
        ),
        declare(
            Endpoint {
                method: "GET",
                path: "/v1/sites/{site_id}/units",
                summary: "List units",
                roles: &[Role::Manager],
                success: 200,
                response: page::<UnitView>,
                request: None,
                idempotent: false,
                paged: true,
            },
            get(list_units),
        ),
        declare(
            Endpoint {
                method: "POST",
                path: "/v1/sites/{site_id}/units/{unit_id}/residents",
                summary: "Add a resident",
                roles: &[Role::Manager],
                success: 201,
                response: body::<ResidentView>,
                request: Some(body::<NewResident>),
                idempotent: true,
                paged: false,
            },
            post(add_resident),
        ),
        declare(
            Endpoint {
                method: "DELETE",
                path: "/v1/residents/{resident_id}",
                summary:
                    "Remove a resident (their tokens are revoked, their notifications deleted)",
                roles: &[Role::Manager],
                success: 200,
                response: body::<ResidentView>,
                request: None,
                idempotent: false,
                paged: false,
            },
            delete(remove_resident),
        ),
        declare(
            Endpoint {
                method: "GET",
                path: "/v1/me",
                summary: "Read your resident profile",
                roles: &[Role::Resident],
                success: 200,
                response: body::<ResidentView>,
                request: None,
                idempotent: false,
                paged: false,
            },
            get(me),
        ),
        declare(
            Endpoint {
                method: "PUT",
                path: "/v1/me/opt-out",
                summary: "Refuse or accept in-building delivery",
                roles: &[Role::Resident],
                success: 200,
                response: body::<ResidentView>,
                request: Some(body::<OptOut>),
                idempotent: false,
                paged: false,
            },
            put(opt_out),
        ),
        declare(
            Endpoint {
                method: "GET",
                path: "/v1/me/notifications",
                summary: "Read your notifications",
                roles: &[Role::Resident],
                success: 200,
                response: page::<NotificationView>,
                request: None,
                idempotent: false,
                paged: true,
            },
            get(notifications),
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
