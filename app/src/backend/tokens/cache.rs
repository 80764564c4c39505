//! In-memory caches for the token hot paths, valid for one cache epoch
//! ([`crate::backend::db::Db::epoch`]).
//!
//! Every change that can make a cached answer wrong (a credential edited,
//! regenerated or deleted; a role granted or revoked; a user deactivated;
//! General Settings changed; a token revoked) commits through
//! `Db::commit_token_change`, which moves the epoch on this instance right
//! after the commit and bumps a shared counter that other instances poll.
//! An entry filled in an older epoch is never used, so on this instance a
//! change applies at the very next request, and on another instance within
//! one poll interval.
//!
//! Time-based rules (absolute expiry, idle timeout, credential expiry) are
//! checked on every hit against the cached instants; a token that fails
//! them falls through to the database path, which records its death.

use crate::backend::caller::TokenPrincipal;
use crate::backend::settings::Settings;
use crate::model::Role;
use std::collections::HashMap;
use std::sync::Mutex;

/// Entries per map before it is simply emptied (bounded memory; attacker-
/// chosen client ids are cached as misses too).
const MAX_ENTRIES: usize = 100_000;

/// A validated token.
#[derive(Clone, Debug)]
pub struct CachedToken {
    pub principal: TokenPrincipal,
    /// The token's stored absolute expiry (see `rules::effective_expiry`).
    pub expires_at: i64,
    /// The credential's expiry.
    pub credential_expires_at: i64,
    /// Last use known here (stored or seen by this instance).
    pub last_used_at: i64,
    /// The protected API a bound token was issued for (`principal.audience`
    /// is its audience then).
    pub protected_api_id: Option<String>,
}

/// What the token endpoint needs to know about a client id.
#[derive(Clone, Debug)]
pub struct CachedClient {
    pub id: String,
    pub name: String,
    pub owner_id: String,
    pub secret_digest: String,
    pub secret_version: i64,
    pub rights_gen: i64,
    pub expires_at: i64,
    pub deleted: bool,
    pub owner_active: bool,
    /// Roles of the credential its owner still holds.
    pub usable_roles: Vec<Role>,
}

/// What introspection needs to know about a protected API's id.
#[derive(Clone, Debug)]
pub struct CachedApi {
    pub id: String,
    pub name: String,
    pub audience: String,
    pub secret_digest: String,
    pub deleted: bool,
}

struct Slot<T> {
    epoch: u64,
    value: T,
}

#[derive(Default)]
pub struct TokenCache {
    settings: Mutex<Option<Slot<Settings>>>,
    tokens: Mutex<HashMap<String, Slot<CachedToken>>>,
    /// `None`: no such client (cached so unknown and known ids cost alike).
    clients: Mutex<HashMap<String, Slot<Option<CachedClient>>>>,
    /// `None`: no such protected API.
    apis: Mutex<HashMap<String, Slot<Option<CachedApi>>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn insert_bounded<T>(map: &mut HashMap<String, Slot<T>>, key: String, epoch: u64, value: T) {
    if map.len() >= MAX_ENTRIES {
        map.clear();
    }
    map.insert(key, Slot { epoch, value });
}

impl TokenCache {
    pub fn settings(&self, epoch: u64) -> Option<Settings> {
        lock(&self.settings).as_ref().filter(|s| s.epoch == epoch).map(|s| s.value.clone())
    }

    pub fn put_settings(&self, epoch: u64, settings: Settings) {
        *lock(&self.settings) = Some(Slot { epoch, value: settings });
    }

    /// A live token of this epoch that passes the time rules at `now`
    /// under the settings in force; its last use becomes `now`.
    pub fn token(&self, key: &str, epoch: u64, now: i64, s: &Settings) -> Option<TokenPrincipal> {
        self.token_used_if(key, epoch, now, s, |_| true).map(|t| t.principal)
    }

    /// [`Self::token`], its last use becoming `now` only when `used` says
    /// this look-up counts as a use.
    pub fn token_used_if(
        &self,
        key: &str,
        epoch: u64,
        now: i64,
        s: &Settings,
        used: impl FnOnce(&CachedToken) -> bool,
    ) -> Option<CachedToken> {
        let mut map = lock(&self.tokens);
        let slot = map.get_mut(key)?;
        let t = &mut slot.value;
        let expires_at = super::rules::effective_expiry(t.principal.issued_at, t.expires_at, s.token_lifetime_secs);
        let idle_secs = s.token_idle_secs;
        let fresh = slot.epoch == epoch
            && now < expires_at
            && now < t.credential_expires_at
            && now - t.last_used_at <= idle_secs;
        if !fresh {
            map.remove(key);
            return None;
        }
        if used(t) {
            t.last_used_at = t.last_used_at.max(now);
        }
        Some(t.clone())
    }

