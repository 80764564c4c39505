//! General Settings: one row, read on every use so that a change made on one
//! instance applies on all of them at once. Only Administrators change it,
//! and every change is audited with its before and after values.

use super::audit::{self, Actor, Event, Target};
use super::auth::Principal;
use super::changes::RightsChange;
use super::{AppState, Error, Result};
use crate::model::AuditEvent;
use crate::model::{Role, SettingsView};
use sqlx::AnyPool;

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

pub use crate::model::RoleChangeRule;

pub mod repo {
    use super::*;

    const COLUMNS: &str = "token_idle_secs, token_lifetime_secs, max_credential_days, api_enabled, \
                           session_idle_secs, session_absolute_secs, role_change_ends";

    /// The settings, from the pool or inside a change's transaction.
    pub async fn load<'e>(ex: impl sqlx::Executor<'e, Database = sqlx::Any>) -> Result<Settings> {
        Ok(sqlx::query_as::<_, Settings>(&format!("select {COLUMNS} from settings where id = 1")).fetch_one(ex).await?)
    }

    pub async fn updated_at(pool: &AnyPool) -> Result<i64> {
        Ok(sqlx::query_scalar("select updated_at from settings where id = 1").fetch_one(pool).await?)
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
}

/// The settings in force: from the cache while the cache epoch holds (a
/// settings change moves it), otherwise from the database.
pub async fn current(state: &AppState) -> Result<Settings> {
    let Some(epoch) = state.db.epoch() else {
        return repo::load(&state.db.pool).await;
    };
    if let Some(s) = state.token_cache.settings(epoch) {
        return Ok(s);
    }
    let s = repo::load(&state.db.pool).await?;
    state.token_cache.put_settings(epoch, s.clone());
    Ok(s)
}

/// The form's fields as typed (text, so that a bad value gets a message
/// beside its field instead of a decoding error).
#[derive(Clone, Debug, Default)]
pub struct SettingsInput {
    pub token_idle_minutes: String,
    pub token_lifetime_secs: String,
    pub max_credential_days: String,
    pub api_enabled: bool,
    pub session_idle_minutes: String,
    pub session_absolute_hours: String,
    /// [`RoleChangeRule::as_str`]; empty keeps the default.
    pub role_change_ends: String,
}

use crate::model::settings_bounds::*;

fn number(field: &'static str, raw: &str, (min, max): (i64, i64), unit: &str) -> Result<i64> {
    let message = || Error::invalid(field, format!("Enter a whole number of {unit} from {min} to {max}."));
    let n: i64 = raw.trim().parse().map_err(|_| message())?;
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(message())
    }
}

pub fn validate(input: &SettingsInput) -> Result<Settings> {
    let session_idle_secs =
        number("session_idle_minutes", &input.session_idle_minutes, SESSION_IDLE_MINUTES, "minutes")? * 60;
    let session_absolute_secs =
        number("session_absolute_hours", &input.session_absolute_hours, SESSION_ABSOLUTE_HOURS, "hours")? * 3600;
    if session_idle_secs > session_absolute_secs {
        return Err(Error::invalid(
            "session_idle_minutes",
            "The idle timeout cannot be longer than the absolute session lifetime.",
        ));
    }
    Ok(Settings {
        token_idle_secs: number("token_idle_minutes", &input.token_idle_minutes, TOKEN_IDLE_MINUTES, "minutes")? * 60,
        token_lifetime_secs: number("token_lifetime_secs", &input.token_lifetime_secs, TOKEN_LIFETIME_SECS, "seconds")?,
        max_credential_days: number("max_credential_days", &input.max_credential_days, MAX_CREDENTIAL_DAYS, "days")?,
        api_enabled: i64::from(input.api_enabled),
        session_idle_secs,
        session_absolute_secs,
        role_change_ends: match input.role_change_ends.trim() {
            "" => RoleChangeRule::default(),
            raw => RoleChangeRule::parse(raw)
                .ok_or_else(|| Error::invalid("role_change_ends", "Choose what a change to a user's roles ends."))?,
        }
        .as_str()
        .to_string(),
    })
}

