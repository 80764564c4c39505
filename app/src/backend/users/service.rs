//! User administration as the operator's CLI and the bootstrap use it.
//! (The web UI for User Managers builds on these with its own authorization.)

use super::{repo, User, UserWithRoles};
use crate::backend::auth::password::{self, check_policy, PasswordHasher};
use crate::backend::auth::Secret;
use crate::backend::{Db, Error, Result};
use crate::model::Role;

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

pub struct NewUserInput<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub password: &'a Secret,
    pub roles: &'a [Role],
}

pub async fn create_user(db: &Db, hasher: &PasswordHasher, now: i64, input: NewUserInput<'_>) -> Result<User> {
    let username = validate_username(input.username)?;
    let display_name = validate_display_name(input.display_name)?;
    check_policy(input.password.expose(), &username).map_err(|m| Error::invalid("password", m))?;
    let hash = hasher.hash(input.password).await?;
    let id = uuid::Uuid::new_v4().to_string();

    let mut tx = db.pool.begin().await?;
    let inserted = repo::insert_user(
        &mut *tx,
        repo::NewUser { id: &id, username: &username, display_name: &display_name, password_hash: &hash, now },
    )
    .await?;
    if !inserted {
        return Err(Error::invalid("username", "That username is already taken."));
    }
    for role in input.roles {
        repo::grant_role(&mut *tx, &id, *role, now).await?;
    }
    tx.commit().await?;
    Ok(User { id, username, display_name, active: true, sessions_valid_after: 0 })
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
    let (secret, generated) = match password {
        Some(p) => (p.clone(), false),
        None => (Secret::new(password::generate_password()), true),
    };
    create_user(
        db,
        hasher,
        now,
        NewUserInput {
            username: BOOTSTRAP_USERNAME,
            display_name: "Administrator",
            password: &secret,
            roles: &Role::ALL,
        },
    )
    .await?;
    Ok(Some(BootstrapOutcome { generated_password: generated.then_some(secret) }))
}

#[derive(Debug)]
pub struct BootstrapOutcome {
    /// Set when the password was generated (not supplied by the operator).
    pub generated_password: Option<Secret>,
}

pub async fn find_by_username(db: &Db, username: &str) -> Result<User> {
    repo::find_for_login(&db.pool, username.trim()).await?.map(|(u, _)| u).ok_or(Error::NotFound)
}

/// Sets a new password and ends every session of the user (ASVS V7.4.3).
pub async fn set_password(db: &Db, hasher: &PasswordHasher, now: i64, username: &str, password: &Secret) -> Result<()> {
    let user = find_by_username(db, username).await?;
    check_policy(password.expose(), &user.username).map_err(|m| Error::invalid("password", m))?;
    let hash = hasher.hash(password).await?;
    let mut tx = db.pool.begin().await?;
    repo::set_password_hash(&mut *tx, &user.id, &hash, now).await?;
    repo::invalidate_sessions(&mut *tx, &user.id, now).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn grant_role(db: &Db, now: i64, username: &str, role: Role) -> Result<bool> {
    let user = find_by_username(db, username).await?;
    repo::grant_role(&db.pool, &user.id, role, now).await
}

/// Revokes a role and, in the same transaction, kills every token of the
/// user's credentials that carries it (LC-03).
pub async fn revoke_role(db: &Db, now: i64, username: &str, role: Role) -> Result<bool> {
    let user = find_by_username(db, username).await?;
    let mut tx = db.pool.begin().await?;
    let changed = repo::revoke_role(&mut *tx, &user.id, role, now).await?;
    if changed {
        crate::backend::tokens::repo::revoke_for_owner_role(&mut *tx, &user.id, role, now).await?;
    }
    tx.commit().await?;
    Ok(changed)
}

pub async fn list_with_roles(db: &Db) -> Result<Vec<UserWithRoles>> {
    let mut out = Vec::new();
    for user in repo::list_users(&db.pool).await? {
        let roles = repo::active_roles(&db.pool, &user.id).await?;
        out.push(UserWithRoles { user, roles });
    }
    Ok(out)
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
