//! The shapes a route declaration takes, so that each route states only what is its own
//! (path, summary, roles, bodies, handler) and the method, success status, idempotency and
//! paging follow from its kind: the router and the OpenAPI document both read the result.

use axum::handler::Handler;
use axum::routing::{delete, get, post, put};

use super::openapi::{Endpoint, Schema};
use super::{declare, AppState, Declared};
use crate::service::Role;

/// `GET`, a page of `response` items taking `limit` and `after`.
pub(super) fn list<H: Handler<T, AppState>, T: 'static>(
    path: &'static str,
    summary: &'static str,
    roles: &'static [Role],
    response: Schema,
    handler: H,
) -> Declared {
    let endpoint = Endpoint::new("GET", path, summary, roles, response);
    declare(Endpoint { paged: true, ..endpoint }, get(handler))
}

/// `GET`, one object (or an unpaged list).
pub(super) fn read<H: Handler<T, AppState>, T: 'static>(
    path: &'static str,
    summary: &'static str,
    roles: &'static [Role],
    response: Schema,
    handler: H,
) -> Declared {
    declare(Endpoint::new("GET", path, summary, roles, response), get(handler))
}

/// `POST` making an object: reads `request`, answers 201 with `response`, honours
/// `Idempotency-Key`.
pub(super) fn create<H: Handler<T, AppState>, T: 'static>(
    path: &'static str,
    summary: &'static str,
    roles: &'static [Role],
    request: Schema,
    response: Schema,
    handler: H,
) -> Declared {
    let endpoint = Endpoint::new("POST", path, summary, roles, response);
    let endpoint = Endpoint { success: 201, request: Some(request), idempotent: true, ..endpoint };
    declare(endpoint, post(handler))
}

/// `POST` doing something to what exists (cancel, upload, rotate): answers 200.
pub(super) fn act<H: Handler<T, AppState>, T: 'static>(
    path: &'static str,
    summary: &'static str,
    roles: &'static [Role],
    request: Option<Schema>,
    response: Schema,
    handler: H,
) -> Declared {
    let endpoint = Endpoint::new("POST", path, summary, roles, response);
    declare(Endpoint { request, ..endpoint }, post(handler))
}

/// `PUT` setting a value: reads `request`, answers 200.
pub(super) fn replace<H: Handler<T, AppState>, T: 'static>(
    path: &'static str,
    summary: &'static str,
    roles: &'static [Role],
    request: Schema,
    response: Schema,
    handler: H,
) -> Declared {
    let endpoint = Endpoint::new("PUT", path, summary, roles, response);
    declare(Endpoint { request: Some(request), ..endpoint }, put(handler))
}

/// `DELETE`, answering 200 with what was removed.
pub(super) fn remove<H: Handler<T, AppState>, T: 'static>(
    path: &'static str,
    summary: &'static str,
    roles: &'static [Role],
    response: Schema,
    handler: H,
) -> Declared {
    declare(Endpoint::new("DELETE", path, summary, roles, response), delete(handler))
}
