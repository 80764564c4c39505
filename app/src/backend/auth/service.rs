//! Signing in and out, and turning a session into a [`Principal`].

use super::{SessionAuth, SESSION_AUTH_KEY};
use crate::backend::audit::{self, Actor, Event, Target};
use crate::backend::caller::Principal;
use crate::backend::secrets::{escape, Secret};
use crate::backend::throttle::{self, Key, Policy};
use crate::backend::users::service as users;
use crate::backend::{settings, AppState, Error, Result};
use crate::model::AuditEvent;
use anyhow::Context as _;
use std::net::IpAddr;
use tower_sessions::Session;

const WINDOW: i64 = 15 * 60;
/// One account from one address: the common case of a person mistyping.
const PER_ACCOUNT_AND_ADDRESS: Policy = Policy { limit: 5, window_secs: WINDOW };
/// One address trying many accounts (credential stuffing).
const PER_ADDRESS: Policy = Policy { limit: 30, window_secs: WINDOW };
/// One account from many addresses. Higher, so that strangers cannot lock a
/// user out by failing on purpose (ASVS V6.1.1).
const PER_ACCOUNT: Policy = Policy { limit: 50, window_secs: WINDOW };

/// How often a live session's `last_seen_at` is written back. The idle
/// timeout is therefore exact to within this many seconds.
pub const LAST_SEEN_GRANULARITY_SECS: i64 = 30;

/// The keys of one attempt, the narrowest first: a full pair refuses before
/// the address's and the account's slots are taken (`throttle::reserve`).
fn login_keys(username_key: &str, ip: IpAddr) -> Vec<Key> {
    let address = throttle::address_key(ip);
    vec![
        Key::new(format!("login:pair:{username_key}|{address}"), PER_ACCOUNT_AND_ADDRESS),
        Key::new(format!("login:ip:{address}"), PER_ADDRESS),
        Key::new(format!("login:user:{username_key}"), PER_ACCOUNT),
    ]
}

/// Checks the password and, on success, starts a fresh session (new id:
/// ASVS V7.2.4). Every failure looks the same to the caller: unknown user,
/// wrong password and deactivated account all answer `InvalidCredentials`
/// after the same argon2 work (ASVS V6.3.8).
pub async fn sign_in(
    state: &AppState,
    session: &Session,
    username: &str,
    password: &Secret,
    ip: IpAddr,
) -> Result<Principal> {
    let username = username.trim();
    // Usernames have at most 64 characters; longer input cannot match one,
    // and must not make the throttle keys arbitrarily large.
    let username_key: String = username.to_lowercase().chars().take(64).collect();
    let now = state.clock.unix();
    let keys = login_keys(&username_key, ip);

    // A slot is reserved before the password is checked and given back on
    // success, so concurrent wrong attempts get at most the limit checked.
    let slots = match throttle::reserve(&state.db.pool, &keys, now).await? {
        Ok(slots) => slots,
        Err(refusal) => {
            tracing::warn!(event = "sign_in", outcome = "throttled", username = %escape(username), %ip);
            return Err(Error::Throttled { retry_after_secs: refusal.retry_after_secs });
        }
    };

    let found = if username.is_empty() { None } else { users::find_for_login(&state.db, username).await? };
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    let password_ok = state.passwords.verify(hash, password).await?;
    let user = match user {
        Some(user) if password_ok && user.active => user,
        other => {
            // The failure keeps its slots.
            slots.keep();
            tracing::warn!(event = "sign_in", outcome = "failure", username = %escape(username), %ip);
            // The typed name is kept only when it is an account's: text typed
            // into the username field may be a password (ASVS V16.2.5).
            let mut event = Event::new(AuditEvent::SessionSignIn, Actor::Anonymous).failed().ip(ip);
            event = match other {
                Some(u) => event
                    .target(Target::user(&u.id, &u.username))
                    .detail("reason", if password_ok { "account deactivated" } else { "wrong password" }),
                None => event.detail("reason", "unknown username"),
            };
            audit::record_alone(&state.db, now, event).await?;
            return Err(Error::InvalidCredentials);
        }
    };

    throttle::release(&state.db.pool, slots).await?;
    throttle::clear(&state.db.pool, &keys[0].key).await?;
    let principal = users::principal(&state.db, &user, Some(ip)).await?;
    session.cycle_id().await.context("cycling the session id")?;
    session
        .insert(SESSION_AUTH_KEY, SessionAuth { user_id: user.id.clone(), authenticated_at: now, last_seen_at: now })
        .await
        .context("writing the session")?;
    let event = Event::new(AuditEvent::SessionSignIn, Actor::User { id: user.id.clone(), name: user.username.clone() })
        .ip(ip)
        .target(Target::user(&user.id, &user.username));
    audit::record_alone(&state.db, now, event).await?;
    tracing::info!(event = "sign_in", outcome = "success", user_id = %user.id, %ip);
    Ok(principal)
}

/// Ends the session: the server-side record is deleted, so the old cookie is
/// worthless even if replayed (ASVS V7.4.1).
pub async fn sign_out(state: &AppState, session: &Session, principal: Option<&Principal>) -> Result<()> {
    session.flush().await.context("deleting the session")?;
    if let Some(p) = principal {
        let event = Event::new(AuditEvent::SessionSignOut, Actor::user(p))
            .ip(p.ip)
            .target(Target::user(&p.user_id, &p.username));
        audit::record_alone(&state.db, state.clock.unix(), event).await?;
    }
    Ok(())
}

/// What a request's session amounts to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionState {
    /// Never signed in (or signed out).
    Anonymous,
    /// Was signed in, but timed out or was ended by an administrator.
    Expired,
    Active(Principal),
}

/// Resolves the session into a principal, enforcing the idle and absolute
/// timeouts from General Settings with the injectable clock (ASVS V7.3.1,
/// V7.3.2) and ending the session of deactivated users (ASVS V7.4.2).
pub async fn resolve(state: &AppState, session: &Session) -> Result<SessionState> {
    let auth: Option<SessionAuth> = match session.get(SESSION_AUTH_KEY).await {
        Ok(v) => v,
        Err(e) => {
            // An unreadable session is treated as no session at all.
            tracing::warn!(error = %e, "unreadable session data");
            None
        }
    };
    let Some(mut auth) = auth else {
        return Ok(SessionState::Anonymous);
    };
    let now = state.clock.unix();
    let s = settings::load(&state.db).await?;

    let timed_out =
        now - auth.authenticated_at > s.session_absolute_secs || now - auth.last_seen_at > s.session_idle_secs;
    let user = if timed_out { None } else { users::find_by_id(&state.db, &auth.user_id).await? };
    let user = match user {
        Some(u) if u.active && auth.authenticated_at > u.sessions_valid_after => u,
        _ => {
            session.flush().await.context("deleting an expired session")?;
            return Ok(SessionState::Expired);
        }
    };

    if now - auth.last_seen_at >= LAST_SEEN_GRANULARITY_SECS {
        auth.last_seen_at = now;
        session.insert(SESSION_AUTH_KEY, auth).await.context("touching the session")?;
    }
    Ok(SessionState::Active(users::principal(&state.db, &user, None).await?))
}
