//! SQL for users and roles. Functions take any executor so a service can run
//! several of them in one transaction.

use super::User;
use crate::backend::db::changes::RightsChange;
use crate::backend::Result;
use crate::model::Role;
use sqlx::{Any, AnyConnection, Executor, FromRow};
use std::collections::HashMap;

#[derive(FromRow)]
struct UserRow {
    id: String,
    username: String,
    display_name: String,
    active: i64,
    sessions_valid_after: i64,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: r.id,
            username: r.username,
            display_name: r.display_name,
            active: r.active != 0,
            sessions_valid_after: r.sessions_valid_after,
        }
    }
}

const USER_COLUMNS: &str = "id, username, display_name, active, sessions_valid_after";

pub struct NewUser<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub now: i64,
}

/// Inserts a user; `Ok(false)` when the username is taken.
pub async fn insert_user<'e>(ex: impl Executor<'e, Database = Any>, u: NewUser<'_>) -> Result<bool> {
    let res = sqlx::query(
        "insert into users (id, username, username_key, display_name, password_hash, active, \
         sessions_valid_after, created_at, updated_at) values ($1, $2, $3, $4, $5, 1, 0, $6, $6)",
    )
    .bind(u.id)
    .bind(u.username)
    .bind(u.username.to_lowercase())
    .bind(u.display_name)
    .bind(u.password_hash)
    .bind(u.now)
    .execute(ex)
    .await;
    crate::backend::db::unless_unique_violation(res)
}

pub async fn count_users<'e>(ex: impl Executor<'e, Database = Any>) -> Result<i64> {
    Ok(sqlx::query_scalar::<_, i64>("select count(*) from users").fetch_one(ex).await?)
}

pub async fn find_by_id<'e>(ex: impl Executor<'e, Database = Any>, id: &str) -> Result<Option<User>> {
    let row = sqlx::query_as::<_, UserRow>(&format!("select {USER_COLUMNS} from users where id = $1"))
        .bind(id)
        .fetch_optional(ex)
        .await?;
    Ok(row.map(User::from))
}

/// The user and their password hash, by case-insensitive username.
pub async fn find_for_login<'e>(
    ex: impl Executor<'e, Database = Any>,
    username: &str,
) -> Result<Option<(User, String)>> {
    #[derive(FromRow)]
    struct Row {
        #[sqlx(flatten)]
        user: UserRow,
        password_hash: String,
    }
    let row =
        sqlx::query_as::<_, Row>(&format!("select {USER_COLUMNS}, password_hash from users where username_key = $1"))
            .bind(username.to_lowercase())
            .fetch_optional(ex)
            .await?;
    Ok(row.map(|r| (User::from(r.user), r.password_hash)))
}

pub async fn list_users<'e>(ex: impl Executor<'e, Database = Any>) -> Result<Vec<User>> {
    let rows = sqlx::query_as::<_, UserRow>(&format!("select {USER_COLUMNS} from users order by username_key"))
        .fetch_all(ex)
        .await?;
    Ok(rows.into_iter().map(User::from).collect())
}

pub async fn set_password_hash<'e>(
    ex: impl Executor<'e, Database = Any>,
    user_id: &str,
    hash: &str,
    now: i64,
) -> Result<bool> {
    let res = sqlx::query("update users set password_hash = $1, updated_at = $2 where id = $3")
        .bind(hash)
        .bind(now)
        .bind(user_id)
        .execute(ex)
        .await?;
    Ok(res.rows_affected() == 1)
}

/// Ends every web session of the user signed in at or before `now`.
pub async fn invalidate_sessions<'e>(ex: impl Executor<'e, Database = Any>, user_id: &str, now: i64) -> Result<()> {
    sqlx::query("update users set sessions_valid_after = $1, updated_at = $1 where id = $2")
        .bind(now)
        .bind(user_id)
        .execute(ex)
        .await?;
    Ok(())
}

/// Roles the user holds now, in catalogue order.
pub async fn active_roles<'e>(ex: impl Executor<'e, Database = Any>, user_id: &str) -> Result<Vec<Role>> {
    let slugs: Vec<String> =
        sqlx::query_scalar("select role from user_roles where user_id = $1 and revoked_at is null")
            .bind(user_id)
            .fetch_all(ex)
            .await?;
    let mut roles: Vec<Role> = slugs.iter().filter_map(|s| Role::from_slug(s)).collect();
    roles.sort();
    Ok(roles)
}

/// A role a user holds.
#[derive(FromRow)]
struct HeldRoleRow {
    user_id: String,
    role: String,
}

/// The roles each of `user_ids` holds now, in catalogue order, read for all
/// of them at once ([`crate::backend::db::fetch_in`]). A user who holds none
/// has no entry.
pub async fn active_roles_of(conn: &mut AnyConnection, user_ids: &[&str]) -> Result<HashMap<String, Vec<Role>>> {
    let rows: Vec<HeldRoleRow> = crate::backend::db::fetch_in(conn, user_ids, |list| {
        format!("select user_id, role from user_roles where revoked_at is null and user_id in {list}")
    })
    .await?;
    let mut out: HashMap<String, Vec<Role>> = HashMap::new();
    for r in rows {
        if let Some(role) = Role::from_slug(&r.role) {
            out.entry(r.user_id).or_default().push(role);
        }
    }
    out.values_mut().for_each(|roles| roles.sort());
    Ok(out)
}

