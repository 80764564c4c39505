//! Server functions of the Application Credentials page. Each one resolves
//! the caller and lets the service check ownership; the secret appears only
//! in the answers of `create_credential` and `regenerate_secret`.

use crate::error::AppError;
use crate::model::{CreatedSecret, CredentialFormData, CredentialList, CredentialSummary};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
fn input(
    name: String,
    expires_on: String,
    roles: Option<Vec<String>>,
) -> crate::backend::credentials::service::CredentialInput {
    crate::backend::credentials::service::CredentialInput { name, expires_on, roles: roles.unwrap_or_default() }
}

/// One page of the caller's own credentials.
#[server(prefix = "/admin/fn", endpoint = "credentials/list")]
pub async fn list_credentials(
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<i64>,
) -> Result<CredentialList, AppError> {
    use crate::api::context;
    use crate::backend::credentials::service;
    use crate::model::CredentialSort;

    let state = context::app_state()?;
    let caller = context::caller()?;
    let sort = sort.as_deref().and_then(CredentialSort::from_param).unwrap_or(CredentialSort::Name);
    let descending = dir.as_deref() == Some("desc");
    Ok(service::list(&state, &caller, q.as_deref().unwrap_or(""), sort, descending, page.unwrap_or(1)).await?)
}

/// The roles the caller may grant and the expiry limits.
#[server(prefix = "/admin/fn", endpoint = "credentials/form")]
pub async fn credential_form() -> Result<CredentialFormData, AppError> {
    use crate::api::context;
    use crate::backend::credentials::service;
    let state = context::app_state()?;
    let caller = context::caller()?;
    Ok(service::form_data(&state, &caller).await?)
}

/// One of the caller's credentials (for the edit page).
#[server(prefix = "/admin/fn", endpoint = "credentials/get")]
pub async fn get_credential(id: String) -> Result<CredentialSummary, AppError> {
    use crate::api::context;
    use crate::backend::credentials::service;
    let state = context::app_state()?;
    let caller = context::caller()?;
    Ok(service::get(&state, &caller, &id).await?)
}

/// Creates a credential and returns its client id and secret, once.
#[server(prefix = "/admin/fn", endpoint = "credentials/create")]
pub async fn create_credential(
    name: String,
    expires_on: String,
    roles: Option<Vec<String>>,
) -> Result<CreatedSecret, AppError> {
    use crate::api::context;
    use crate::backend::credentials::service;
    let state = context::app_state()?;
    let caller = context::caller()?;
    Ok(service::create(&state, &caller, input(name, expires_on, roles)).await?)
}

/// Edits name, expiry and roles of one of the caller's credentials.
#[server(prefix = "/admin/fn", endpoint = "credentials/update")]
pub async fn update_credential(
    id: String,
    name: String,
    expires_on: String,
    roles: Option<Vec<String>>,
) -> Result<(), AppError> {
    use crate::api::context;
    use crate::backend::credentials::service;
    let state = context::app_state()?;
    let caller = context::caller()?;
    Ok(service::update(&state, &caller, &id, input(name, expires_on, roles)).await?)
}

/// Replaces the secret; the old one stops working at once.
#[server(prefix = "/admin/fn", endpoint = "credentials/regenerate")]
pub async fn regenerate_secret(id: String) -> Result<CreatedSecret, AppError> {
    use crate::api::context;
    use crate::backend::credentials::service;
    let state = context::app_state()?;
    let caller = context::caller()?;
    Ok(service::regenerate(&state, &caller, &id).await?)
}

/// Deletes one of the caller's credentials.
#[server(prefix = "/admin/fn", endpoint = "credentials/delete")]
pub async fn delete_credential(id: String) -> Result<(), AppError> {
    use crate::api::context;
    use crate::backend::credentials::service;
    let state = context::app_state()?;
    let caller = context::caller()?;
    Ok(service::delete(&state, &caller, &id).await?)
}

/// The tracked API use of one of the caller's credentials.
#[server(prefix = "/admin/fn", endpoint = "credentials/usage")]
pub async fn credential_usage(id: String) -> Result<crate::model::CredentialUsage, AppError> {
    use crate::api::context;
    use crate::backend::credentials::service;
    let state = context::app_state()?;
    let caller = context::caller()?;
    Ok(service::usage(&state, &caller, &id).await?)
}
