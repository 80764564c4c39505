//! Glue between a Leptos server function and the domain: the state, the
//! principal resolved by the server's middleware, and the caller's address.
//! A server function returns `AppError` (converted from the domain error
//! with `?`); the server gives its response the error's status in one place
//! (the server's `middleware::server_fn_status`).

use crate::backend::caller::{Caller, ClientIp, CurrentPrincipal, Principal};
use crate::backend::AppState;
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

/// The signed-in user as the caller of the services, or `Unauthenticated`.
pub fn caller() -> Result<Caller, AppError> {
    Ok(Caller::Person(require_principal()?))
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
