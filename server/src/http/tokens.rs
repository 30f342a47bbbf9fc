//! API tokens.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};

use super::openapi::{body, page};
use super::{
    create, declare, ok, page_of, Auth, Body, Declared, Endpoint, IdemKey, Replay, Res, S,
};
use crate::ids::TokenId;
use crate::service::{NewToken, Role, TokenCreated, TokenView};

/// This resource's routes, each declared once: path, method, handler, roles, contract.
pub(super) fn routes() -> Vec<Declared> {
    vec![
        declare(
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
        ),
        declare(
            Endpoint {
                method: "GET",
                path: "/v1/tokens",
                summary: "List the API tokens within your scope (never their secrets)",
                roles: &[Role::Operator, Role::Manager, Role::Carrier],
                success: 200,
                response: page::<TokenView>,
                request: None,
                idempotent: false,
                paged: true,
            },
            get(list_tokens),
        ),
        declare(
            Endpoint {
                method: "POST",
                path: "/v1/tokens/{token_id}/revoke",
                summary: "Revoke a token within your scope, or your own",
                roles: &[
                    Role::Operator,
                    Role::Manager,
                    Role::Carrier,
                    Role::Driver,
                    Role::Resident,
                    Role::Device,
                ],
                success: 200,
                response: body::<TokenView>,
                request: None,
                idempotent: false,
                paged: false,
            },
            post(revoke_token),
        ),
    ]
}

async fn create_token(State(s): S, Auth(p): Auth, h: IdemKey, Body(b): Body) -> Res {
    create(&s, &p, h, Replay::WithoutSecret, b, |r| s.service.create_token(&p, r)).await
}
async fn list_tokens(State(s): S, Auth(p): Auth, q: RawQuery) -> Res {
    ok(StatusCode::OK, &s.service.list_tokens(&p, &page_of(&q)?).await?)
}
async fn revoke_token(State(s): S, Auth(p): Auth, Path(id): Path<TokenId>) -> Res {
    ok(StatusCode::OK, &s.service.revoke_token(&p, &id).await?)
}
