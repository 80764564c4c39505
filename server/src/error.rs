//! The JSON API's error answers (`/api/v1`, RFC 6750 §3): one type, and one
//! table from the domain error to it. `docs/errors.md` prints the table; a
//! test checks that the two agree.

use app::backend::Error;
use app::model::Role;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::borrow::Cow;

/// What an API request is refused with.
#[derive(Debug, PartialEq, Eq)]
pub enum ApiError {
    /// No credentials at all: a bare challenge (R6750-04).
    Missing,
    /// A malformed, duplicated or misplaced token: 400 `invalid_request`,
    /// with a challenge.
    InvalidRequest(&'static str),
    /// Unknown, expired, revoked, or refused for a stated reason: 401
    /// `invalid_token`.
    InvalidToken(Cow<'static, str>),
    /// Valid, but without the role the endpoint needs: 403.
    InsufficientScope(Role),
    /// A query parameter that does not parse: 400 `invalid_request`.
    BadParameter(&'static str),
    /// Input the domain refused: 422 `invalid_request`.
    Unprocessable(String),
    NotFound,
    Throttled {
        retry_after_secs: u64,
    },
    /// The store failed: 503, retry.
    Unavailable,
}

pub const INVALID_TOKEN: &str = "the token is invalid, expired or revoked";

/// The table: every domain refusal's API answer.
impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Unauthenticated | Error::InvalidCredentials => ApiError::InvalidToken(INVALID_TOKEN.into()),
            Error::Refused(reason) => ApiError::InvalidToken(reason.into()),
            Error::MissingRole(role) => {
                // The request span names the client.
                tracing::warn!(event = "api_forbidden", needed = role.slug());
                ApiError::InsufficientScope(role)
            }
            Error::NotFound => ApiError::NotFound,
            Error::Invalid { message, .. } => ApiError::Unprocessable(message),
            Error::Throttled { retry_after_secs } => ApiError::Throttled { retry_after_secs },
            Error::Internal(e) => {
                tracing::error!(error = ?e, "api failure");
                ApiError::Unavailable
            }
        }
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Missing | ApiError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            ApiError::InvalidRequest(_) | ApiError::BadParameter(_) => StatusCode::BAD_REQUEST,
            ApiError::InsufficientScope(_) => StatusCode::FORBIDDEN,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The `error` member of the body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Missing => "unauthorized",
            ApiError::InvalidRequest(_) | ApiError::BadParameter(_) | ApiError::Unprocessable(_) => "invalid_request",
            ApiError::InvalidToken(_) => "invalid_token",
            ApiError::InsufficientScope(_) => "insufficient_scope",
            ApiError::NotFound => "not_found",
            ApiError::Throttled { .. } => "too_many_requests",
            ApiError::Unavailable => "temporarily_unavailable",
        }
    }

    fn description(&self) -> Option<&str> {
        match self {
            ApiError::Missing => Some("a bearer token is required"),
            ApiError::InvalidRequest(d) | ApiError::BadParameter(d) => Some(d),
            ApiError::InvalidToken(d) => Some(d),
            ApiError::InsufficientScope(_) => Some("the token lacks a required role"),
            ApiError::Unprocessable(d) => Some(d),
            ApiError::NotFound => None,
            ApiError::Throttled { .. } => Some("too many requests; retry later"),
            ApiError::Unavailable => Some("retry later"),
        }
    }

    /// The RFC 6750 §3 challenge, for the refusals that are about the token.
    fn challenge(&self) -> Option<String> {
        match self {
            ApiError::Missing | ApiError::Unavailable => Some("Bearer realm=\"appcred\"".to_string()),
            ApiError::InvalidRequest(d) => {
                Some(format!("Bearer realm=\"appcred\", error=\"invalid_request\", error_description=\"{d}\""))
            }
            ApiError::InvalidToken(d) => {
                Some(format!("Bearer realm=\"appcred\", error=\"invalid_token\", error_description=\"{d}\""))
            }
            ApiError::InsufficientScope(role) => {
                Some(format!("Bearer realm=\"appcred\", error=\"insufficient_scope\", scope=\"{}\"", role.slug()))
            }
            ApiError::BadParameter(_)
            | ApiError::Unprocessable(_)
            | ApiError::NotFound
            | ApiError::Throttled { .. } => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.code() });
        if let Some(d) = self.description() {
            body["error_description"] = json!(d);
        }
        if let ApiError::InsufficientScope(role) = &self {
            body["scope"] = json!(role.slug());
        }
        let challenge = self.challenge();
        let mut res = (self.status(), Json(body)).into_response();
        let h = res.headers_mut();
        if let Some(v) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            h.insert(header::WWW_AUTHENTICATE, v);
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if let ApiError::Throttled { retry_after_secs } = self {
            h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)));
        }
        res
    }
}
