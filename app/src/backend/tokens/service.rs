//! Token issuance and validation.
//!
//! The client credentials grant, as a checklist (RFC 6749 §4.4, and the
//! token rules of docs/security.md):
//! 1. the request is well formed (the server crate's parser);
//! 2. API access is switched on in General Settings;
//! 3. the client is not throttled, then proves its secret (keyed digest,
//!    constant-time compare; unknown client and wrong secret look alike);
//! 4. the credential is live: not deleted, not expired, owner active;
//! 5. the requested scope is a subset of the credential's roles that the
//!    owner still holds (default: all of them; none usable → refused);
//!    a `resource`, if sent, is the audience of a live protected API
//!    (RFC 8707 §2; else `invalid_target`);
//! 6. a 256-bit opaque token is stored under its issue order and keyed
//!    digest (`secrets::new_access_token`), with its roles, the
//!    credential's secret version, its absolute expiry and, when bound, its
//!    audience and protected API.
//!
//! Validation re-checks everything against the live database on every use,
//! so regenerate, delete, expiry, deactivation, role loss and revocation
//! take effect at the very next request on every instance.

use super::cache::{CachedApi, CachedClient, CachedToken};
use super::repo::NewToken;
use super::Reason;
use super::{parse_scope, roles_to_scope, rules, scope_to_roles};
use super::{
    ApiIntrospection, AuthenticatedApi, AuthenticatedClient, Ending, Introspection, Introspector, IssuedToken,
};
use crate::backend::audit::{self, Actor, Event, Target};
use crate::backend::caller::TokenPrincipal;
use crate::backend::db::changes::RightsChange;
use crate::backend::secrets;
use crate::backend::secrets::escape;
use crate::backend::throttle::{self, Key, Policy};
use crate::backend::{settings, AppState, Error, Result};
use crate::model::AuditEvent;
use crate::model::Role;
use sqlx::AnyPool;
use std::net::IpAddr;

pub const WINDOW: i64 = 5 * 60;
/// Failed authentications per (client id, source address), and per source
/// address (R6749-17). Not per client id alone: then anyone, from anywhere,
/// could lock a real client out by failing on purpose (ASVS V6.1.1); the
/// secret's 256 bits, not the throttle, are what defeats guessing.
pub const PER_CLIENT_AND_ADDRESS: Policy = Policy { limit: 20, window_secs: WINDOW };
pub const PER_ADDRESS: Policy = Policy { limit: 100, window_secs: WINDOW };
/// The throttle keys of the token endpoints start with this (the poll of
/// `FrontedThrottle::poll` reads only theirs).
pub const THROTTLE_PREFIX: &str = "oauth:";

/// The keys of one attempt, the address first: a full address refuses
/// before a pair entry is made for the client id it sent.
fn failure_keys(client_id: &str, ip: IpAddr) -> [Key; 2] {
    // The id as sent is attacker-chosen text: clipped, so that the
    // throttle's bounded map holds bounded keys (real ids are 36 characters).
    let id: String = client_id.chars().take(64).collect();
    let address = throttle::address_key(ip);
    [
        Key::new(format!("{THROTTLE_PREFIX}ip:{address}"), PER_ADDRESS),
        Key::new(format!("{THROTTLE_PREFIX}client:{id}@{address}"), PER_CLIENT_AND_ADDRESS),
    ]
}

/// The client behind `client_id`, from the cache of this epoch or the
/// database (`None`: no such credential). The credential, its owner's
/// rights generation and the roles usable under it are read in one
/// statement, so they belong together.
async fn client(state: &AppState, client_id: &str) -> Result<Option<CachedClient>> {
    let epoch = state.db.epoch();
    if let Some(c) = epoch.and_then(|e| state.token_cache.client(client_id, e)) {
        return Ok(c);
    }
    let rows = super::repo::load_client(&state.db.pool, client_id).await?;
    let c = rows.first().map(|first| CachedClient {
        id: first.id.clone(),
        name: first.name.clone(),
        owner_id: first.owner_id.clone(),
        secret_digest: first.secret_digest.clone(),
        secret_version: first.secret_version,
        rights_gen: first.rights_gen,
        expires_at: first.expires_at,
        deleted: first.deleted_at.is_some(),
        owner_active: first.active != 0,
        usable_roles: rules::usable_roles(rows.iter().map(|r| &r.role), first.rights_gen),
    });
    if let Some(epoch) = epoch {
        state.token_cache.put_client(client_id.to_string(), epoch, c.clone());
    }
    Ok(c)
}

