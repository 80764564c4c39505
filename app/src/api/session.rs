//! Signing in and out, and who is signed in.

use crate::error::AppError;
use crate::model::{CurrentUser, Password};
use leptos::prelude::*;

/// Signs in with username and password. On success the browser is sent to
/// `next` (a local path) or the home page.
#[server(prefix = "/admin/fn", endpoint = "login")]
pub async fn login(username: String, password: Password, next: Option<String>) -> Result<(), AppError> {
    use crate::api::context;
    use crate::backend::auth::service;
    use crate::backend::secrets::Secret;

    let state = context::app_state()?;
    let session = context::session()?;
    let ip = context::client_ip()?;
    match service::sign_in(&state, &session, &username, &Secret::new(password.0), ip.0).await {
        Ok(_) => {
            leptos_axum::redirect(&crate::model::safe_next(next.as_deref()));
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Signs out: the session is destroyed on the server.
#[server(prefix = "/admin/fn", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::api::context;
    use crate::backend::auth::service;

    let state = context::app_state()?;
    let session = context::session()?;
    let principal = context::principal()?;
    if let Some(p) = &principal {
        tracing::info!(event = "sign_out", user_id = %p.user_id);
    }
    service::sign_out(&state, &session, principal.as_ref()).await?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// The signed-in user, or `None`.
#[server(prefix = "/admin/fn", endpoint = "me")]
pub async fn get_current_user() -> Result<Option<CurrentUser>, AppError> {
    use crate::api::context;
    Ok(context::principal()?.map(|p| p.to_current_user()))
}