pub fn view(s: &Settings, updated_at: i64) -> SettingsView {
    SettingsView {
        token_idle_minutes: s.token_idle_secs / 60,
        token_lifetime_secs: s.token_lifetime_secs,
        max_credential_days: s.max_credential_days,
        api_enabled: s.api_enabled(),
        session_idle_minutes: s.session_idle_secs / 60,
        session_absolute_hours: s.session_absolute_secs / 3600,
        role_change_rule: s.role_change_rule(),
        updated_at,
    }
}

pub async fn get(state: &AppState, principal: &Principal) -> Result<SettingsView> {
    principal.require(Role::Administrator)?;
    let s = repo::load(&state.db.pool).await?;
    Ok(view(&s, repo::updated_at(&state.db.pool).await?))
}

/// Validates and stores new settings. They apply to the very next request
/// on every instance, including live tokens: a shorter idle timeout or
/// lifetime ends tokens that are now past it (`tokens::rules`).
pub async fn update(state: &AppState, principal: &Principal, input: &SettingsInput) -> Result<SettingsView> {
    principal.require(Role::Administrator)?;
    let new = validate(input)?;
    let now = state.clock.unix();
    let mut tx = state.db.begin_rights_change().await?;
    // Write first: on SQLite this takes the write lock before the read, so
    // the "before" values are the ones being replaced.
    sqlx::query("update settings set updated_at = updated_at where id = 1").execute(&mut *tx).await?;
    let old = repo::load(&mut *tx).await?;
    repo::store(&mut tx, &new, now).await?;
    let event = Event::new(AuditEvent::SettingsChanged, Actor::user(principal))
        .ip(principal.ip)
        .target(Target::settings())
        .change("token_idle_secs", old.token_idle_secs, new.token_idle_secs)
        .change("token_lifetime_secs", old.token_lifetime_secs, new.token_lifetime_secs)
        .change("max_credential_days", old.max_credential_days, new.max_credential_days)
        .change("api_enabled", old.api_enabled(), new.api_enabled())
        .change("session_idle_secs", old.session_idle_secs, new.session_idle_secs)
        .change("session_absolute_secs", old.session_absolute_secs, new.session_absolute_secs)
        .change("role_change_ends", old.role_change_ends.as_str(), new.role_change_ends.as_str());
    if old != new {
        audit::record(&state.db, &mut tx, now, event).await?;
    }
    tx.commit().await?;
    tracing::info!(event = "settings_changed", user_id = %principal.user_id);
    Ok(view(&new, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> SettingsInput {
        SettingsInput {
            token_idle_minutes: "20".into(),
            token_lifetime_secs: "3600".into(),
            max_credential_days: "365".into(),
            api_enabled: true,
            session_idle_minutes: "30".into(),
            session_absolute_hours: "12".into(),
            role_change_ends: String::new(),
        }
    }

    #[test]
    fn the_defaults_round_trip_through_the_form_units() {
        // The form's default values give the first migration's row.
        assert_eq!(validate(&input()).unwrap(), Settings::default());
    }

    #[test]
    fn each_bad_value_is_reported_on_its_own_field() {
        // (field, bad value); the last case is an idle timeout longer than
        // the one-hour absolute lifetime set for it.
        let cases = [
            ("token_idle_minutes", "0"),
            ("token_lifetime_secs", "59"),
            ("max_credential_days", "ten"),
            ("session_idle_minutes", "1.5"),
            ("session_absolute_hours", "721"),
            ("session_idle_minutes", "120"),
        ];
        for (i, (field, value)) in cases.into_iter().enumerate() {
            let mut input = input();
            let slot = match field {
                "token_idle_minutes" => &mut input.token_idle_minutes,
                "token_lifetime_secs" => &mut input.token_lifetime_secs,
                "max_credential_days" => &mut input.max_credential_days,
                "session_idle_minutes" => &mut input.session_idle_minutes,
                _ => &mut input.session_absolute_hours,
            };
            *slot = value.to_string();
            if i == 5 {
                input.session_absolute_hours = "1".into();
            }
            match validate(&input) {
                Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field, "case {i}"),
                other => panic!("case {i}: expected an error on {field}, got {:?}", other.map(|_| ())),
            }
        }
    }
}