/// The protected API behind `id`, from the cache of this epoch or the
/// database (`None`: no such API).
async fn api(state: &AppState, id: &str) -> Result<Option<CachedApi>> {
    let epoch = state.db.epoch();
    if let Some(a) = epoch.and_then(|e| state.token_cache.api(id, e)) {
        return Ok(a);
    }
    let a = super::repo::load_api(&state.db.pool, id).await?.map(|r| CachedApi {
        id: r.id,
        name: r.name,
        audience: r.audience,
        secret_digest: r.secret_digest,
        deleted: r.deleted_at.is_some(),
    });
    if let Some(epoch) = epoch {
        state.token_cache.put_api(id.to_string(), epoch, a.clone());
    }
    Ok(a)
}

/// What a client is told when General Settings switched the API off.
pub const API_SWITCHED_OFF: &str = "API access is switched off by the administrator";

/// Steps 2–4: API switched on, not throttled, secret right, credential live.
/// A wrong secret and an unknown client are both `InvalidCredentials`.
pub async fn authenticate(state: &AppState, client_id: &str, secret: &str, ip: IpAddr) -> Result<AuthenticatedClient> {
    match authenticate_as(state, client_id, secret, ip, false).await? {
        Introspector::Client(c) => Ok(c),
        // Not looked up without `apis`: refused like an unknown client.
        Introspector::Api(_) => Err(Error::InvalidCredentials),
    }
}

/// [`authenticate`] for the introspection endpoint, where a protected API
/// (RFC 7662 §2.1) authenticates too, under the same throttle.
pub async fn authenticate_introspector(
    state: &AppState,
    client_id: &str,
    secret: &str,
    ip: IpAddr,
) -> Result<Introspector> {
    authenticate_as(state, client_id, secret, ip, true).await
}

/// The owner of a client id, as authentication found it.
enum Found {
    Client(CachedClient),
    Api(CachedApi),
}

/// Steps 2–4 for a client, or, with `apis`, a protected API: one throttle
/// and one comparison for both, so that neither an unknown id nor the
/// kind of a known one shows in the answer.
async fn authenticate_as(
    state: &AppState,
    client_id: &str,
    secret: &str,
    ip: IpAddr,
    apis: bool,
) -> Result<Introspector> {
    let now = state.clock.unix();
    let s = settings::current(state).await?;
    if !s.api_enabled() {
        return Err(Error::Refused(API_SWITCHED_OFF));
    }
    // Refused while a key is full of failures; otherwise checked, and only
    // a failure takes a slot (auth/throttle/, `FrontedThrottle`).
    let keys = failure_keys(client_id, ip);
    let throttled = |wait: u64| {
        tracing::warn!(event = "client_auth", outcome = "throttled", client_id = %escape(client_id), %ip);
        Error::Throttled { retry_after_secs: wait }
    };
    if let Some(refusal) = state.oauth_failures.blocked(&keys, now) {
        return Err(throttled(refusal.retry_after_secs));
    }

    let found = match client(state, client_id).await? {
        Some(c) => Some(Found::Client(c)),
        None if apis => api(state, client_id).await?.map(Found::Api),
        None => None,
    };
    // Compare against something even when the client is unknown, so both
    // failures cost the same.
    let stored = match &found {
        Some(Found::Client(c)) => c.secret_digest.as_str(),
        Some(Found::Api(a)) => a.secret_digest.as_str(),
        None => "0000000000000000000000000000000000000000000000000000000000000000",
    };
    let secret_ok = state.secret_key.verify(secret, stored);
    let who = match found {
        Some(Found::Client(c)) if secret_ok && !c.deleted && c.expires_at > now && c.owner_active => {
            Introspector::Client(AuthenticatedClient {
                credential_id: c.id,
                credential_name: c.name,
                ip,
                owner_id: c.owner_id,
                expires_at: c.expires_at,
                secret_version: c.secret_version,
                rights_gen: c.rights_gen,
                usable_roles: c.usable_roles,
                settings: s,
            })
        }
        Some(Found::Api(a)) if secret_ok && !a.deleted => {
            Introspector::Api(AuthenticatedApi { id: a.id, name: a.name, audience: a.audience, settings: s })
        }
        _ => {
            if let Some(refusal) = state.oauth_failures.fail(&state.db.pool, &keys, now).await? {
                // Over the limit: the result is withheld.
                return Err(throttled(refusal.retry_after_secs));
            }
            tracing::warn!(event = "client_auth", outcome = "failure", client_id = %escape(client_id), %ip);
            return Err(Error::InvalidCredentials);
        }
    };
    tracing::debug!(event = "client_auth", outcome = "success", client_id = %escape(client_id), %ip);
    Ok(who)
}

