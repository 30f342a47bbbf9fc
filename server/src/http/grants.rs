//! Grants: issuance at the door and the site's list.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode};

use super::openapi::{body, page};
use super::route;
use super::{ok, page_of, parse_json, Auth, Body, Declared, GrantAuth, IdemKey, Res, S};
use crate::ids::{DeliveryId, SiteId};
use crate::service::{self};
use crate::service::{GrantRequest, GrantView, IssuedGrant, Role};

/// This resource's routes, each declared once: path, method, handler, roles, contract.
pub(super) fn routes() -> Vec<Declared> {
    vec![
        route::create(
            "/v1/deliveries/{delivery_id}/grants",
            "Ask for a grant at the door",
            &[Role::Driver],
            body::<GrantRequest>,
            body::<IssuedGrant>,
            issue_grant,
        ),
        route::list(
            "/v1/sites/{site_id}/grants",
            "List grants issued at the site",
            &[Role::Manager],
            page::<GrantView>,
            site_grants,
        ),
    ]
}

async fn issue_grant(
    State(s): S,
    GrantAuth(p): GrantAuth,
    Path(id): Path<DeliveryId>,
    h: IdemKey,
    Body(b): Body,
) -> Res {
    // Not through `create`: the idempotency record commits in the grant's own transaction.
    let idem = h
        .key()
        .map(|key| service::Idempotency { key: key.to_string(), request_hash: h.request_hash(&b) });
    if let Some(idem) = &idem {
        if let Some(replay) = s.service.replayed_grant(&p, idem).await? {
            let mut r = ok(StatusCode::CREATED, &replay)?;
            r.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            return Ok(r);
        }
    }
    let req = parse_json(&b)?;
    ok(StatusCode::CREATED, &s.service.issue_grant(&p, &id, req, idem).await?)
}
async fn site_grants(State(s): S, Auth(p): Auth, Path(site): Path<SiteId>, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_grants(&p, &site, &page_of(&q)?).await?)
}
