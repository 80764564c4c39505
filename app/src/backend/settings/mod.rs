//! General Settings: one row, read on every use so that a change made on one
//! instance applies on all of them at once. Only Administrators change it,
//! and every change is audited with its before and after values.

pub mod repo;
pub mod service;

pub use crate::model::RoleChangeRule;
pub use service::{current, get, load, update, validate, view, SettingsInput};

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Settings {
    pub token_idle_secs: i64,
    pub token_lifetime_secs: i64,
    pub max_credential_days: i64,
    pub api_enabled: i64,
    pub session_idle_secs: i64,
    pub session_absolute_secs: i64,
    /// [`RoleChangeRule::as_str`].
    pub role_change_ends: String,
}

/// The values a new installation starts with (the first migration's row).
impl Default for Settings {
    fn default() -> Self {
        Settings {
            token_idle_secs: 1200,
            token_lifetime_secs: 3600,
            max_credential_days: 365,
            api_enabled: 1,
            session_idle_secs: 1800,
            session_absolute_secs: 43200,
            role_change_ends: RoleChangeRule::AllTokens.as_str().to_string(),
        }
    }
}

impl Settings {
    pub fn api_enabled(&self) -> bool {
        self.api_enabled != 0
    }

    pub fn role_change_rule(&self) -> RoleChangeRule {
        RoleChangeRule::parse(&self.role_change_ends).unwrap_or(RoleChangeRule::AllTokens)
    }
}