/// Counts a refused token request for the audit log: the answer given
/// (`error`, `description`: the OAuth surface's words), the client id as
/// sent (escaped and clipped: it is attacker-chosen text) and the address.
/// Never the secret. A client id that names a credential makes the
/// credential the target, so its history shows the failed attempts; pass
/// `credential` when the caller knows it, else the id is looked up.
/// Nothing is written here: the counts are added up per minute and flushed
/// with one audit event per credential named (backend/refusals/), so a
/// flood of refusals grows nothing.
pub async fn record_refusal(
    state: &AppState,
    request: RefusedRequest<'_>,
    error: &str,
    description: &str,
) -> Result<()> {
    let now = state.clock.unix();
    let target = match request.credential {
        Some(c) => Some(client_target(c)),
        None if request.look_up => client(state, request.client_id).await?.map(|c| Target::credential(&c.id, &c.name)),
        None => None,
    };
    let client_id: String = escape(request.client_id).chars().take(64).collect();
    let address = throttle::address_key(request.ip);
    state.refusals.record(now, &client_id, &address, error, description, target.as_ref());
    Ok(())
}

/// Who a refused token request came from, for [`record_refusal`].
pub struct RefusedRequest<'a> {
    pub client_id: &'a str,
    pub ip: IpAddr,
    /// The authenticated client, when it got that far.
    pub credential: Option<&'a AuthenticatedClient>,
    /// Whether to look up the credential the client id names (a failed
    /// authentication; not a refusal before the secret was checked).
    pub look_up: bool,
}

fn client_target(client: &AuthenticatedClient) -> Target {
    Target::credential(&client.credential_id, &client.credential_name)
}

fn client_actor(client: &AuthenticatedClient) -> Actor {
    Actor::Credential { id: client.credential_id.clone(), name: client.credential_name.clone() }
}

/// The audience a token request names with `resource` (RFC 8707 §2): a
/// live protected API's, exactly as registered, with that API's id;
/// anything else is `invalid_target`.
async fn audience(state: &AppState, resource: &str) -> Result<(String, String)> {
    match super::repo::api_of_audience(&state.db.pool, resource).await? {
        Some(id) => Ok((resource.to_string(), id)),
        None => Err(Error::invalid("resource", "the resource is not a protected API of this server")),
    }
}

/// Steps 5–6: decide the scope (and, with `resource`, the audience the
/// token is bound to) and issue the token.
pub async fn issue(
    state: &AppState,
    client: &AuthenticatedClient,
    requested_scope: Option<&str>,
    resource: Option<&str>,
) -> Result<IssuedToken> {
    let now = state.clock.unix();
    let s = &client.settings;
    let usable = client.usable_roles.clone();
    let roles = match requested_scope.map(parse_scope).transpose()? {
        Some(requested) if !requested.is_empty() => {
            let mut roles = Vec::new();
            for token in &requested {
                match Role::from_slug(token) {
                    Some(role) if usable.contains(&role) => roles.push(role),
                    _ => {
                        return Err(Error::invalid("scope", "the requested scope exceeds what this credential may use"))
                    }
                }
            }
            roles.sort();
            roles
        }
        _ => usable,
    };
    if roles.is_empty() {
        return Err(Error::invalid("scope", "this credential has no usable role: its owner holds none of its roles"));
    }
    let (audience, protected_api_id) = match resource {
        Some(r) => {
            let (audience, id) = audience(state, r).await?;
            (Some(audience), Some(id))
        }
        None => (None, None),
    };

    let token = secrets::new_access_token(&state.secret_key);
    let expires_at = (now + s.token_lifetime_secs).min(client.expires_at);
    let scope = roles_to_scope(&roles);
    let mut event = Event::new(AuditEvent::TokenIssued, client_actor(client))
        .ip(client.ip)
        .target(client_target(client))
        .detail("roles", scope.as_str())
        .detail("expires_at", expires_at);
    if let Some(a) = &audience {
        event = event.detail("audience", a.as_str());
    }
    let row = NewToken {
        key: token.key,
        credential_id: client.credential_id.clone(),
        roles: scope.clone(),
        issued_at: now,
        expires_at,
        secret_version: client.secret_version,
        rights_gen: client.rights_gen,
        audience,
        protected_api_id,
    };
    // Returns once the token and its audit event are committed (group commit).
    state.token_writer.write(row, event).await?;
    state.usage.record(&client.credential_id, "POST", "/oauth/token", client.ip, now);
    tracing::debug!(event = "token_issued", client_id = %client.credential_id, scope = %scope);
    Ok(IssuedToken { access_token: token.value, expires_in: expires_at - now, scope })
}

