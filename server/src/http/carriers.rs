//! Carriers and approvals.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};

use super::openapi::{body, page};
use super::{
    create, declare, ok, page_of, Auth, Body, Declared, Endpoint, IdemKey, Replay, Res, S,
};
use crate::ids::SiteId;
use crate::service::{ApprovalView, CarrierView, NewApproval, NewCarrier, Role};

/// This resource's routes, each declared once: path, method, handler, roles, contract.
pub(super) fn routes() -> Vec<Declared> {
    vec![
        declare(
            Endpoint {
                method: "POST",
                path: "/v1/carriers",
                summary: "Create a carrier",
                roles: &[Role::Operator],
                success: 201,
                response: body::<CarrierView>,
                request: Some(body::<NewCarrier>),
                idempotent: true,
                paged: false,
            },
            post(create_carrier),
        ),
        declare(
            Endpoint {
                method: "GET",
                path: "/v1/carriers",
                summary: "List carriers",
                roles: &[Role::Operator, Role::Manager, Role::Carrier],
                success: 200,
                response: page::<CarrierView>,
                request: None,
                idempotent: false,
                paged: true,
            },
            get(list_carriers),
        ),
        declare(
            Endpoint {
                method: "POST",
                path: "/v1/sites/{site_id}/approvals",
                summary: "Approve a carrier at a site with limits",
                roles: &[Role::Manager],
                success: 201,
                response: body::<ApprovalView>,
                request: Some(body::<NewApproval>),
                idempotent: true,
                paged: false,
            },
            post(approve),
        ),
        declare(
            Endpoint {
                method: "GET",
                path: "/v1/sites/{site_id}/approvals",
                summary: "List approvals",
                roles: &[Role::Manager],
                success: 200,
                response: page::<ApprovalView>,
                request: None,
                idempotent: false,
                paged: true,
            },
            get(list_approvals),
        ),
        declare(
            Endpoint {
                method: "POST",
                path: "/v1/sites/{site_id}/approvals/{approval_id}/withdraw",
                summary: "Withdraw an approval",
                roles: &[Role::Manager],
                success: 200,
                response: body::<Withdrawn>,
                request: None,
                idempotent: false,
                paged: false,
            },
            post(withdraw),
        ),
    ]
}

async fn create_carrier(State(s): S, Auth(p): Auth, h: IdemKey, Body(b): Body) -> Res {
    create(&s, &p, h, Replay::Answer, b, |r| s.service.create_carrier(&p, r)).await
}
async fn list_carriers(State(s): S, Auth(p): Auth, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_carriers(&p, &page_of(&q)?).await?)
}
async fn approve(
    State(s): S,
    Auth(p): Auth,
    Path(site): Path<SiteId>,
    h: IdemKey,
    Body(b): Body,
) -> Res {
    create(&s, &p, h, Replay::Answer, b, |r| s.service.approve(&p, &site, r)).await
}
async fn list_approvals(State(s): S, Auth(p): Auth, Path(site): Path<SiteId>, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_approvals(&p, &site, &page_of(&q)?).await?)
}
async fn withdraw(
    State(s): S,
    Auth(p): Auth,
    Path((site, approval)): Path<(SiteId, String)>,
) -> Res {
    s.service.withdraw_approval(&p, &site, &approval).await?;
    ok(StatusCode::OK, &Withdrawn { withdrawn: approval })
}

/// The answer to a withdrawal.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Withdrawn {
    /// The approval withdrawn.
    pub withdrawn: String,
}