    pub fn put_token(&self, key: String, epoch: u64, token: CachedToken) {
        insert_bounded(&mut lock(&self.tokens), key, epoch, token);
    }

    /// The client for `id` if cached in this epoch (`Some(None)`: known
    /// not to exist).
    pub fn client(&self, id: &str, epoch: u64) -> Option<Option<CachedClient>> {
        lock(&self.clients).get(id).filter(|s| s.epoch == epoch).map(|s| s.value.clone())
    }

    pub fn put_client(&self, id: String, epoch: u64, client: Option<CachedClient>) {
        insert_bounded(&mut lock(&self.clients), id, epoch, client);
    }

    /// The protected API for `id` if cached in this epoch (`Some(None)`:
    /// known not to exist).
    pub fn api(&self, id: &str, epoch: u64) -> Option<Option<CachedApi>> {
        lock(&self.apis).get(id).filter(|s| s.epoch == epoch).map(|s| s.value.clone())
    }

    pub fn put_api(&self, id: String, epoch: u64, api: Option<CachedApi>) {
        insert_bounded(&mut lock(&self.apis), id, epoch, api);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(expires_at: i64, credential_expires_at: i64, last_used_at: i64) -> CachedToken {
        CachedToken {
            principal: TokenPrincipal {
                credential_id: "c".into(),
                credential_name: "n".into(),
                owner_id: "o".into(),
                owner_username: "u".into(),
                owner_display_name: "U".into(),
                roles: vec![Role::WorkCreator],
                issued_at: 0,
                expires_at,
                audience: None,
            },
            expires_at,
            credential_expires_at,
            last_used_at,
            protected_api_id: None,
        }
    }

    fn idle(secs: i64) -> Settings {
        Settings { token_idle_secs: secs, token_lifetime_secs: 1_000_000, ..Settings::default() }
    }

    #[test]
    fn a_shortened_lifetime_ends_a_cached_token_issued_longer_ago() {
        let c = TokenCache::default();
        c.put_token("d".into(), 1, token(1000, 2000, 0));
        let mut s = idle(600);
        assert!(c.token("d", 1, 400, &s).is_some());
        s.token_lifetime_secs = 300; // issued at 0: dead from 300
        assert!(c.token("d", 1, 401, &s).is_none());
    }

    #[test]
    fn an_entry_serves_only_its_own_epoch() {
        let c = TokenCache::default();
        c.put_token("d".into(), 1, token(100, 200, 0));
        assert!(c.token("d", 2, 10, &idle(60)).is_none(), "a newer epoch never sees it");
        assert!(c.token("d", 1, 10, &idle(60)).is_none(), "and it is gone");
    }

    #[test]
    fn time_rules_are_checked_on_every_hit_and_use_resets_idle() {
        let c = TokenCache::default();
        c.put_token("d".into(), 1, token(100, 200, 0));
        assert!(c.token("d", 1, 50, &idle(60)).is_some());
        assert!(c.token("d", 1, 105, &idle(60)).is_none(), "absolute expiry");
        c.put_token("d".into(), 1, token(1000, 200, 0));
        assert!(c.token("d", 1, 200, &idle(600)).is_none(), "credential expiry");
        c.put_token("d".into(), 1, token(1000, 2000, 0));
        assert!(c.token("d", 1, 60, &idle(60)).is_some());
        assert!(c.token("d", 1, 119, &idle(60)).is_some(), "the use at 60 reset the idle clock");
        assert!(c.token("d", 1, 180, &idle(60)).is_none(), "idle for 61 s");
    }

    #[test]
    fn a_look_up_that_is_not_a_use_leaves_the_idle_clock_running() {
        let c = TokenCache::default();
        c.put_token("d".into(), 1, token(1000, 2000, 0));
        assert!(c.token_used_if("d", 1, 50, &idle(60), |_| false).is_some());
        assert!(c.token("d", 1, 61, &idle(60)).is_none(), "the look-up at 50 did not reset it");
    }

    #[test]
    fn maps_stay_bounded() {
        let c = TokenCache::default();
        for i in 0..MAX_ENTRIES + 5 {
            c.put_client(format!("id{i}"), 1, None);
        }
        assert!(lock(&c.clients).len() <= MAX_ENTRIES);
    }
}