/// A stored token and whether it lives, by every rule but the API switch.
enum Stored {
    Unknown,
    /// Dead: marked so, or failing a rule now.
    Dead {
        credential_id: String,
        /// Dead by time but not yet marked: the reason to record.
        unmarked: Option<(Reason, String, String)>,
    },
    Live(CachedToken),
}

/// Reads a token by its stored key (one statement: the token, its
/// credential, its owner and the roles) and applies every rule
/// (`super::rules`). Its last use is the later of the stored one and one
/// seen here but not yet written.
async fn load(state: &AppState, key: &str, now: i64, s: &settings::Settings) -> Result<Stored> {
    let rows = super::repo::load_token(&state.db.pool, key).await?;
    let Some(t) = rows.first() else {
        return Ok(Stored::Unknown);
    };
    let dead = |unmarked| Stored::Dead { credential_id: t.credential_id.clone(), unmarked };
    if t.revoked_at.is_some() {
        return Ok(dead(None));
    }
    let last_used_at = t.last_used_at.max(state.usage.pending_token_use(key).unwrap_or(0));
    let expires_at = rules::effective_expiry(t.issued_at, t.expires_at, s.token_lifetime_secs);
    let timed_out = if now >= expires_at {
        Some(Reason::Expired)
    } else if now - last_used_at > s.token_idle_secs {
        Some(Reason::Idle)
    } else {
        None
    };
    if let Some(reason) = timed_out {
        return Ok(dead(Some((reason, t.name.clone(), t.roles.clone()))));
    }
    let roles = scope_to_roles(&t.roles);
    let usable = rules::usable_roles(rows.iter().map(|r| &r.role), t.rights_gen);
    let alive = rules::secret_still_valid(t.secret_version, t.credential_secret_version)
        && t.deleted_at.is_none()
        && now < t.credential_expires_at
        && t.active != 0
        && rules::rights_alive(t.rights_gen, t.tokens_valid_gen, &roles, &usable);
    if !alive {
        return Ok(dead(None));
    }
    Ok(Stored::Live(CachedToken {
        principal: TokenPrincipal {
            credential_id: t.credential_id.clone(),
            credential_name: t.name.clone(),
            owner_id: t.owner_id.clone(),
            owner_username: t.username.clone(),
            owner_display_name: t.display_name.clone(),
            roles,
            issued_at: t.issued_at,
            expires_at,
            audience: t.audience.clone(),
        },
        expires_at: t.expires_at,
        credential_expires_at: t.credential_expires_at,
        last_used_at,
        protected_api_id: t.protected_api_id.clone(),
    }))
}

/// [`load`], recording the death of a token that the time rules killed
/// (so that nothing, not even a clock stepped back, revives it), audited
/// once: only by the request that marks it. No epoch moves: no cached
/// answer said otherwise, as the caches check the time rules themselves.
async fn load_live(state: &AppState, key: &str, now: i64, s: &settings::Settings) -> Result<Option<CachedToken>> {
    match load(state, key, now, s).await? {
        Stored::Live(t) => Ok(Some(t)),
        Stored::Unknown | Stored::Dead { unmarked: None, .. } => Ok(None),
        Stored::Dead { credential_id, unmarked: Some((reason, name, scope)) } => {
            let mut tx = state.db.pool.begin().await?;
            if super::repo::revoke_one(&mut *tx, key, reason.as_str(), now).await? > 0 {
                let event = Event::new(AuditEvent::TokenRevoked, Actor::System)
                    .target(Target::credential(&credential_id, &name))
                    .detail("reason", reason.as_str())
                    .detail("roles", scope.as_str());
                audit::record(&state.db, &mut tx, now, event).await?;
            }
            tx.commit().await?;
            Ok(None)
        }
    }
}

