//! User administration, for the operator's CLI, for User Managers in the
//! web app and for API clients with the User Manager role. Every function
//! checks who is asking ([`Caller`]) itself, and every change is audited in
//! its own transaction.

use super::{repo, User, UserWithRoles};
use crate::backend::audit::{self, Actor, Event, Target};
use crate::backend::caller::{Caller, Principal};
use crate::backend::credentials::service::slugs;
use crate::backend::password::{self, check_policy, PasswordHasher};
use crate::backend::secrets::Secret;
use crate::backend::settings::{self, RoleChangeRule};
use crate::backend::tokens::{service as tokens, Ending, Reason};
use crate::backend::{AppState, Db, Error, Result};
use crate::model::AuditEvent;
use crate::model::{Page, Role, UserDetail, UserSummary};
use std::net::IpAddr;

pub const BOOTSTRAP_USERNAME: &str = "admin";

/// Usernames: 3–64 characters of letters, digits and `._@-`, compared
/// case-insensitively.
pub fn validate_username(raw: &str) -> Result<String> {
    let name = raw.trim();
    let len = name.chars().count();
    if !(3..=64).contains(&len) {
        return Err(Error::invalid("username", "A username has 3 to 64 characters."));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c)) {
        return Err(Error::invalid("username", "Use letters, digits and . _ @ - only."));
    }
    Ok(name.to_string())
}

pub fn validate_display_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    let len = name.chars().count();
    if !(1..=100).contains(&len) {
        return Err(Error::invalid("display_name", "A display name has 1 to 100 characters."));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid("display_name", "A display name cannot contain control characters."));
    }
    Ok(name.to_string())
}

fn administrator_refusal(what: &str) -> Error {
    Error::invalid("role", format!("Only an Administrator can {what}."))
}

pub struct NewUserInput<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    /// `None`: generate one (returned once).
    pub password: Option<&'a Secret>,
    pub roles: &'a [Role],
}

/// Creates a user. Returns the user and, when the server generated the
/// password, that password (to show once).
pub async fn create_user(state: &AppState, by: &Caller, input: NewUserInput<'_>) -> Result<(User, Option<Secret>)> {
    by.require(Role::UserManager)?;
    create(&state.db, &state.passwords, state.clock.unix(), by, input).await
}

async fn create(
    db: &Db,
    hasher: &PasswordHasher,
    now: i64,
    by: &Caller,
    input: NewUserInput<'_>,
) -> Result<(User, Option<Secret>)> {
    let username = validate_username(input.username)?;
    let display_name = validate_display_name(input.display_name)?;
    if input.roles.contains(&Role::Administrator) && !by.may_handle_administrator() {
        return Err(administrator_refusal("grant the Administrator role"));
    }
    let generated = input.password.is_none().then(|| Secret::new(password::generate_password()));
    let password = input.password.or(generated.as_ref()).expect("one of the two is set");
    check_policy(password.expose(), &username).map_err(|m| Error::invalid("password", m))?;
    let hash = hasher.hash(password).await?;
    let id = uuid::Uuid::new_v4().to_string();

    let mut tx = db.begin_rights_change().await?;
    let inserted = repo::insert_user(
        &mut *tx,
        repo::NewUser { id: &id, username: &username, display_name: &display_name, password_hash: &hash, now },
    )
    .await?;
    if !inserted {
        return Err(Error::invalid("username", "That username is already taken."));
    }
    let mut roles = input.roles.to_vec();
    roles.sort();
    roles.dedup();
    let gen = tx.bump_rights(&id, false).await?;
    for role in &roles {
        repo::grant_role(&mut tx, &id, *role, gen, now).await?;
    }
    let event = Event::new(AuditEvent::UserCreated, Actor::of(by))
        .ip(by.ip())
        .target(Target::user(&id, &username))
        .detail("display_name", display_name.as_str())
        .detail("roles", slugs(&roles))
        .detail("password", if generated.is_some() { "generated" } else { "set" });
    audit::record(db, &mut tx, now, event).await?;
    tx.commit().await?;
    Ok((User { id, username, display_name, active: true, sessions_valid_after: 0 }, generated))
}

/// On an empty database, creates `admin` holding every role. Returns the
/// password when one was generated, so the caller can show it once.
pub async fn bootstrap_admin(
    db: &Db,
    hasher: &PasswordHasher,
    now: i64,
    password: Option<&Secret>,
) -> Result<Option<BootstrapOutcome>> {
    if repo::count_users(&db.pool).await? > 0 {
        return Ok(None);
    }
    let (_, generated_password) = create(
        db,
        hasher,
        now,
        &Caller::Operator,
        NewUserInput { username: BOOTSTRAP_USERNAME, display_name: "Administrator", password, roles: &Role::ALL },
    )
    .await?;
    Ok(Some(BootstrapOutcome { generated_password }))
}

