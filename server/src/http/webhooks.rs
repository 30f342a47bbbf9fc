//! Webhook endpoints.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};

use super::openapi::body;
use super::{create, declare, ok, Auth, Body, Declared, Endpoint, IdemKey, Replay, Res, S};
use crate::ids::{SiteId, WebhookId};
use crate::service::{NewWebhook, Role, WebhookCreated, WebhookView};

/// This resource's routes, each declared once: path, method, handler, roles, contract.
pub(super) fn routes() -> Vec<Declared> {
    vec![
        declare(
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
        ),
        declare(
            Endpoint {
                method: "DELETE",
                path: "/v1/sites/{site_id}/webhooks/{webhook_id}",
                summary: "Delete a webhook endpoint (messages not yet sent to it are dropped)",
                roles: &[Role::Manager],
                success: 200,
                response: body::<WebhookView>,
                request: None,
                idempotent: false,
                paged: false,
            },
            delete(delete_webhook),
        ),
    ]
}

async fn add_webhook(
    State(s): S,
    Auth(p): Auth,
    Path(site): Path<SiteId>,
    h: IdemKey,
    Body(b): Body,
) -> Res {
    create(&s, &p, h, Replay::WithoutSecret, b, |r| s.service.add_webhook(&p, &site, r)).await
}

async fn delete_webhook(
    State(s): S,
    Auth(p): Auth,
    Path((site, hook)): Path<(SiteId, WebhookId)>,
) -> Res {
    ok(StatusCode::OK, &s.service.delete_webhook(&p, &site, &hook).await?)
}
