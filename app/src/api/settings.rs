//! Server functions of the General Settings page (Administrators only; the
//! settings service checks).

use crate::error::AppError;
use crate::model::SettingsView;
use leptos::prelude::*;

#[server(prefix = "/admin/fn", endpoint = "settings/get")]
pub async fn get_settings() -> Result<SettingsView, AppError> {
    use crate::api::context;
    use crate::backend::settings;
    let state = context::app_state()?;
    let caller = context::caller()?;
    Ok(settings::get(&state, &caller).await?)
}

/// Stores new General Settings; they apply at once.
#[server(prefix = "/admin/fn", endpoint = "settings/update")]
pub async fn update_settings(
    token_idle_minutes: String,
    token_lifetime_secs: String,
    max_credential_days: String,
    api_enabled: Option<String>,
    session_idle_minutes: String,
    session_absolute_hours: String,
    role_change_ends: Option<String>,
) -> Result<SettingsView, AppError> {
    use crate::api::context;
    use crate::backend::settings;
    let state = context::app_state()?;
    let caller = context::caller()?;
    let input = settings::SettingsInput {
        token_idle_minutes,
        token_lifetime_secs,
        max_credential_days,
        api_enabled: api_enabled.is_some_and(|v| !v.is_empty() && v != "false"),
        session_idle_minutes,
        session_absolute_hours,
        role_change_ends: role_change_ends.unwrap_or_default(),
    };
    Ok(settings::update(&state, &caller, &input).await?)
}