#[derive(Debug)]
pub struct BootstrapOutcome {
    /// Set when the password was generated (not supplied by the operator).
    pub generated_password: Option<Secret>,
}

/// The user and their password hash, by case-insensitive username: for
/// checking a sign-in.
pub async fn find_for_login(db: &Db, username: &str) -> Result<Option<(User, String)>> {
    repo::find_for_login(&db.pool, username).await
}

pub async fn find_by_id(db: &Db, user_id: &str) -> Result<Option<User>> {
    repo::find_by_id(&db.pool, user_id).await
}

/// The roles the user holds now, in catalogue order: what a principal acting
/// for them carries (a session, the operator's CLI).
pub async fn active_roles(db: &Db, user_id: &str) -> Result<Vec<Role>> {
    repo::active_roles(&db.pool, user_id).await
}

/// The principal of a user: who they are and the roles they hold now. The
/// one place a person's principal is built (the session middleware, the
/// CLI acting for a user, the tests).
pub async fn principal(db: &Db, user: &User, ip: Option<IpAddr>) -> Result<Principal> {
    Ok(Principal {
        user_id: user.id.clone(),
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        roles: active_roles(db, &user.id).await?,
        ip,
    })
}

pub async fn find_by_username(db: &Db, username: &str) -> Result<User> {
    repo::find_for_login(&db.pool, username.trim()).await?.map(|(u, _)| u).ok_or(Error::NotFound)
}

async fn find(db: &Db, user_id: &str) -> Result<User> {
    repo::find_by_id(&db.pool, user_id).await?.ok_or(Error::NotFound)
}

/// Sets a new password (the given one, or a generated one that is
/// returned) and ends every session of the user (ASVS V7.4.3).
pub async fn set_password(
    state: &AppState,
    by: &Caller,
    user_id: &str,
    password: Option<&Secret>,
) -> Result<(User, Option<Secret>)> {
    by.require(Role::UserManager)?;
    let (db, now) = (&state.db, state.clock.unix());
    let user = find(db, user_id).await?;
    if !by.may_handle_administrator() && repo::holds(&db.pool, &user.id, Role::Administrator).await? {
        return Err(administrator_refusal("reset the password of an Administrator"));
    }
    let generated = password.is_none().then(|| Secret::new(password::generate_password()));
    let password = password.or(generated.as_ref()).expect("one of the two is set");
    check_policy(password.expose(), &user.username).map_err(|m| Error::invalid("password", m))?;
    let hash = state.passwords.hash(password).await?;
    let mut tx = db.pool.begin().await?;
    repo::set_password_hash(&mut *tx, &user.id, &hash, now).await?;
    repo::invalidate_sessions(&mut *tx, &user.id, now).await?;
    let sessions = repo::delete_sessions(&mut *tx, &user.id).await?;
    let event = Event::new(AuditEvent::UserPasswordReset, Actor::of(by))
        .ip(by.ip())
        .target(Target::user(&user.id, &user.username))
        .detail("password", if generated.is_some() { "generated" } else { "set" })
        .detail("sessions_ended", sessions);
    audit::record(db, &mut tx, now, event).await?;
    tx.commit().await?;
    Ok((user, generated))
}

/// Fails when no active user would hold Administrator. Run it inside the
/// transaction, after the change and after [`audit::record`]: the audit
/// head lock makes two concurrent removals of the last two Administrators
/// queue, so the second one sees the first.
async fn ensure_an_administrator_remains(conn: &mut sqlx::AnyConnection) -> Result<()> {
    if repo::count_active_with_role(conn, Role::Administrator).await? == 0 {
        return Err(Error::invalid(
            "role",
            "This is the last active Administrator. Make someone else an Administrator first.",
        ));
    }
    Ok(())
}

/// Refuses a change to `user_id`'s roles that only an Administrator may
/// make: granting or removing Administrator, or any role change to the
/// account of an Administrator (a User Manager could otherwise strip the
/// account that holds every right, or hand it roles).
async fn may_change_roles_of(db: &Db, by: &Caller, user_id: &str, role: Role, granting: bool) -> Result<()> {
    if by.may_handle_administrator() {
        return Ok(());
    }
    if role == Role::Administrator {
        return Err(administrator_refusal(if granting {
            "grant the Administrator role"
        } else {
            "remove the Administrator role"
        }));
    }
    if repo::holds(&db.pool, user_id, Role::Administrator).await? {
        return Err(administrator_refusal("change the roles of an Administrator"));
    }
    Ok(())
}

