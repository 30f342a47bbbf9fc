//! Drivers.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::post;

use super::openapi::{body, page};
use super::route;
use super::{
    create, declare, ok, page_of, Auth, Body, Declared, Endpoint, IdemKey, Replay, Res, S,
};
use crate::ids::DriverId;
use crate::service::{DriverChallenge, DriverView, NewDriver, Role};

/// This resource's routes, each declared once: path, method, handler, roles, contract.
pub(super) fn routes() -> Vec<Declared> {
    vec![
        route::create(
            "/v1/drivers",
            "Register a driver's holder key, with the phone's signature over a challenge",
            &[Role::Carrier],
            body::<NewDriver>,
            body::<DriverView>,
            register_driver,
        ),
        declare(
            Endpoint {
                method: "POST",
                path: "/v1/drivers/challenges",
                summary: "Get a one-time challenge for a driver's phone to sign",
                roles: &[Role::Carrier],
                success: 201,
                response: body::<DriverChallenge>,
                request: None,
                idempotent: false,
                paged: false,
            },
            post(driver_challenge),
        ),
        route::list(
            "/v1/drivers",
            "List drivers",
            &[Role::Carrier],
            page::<DriverView>,
            list_drivers,
        ),
        route::act(
            "/v1/drivers/{driver_id}/revoke",
            "Retire a driver at every site",
            &[Role::Carrier],
            None,
            body::<DriverView>,
            retire_driver,
        ),
    ]
}

async fn register_driver(State(s): S, Auth(p): Auth, h: IdemKey, Body(b): Body) -> Res {
    create(&s, &p, h, Replay::Answer, b, |r| s.service.register_driver(&p, r)).await
}
async fn driver_challenge(State(s): S, Auth(p): Auth) -> Res {
    ok(StatusCode::CREATED, &s.service.driver_challenge(&p).await?)
}
async fn list_drivers(State(s): S, Auth(p): Auth, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_drivers(&p, &page_of(&q)?).await?)
}
async fn retire_driver(State(s): S, Auth(p): Auth, Path(id): Path<DriverId>) -> Res {
    ok(StatusCode::OK, &s.service.retire_driver(&p, &id).await?)
}
