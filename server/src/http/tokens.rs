//! API tokens.

use axum::extract::State;
use axum::routing::post;

use super::openapi::body;
use super::{create, declare, Auth, Body, Declared, Endpoint, IdemKey, Replay, Res, S};
use crate::service::{NewToken, Role, TokenCreated};

/// This resource's routes, each declared once: path, method, handler, roles, contract.
pub(super) fn routes() -> Vec<Declared> {
    vec![declare(
        Endpoint {
            method: "POST",
            path: "/v1/tokens",
            summary: "Create an API token for a role within your scope",
            roles: &[Role::Operator, Role::Manager, Role::Carrier],
            success: 201,
            response: body::<TokenCreated>,
            request: Some(body::<NewToken>),
            idempotent: true,
            paged: false,
        },
        post(create_token),
    )]
}

async fn create_token(State(s): S, Auth(p): Auth, h: IdemKey, Body(b): Body) -> Res {
    create(&s, &p, h, Replay::WithoutSecret, b, |r| s.service.create_token(&p, r)).await
}
