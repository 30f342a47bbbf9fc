//! Carriers and approvals.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use super::openapi::{body, page};
use super::route;
use super::{create, ok, page_of, Auth, Body, Declared, IdemKey, Replay, Res, S};
use crate::ids::{ApprovalId, SiteId};
use crate::service::{ApprovalView, CarrierView, NewApproval, NewCarrier, Role};

/// This resource's routes, each declared once: path, method, handler, roles, contract.
pub(super) fn routes() -> Vec<Declared> {
    vec![
        route::create(
            "/v1/carriers",
            "Create a carrier",
            &[Role::Operator],
            body::<NewCarrier>,
            body::<CarrierView>,
            create_carrier,
        ),
        route::list(
            "/v1/carriers",
            "List carriers",
            &[Role::Operator, Role::Manager, Role::Carrier],
            page::<CarrierView>,
            list_carriers,
        ),
        route::create(
            "/v1/sites/{site_id}/approvals",
            "Approve a carrier at a site with limits",
            &[Role::Manager],
            body::<NewApproval>,
            body::<ApprovalView>,
            approve,
        ),
        route::list(
            "/v1/sites/{site_id}/approvals",
            "List approvals",
            &[Role::Manager],
            page::<ApprovalView>,
            list_approvals,
        ),
        route::act(
            "/v1/sites/{site_id}/approvals/{approval_id}/withdraw",
            "Withdraw an approval",
            &[Role::Manager],
            None,
            body::<Withdrawn>,
            withdraw,
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
    Path((site, approval)): Path<(SiteId, ApprovalId)>,
) -> Res {
    s.service.withdraw_approval(&p, &site, &approval).await?;
    ok(StatusCode::OK, &Withdrawn { withdrawn: approval })
}

/// The answer to a withdrawal.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Withdrawn {
    /// The approval withdrawn.
    pub withdrawn: ApprovalId,
}
