//! Glue between a Leptos server function and the domain: the state, the
//! principal resolved by the server's middleware, and the caller's address.

use super::auth::{ClientIp, CurrentPrincipal, Principal};
use super::AppState;
use crate::error::AppError;
use http::request::Parts;
use leptos::prelude::*;

pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the server function context");
        AppError::Internal
    })
}

fn parts() -> Result<Parts, AppError> {
    use_context::<Parts>().ok_or_else(|| {
        tracing::error!("request parts missing from the server function context");
        AppError::Internal
    })
}

/// The signed-in user, if any.
pub fn principal() -> Result<Option<Principal>, AppError> {
    Ok(parts()?.extensions.get::<CurrentPrincipal>().and_then(|p| p.0.clone()))
}

/// The signed-in user, or `Unauthenticated`.
pub fn require_principal() -> Result<Principal, AppError> {
    let principal = principal()?.ok_or(AppError::Unauthenticated)?;
    Ok(principal)
}

pub fn client_ip() -> Result<ClientIp, AppError> {
    parts()?.extensions.get::<ClientIp>().copied().ok_or_else(|| {
        tracing::error!("client address missing from the request");
        AppError::Internal
    })
}

/// The session of this request (created lazily by tower-sessions).
pub fn session() -> Result<tower_sessions::Session, AppError> {
    parts()?.extensions.get::<tower_sessions::Session>().cloned().ok_or_else(|| {
        tracing::error!("session layer missing");
        AppError::Internal
    })
}

/// Set the HTTP status of a server-function error response, so tools and
/// tests see 401/403/422 rather than a blanket 500. A plain (no-JS) form
/// post is left alone: it must stay a redirect back to the form, which
/// carries the error.
pub fn fail<T, E: Into<AppError>>(err: E) -> Result<T, AppError> {
    let err = err.into();
    let parts = use_context::<Parts>();
    if err == AppError::Forbidden {
        // A refused call is a security event (ASVS V16.3.2): who, what, from where.
        let user = principal().ok().flatten().map(|p| p.user_id).unwrap_or_default();
        let path = parts.as_ref().map(|p| p.uri.path().to_string()).unwrap_or_default();
        let ip = client_ip().map(|c| c.0.to_string()).unwrap_or_default();
        tracing::warn!(event = "access_refused", user_id = %user, path = %path, ip = %ip);
    }
    let plain_form = parts
        .as_ref()
        .and_then(|p| {
            p.headers.get(http::header::ACCEPT).and_then(|v| v.to_str().ok()).map(|v| v.contains("text/html"))
        })
        .unwrap_or(false);
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>().filter(|_| !plain_form) {
        if let Ok(status) = http::StatusCode::from_u16(err.status()) {
            res.set_status(status);
        }
        if let AppError::TooManyAttempts { retry_after_secs } = err {
            res.insert_header(http::header::RETRY_AFTER, http::HeaderValue::from(retry_after_secs));
        }
    }
    Err(err)
}
