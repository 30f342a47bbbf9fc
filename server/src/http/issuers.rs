//! Issuer keys and their certificates.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};

use super::openapi::{body, page, NoFields};
use super::{
    create, declare, ok, page_of, parse_json, Auth, Body, Declared, Endpoint, IdemKey, Replay, Res,
    S,
};
use crate::ids::{IssuerId, SiteId};
use crate::service::{CertificateUpload, IssuerView, Role};

/// This resource's routes, each declared once: path, method, handler, roles, contract.
pub(super) fn routes() -> Vec<Declared> {
    vec![
        declare(
            Endpoint {
                method: "POST",
                path: "/v1/sites/{site_id}/issuers",
                summary: "Make an issuer key to be certified by the root",
                roles: &[Role::Manager],
                success: 201,
                response: body::<IssuerView>,
                request: Some(body::<NoFields>),
                idempotent: true,
                paged: false,
            },
            post(create_issuer),
        ),
        declare(
            Endpoint {
                method: "GET",
                path: "/v1/sites/{site_id}/issuers",
                summary: "List issuer keys",
                roles: &[Role::Manager],
                success: 200,
                response: page::<IssuerView>,
                request: None,
                idempotent: false,
                paged: true,
            },
            get(list_issuers),
        ),
        declare(
            Endpoint {
                method: "PUT",
                path: "/v1/sites/{site_id}/issuers/{issuer_id}/certificate",
                summary: "Upload a root-signed issuer certificate",
                roles: &[Role::Manager],
                success: 200,
                response: body::<IssuerView>,
                request: Some(body::<CertificateUpload>),
                idempotent: false,
                paged: false,
            },
            put(upload_certificate),
        ),
    ]
}

async fn create_issuer(
    State(s): S,
    Auth(p): Auth,
    Path(site): Path<SiteId>,
    h: IdemKey,
    Body(b): Body,
) -> Res {
    let b = if b.is_empty() { Bytes::from_static(b"{}") } else { b };
    create(&s, &p, h, Replay::Answer, b, |_: serde_json::Map<String, serde_json::Value>| {
        s.service.create_issuer(&p, &site)
    })
    .await
}
async fn list_issuers(State(s): S, Auth(p): Auth, Path(site): Path<SiteId>, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_issuers(&p, &site, &page_of(&q)?).await?)
}
async fn upload_certificate(
    State(s): S,
    Auth(p): Auth,
    Path((site, issuer)): Path<(SiteId, IssuerId)>,
    Body(b): Body,
) -> Res {
    let req = parse_json(&b)?;
    ok(StatusCode::OK, &s.service.upload_certificate(&p, &site, &issuer, req).await?)
}
