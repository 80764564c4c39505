//! The rules of application credentials. Every function takes the
//! [`Caller`]: credentials belong to a person ([`Caller::person`]), whose
//! ownership each function checks itself: a credential that is not the
//! caller's is `NotFound`, never a hint that it exists (ASVS V8.2.2).

use super::audited::{self, CredentialQuery};
use super::repo::{self, ListQuery, NewCredential, Update};
use crate::backend::audit::{self, Actor, Event, Target, CSV_MAX_ROWS};
use crate::backend::caller::{Caller, Principal};
use crate::backend::secrets::{self, CLIENT_SECRET_PREFIX};
use crate::backend::tokens::{service as tokens, Ending, Reason};
use crate::backend::{settings, AppState, Db, Error, Result};
use crate::model::AuditEvent;
use crate::model::{
    format_date, parse_date, AuditedCredential, CreatedSecret, CredentialFormData, CredentialList, CredentialRole,
    CredentialSort, CredentialSummary, Page, Role, SECS_PER_DAY,
};
use std::collections::HashMap;

pub const PER_PAGE: i64 = 25;
pub const NAME_MAX_CHARS: usize = 100;
pub const DEFAULT_LIFETIME_DAYS: i64 = 365;

/// What the create / edit forms submit.
#[derive(Clone, Debug)]
pub struct CredentialInput {
    pub name: String,
    /// `YYYY-MM-DD`; the credential works until the end of that day (UTC).
    pub expires_on: String,
    /// Role slugs.
    pub roles: Vec<String>,
}

pub fn validate_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Error::invalid("name", "Enter a name."));
    }
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(Error::invalid("name", format!("Use at most {NAME_MAX_CHARS} characters.")));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid("name", "A name cannot contain control characters."));
    }
    Ok(name.to_string())
}

/// The expiry instant (last second of the chosen day, UTC), within
/// (now, today + max_days].
pub fn validate_expiry(raw: &str, now: i64, max_days: i64) -> Result<i64> {
    let day = parse_date(raw).ok_or_else(|| Error::invalid("expires_on", "Enter a date as YYYY-MM-DD."))?;
    let expires_at = (day + 1) * SECS_PER_DAY - 1;
    if expires_at <= now {
        return Err(Error::invalid("expires_on", "Choose a date in the future."));
    }
    let today = now.div_euclid(SECS_PER_DAY);
    if day - today > max_days {
        let latest = format_date((today + max_days) * SECS_PER_DAY);
        return Err(Error::invalid(
            "expires_on",
            format!("Credentials can live at most {max_days} days: choose {latest} or earlier."),
        ));
    }
    Ok(expires_at)
}