/// Grants a role (or grants it back) as of rights generation `gen`.
/// Returns whether anything changed.
pub async fn grant_role(tx: &mut RightsChange<'_>, user_id: &str, role: Role, gen: i64, now: i64) -> Result<bool> {
    let res = sqlx::query(
        "insert into user_roles (user_id, role, granted_at, revoked_at, granted_gen) values ($1, $2, $3, null, $4) \
         on conflict (user_id, role) do update set granted_at = excluded.granted_at, revoked_at = null, \
         granted_gen = excluded.granted_gen where user_roles.revoked_at is not null",
    )
    .bind(user_id)
    .bind(role.slug())
    .bind(now)
    .bind(gen)
    .execute(&mut **tx)
    .await?;
    Ok(res.rows_affected() > 0)
}

/// Whether the user holds `role` now.
pub async fn holds<'e>(ex: impl Executor<'e, Database = Any>, user_id: &str, role: Role) -> Result<bool> {
    let n: i64 =
        sqlx::query_scalar("select count(*) from user_roles where user_id = $1 and role = $2 and revoked_at is null")
            .bind(user_id)
            .bind(role.slug())
            .fetch_one(ex)
            .await?;
    Ok(n > 0)
}

/// Revokes a role, keeping the row so the revocation date can be shown.
pub async fn revoke_role(tx: &mut RightsChange<'_>, user_id: &str, role: Role, now: i64) -> Result<bool> {
    let res =
        sqlx::query("update user_roles set revoked_at = $1 where user_id = $2 and role = $3 and revoked_at is null")
            .bind(now)
            .bind(user_id)
            .bind(role.slug())
            .execute(&mut **tx)
            .await?;
    Ok(res.rows_affected() > 0)
}

/// Deletes the stored web sessions of a user (their cookies become
/// worthless at once).
pub async fn delete_sessions<'e>(ex: impl Executor<'e, Database = Any>, user_id: &str) -> Result<u64> {
    let res = sqlx::query("delete from sessions where user_id = $1").bind(user_id).execute(ex).await?;
    Ok(res.rows_affected())
}

/// Active users holding `role` now.
pub async fn count_active_with_role<'e>(ex: impl Executor<'e, Database = Any>, role: Role) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "select count(*) from users u join user_roles r on r.user_id = u.id \
         where u.active = 1 and r.role = $1 and r.revoked_at is null",
    )
    .bind(role.slug())
    .fetch_one(ex)
    .await?)
}

/// Returns whether the flag changed.
pub async fn set_active(tx: &mut RightsChange<'_>, user_id: &str, active: bool, now: i64) -> Result<bool> {
    let res = sqlx::query("update users set active = $1, updated_at = $2 where id = $3 and active <> $1")
        .bind(i64::from(active))
        .bind(now)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(res.rows_affected() == 1)
}

/// A user as the Users page lists them.
#[derive(FromRow)]
pub struct ListedUser {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub active: i64,
    pub created_at: i64,
    pub credentials: i64,
}

const LISTED_COLUMNS: &str = "u.id, u.username, u.display_name, u.active, u.created_at, \
     (select count(*) from credentials c where c.owner_id = u.id and c.deleted_at is null) as credentials";

/// Users whose username or display name contains `filter`
/// (case-insensitive), by username; and the total count.
pub async fn search(pool: &sqlx::AnyPool, filter: &str, limit: i64, offset: i64) -> Result<(Vec<ListedUser>, i64)> {
    let pattern = format!("%{}%", crate::backend::db::escape_like(&filter.to_lowercase()));
    let condition = "(u.username_key like $1 escape '\\' or lower(u.display_name) like $1 escape '\\')";
    let rows = sqlx::query_as::<_, ListedUser>(&format!(
        "select {LISTED_COLUMNS} from users u where {condition} order by u.username_key limit $2 offset $3"
    ))
    .bind(&pattern)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar(&format!("select count(*) from users u where {condition}"))
        .bind(&pattern)
        .fetch_one(pool)
        .await?;
    Ok((rows, total))
}

pub async fn find_listed(pool: &sqlx::AnyPool, user_id: &str) -> Result<Option<ListedUser>> {
    Ok(sqlx::query_as::<_, ListedUser>(&format!("select {LISTED_COLUMNS} from users u where u.id = $1"))
        .bind(user_id)
        .fetch_optional(pool)
        .await?)
}

/// A role a user held and lost.
#[derive(FromRow)]
struct RevokedRoleRow {
    role: String,
    revoked_at: i64,
}

/// Roles the user held and lost, with when.
pub async fn revoked_roles<'e>(ex: impl Executor<'e, Database = Any>, user_id: &str) -> Result<Vec<(Role, i64)>> {
    let rows: Vec<RevokedRoleRow> =
        sqlx::query_as("select role, revoked_at from user_roles where user_id = $1 and revoked_at is not null")
            .bind(user_id)
            .fetch_all(ex)
            .await?;
    let mut out: Vec<(Role, i64)> =
        rows.into_iter().filter_map(|r| Some((Role::from_slug(&r.role)?, r.revoked_at))).collect();
    out.sort();
    Ok(out)
}