/// Ends what a role change ends under the General Setting (`rule`) and
/// audits the change, in its transaction, after the user's rights
/// generation moved on: every token of the user, or (for a removal under
/// the narrow rule) those carrying the removed role. Tokens issued
/// meanwhile from an older reading of the rights are dead by their
/// generation (`tokens::rules`).
async fn finish_role_change(
    db: &Db,
    tx: &mut crate::backend::db::changes::RightsChange<'_>,
    by: &Caller,
    user: &User,
    (role, granted): (Role, bool),
    rule: RoleChangeRule,
    now: i64,
) -> Result<()> {
    let ended = match (rule, granted) {
        (RoleChangeRule::AllTokens, _) => tokens::end(tx, Ending::Owner(&user.id), Reason::RolesChanged, now).await?,
        (RoleChangeRule::TokensWithRemovedRole, false) => {
            tokens::end(tx, Ending::OwnerRole(&user.id, role), Reason::RoleRevoked, now).await?
        }
        (RoleChangeRule::TokensWithRemovedRole, true) => 0,
    };
    let kind = if granted { AuditEvent::UserRoleGranted } else { AuditEvent::UserRoleRevoked };
    let event = Event::new(kind, Actor::of(by))
        .ip(by.ip())
        .target(Target::user(&user.id, &user.username))
        .detail("role", role.slug())
        .detail("rule", rule.as_str())
        .detail("tokens_revoked", ended);
    audit::record(db, tx, now, event).await?;
    Ok(())
}

