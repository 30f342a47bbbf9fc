//! Deliveries.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use super::openapi::{body, page};
use super::route;
use super::{create, ok, page_of, Auth, Body, Declared, IdemKey, Replay, Res, S};
use crate::ids::DeliveryId;
use crate::service::{DeliveryView, NewDelivery, Role};

/// This resource's routes, each declared once: path, method, handler, roles, contract.
pub(super) fn routes() -> Vec<Declared> {
    vec![
        route::create(
            "/v1/deliveries",
            "Announce a delivery",
            &[Role::Carrier],
            body::<NewDelivery>,
            body::<DeliveryView>,
            announce,
        ),
        route::list(
            "/v1/deliveries",
            "List deliveries (carrier: own; resident: own unit)",
            &[Role::Carrier, Role::Driver, Role::Resident],
            page::<DeliveryView>,
            list_deliveries,
        ),
        route::read(
            "/v1/deliveries/{delivery_id}",
            "Read a delivery",
            &[Role::Carrier, Role::Driver, Role::Resident, Role::Manager],
            body::<DeliveryView>,
            get_delivery,
        ),
        route::act(
            "/v1/deliveries/{delivery_id}/cancel",
            "Cancel a delivery",
            &[Role::Carrier],
            None,
            body::<DeliveryView>,
            cancel_delivery,
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
