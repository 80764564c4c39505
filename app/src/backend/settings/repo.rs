//! SQL for General Settings: the one row of `settings`.

use super::Settings;
use crate::backend::db::changes::RightsChange;
use crate::backend::Result;
use sqlx::{Any, AnyPool, Executor};

const COLUMNS: &str = "token_idle_secs, token_lifetime_secs, max_credential_days, api_enabled, \
                       session_idle_secs, session_absolute_secs, role_change_ends";

/// The settings, from the pool or inside a change's transaction.
pub async fn load<'e>(ex: impl Executor<'e, Database = Any>) -> Result<Settings> {
    Ok(sqlx::query_as::<_, Settings>(&format!("select {COLUMNS} from settings where id = 1")).fetch_one(ex).await?)
}

pub async fn updated_at(pool: &AnyPool) -> Result<i64> {
    Ok(sqlx::query_scalar("select updated_at from settings where id = 1").fetch_one(pool).await?)
}

/// Writes the row without changing it, inside a transaction: on SQLite this
/// takes the write lock, so a [`load`] after it reads the values the
/// transaction is about to replace.
pub async fn lock<'e>(ex: impl Executor<'e, Database = Any>) -> Result<()> {
    sqlx::query("update settings set updated_at = updated_at where id = 1").execute(ex).await?;
    Ok(())
}

pub async fn store(tx: &mut RightsChange<'_>, s: &Settings, now: i64) -> Result<()> {
    sqlx::query(
        "update settings set token_idle_secs = $1, token_lifetime_secs = $2, max_credential_days = $3, \
         api_enabled = $4, session_idle_secs = $5, session_absolute_secs = $6, role_change_ends = $8, \
         updated_at = $7 where id = 1",
    )
    .bind(s.token_idle_secs)
    .bind(s.token_lifetime_secs)
    .bind(s.max_credential_days)
    .bind(s.api_enabled)
    .bind(s.session_idle_secs)
    .bind(s.session_absolute_secs)
    .bind(now)
    .bind(s.role_change_ends.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
