//! Webhook endpoints.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use super::openapi::{body, page};
use super::route;
use super::{create, ok, page_of, Auth, Body, Declared, IdemKey, Replay, Res, S};
use crate::ids::{SiteId, WebhookId};
use crate::service::{NewWebhook, Role, WebhookCreated, WebhookView};

/// This resource's routes, each declared once: path, method, handler, roles, contract.
pub(super) fn routes() -> Vec<Declared> {
    vec![
        route::create(
            "/v1/sites/{site_id}/webhooks",
            "Add a webhook endpoint",
            &[Role::Manager],
            body::<NewWebhook>,
            body::<WebhookCreated>,
            add_webhook,
        ),
        route::list(
            "/v1/sites/{site_id}/webhooks",
            "List webhook endpoints (without their keys)",
            &[Role::Manager],
            page::<WebhookView>,
            list_webhooks,
        ),
        route::remove(
            "/v1/sites/{site_id}/webhooks/{webhook_id}",
            "Delete a webhook endpoint (messages not yet sent to it are dropped)",
            &[Role::Manager],
            body::<WebhookView>,
            delete_webhook,
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

async fn list_webhooks(State(s): S, Auth(p): Auth, Path(site): Path<SiteId>, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_webhooks(&p, &site, &page_of(&q)?).await?)
}

async fn delete_webhook(
    State(s): S,
    Auth(p): Auth,
    Path((site, hook)): Path<(SiteId, WebhookId)>,
) -> Res {
    ok(StatusCode::OK, &s.service.delete_webhook(&p, &site, &hook).await?)
}
