//! Audit: receipts, log batches, alarms and the access log.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use super::openapi::{body, page};
use super::route;
use super::{ok, page_of, parse_json, Auth, Body, Declared, Res, S};
use crate::ids::SiteId;
use crate::service::{
    AlarmView, AuditBatch, BatchOutcome, EntryView, ReceiptOutcome, ReceiptUpload, Role,
    BATCH_MAX_BODY_BYTES,
};

/// This resource's routes, each declared once: path, method, handler, roles, contract.
pub(super) fn routes() -> Vec<Declared> {
    vec![
        route::list(
            "/v1/sites/{site_id}/alarms",
            "List alarms",
            &[Role::Manager],
            page::<AlarmView>,
            alarms,
        ),
        route::list(
            "/v1/sites/{site_id}/entries",
            "The access log: carrier, door, time",
            &[Role::Manager, Role::Resident, Role::Operator],
            page::<EntryView>,
            entries,
        ),
        route::act(
            "/v1/receipts",
            "Upload a door's signed receipt",
            &[Role::Driver, Role::Device],
            Some(body::<ReceiptUpload>),
            body::<ReceiptOutcome>,
            receipt,
        ),
        route::act(
            "/v1/audit-batches",
            "Upload a run of a door's log and its signed head",
            &[Role::Driver, Role::Device],
            Some(body::<AuditBatch>),
            body::<BatchOutcome>,
            audit_batch,
        )
        .with_body_limit(BATCH_MAX_BODY_BYTES),
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
