//! Server functions of the Users page. Each one resolves the caller and
//! lets the users service decide: only User Managers get anywhere, and the
//! Administrator and self-lock-out guards live in the service.

use crate::error::AppError;
use crate::model::{IssuedPassword, Page, Password, UserDetail, UserSummary};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
fn role(slug: &str) -> Result<crate::model::Role, AppError> {
    crate::model::Role::from_slug(slug).ok_or_else(|| AppError::invalid("role", "That is not a known role."))
}

/// Empty means "generate one".
#[cfg(feature = "ssr")]
fn chosen_password(p: Option<Password>) -> Option<crate::backend::secrets::Secret> {
    p.filter(|p| !p.0.is_empty()).map(|p| crate::backend::secrets::Secret::new(p.0))
}

/// One page of users, filtered by username or display name.
#[server(prefix = "/admin/fn", endpoint = "users/list")]
pub async fn list_users(q: Option<String>, page: Option<i64>) -> Result<Page<UserSummary>, AppError> {
    use crate::api::context;
    use crate::backend::users::service;
    let state = context::app_state()?;
    let caller = context::caller()?;
    Ok(service::list(&state, &caller, q.as_deref().unwrap_or(""), page.unwrap_or(1)).await?)
}

#[server(prefix = "/admin/fn", endpoint = "users/get")]
pub async fn get_user(id: String) -> Result<UserDetail, AppError> {
    use crate::api::context;
    use crate::backend::users::service;
    let state = context::app_state()?;
    let caller = context::caller()?;
    Ok(service::detail(&state, &caller, &id).await?)
}

/// Creates a user. With an empty password the server generates one and
/// returns it, once.
#[server(prefix = "/admin/fn", endpoint = "users/create")]
pub async fn create_user(
    username: String,
    display_name: String,
    password: Option<Password>,
    roles: Option<Vec<String>>,
) -> Result<IssuedPassword, AppError> {
    use crate::api::context;
    use crate::backend::users::service::{self, NewUserInput};
    let state = context::app_state()?;
    let caller = context::caller()?;
    let roles = roles.unwrap_or_default().iter().map(|s| role(s)).collect::<Result<Vec<_>, _>>()?;
    let password = chosen_password(password);
    let input =
        NewUserInput { username: &username, display_name: &display_name, password: password.as_ref(), roles: &roles };
    let (user, generated) = service::create_user(&state, &caller, input).await?;
    Ok(IssuedPassword {
        user_id: user.id,
        username: user.username,
        password: generated.map(|s| s.expose().to_string()),
    })
}

#[server(prefix = "/admin/fn", endpoint = "users/grant")]
pub async fn grant_role(id: String, role: String) -> Result<(), AppError> {
    use crate::api::context;
    use crate::backend::users::service;
    let state = context::app_state()?;
    let caller = context::caller()?;
    let role = self::role(&role)?;
    service::grant_role(&state, &caller, &id, role).await?;
    Ok(())
}

/// Revokes a role: tokens carrying it die at once.
#[server(prefix = "/admin/fn", endpoint = "users/revoke")]
pub async fn revoke_role(id: String, role: String) -> Result<(), AppError> {
    use crate::api::context;
    use crate::backend::users::service;
    let state = context::app_state()?;
    let caller = context::caller()?;
    let role = self::role(&role)?;
    service::revoke_role(&state, &caller, &id, role).await?;
    Ok(())
}

/// Deactivates (`active` = "false") or reactivates a user.
#[server(prefix = "/admin/fn", endpoint = "users/active")]
pub async fn set_user_active(id: String, active: bool) -> Result<(), AppError> {
    use crate::api::context;
    use crate::backend::users::service;
    let state = context::app_state()?;
    let caller = context::caller()?;
    service::set_active(&state, &caller, &id, active).await?;
    Ok(())
}

/// Sets a new password (generated when empty) and ends the user's sessions.
#[server(prefix = "/admin/fn", endpoint = "users/password")]
pub async fn reset_password(id: String, password: Option<Password>) -> Result<IssuedPassword, AppError> {
    use crate::api::context;
    use crate::backend::users::service;
    let state = context::app_state()?;
    let caller = context::caller()?;
    let password = chosen_password(password);
    let (user, generated) = service::set_password(&state, &caller, &id, password.as_ref()).await?;
    Ok(IssuedPassword {
        user_id: user.id,
        username: user.username,
        password: generated.map(|s| s.expose().to_string()),
    })
}
