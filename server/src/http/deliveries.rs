//! Deliveries.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};

use super::openapi::{body, page};
use super::{
    create, declare, ok, page_of, Auth, Body, Declared, Endpoint, IdemKey, Replay, Res, S,
};
use crate::ids::DeliveryId;
use crate::service::{DeliveryView, NewDelivery, Role};

/// This resource's routes, each declared once: path, method, handler, roles, contract.
pub(super) fn routes() -> Vec<Declared> {
    vec![
        declare(
            Endpoint {
                method: "POST",
                path: "/v1/deliveries",
                summary: "Announce a delivery",
                roles: &[Role::Carrier],
                success: 201,
                response: body::<DeliveryView>,
                request: Some(body::<NewDelivery>),
                idempotent: true,
                paged: false,
            },
            post(announce),
        ),
        declare(
            Endpoint {
                method: "GET",
                path: "/v1/deliveries",
                summary: "List deliveries (carrier: own; resident: own unit)",
                roles: &[Role::Carrier, Role::Driver, Role::Resident],
                success: 200,
                response: page::<DeliveryView>,
                request: None,
                idempotent: false,
                paged: true,
            },
            get(list_deliveries),
        ),
        declare(
            Endpoint {
                method: "GET",
                path: "/v1/deliveries/{delivery_id}",
                summary: "Read a delivery",
                roles: &[Role::Carrier, Role::Driver, Role::Resident, Role::Manager],
                success: 200,
                response: body::<DeliveryView>,
                request: None,
                idempotent: false,
                paged: false,
            },
            get(get_delivery),
        ),
        declare(
            Endpoint {
                method: "POST",
                path: "/v1/deliveries/{delivery_id}/cancel",
                summary: "Cancel a delivery",
                roles: &[Role::Carrier],
                success: 200,
                response: body::<DeliveryView>,
                request: None,
                idempotent: false,
                paged: false,
            },
            post(cancel_delivery),
        ),
    ]
}

async fn announce(State(s): S, Auth(p): Auth, h: IdemKey, Body(b): Body) -> Res {
    create(&s, &p, h, Replay::Answer, b, |r| s.service.announce(&p, r)).await
}
async fn list_deliveries(State(s): S, Auth(p): Auth, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_deliveries(&p, &page_of(&q)?).await?)
}
async fn get_delivery(State(s): S, Auth(p): Auth, Path(id): Path<DeliveryId>) -> Res {
    ok(StatusCode::OK, &s.service.get_delivery(&p, &id).await?)
}
async fn cancel_delivery(State(s): S, Auth(p): Auth, Path(id): Path<DeliveryId>) -> Res {
    ok(StatusCode::OK, &s.service.cancel_delivery(&p, &id).await?)
}
