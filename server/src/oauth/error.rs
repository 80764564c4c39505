//! The OAuth endpoints' error answers (RFC 6749 §5.2, RFC 7009 §2.2.1): one
//! type, and one table from the domain error to it. `docs/errors.md` prints
//! the table; a test checks that the two agree.

use app::backend::Error;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::borrow::Cow;

/// The `error` codes of RFC 6749 §5.2 (and §2.2.1 of RFC 7009, §2 of
/// RFC 8707).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    InvalidRequest,
    InvalidClient,
    InvalidScope,
    UnauthorizedClient,
    UnsupportedGrantType,
    /// RFC 8707 §2: the requested resource is unknown or not one.
    InvalidTarget,
    TemporarilyUnavailable,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::InvalidRequest => "invalid_request",
            Code::InvalidClient => "invalid_client",
            Code::InvalidScope => "invalid_scope",
            Code::UnauthorizedClient => "unauthorized_client",
            Code::UnsupportedGrantType => "unsupported_grant_type",
            Code::InvalidTarget => "invalid_target",
            Code::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// An OAuth error answer: JSON, never cached; 401 with a matching challenge
/// for `invalid_client` (R6749-15), 429 with `Retry-After` when throttled,
/// 503 when the store failed, 400 otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthError {
    pub status: StatusCode,
    pub code: Code,
    description: Cow<'static, str>,
    pub retry_after_secs: Option<u64>,
}

impl OAuthError {
    fn new(status: StatusCode, code: Code, description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError { status, code, description: description.into(), retry_after_secs: None }
    }

    /// A malformed request (400 `invalid_request`).
    pub fn invalid_request(description: &'static str) -> Self {
        OAuthError::new(StatusCode::BAD_REQUEST, Code::InvalidRequest, description)
    }

    /// No client authentication at all (401 `invalid_client`).
    pub fn no_client_authentication() -> Self {
        OAuthError::new(StatusCode::UNAUTHORIZED, Code::InvalidClient, "client authentication is required")
    }

    pub fn unsupported_grant_type() -> Self {
        OAuthError::new(
            StatusCode::BAD_REQUEST,
            Code::UnsupportedGrantType,
            "only the client_credentials grant is supported",
        )
    }

    /// The `error_description`: fixed texts of `%x20-21 / %x23-5B / %x5D-7E`
    /// (R6749-41), never a presented secret or token (R6749-42). A domain
    /// text outside that set gives way to a generic one.
    pub fn description(&self) -> &str {
        if self.description.bytes().all(rfc6749_text) {
            &self.description
        } else {
            "the request was refused"
        }
    }
}

fn rfc6749_text(b: u8) -> bool {
    b == 0x20 || b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)
}

/// The table: every domain refusal's OAuth answer.
impl From<Error> for OAuthError {
    fn from(e: Error) -> Self {
        use StatusCode as S;
        match e {
            Error::Invalid { field: "scope", message } => OAuthError::new(S::BAD_REQUEST, Code::InvalidScope, message),
            Error::Invalid { field: "resource", message } => {
                OAuthError::new(S::BAD_REQUEST, Code::InvalidTarget, message)
            }
            Error::Invalid { message, .. } => OAuthError::new(S::BAD_REQUEST, Code::InvalidRequest, message),
            Error::InvalidCredentials => {
                OAuthError::new(S::UNAUTHORIZED, Code::InvalidClient, "client authentication failed")
            }
            Error::Unauthenticated => OAuthError::no_client_authentication(),
            Error::Refused(reason) => OAuthError::new(S::BAD_REQUEST, Code::UnauthorizedClient, reason),
            Error::MissingRole(_) => {
                OAuthError::new(S::BAD_REQUEST, Code::UnauthorizedClient, "the client may not do this")
            }
            Error::NotFound => OAuthError::new(S::BAD_REQUEST, Code::InvalidRequest, "not found"),
            Error::Throttled { retry_after_secs } => OAuthError {
                retry_after_secs: Some(retry_after_secs.max(1)),
                ..OAuthError::new(S::TOO_MANY_REQUESTS, Code::InvalidRequest, "too many failed attempts; retry later")
            },
            Error::Internal(e) => {
                tracing::error!(error = ?e, "token service failure");
                OAuthError::new(
                    S::SERVICE_UNAVAILABLE,
                    Code::TemporarilyUnavailable,
                    "the service is temporarily unavailable; retry later",
                )
            }
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.code.as_str(), "error_description": self.description() });
        let mut res = (self.status, Json(body)).into_response();
        let h = res.headers_mut();
        super::no_store(h);
        if self.code == Code::InvalidClient {
            // Any 401 carries a challenge (RFC 7235 §3.1); after Basic it must
            // match the scheme used (RFC 6749 §5.2): Basic is our only scheme.
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"appcred\", charset=\"UTF-8\""));
        }
        if let Some(secs) = self.retry_after_secs {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_texts_stay_within_the_rfc_character_set() {
        // R6749-41
        let all = [
            OAuthError::invalid_request("x"),
            OAuthError::unsupported_grant_type(),
            Error::Throttled { retry_after_secs: 1 }.into(),
            Error::Internal(anyhow::anyhow!("boom")).into(),
            Error::invalid("scope", "a “curly” text").into(),
        ];
        for e in all {
            for s in [e.code.as_str(), e.description()] {
                assert!(s.bytes().all(rfc6749_text), "{s}");
            }
        }
    }
}
