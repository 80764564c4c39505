//! Reading and changing General Settings: the settings in force (cached for
//! one epoch), the form's validation, and the Administrator's change, audited
//! with its before and after values.

use super::{repo, RoleChangeRule, Settings};
use crate::backend::audit::{self, Actor, Event, Target};
use crate::backend::caller::Caller;
use crate::backend::{AppState, Db, Error, Result};
use crate::model::AuditEvent;
use crate::model::{Role, SettingsView};

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

/// The settings as stored, read from the database (never the cache): for a
/// service that reads them once for the operation at hand.
pub async fn load(db: &Db) -> Result<Settings> {
    repo::load(&db.pool).await
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

pub async fn get(state: &AppState, by: &Caller) -> Result<SettingsView> {
    by.require(Role::Administrator)?;
    let s = repo::load(&state.db.pool).await?;
    Ok(view(&s, repo::updated_at(&state.db.pool).await?))
}

/// Validates and stores new settings. They apply to the very next request
/// on every instance, including live tokens: a shorter idle timeout or
/// lifetime ends tokens that are now past it (`tokens::rules`).
pub async fn update(state: &AppState, by: &Caller, input: &SettingsInput) -> Result<SettingsView> {
    by.require(Role::Administrator)?;
    let new = validate(input)?;
    let now = state.clock.unix();
    let mut tx = state.db.begin_rights_change().await?;
    // Write first: on SQLite this takes the write lock before the read, so
    // the "before" values are the ones being replaced.
    repo::lock(&mut *tx).await?;
    let old = repo::load(&mut *tx).await?;
    repo::store(&mut tx, &new, now).await?;
    let event = Event::new(AuditEvent::SettingsChanged, Actor::of(by))
        .ip(by.ip())
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
    tracing::info!(event = "settings_changed", user_id = %by.id());
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