/// The live token under `key`: answered from memory when validated before
/// in this cache epoch, with the time rules checked again; otherwise from
/// the database, then cached. The look-up is noted as a use for the idle
/// rule when `used` says it counts as one.
async fn live(
    state: &AppState,
    key: &str,
    now: i64,
    s: &settings::Settings,
    used: impl Fn(&CachedToken) -> bool,
) -> Result<Option<CachedToken>> {
    let epoch = state.db.epoch();
    let token = match epoch.and_then(|e| state.token_cache.token_used_if(key, e, now, s, &used)) {
        Some(t) => t,
        None => {
            let Some(mut live) = load_live(state, key, now, s).await? else {
                return Ok(None);
            };
            if used(&live) {
                live.last_used_at = now;
            }
            if let Some(epoch) = epoch {
                state.token_cache.put_token(key.to_string(), epoch, live.clone());
            }
            live
        }
    };
    if used(&token) {
        state.usage.record_token_use(key, now);
    }
    Ok(Some(token))
}

/// A bearer token's principal, by [`live`], under the API switch.
async fn bearer(state: &AppState, token: &str, used: impl Fn(&CachedToken) -> bool) -> Result<TokenPrincipal> {
    let now = state.clock.unix();
    let s = settings::current(state).await?;
    if !s.api_enabled() {
        return Err(Error::Refused(API_SWITCHED_OFF));
    }
    let key = state.secret_key.token_key(token).ok_or(Error::Unauthenticated)?;
    Ok(live(state, &key, now, &s, used).await?.ok_or(Error::Unauthenticated)?.principal)
}

/// Validates a bearer token, bound or not, and notes its use for the idle
/// rule. (The call itself is counted by the caller, which knows the
/// endpoint: [`crate::backend::usage`].)
pub async fn validate(state: &AppState, token: &str) -> Result<TokenPrincipal> {
    bearer(state, token, |_| true).await
}

/// [`validate`] for appcred's own API (`/api/v1`): a token bound to a
/// protected API (RFC 8707 §2) is for that API only, so it is refused here,
/// and its presentation is not a use.
pub async fn validate_for_api(state: &AppState, token: &str) -> Result<TokenPrincipal> {
    let principal = validate_for_audience(state, token, None).await?;
    if !rules::audience_admits(None, principal.audience.as_deref()) {
        return Err(Error::Unauthenticated);
    }
    Ok(principal)
}

/// [`validate`] for a check guarding `audience` (forward auth; none for
/// `/api/v1`): the token counts as used only when
/// [`rules::audience_admits`] lets it through, which the caller still has
/// to check.
pub async fn validate_for_audience(state: &AppState, token: &str, audience: Option<&str>) -> Result<TokenPrincipal> {
    bearer(state, token, |t| rules::audience_admits(audience, t.principal.audience.as_deref())).await
}

/// RFC 7662 §2.1 for a protected API: active for a live token meant for it
/// (unbound, or bound to it: issued for this API, and for the audience it
/// has now), by the same cached path as
/// [`validate`], so a revocation shows at the next call. Introspection by
/// the API counts as a use of the token (its idle clock restarts); a token
/// bound to another audience is inactive and not used.
pub async fn introspect_for_api(
    state: &AppState,
    api: &AuthenticatedApi,
    token: &str,
) -> Result<Option<ApiIntrospection>> {
    let now = state.clock.unix();
    let Some(key) = state.secret_key.token_key(token) else {
        return Ok(None);
    };
    let meant = |t: &CachedToken| match (&t.principal.audience, &t.protected_api_id) {
        (None, _) => true,
        (Some(audience), Some(id)) => *audience == api.audience && *id == api.id,
        (Some(_), None) => false,
    };
    let token = live(state, &key, now, &api.settings, meant).await?;
    Ok(token
        .filter(meant)
        .map(|t| ApiIntrospection { scope: roles_to_scope(&t.principal.roles), principal: t.principal }))
}

/// RFC 7662: active only for a live token issued to the calling client.
/// Introspection does not count as use.
pub async fn introspect(state: &AppState, client: &AuthenticatedClient, token: &str) -> Result<Option<Introspection>> {
    let now = state.clock.unix();
    let Some(key) = state.secret_key.token_key(token) else {
        return Ok(None);
    };
    let live = load_live(state, &key, now, &client.settings).await?;
    Ok(live.filter(|l| l.principal.credential_id == client.credential_id).map(|l| Introspection {
        scope: roles_to_scope(&l.principal.roles),
        client_id: l.principal.credential_id,
        exp: l.principal.expires_at,
        iat: l.principal.issued_at,
    }))
}

