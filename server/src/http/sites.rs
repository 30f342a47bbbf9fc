//! Sites and the policy residents read.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use super::openapi::{body, list, page};
use super::route;
use super::{create, ok, page_of, Auth, Body, Declared, IdemKey, Replay, Res, S};
use crate::ids::SiteId;
use crate::service::{NewSite, PolicyEntry, Role, SiteView};

/// This resource's routes, each declared once: path, method, handler, roles, contract.
pub(super) fn routes() -> Vec<Declared> {
    vec![
        route::create(
            "/v1/sites",
            "Create a site from its root public key",
            &[Role::Operator],
            body::<NewSite>,
            body::<SiteView>,
            create_site,
        ),
        route::list(
            "/v1/sites",
            "List sites",
            &[Role::Operator, Role::Manager],
            page::<SiteView>,
            list_sites,
        ),
        route::read(
            "/v1/sites/{site_id}",
            "Read a site",
            &[
                Role::Operator,
                Role::Manager,
                Role::Resident,
                Role::Device,
                Role::Carrier,
                Role::Driver,
            ],
            body::<SiteView>,
            get_site,
        ),
        route::read(
            "/v1/sites/{site_id}/policy",
            "The delivery-access policy residents see",
            &[Role::Manager, Role::Resident, Role::Operator],
            list::<PolicyEntry>,
            policy,
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
