//! Server functions of the Protected APIs page (Administrators; the service
//! checks). The secret appears only in the answers of
//! `create_protected_api` and `regenerate_protected_api_secret`.

use crate::error::AppError;
use crate::model::{CreatedSecret, ProtectedApiSummary};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
fn input(name: String, audience: String) -> crate::backend::protected_apis::service::ProtectedApiInput {
    crate::backend::protected_apis::service::ProtectedApiInput { name, audience }
}

/// Every live protected API.
#[server(prefix = "/admin/fn", endpoint = "protected-apis/list")]
pub async fn list_protected_apis() -> Result<Vec<ProtectedApiSummary>, AppError> {
    use crate::api::context;
    use crate::backend::protected_apis::service;
    let state = context::app_state()?;
    let caller = context::caller()?;
    Ok(service::list(&state, &caller).await?)
}

/// One protected API (for the stand-alone pages).
#[server(prefix = "/admin/fn", endpoint = "protected-apis/get")]
pub async fn get_protected_api(id: String) -> Result<ProtectedApiSummary, AppError> {
    use crate::api::context;
    use crate::backend::protected_apis::service;
    let state = context::app_state()?;
    let caller = context::caller()?;
    Ok(service::get(&state, &caller, &id).await?)
}

/// Registers a protected API and returns its client id and secret, once.
#[server(prefix = "/admin/fn", endpoint = "protected-apis/create")]
pub async fn create_protected_api(name: String, audience: String) -> Result<CreatedSecret, AppError> {
    use crate::api::context;
    use crate::backend::protected_apis::service;
    let state = context::app_state()?;
    let caller = context::caller()?;
    Ok(service::create(&state, &caller, input(name, audience)).await?)
}

/// Edits name and audience.
#[server(prefix = "/admin/fn", endpoint = "protected-apis/update")]
pub async fn update_protected_api(id: String, name: String, audience: String) -> Result<(), AppError> {
    use crate::api::context;
    use crate::backend::protected_apis::service;
    let state = context::app_state()?;
    let caller = context::caller()?;
    Ok(service::update(&state, &caller, &id, input(name, audience)).await?)
}

/// Replaces the secret; the old one stops working at once.
#[server(prefix = "/admin/fn", endpoint = "protected-apis/regenerate")]
pub async fn regenerate_protected_api_secret(id: String) -> Result<CreatedSecret, AppError> {
    use crate::api::context;
    use crate::backend::protected_apis::service;
    let state = context::app_state()?;
    let caller = context::caller()?;
    Ok(service::regenerate(&state, &caller, &id).await?)
}

/// Deletes a protected API; the tokens bound to its audience end.
#[server(prefix = "/admin/fn", endpoint = "protected-apis/delete")]
pub async fn delete_protected_api(id: String) -> Result<(), AppError> {
    use crate::api::context;
    use crate::backend::protected_apis::service;
    let state = context::app_state()?;
    let caller = context::caller()?;
    Ok(service::delete(&state, &caller, &id).await?)
}