/// RFC 7009: revokes a token of the calling client. Unknown and already
/// dead tokens are fine (200, §2.2) and write nothing; another client's
/// token is refused and left alone. Only a revocation that ends a live
/// token commits, and only it moves the cache epoch.
pub async fn revoke(state: &AppState, client: &AuthenticatedClient, token: &str) -> Result<()> {
    let Some(key) = state.secret_key.token_key(token) else {
        return Ok(());
    };
    let now = state.clock.unix();
    match load(state, &key, now, &client.settings).await? {
        Stored::Unknown => Ok(()),
        Stored::Dead { credential_id, .. }
        | Stored::Live(CachedToken { principal: TokenPrincipal { credential_id, .. }, .. })
            if credential_id != client.credential_id =>
        {
            tracing::warn!(event = "token_revoke_refused", client_id = %client.credential_id);
            Err(Error::invalid("token", "the token was not issued to this client"))
        }
        Stored::Dead { .. } => Ok(()),
        Stored::Live(_) => {
            let mut tx = state.db.begin_rights_change().await?;
            if super::repo::revoke_one(&mut *tx, &key, "revocation_endpoint", now).await? == 0 {
                // Revoked meanwhile by someone else: nothing to publish.
                return Ok(());
            }
            let event = Event::new(AuditEvent::TokenRevoked, client_actor(client))
                .ip(client.ip)
                .target(Target::credential(&client.credential_id, &client.credential_name))
                .detail("reason", "revocation_endpoint");
            audit::record(&state.db, &mut tx, now, event).await?;
            tx.commit().await?;
            tracing::info!(event = "token_revoked", client_id = %client.credential_id, reason = "revocation_endpoint");
            Ok(())
        }
    }
}

/// How long a dead token's row is kept after its lifetime ends, for anyone
/// tracing a client's recent history; the housekeeping task then deletes it.
pub const KEEP_EXPIRED_SECS: i64 = 86_400;
/// Rows deleted per transaction, with a pause between transactions: SQLite
/// holds its single write lock for a few milliseconds at a time, so token
/// issuance keeps flowing while a purge runs.
const PURGE_CHUNK: i64 = 500;
const PURGE_PAUSE: std::time::Duration = std::time::Duration::from_millis(20);

/// Deletes the rows of tokens whose lifetime ended more than
/// [`KEEP_EXPIRED_SECS`] ago, so the table holds a bounded window of tokens
/// and the work done per credential (revocation, the Auditor's live-token
/// counts) does not grow with every token ever issued. Returns how many.
///
/// No token outlives the longest lifetime General Settings allow, so the
/// tokens issued before that lifetime plus the keeping time are all due.
/// They are the first keys of the tokens' own index (ADR 0003): no index on
/// the expiry, which every issued token would have to write, is needed.
pub async fn purge_expired(pool: &AnyPool, now: i64) -> Result<u64> {
    use crate::model::settings_bounds::TOKEN_LIFETIME_SECS;
    let expired_before = now - KEEP_EXPIRED_SECS;
    let key_bound = secrets::issue_order_bound(expired_before - TOKEN_LIFETIME_SECS.1);
    let mut purged = 0;
    loop {
        let n = super::repo::purge_expired(pool, &key_bound, expired_before, PURGE_CHUNK).await?;
        purged += n;
        if n < PURGE_CHUNK as u64 {
            return Ok(purged);
        }
        tokio::time::sleep(PURGE_PAUSE).await;
    }
}

// --- ending tokens in another area's change ------------------------------------

/// Ends the live tokens `which` names, inside another area's change (a
/// credential edited, regenerated or deleted; a user's roles changed or the
/// user deactivated), in its transaction and with its reason. Returns how
/// many, for the change's audit event. The rights generations end the
/// tokens issued meanwhile from an older reading (ADR 0005).
pub async fn end(
    tx: &mut RightsChange<'_>,
    which: Ending<'_>,
    reason: Reason,
    now: i64,
) -> crate::backend::Result<u64> {
    super::repo::revoke_live(tx, which, reason, now).await
}
