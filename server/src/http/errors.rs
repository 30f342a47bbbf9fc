//! Refusals as HTTP: the `{code, message}` body every error answer carries, and the status
//! each kind of service error maps to.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::service::{self, Code, Kind};

/// Every error answer's body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// A stable machine code: match on it.
    pub code: Code,
    /// What went wrong and what to do, for people.
    pub message: String,
}

/// A service error as an HTTP response.
#[derive(Debug)]
pub struct ApiError(pub service::Error);

impl From<service::Error> for ApiError {
    fn from(e: service::Error) -> Self {
        ApiError(e)
    }
}

fn status_of(kind: Kind) -> StatusCode {
    match kind {
        Kind::Invalid => StatusCode::BAD_REQUEST,
        Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::Refused => StatusCode::UNPROCESSABLE_ENTITY,
        Kind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        Kind::Internal => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(self.0.kind);
        let body = ErrorBody { code: self.0.code, message: self.0.message };
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // Every 503 is worth retrying (RFC 9110 section 10.2.3): say when.
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

pub(super) fn err(kind: Kind, code: Code, message: impl Into<String>) -> ApiError {
    ApiError(service::Error::new(kind, code, message))
}
