//! API tokens.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use super::openapi::{body, page};
use super::route;
use super::{create, ok, page_of, Auth, Body, Declared, IdemKey, Replay, Res, S};
use crate::ids::TokenId;
use crate::service::{NewToken, Role, TokenCreated, TokenView};

/// This resource's routes, each declared once: path, method, handler, roles, contract.
pub(super) fn routes() -> Vec<Declared> {
    vec![
        route::create(
            "/v1/tokens",
            "Create an API token for a role within your scope",
            &[Role::Operator, Role::Manager, Role::Carrier],
            body::<NewToken>,
            body::<TokenCreated>,
            create_token,
        ),
        route::list(
            "/v1/tokens",
            "List the API tokens within your scope (never their secrets)",
            &[Role::Operator, Role::Manager, Role::Carrier],
            page::<TokenView>,
            list_tokens,
        ),
        route::act(
            "/v1/tokens/{token_id}/revoke",
            "Revoke a token within your scope, or your own",
            &[
                Role::Operator,
                Role::Manager,
                Role::Carrier,
                Role::Driver,
                Role::Resident,
                Role::Device,
            ],
            None,
            body::<TokenView>,
            revoke_token,
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
