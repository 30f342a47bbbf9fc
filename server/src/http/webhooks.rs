//! Webhook endpoints.

use axum::extract::{Path, State};
use axum::routing::post;

use super::openapi::body;
use super::{create, declare, Auth, Body, Declared, Endpoint, IdemKey, Replay, Res, S};
use crate::service::{NewWebhook, Role, WebhookCreated};

/// This resource's routes, each declared once: path, method, handler, roles, contract.
pub(super) fn routes() -> Vec<Declared> {
    vec![declare(
        Endpoint {
            method: "POST",
            path: "/v1/sites/{site_id}/webhooks",
            summary: "Add a webhook endpoint",
            roles: &[Role::Manager],
            success: 201,
            response: body::<WebhookCreated>,
            request: Some(body::<NewWebhook>),
            idempotent: true,
            paged: false,
        },
        post(add_webhook),
    )]
}

async fn add_webhook(
    State(s): S,
    Auth(p): Auth,
    Path(site): Path<String>,
    h: IdemKey,
    Body(b): Body,
) -> Res {
    create(&s, &p, h, Replay::WithoutSecret, b, |r| s.service.add_webhook(&p, &site, r)).await
}
