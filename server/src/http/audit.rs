//! Audit: receipts, log batches, alarms and the access log.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};

use super::openapi::{body, page};
use super::{declare, ok, page_of, parse_json, Auth, Body, Declared, Endpoint, Res, S};
use crate::ids::SiteId;
use crate::service::{
    AlarmView, AuditBatch, BatchOutcome, EntryView, ReceiptOutcome, ReceiptUpload, Role,
};

/// This resource's routes, each declared once: path, method, handler, roles, contract.
pub(super) fn routes() -> Vec<Declared> {
    vec![
        declare(
            Endpoint {
                method: "GET",
                path: "/v1/sites/{site_id}/alarms",
                summary: "List alarms",
                roles: &[Role::Manager],
                success: 200,
                response: page::<AlarmView>,
                request: None,
                idempotent: false,
                paged: true,
            },
            get(alarms),
        ),
        declare(
            Endpoint {
                method: "GET",
                path: "/v1/sites/{site_id}/entries",
                summary: "The access log: carrier, door, time",
                roles: &[Role::Manager, Role::Resident, Role::Operator],
                success: 200,
                response: page::<EntryView>,
                request: None,
                idempotent: false,
                paged: true,
            },
            get(entries),
        ),
        declare(
            Endpoint {
                method: "POST",
                path: "/v1/receipts",
                summary: "Upload a door's signed receipt",
                roles: &[Role::Driver, Role::Device],
                success: 200,
                response: body::<ReceiptOutcome>,
                request: Some(body::<ReceiptUpload>),
                idempotent: false,
                paged: false,
            },
            post(receipt),
        ),
        declare(
            Endpoint {
                method: "POST",
                path: "/v1/audit-batches",
                summary: "Upload a run of a door's log and its signed head",
                roles: &[Role::Driver, Role::Device],
                success: 200,
                response: body::<BatchOutcome>,
                request: Some(body::<AuditBatch>),
                idempotent: false,
                paged: false,
            },
            post(audit_batch),
        ),
    ]
}

async fn alarms(State(s): S, Auth(p): Auth, Path(site): Path<SiteId>, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_alarms(&p, &site, &page_of(&q)?).await?)
}
async fn entries(State(s): S, Auth(p): Auth, Path(site): Path<SiteId>, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_entries(&p, &site, &page_of(&q)?).await?)
}
async fn receipt(State(s): S, Auth(p): Auth, Body(b): Body) -> Res {
    let req = parse_json(&b)?;
    ok(StatusCode::OK, &s.service.ingest_receipt(&p, req).await?)
}
async fn audit_batch(State(s): S, Auth(p): Auth, Body(b): Body) -> Res {
    let req = parse_json(&b)?;
    ok(StatusCode::OK, &s.service.ingest_batch(&p, req).await?)
}
