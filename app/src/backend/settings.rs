//! General Settings: one row, read on every use so that a change made on one
//! instance applies on all of them at once.

use super::Result;
use sqlx::AnyPool;

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Settings {
    pub token_idle_secs: i64,
    pub token_lifetime_secs: i64,
    pub max_credential_days: i64,
    pub api_enabled: i64,
    pub session_idle_secs: i64,
    pub session_absolute_secs: i64,
}

pub mod repo {
    use super::*;

    pub async fn load(pool: &AnyPool) -> Result<Settings> {
        Ok(sqlx::query_as::<_, Settings>(
            "select token_idle_secs, token_lifetime_secs, max_credential_days, api_enabled, \
             session_idle_secs, session_absolute_secs from settings where id = 1",
        )
        .fetch_one(pool)
        .await?)
    }
}
