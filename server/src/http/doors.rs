//! Doors.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use super::openapi::{body, page};
use super::route;
use super::{create, ok, page_of, Auth, Body, Declared, IdemKey, Replay, Res, S};
use crate::ids::SiteId;
use crate::service::{DoorView, NewDoor, Role};

/// This resource's routes, each declared once: path, method, handler, roles, contract.
pub(super) fn routes() -> Vec<Declared> {
    vec![
        route::create(
            "/v1/sites/{site_id}/doors",
            "Enrol a door (root-signed enrolment)",
            &[Role::Manager],
            body::<NewDoor>,
            body::<DoorView>,
            add_door,
        ),
        route::list(
            "/v1/sites/{site_id}/doors",
            "List doors",
            &[Role::Manager],
            page::<DoorView>,
            list_doors,
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
