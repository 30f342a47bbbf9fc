//! Doors.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};

use super::openapi::{body, page};
use super::{
    create, declare, ok, page_of, Auth, Body, Declared, Endpoint, IdemKey, Replay, Res, S,
};
use crate::ids::SiteId;
use crate::service::{DoorView, NewDoor, Role};

/// This resource's routes, each declared once: path, method, handler, roles, contract.
pub(super) fn routes() -> Vec<Declared> {
    vec![
        declare(
            Endpoint {
                method: "POST",
                path: "/v1/sites/{site_id}/doors",
                summary: "Enrol a door (root-signed enrolment)",
                roles: &[Role::Manager],
                success: 201,
                response: body::<DoorView>,
                request: Some(body::<NewDoor>),
                idempotent: true,
                paged: false,
            },
            post(add_door),
        ),
        declare(
            Endpoint {
                method: "GET",
                path: "/v1/sites/{site_id}/doors",
                summary: "List doors",
                roles: &[Role::Manager],
                success: 200,
                response: page::<DoorView>,
                request: None,
                idempotent: false,
                paged: true,
            },
            get(list_doors),
        ),
    ]
}

async fn add_door(
    State(s): S,
    Auth(p): Auth,
    Path(site): Path<SiteId>,
    h: IdemKey,
    Body(b): Body,
) -> Res {
    create(&s, &p, h, Replay::Answer, b, |r| s.service.add_door(&p, &site, r)).await
}
async fn list_doors(State(s): S, Auth(p): Auth, Path(site): Path<SiteId>, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_doors(&p, &site, &page_of(&q)?).await?)
}
