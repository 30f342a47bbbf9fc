//! Sites and the policy residents read.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};

use super::openapi::{body, list, page};
use super::{
    create, declare, ok, page_of, Auth, Body, Declared, Endpoint, IdemKey, Replay, Res, S,
};
use crate::ids::SiteId;
use crate::service::{NewSite, PolicyEntry, Role, SiteView};

/// This resource's routes, each declared once: path, method, handler, roles, contract.
pub(super) fn routes() -> Vec<Declared> {
    vec![
        declare(
            Endpoint {
                method: "POST",
                path: "/v1/sites",
                summary: "Create a site from its root public key",
                roles: &[Role::Operator],
                success: 201,
                response: body::<SiteView>,
                request: Some(body::<NewSite>),
                idempotent: true,
                paged: false,
            },
            post(create_site),
        ),
        declare(
            Endpoint {
                method: "GET",
                path: "/v1/sites",
                summary: "List sites",
                roles: &[Role::Operator, Role::Manager],
                success: 200,
                response: page::<SiteView>,
                request: None,
                idempotent: false,
                paged: true,
            },
            get(list_sites),
        ),
        declare(
            Endpoint {
                method: "GET",
                path: "/v1/sites/{site_id}",
                summary: "Read a site",
                roles: &[
                    Role::Operator,
                    Role::Manager,
                    Role::Resident,
                    Role::Device,
                    Role::Carrier,
                    Role::Driver,
                ],
                success: 200,
                response: body::<SiteView>,
                request: None,
                idempotent: false,
                paged: false,
            },
            get(get_site),
        ),
        declare(
            Endpoint {
                method: "GET",
                path: "/v1/sites/{site_id}/policy",
                summary: "The delivery-access policy residents see",
                roles: &[Role::Manager, Role::Resident, Role::Operator],
                success: 200,
                response: list::<PolicyEntry>,
                request: None,
                idempotent: false,
                paged: false,
            },
            get(policy),
        ),
    ]
}

async fn create_site(State(s): S, Auth(p): Auth, h: IdemKey, Body(b): Body) -> Res {
    create(&s, &p, h, Replay::Answer, b, |r| s.service.create_site(&p, r)).await
}
async fn list_sites(State(s): S, Auth(p): Auth, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_sites(&p, &page_of(&q)?).await?)
}
async fn get_site(State(s): S, Auth(p): Auth, Path(site): Path<SiteId>) -> Res {
    ok(StatusCode::OK, &s.service.get_site(&p, &site).await?)
}
async fn policy(State(s): S, Auth(p): Auth, Path(site): Path<SiteId>) -> Res {
    ok(StatusCode::OK, &s.service.policy(&p, &site).await?)
}