/// Grants a role, or grants it back. Under the default rule every token of
/// the user ends (their rights changed); under the other, none does.
pub async fn grant_role(state: &AppState, by: &Caller, user_id: &str, role: Role) -> Result<bool> {
    by.require(Role::UserManager)?;
    let (db, now) = (&state.db, state.clock.unix());
    let user = find(db, user_id).await?;
    may_change_roles_of(db, by, &user.id, role, true).await?;
    let rule = settings::load(db).await?.role_change_rule();
    let mut tx = db.begin_rights_change().await?;
    let gen = tx.bump_rights(&user.id, rule == RoleChangeRule::AllTokens).await?;
    if !repo::grant_role(&mut tx, &user.id, role, gen, now).await? {
        return Ok(false); // held already: nothing changes, the bump rolls back
    }
    finish_role_change(db, &mut tx, by, &user, (role, true), rule, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Revokes a role and, in the same transaction, ends what the General
/// Setting says: every token of the user (the default) or those that carry
/// the role (LC-03). The credentials keep the role in their record, greyed
/// out.
pub async fn revoke_role(state: &AppState, by: &Caller, user_id: &str, role: Role) -> Result<bool> {
    by.require(Role::UserManager)?;
    let (db, now) = (&state.db, state.clock.unix());
    if role == Role::UserManager && by.is(user_id) {
        return Err(Error::invalid("role", "You cannot remove your own User Manager role: ask another User Manager."));
    }
    let user = find(db, user_id).await?;
    may_change_roles_of(db, by, &user.id, role, false).await?;
    let rule = settings::load(db).await?.role_change_rule();
    let mut tx = db.begin_rights_change().await?;
    if !repo::revoke_role(&mut tx, &user.id, role, now).await? {
        return Ok(false);
    }
    tx.bump_rights(&user.id, rule == RoleChangeRule::AllTokens).await?;
    finish_role_change(db, &mut tx, by, &user, (role, false), rule, now).await?;
    if role == Role::Administrator {
        ensure_an_administrator_remains(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Deactivates a user: every token of every credential they own dies (for
/// good: their rights generation moves past every token's), their
/// credentials cannot obtain new ones, and their web sessions end, all in
/// one transaction. Reactivating lets them sign in and obtain new tokens.
pub async fn set_active(state: &AppState, by: &Caller, user_id: &str, active: bool) -> Result<bool> {
    by.require(Role::UserManager)?;
    let (db, now) = (&state.db, state.clock.unix());
    if !active && by.is(user_id) {
        return Err(Error::invalid("active", "You cannot deactivate your own account."));
    }
    let user = find(db, user_id).await?;
    let is_admin = repo::holds(&db.pool, &user.id, Role::Administrator).await?;
    if is_admin && !by.may_handle_administrator() {
        return Err(administrator_refusal(if active {
            "reactivate an Administrator"
        } else {
            "deactivate an Administrator"
        }));
    }
    let mut tx = db.begin_rights_change().await?;
    if !repo::set_active(&mut tx, &user.id, active, now).await? {
        return Ok(false);
    }
    tx.bump_rights(&user.id, !active).await?;
    let mut event =
        Event::new(if active { AuditEvent::UserReactivated } else { AuditEvent::UserDeactivated }, Actor::of(by))
            .ip(by.ip())
            .target(Target::user(&user.id, &user.username));
    if !active {
        let killed = tokens::end(&mut tx, Ending::Owner(&user.id), Reason::OwnerDeactivated, now).await?;
        repo::invalidate_sessions(&mut *tx, &user.id, now).await?;
        let sessions = repo::delete_sessions(&mut *tx, &user.id).await?;
        event = event.detail("tokens_revoked", killed).detail("sessions_ended", sessions);
    }
    audit::record(db, &mut tx, now, event).await?;
    if !active && is_admin {
        ensure_an_administrator_remains(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Every user with their roles (the API's list, the CLI's).
pub async fn list_with_roles(state: &AppState, by: &Caller) -> Result<Vec<UserWithRoles>> {
    by.require(Role::UserManager)?;
    let db = &state.db;
    let users = repo::list_users(&db.pool).await?;
    let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    let mut roles = repo::active_roles_of(&mut *db.pool.acquire().await?, &ids).await?;
    Ok(users
        .into_iter()
        .map(|user| UserWithRoles { roles: roles.remove(&user.id).unwrap_or_default(), user })
        .collect())
}

pub const PER_PAGE: i64 = 25;

/// One page of users, filtered by username or display name.
pub async fn list(state: &AppState, by: &Caller, filter: &str, page: i64) -> Result<Page<UserSummary>> {
    by.require(Role::UserManager)?;
    let (db, now) = (&state.db, state.clock.unix());
    let page = page.max(1);
    let filter: String = filter.trim().chars().take(100).collect();
    let (users, total) = repo::search(&db.pool, &filter, PER_PAGE, (page - 1) * PER_PAGE).await?;
    let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    let mut roles = repo::active_roles_of(&mut *db.pool.acquire().await?, &ids).await?;
    let items = users
        .into_iter()
        .map(|u| {
            let held = roles.remove(&u.id).unwrap_or_default();
            summary(u, held)
        })
        .collect();
    Ok(Page { items, total, page, per_page: PER_PAGE, now })
}

fn summary(u: repo::ListedUser, roles: Vec<Role>) -> UserSummary {
    UserSummary {
        roles,
        id: u.id,
        username: u.username,
        display_name: u.display_name,
        active: u.active != 0,
        created_at: u.created_at,
        credentials: u.credentials,
    }
}

/// One user, with what the caller may do to them.
pub async fn detail(state: &AppState, by: &Caller, user_id: &str) -> Result<UserDetail> {
    by.require(Role::UserManager)?;
    let (db, now) = (&state.db, state.clock.unix());
    let listed = repo::find_listed(&db.pool, user_id).await?.ok_or(Error::NotFound)?;
    let roles = repo::active_roles(&db.pool, &listed.id).await?;
    let user = summary(listed, roles);
    // The rule of `may_change_roles_of`, for the page.
    let can_manage_account = by.may_handle_administrator() || !user.roles.contains(&Role::Administrator);
    let manageable: Vec<Role> =
        if can_manage_account { crate::model::grantable_roles(by.may_handle_administrator()) } else { Vec::new() };
    Ok(UserDetail {
        revoked: repo::revoked_roles(&db.pool, &user.id).await?,
        is_self: by.is(&user.id),
        user,
        manageable,
        can_manage_account,
        role_change_rule: settings::load(db).await?.role_change_rule(),
        now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_trimmed_and_limited_to_a_safe_alphabet() {
        assert_eq!(validate_username("  alice ").unwrap(), "alice");
        assert!(validate_username("al").is_err());
        assert!(validate_username("alice smith").is_err());
        assert!(validate_username("alice\n").is_ok(), "surrounding whitespace is trimmed");
        assert!(validate_username("ali\nce").is_err());
        assert!(validate_username(&"a".repeat(65)).is_err());
    }

    #[test]
    fn display_names_reject_control_characters() {
        assert!(validate_display_name("Alice Smith").is_ok());
        assert!(validate_display_name("   ").is_err());
        assert!(validate_display_name("A\u{1b}[31m").is_err());
    }
}
