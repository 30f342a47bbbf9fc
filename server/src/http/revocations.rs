//! Revocations and door states.

use crate::ids::SiteId;
use crate::service::Code;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};

use super::openapi::body;
use super::{create, declare, err, ok, Auth, Body, Declared, Endpoint, IdemKey, Replay, Res, S};
use crate::service::Kind;
use crate::service::{
    DoorStateUpload, DoorStateView, NewRevocation, RevocationList, RevocationView, Role,
};

/// This resource's routes, each declared once: path, method, handler, roles, contract.
pub(super) fn routes() -> Vec<Declared> {
    vec![
        declare(
            Endpoint {
                method: "POST",
                path: "/v1/sites/{site_id}/revocations",
                summary: "Revoke an issuer, driver or grant",
                roles: &[Role::Manager],
                success: 201,
                response: body::<RevocationView>,
                request: Some(body::<NewRevocation>),
                idempotent: true,
                paged: false,
            },
            post(revoke),
        ),
        declare(
            Endpoint {
                method: "GET",
                path: "/v1/sites/{site_id}/revocations",
                summary: "The pending deny-list for `porter root sign-state`",
                roles: &[Role::Manager],
                success: 200,
                response: body::<RevocationList>,
                request: None,
                idempotent: false,
                paged: false,
            },
            get(list_revocations),
        ),
        declare(
            Endpoint {
                method: "POST",
                path: "/v1/sites/{site_id}/door-states",
                summary: "Upload a root-signed door state",
                roles: &[Role::Manager],
                success: 201,
                response: body::<DoorStateView>,
                request: Some(body::<DoorStateUpload>),
                idempotent: true,
                paged: false,
            },
            post(upload_state),
        ),
        declare(
            Endpoint {
                method: "GET",
                path: "/v1/sites/{site_id}/door-states/latest",
                summary: "The newest door state to carry to doors",
                roles: &[Role::Manager, Role::Device, Role::Carrier, Role::Driver, Role::Operator],
                success: 200,
                response: body::<DoorStateView>,
                request: None,
                idempotent: false,
                paged: false,
            },
            get(latest_state),
        ),
    ]
}

async fn revoke(
    State(s): S,
    Auth(p): Auth,
    Path(site): Path<SiteId>,
    h: IdemKey,
    Body(b): Body,
) -> Res {
    create(&s, &p, h, Replay::Answer, b, |r| s.service.revoke(&p, &site, r)).await
}
async fn list_revocations(State(s): S, Auth(p): Auth, Path(site): Path<SiteId>) -> Res {
    ok(StatusCode::OK, &s.service.list_revocations(&p, &site).await?)
}
async fn upload_state(
    State(s): S,
    Auth(p): Auth,
    Path(site): Path<SiteId>,
    h: IdemKey,
    Body(b): Body,
) -> Res {
    create(&s, &p, h, Replay::Answer, b, |r| s.service.upload_door_state(&p, &site, r)).await
}
async fn latest_state(State(s): S, Auth(p): Auth, Path(site): Path<SiteId>) -> Res {
    match s.service.latest_door_state(&p, &site).await? {
        Some(state) => ok(StatusCode::OK, &state),
        None => Err(err(
            Kind::NotFound,
            Code::NoDoorState,
            "the site root has not signed a door state yet",
        )),
    }
}
