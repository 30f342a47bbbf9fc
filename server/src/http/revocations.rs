//! Revocations and door states.

use crate::ids::SiteId;
use crate::service::Code;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::openapi::body;
use super::route;
use super::{create, err, ok, Auth, Body, Declared, IdemKey, Replay, Res, S};
use crate::service::Kind;
use crate::service::{
    DoorStateUpload, DoorStateView, NewRevocation, RevocationList, RevocationView, Role,
};

/// This resource's routes, each declared once: path, method, handler, roles, contract.
pub(super) fn routes() -> Vec<Declared> {
    vec![
        route::create(
            "/v1/sites/{site_id}/revocations",
            "Revoke an issuer, driver or grant",
            &[Role::Manager],
            body::<NewRevocation>,
            body::<RevocationView>,
            revoke,
        ),
        route::read(
            "/v1/sites/{site_id}/revocations",
            "The pending deny-list for `porter root sign-state`",
            &[Role::Manager],
            body::<RevocationList>,
            list_revocations,
        ),
        route::create(
            "/v1/sites/{site_id}/door-states",
            "Upload a root-signed door state",
            &[Role::Manager],
            body::<DoorStateUpload>,
            body::<DoorStateView>,
            upload_state,
        ),
        route::read(
            "/v1/sites/{site_id}/door-states/latest",
            "The newest door state to carry to doors",
            &[Role::Manager, Role::Device, Role::Carrier, Role::Driver, Role::Operator],
            body::<DoorStateView>,
            latest_state,
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