/// Parses the chosen role slugs and checks them against the roles the user
/// holds now. A forged slug or a role the user lacks writes nothing.
pub fn validate_roles(slugs: &[String], held: &[Role]) -> Result<Vec<Role>> {
    let mut roles = Vec::new();
    for slug in slugs.iter().filter(|s| !s.is_empty()) {
        let role = Role::from_slug(slug).ok_or_else(|| Error::invalid("roles", "That is not a known role."))?;
        if !held.contains(&role) {
            return Err(Error::invalid(
                "roles",
                format!("You can only give a credential roles you hold yourself; you do not hold {role}."),
            ));
        }
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    if roles.is_empty() {
        return Err(Error::invalid("roles", "Choose at least one role."));
    }
    roles.sort();
    Ok(roles)
}

/// A form's values after every check, ready to store.
struct Valid {
    name: String,
    expires_at: i64,
    roles: Vec<Role>,
}

/// The rules shared by create and edit: name, expiry within the maximum
/// lifetime from General Settings, and roles the caller holds now.
async fn validate(state: &AppState, principal: &Principal, input: &CredentialInput, now: i64) -> Result<Valid> {
    let s = settings::load(&state.db).await?;
    Ok(Valid {
        name: validate_name(&input.name)?,
        expires_at: validate_expiry(&input.expires_on, now, s.max_credential_days)?,
        roles: validate_roles(&input.roles, &principal.roles)?,
    })
}

pub async fn form_data(state: &AppState, by: &Caller) -> Result<CredentialFormData> {
    let principal = by.person()?;
    let s = settings::load(&state.db).await?;
    let today = state.clock.unix().div_euclid(SECS_PER_DAY);
    let default_days = DEFAULT_LIFETIME_DAYS.min(s.max_credential_days);
    Ok(CredentialFormData {
        grantable: principal.roles.clone(),
        today: format_date(today * SECS_PER_DAY),
        default_expiry: format_date((today + default_days) * SECS_PER_DAY),
        max_expiry: format_date((today + s.max_credential_days) * SECS_PER_DAY),
        max_days: s.max_credential_days,
    })
}

pub async fn list(
    state: &AppState,
    by: &Caller,
    filter: &str,
    sort: CredentialSort,
    descending: bool,
    page: i64,
) -> Result<CredentialList> {
    let principal = by.person()?;
    let page = page.max(1);
    let filter: String = filter.trim().chars().take(100).collect();
    let mut conn = state.db.pool.acquire().await?;
    let (items, total) = repo::list_for_owner(
        &mut conn,
        ListQuery {
            owner_id: &principal.user_id,
            filter: &filter,
            sort,
            descending,
            limit: PER_PAGE,
            offset: (page - 1) * PER_PAGE,
        },
    )
    .await?;
    let api_enabled = settings::load(&state.db).await?.api_enabled();
    Ok(CredentialList { page: Page { items, total, page, per_page: PER_PAGE, now: state.clock.unix() }, api_enabled })
}

pub async fn create(state: &AppState, by: &Caller, input: CredentialInput) -> Result<CreatedSecret> {
    let principal = by.person()?;
    let now = state.clock.unix();
    let Valid { name, expires_at, roles } = validate(state, principal, &input, now).await?;

    let id = uuid::Uuid::new_v4().to_string();
    let secret = secrets::generate(CLIENT_SECRET_PREFIX);
    let digest = state.secret_key.digest(&secret);
    let mut tx = state.db.begin_rights_change().await?;
    let inserted = repo::insert(
        &mut tx,
        NewCredential { id: &id, owner_id: &principal.user_id, name: &name, secret_digest: &digest, expires_at, now },
    )
    .await?;
    if !inserted {
        return Err(Error::invalid("name", "You already have a credential with this name."));
    }
    let gen = tx.bump_rights(&principal.user_id, false).await?;
    repo::set_roles(&mut tx, &id, &roles, gen).await?;
    let event = Event::new(AuditEvent::CredentialCreated, Actor::user(principal))
        .ip(principal.ip)
        .target(Target::credential(&id, &name))
        .detail("expires_on", format_date(expires_at))
        .detail("roles", slugs(&roles));
    audit::record(&state.db, &mut tx, now, event).await?;
    tx.commit().await?;
    tracing::info!(event = "credential_created", credential_id = %id, owner_id = %principal.user_id);
    Ok(CreatedSecret { client_id: id, name, secret })
}

/// The caller's live credential, or `NotFound`.
async fn owned(state: &AppState, principal: &Principal, id: &str) -> Result<repo::Credential> {
    match repo::find_live(&state.db.pool, id).await? {
        Some(c) if c.owner_id == principal.user_id => Ok(c),
        Some(_) => {
            tracing::warn!(event = "credential_access_refused", credential_id = %id, user_id = %principal.user_id);
            Err(Error::NotFound)
        }
        None => Err(Error::NotFound),
    }
}

/// One of the caller's credentials, with its roles' status.
pub async fn get(state: &AppState, by: &Caller, id: &str) -> Result<CredentialSummary> {
    let principal = by.person()?;
    let c = owned(state, principal, id).await?;
    let roles = roles_with_status(&state.db, &[&c.id]).await?.remove(&c.id).unwrap_or_default();
    Ok(c.into_summary(roles))
}

/// The roles of each of the credentials `ids` (deleted ones too), each
/// marked with when the owner lost it, read for all of them at once: for
/// the lists of other areas (the Auditors'). No authorization: the caller
/// has checked who may see these credentials.
async fn roles_with_status(db: &Db, ids: &[&str]) -> Result<HashMap<String, Vec<CredentialRole>>> {
    repo::roles_with_status(&mut *db.pool.acquire().await?, ids).await
}

/// Every live credential with its roles, for Auditors (`GET
/// /api/v1/credentials`).
pub async fn list_all(state: &AppState, by: &Caller) -> Result<Vec<(repo::Credential, Vec<Role>)>> {
    by.require(Role::Auditor)?;
    repo::list_all(&state.db.pool).await
}

/// The tracked API use of one of the caller's credentials.
pub async fn usage(state: &AppState, by: &Caller, id: &str) -> Result<crate::model::CredentialUsage> {
    let principal = by.person()?;
    let c = owned(state, principal, id).await?;
    crate::backend::usage::for_credential(&state.db.pool, &state.usage, &c.id, state.clock.unix()).await
}

// --- what Auditors read ---------------------------------------------------------

async fn select_audited(
    state: &AppState,
    q: &CredentialQuery,
    now: i64,
    limit: i64,
    offset: i64,
) -> Result<(Vec<AuditedCredential>, i64)> {
    let (rows, total) = repo::credentials_page(&state.db.pool, q, now, limit, offset).await?;
    let ids: Vec<&str> = rows.iter().map(|r| r.id()).collect();
    let mut roles = roles_with_status(&state.db, &ids).await?;
    let items = rows
        .into_iter()
        .map(|r| {
            let held = roles.remove(r.id()).unwrap_or_default();
            r.with_roles(held)
        })
        .collect();
    Ok((items, total))
}

/// One page of every user's credentials, deleted ones too: Auditors.
pub async fn audited(state: &AppState, by: &Caller, q: &CredentialQuery) -> Result<Page<AuditedCredential>> {
    by.require(Role::Auditor)?;
    let now = state.clock.unix();
    let page = q.page.max(1);
    let per_page = audited::PER_PAGE;
    let (items, total) = select_audited(state, q, now, per_page, (page - 1) * per_page).await?;
    Ok(Page { items, total, page, per_page, now })
}

/// The filtered credentials as CSV, for Auditors. Never a secret.
pub async fn audited_csv(state: &AppState, by: &Caller, q: &CredentialQuery) -> Result<String> {
    by.require(Role::Auditor)?;
    let now = state.clock.unix();
    let (items, _) = select_audited(state, q, now, CSV_MAX_ROWS, 0).await?;
    Ok(audited::csv_of_credentials(items, now))
}

/// Any credential's tracked API use, deleted ones too: Auditors.
pub async fn audited_usage(
    state: &AppState,
    by: &Caller,
    credential_id: &str,
) -> Result<crate::model::CredentialUsage> {
    by.require(Role::Auditor)?;
    if !repo::credential_exists(&state.db.pool, credential_id).await? {
        return Err(Error::NotFound);
    }
    crate::backend::usage::for_credential(&state.db.pool, &state.usage, credential_id, state.clock.unix()).await
}

/// Edits name, expiry and roles. Roles can be narrowed, or widened within
/// the roles the owner holds now; roles the owner has lost stay on the
/// record (greyed out, inert) unless the owner holds them again.
pub async fn update(state: &AppState, by: &Caller, id: &str, input: CredentialInput) -> Result<()> {
    let principal = by.person()?;
    let now = state.clock.unix();
    let credential = owned(state, principal, id).await?;
    let Valid { name, expires_at, mut roles } = validate(state, principal, &input, now).await?;
    let current = repo::roles_of(&state.db.pool, &credential.id).await?;
    roles.extend(current.iter().copied().filter(|r| !principal.roles.contains(r)));
    roles.sort();
    roles.dedup();

    let mut tx = state.db.begin_rights_change().await?;
    if !repo::update(&mut tx, Update { id: &credential.id, name: &name, expires_at, now }).await? {
        return Err(Error::invalid("name", "You already have a credential with this name."));
    }
    let gen = tx.bump_rights(&credential.owner_id, false).await?;
    repo::set_roles(&mut tx, &credential.id, &roles, gen).await?;
    // Narrowing kills the tokens that carry a removed role.
    let mut killed = 0;
    for removed in current.iter().filter(|r| !roles.contains(r)) {
        let which = Ending::CredentialRole(&credential.id, *removed);
        killed += tokens::end(&mut tx, which, Reason::RoleRemovedFromCredential, now).await?;
    }
    let event = Event::new(AuditEvent::CredentialUpdated, Actor::user(principal))
        .ip(principal.ip)
        .target(Target::credential(&credential.id, &name))
        .change("name", credential.name.as_str(), name.as_str())
        .change("expires_on", format_date(credential.expires_at), format_date(expires_at))
        .change("roles", slugs(&current), slugs(&roles))
        .detail("tokens_revoked", killed);
    audit::record(&state.db, &mut tx, now, event).await?;
    tx.commit().await?;
    tracing::info!(event = "credential_updated", credential_id = %credential.id);
    Ok(())
}

/// A new secret, shown once; the old one stops working at once.
pub async fn regenerate(state: &AppState, by: &Caller, id: &str) -> Result<CreatedSecret> {
    let principal = by.person()?;
    let credential = owned(state, principal, id).await?;
    let secret = secrets::generate(CLIENT_SECRET_PREFIX);
    let digest = state.secret_key.digest(&secret);
    let now = state.clock.unix();
    let mut tx = state.db.begin_rights_change().await?;
    if !repo::set_secret(&mut tx, &credential.id, &digest, now).await? {
        return Err(Error::NotFound);
    }
    let killed = tokens::end(&mut tx, Ending::Credential(&credential.id), Reason::SecretRegenerated, now).await?;
    let event = Event::new(AuditEvent::CredentialSecretRegenerated, Actor::user(principal))
        .ip(principal.ip)
        .target(Target::credential(&credential.id, &credential.name))
        .detail("tokens_revoked", killed);
    audit::record(&state.db, &mut tx, now, event).await?;
    tx.commit().await?;
    tracing::info!(event = "credential_secret_regenerated", credential_id = %credential.id);
    Ok(CreatedSecret { client_id: credential.id, name: credential.name, secret })
}

pub async fn delete(state: &AppState, by: &Caller, id: &str) -> Result<()> {
    let principal = by.person()?;
    let credential = owned(state, principal, id).await?;
    let now = state.clock.unix();
    let mut tx = state.db.begin_rights_change().await?;
    if !repo::mark_deleted(&mut tx, &credential.id, now).await? {
        return Err(Error::NotFound);
    }
    let killed = tokens::end(&mut tx, Ending::Credential(&credential.id), Reason::CredentialDeleted, now).await?;
    let event = Event::new(AuditEvent::CredentialDeleted, Actor::user(principal))
        .ip(principal.ip)
        .target(Target::credential(&credential.id, &credential.name))
        .detail("tokens_revoked", killed);
    audit::record(&state.db, &mut tx, now, event).await?;
    tx.commit().await?;
    tracing::info!(event = "credential_deleted", credential_id = %credential.id);
    Ok(())
}

/// Role slugs, for audit details.
pub fn slugs(roles: &[Role]) -> Vec<&'static str> {
    roles.iter().map(|r| r.slug()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_000_000; // 2026-11-18

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(validate_name("  CI pipeline ").unwrap(), "CI pipeline");
        assert!(validate_name("   ").is_err());
        assert!(validate_name(&"x".repeat(101)).is_err());
        assert!(validate_name(&"é".repeat(100)).is_ok(), "characters, not bytes");
        assert!(validate_name("a\u{7}b").is_err());
    }

    #[test]
    fn expiry_must_be_in_the_future_and_within_the_maximum_lifetime() {
        let end_of_today = validate_expiry("2026-11-18", NOW, 365).unwrap();
        assert_eq!(format_date(end_of_today), "2026-11-18");
        assert_eq!(end_of_today % SECS_PER_DAY, SECS_PER_DAY - 1);
        assert!(validate_expiry("2026-11-17", NOW, 365).is_err());
        assert!(validate_expiry("2027-11-18", NOW, 365).is_ok());
        let err = validate_expiry("2027-11-19", NOW, 365).unwrap_err();
        assert!(format!("{err}").contains("2027-11-18"), "{err}");
        assert!(validate_expiry("18/11/2027", NOW, 365).is_err());
    }

    #[test]
    fn roles_must_be_known_held_and_at_least_one() {
        let held = [Role::WorkCreator, Role::TeamLeader];
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            validate_roles(&s(&["team_leader", "work_creator", "team_leader"]), &held).unwrap(),
            vec![Role::WorkCreator, Role::TeamLeader]
        );
        assert!(validate_roles(&s(&[]), &held).is_err());
        assert!(validate_roles(&s(&["administrator"]), &held).is_err(), "not held");
        assert!(validate_roles(&s(&["root"]), &held).is_err(), "unknown");
    }
}
