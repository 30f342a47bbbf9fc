//! Issuer keys and their certificates.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use super::openapi::{body, page, NoFields};
use super::route;
use super::{create, ok, page_of, parse_json, Auth, Body, Declared, IdemKey, Replay, Res, S};
use crate::ids::{IssuerId, SiteId};
use crate::service::{CertificateUpload, IssuerView, Role};

/// This resource's routes, each declared once: path, method, handler, roles, contract.
pub(super) fn routes() -> Vec<Declared> {
    vec![
        route::create(
            "/v1/sites/{site_id}/issuers",
            "Make an issuer key to be certified by the root",
            &[Role::Manager],
            body::<NoFields>,
            body::<IssuerView>,
            create_issuer,
        ),
        route::list(
            "/v1/sites/{site_id}/issuers",
            "List issuer keys",
            &[Role::Manager],
            page::<IssuerView>,
            list_issuers,
        ),
        route::replace(
            "/v1/sites/{site_id}/issuers/{issuer_id}/certificate",
            "Upload a root-signed issuer certificate",
            &[Role::Manager],
            body::<CertificateUpload>,
            body::<IssuerView>,
            upload_certificate,
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
    create(&s, &p, h, Replay::Answer, b, |_: NoFields| s.service.create_issuer(&p, &site)).await
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
