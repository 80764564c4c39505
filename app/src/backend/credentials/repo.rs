//! SQL for credentials and their roles.

use super::audited::{self, AuditSort, CredentialQuery};
use crate::backend::db::changes::RightsChange;
use crate::backend::db::{bind_args, escape_like, Arg, SecretTable, Where};
use crate::backend::Result;
use crate::model::{AuditedCredential, CredentialRole, CredentialSort, CredentialSummary, CredentialView, Role};
use sqlx::{Any, AnyConnection, AnyPool, Executor, FromRow};
use std::collections::HashMap;

#[derive(FromRow)]
struct Row {
    id: String,
    owner_id: String,
    name: String,
    expires_at: i64,
    created_at: i64,
    last_used_at: Option<i64>,
    secret_rotated_at: i64,
}

const COLUMNS: &str = "id, owner_id, name, expires_at, created_at, last_used_at, secret_rotated_at";

/// A live (not deleted) credential with its owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub expires_at: i64,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub secret_rotated_at: i64,
}

impl From<Row> for Credential {
    fn from(r: Row) -> Self {
        Credential {
            id: r.id,
            owner_id: r.owner_id,
            name: r.name,
            expires_at: r.expires_at,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            secret_rotated_at: r.secret_rotated_at,
        }
    }
}

impl Credential {
    pub fn into_summary(self, roles: Vec<CredentialRole>) -> CredentialSummary {
        CredentialSummary {
            id: self.id,
            name: self.name,
            roles,
            expires_at: self.expires_at,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            secret_rotated_at: self.secret_rotated_at,
        }
    }
}

pub struct NewCredential<'a> {
    pub id: &'a str,
    pub owner_id: &'a str,
    pub name: &'a str,
    pub secret_digest: &'a str,
    pub expires_at: i64,
    pub now: i64,
}

pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// Inserts a credential; `Ok(false)` when the owner already has one by that name.
pub async fn insert(tx: &mut RightsChange<'_>, c: NewCredential<'_>) -> Result<bool> {
    let res = sqlx::query(
        "insert into credentials (id, owner_id, name, name_key, secret_digest, expires_at, created_at, \
         updated_at, secret_rotated_at) values ($1, $2, $3, $4, $5, $6, $7, $7, $7)",
    )
    .bind(c.id)
    .bind(c.owner_id)
    .bind(c.name)
    .bind(name_key(c.name))
    .bind(c.secret_digest)
    .bind(c.expires_at)
    .bind(c.now)
    .execute(&mut **tx)
    .await;
    crate::backend::db::unless_unique_violation(res)
}

/// Makes the credential's roles exactly `roles`. A role added now is
/// recorded with rights generation `gen`, so no token issued before it can
/// carry it; roles kept keep theirs, so their tokens live on.
pub async fn set_roles(tx: &mut RightsChange<'_>, credential_id: &str, roles: &[Role], gen: i64) -> Result<()> {
    let keep: Vec<&str> = roles.iter().map(|r| r.slug()).collect();
    for held in roles_of(&mut **tx, credential_id).await? {
        if !keep.contains(&held.slug()) {
            sqlx::query("delete from credential_roles where credential_id = $1 and role = $2")
                .bind(credential_id)
                .bind(held.slug())
                .execute(&mut **tx)
                .await?;
        }
    }
    for role in roles {
        sqlx::query(
            "insert into credential_roles (credential_id, role, added_gen) values ($1, $2, $3) \
             on conflict (credential_id, role) do nothing",
        )
        .bind(credential_id)
        .bind(role.slug())
        .bind(gen)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub async fn roles_of<'e>(ex: impl Executor<'e, Database = Any>, credential_id: &str) -> Result<Vec<Role>> {
    let slugs: Vec<String> = sqlx::query_scalar("select role from credential_roles where credential_id = $1")
        .bind(credential_id)
        .fetch_all(ex)
        .await?;
    let mut roles: Vec<Role> = slugs.iter().filter_map(|s| Role::from_slug(s)).collect();
    roles.sort();
    Ok(roles)
}

/// A live credential by id, whoever owns it.
pub async fn find_live<'e>(ex: impl Executor<'e, Database = Any>, id: &str) -> Result<Option<Credential>> {
    let row =
        sqlx::query_as::<_, Row>(&format!("select {COLUMNS} from credentials where id = $1 and deleted_at is null"))
            .bind(id)
            .fetch_optional(ex)
            .await?;
    Ok(row.map(Credential::from))
}

pub struct Update<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub expires_at: i64,
    pub now: i64,
}

/// Renames / re-dates a live credential; `Ok(false)` on a name clash.
pub async fn update(tx: &mut RightsChange<'_>, u: Update<'_>) -> Result<bool> {
    let res = sqlx::query(
        "update credentials set name = $1, name_key = $2, expires_at = $3, updated_at = $4 \
         where id = $5 and deleted_at is null",
    )
    .bind(u.name)
    .bind(name_key(u.name))
    .bind(u.expires_at)
    .bind(u.now)
    .bind(u.id)
    .execute(&mut **tx)
    .await;
    crate::backend::db::unless_unique_violation(res)
}

pub async fn set_secret(tx: &mut RightsChange<'_>, id: &str, digest: &str, now: i64) -> Result<bool> {
    crate::backend::db::set_secret(tx, SecretTable::Credentials, id, digest, now).await
}

pub async fn mark_deleted(tx: &mut RightsChange<'_>, id: &str, now: i64) -> Result<bool> {
    crate::backend::db::mark_deleted(tx, SecretTable::Credentials, id, now).await
}

pub struct ListQuery<'a> {
    pub owner_id: &'a str,
    pub filter: &'a str,
    pub sort: CredentialSort,
    pub descending: bool,
    pub limit: i64,
    pub offset: i64,
}

/// One page of an owner's live credentials, and the total matching.
pub async fn list_for_owner(conn: &mut AnyConnection, q: ListQuery<'_>) -> Result<(Vec<CredentialSummary>, i64)> {
    let pattern = format!("%{}%", crate::backend::db::escape_like(&q.filter.to_lowercase()));
    let filter = "owner_id = $1 and deleted_at is null and (name_key like $2 escape '\\' or id like $2 escape '\\')";
    let total: i64 = sqlx::query_scalar(&format!("select count(*) from credentials where {filter}"))
        .bind(q.owner_id)
        .bind(&pattern)
        .fetch_one(&mut *conn)
        .await?;
    let dir = if q.descending { "desc" } else { "asc" };
    // Never-used credentials sort as the oldest use.
    let order = match q.sort {
        CredentialSort::Name => format!("name_key {dir}, id"),
        CredentialSort::Expires => format!("expires_at {dir}, name_key"),
        CredentialSort::LastUsed => format!("coalesce(last_used_at, 0) {dir}, name_key"),
        CredentialSort::Created => format!("created_at {dir}, name_key"),
    };
    let rows = sqlx::query_as::<_, Row>(&format!(
        "select {COLUMNS} from credentials where {filter} order by {order} limit $3 offset $4"
    ))
    .bind(q.owner_id)
    .bind(&pattern)
    .bind(q.limit)
    .bind(q.offset)
    .fetch_all(&mut *conn)
    .await?;

    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut roles = roles_with_status(&mut *conn, &ids).await?;
    let items = rows
        .into_iter()
        .map(|row| {
            let held = roles.remove(&row.id).unwrap_or_default();
            Credential::from(row).into_summary(held)
        })
        .collect();
    Ok((items, total))
}

/// A role on a credential, with the owner's holding of it (none: never held).
#[derive(FromRow)]
struct RoleStatusRow {
    credential_id: String,
    role: String,
    granted_at: Option<i64>,
    revoked_at: Option<i64>,
}

/// The roles of each of the credentials `ids` (deleted ones too), each
/// marked with when the owner lost it (if so), in catalogue order; read for
/// all of them at once ([`crate::backend::db::fetch_in`]). A credential
/// with no role has no entry.
pub async fn roles_with_status(conn: &mut AnyConnection, ids: &[&str]) -> Result<HashMap<String, Vec<CredentialRole>>> {
    let rows: Vec<RoleStatusRow> = crate::backend::db::fetch_in(conn, ids, |list| {
        format!(
            "select cr.credential_id, cr.role, ur.granted_at, ur.revoked_at from credential_roles cr \
             join credentials c on c.id = cr.credential_id \
             left join user_roles ur on ur.user_id = c.owner_id and ur.role = cr.role \
             where cr.credential_id in {list}"
        )
    })
    .await?;
    let mut out: HashMap<String, Vec<CredentialRole>> = HashMap::new();
    for r in rows {
        let Some(role) = Role::from_slug(&r.role) else { continue };
        // never held (granted is null) counts as revoked at creation time 0
        let revoked_at = match (r.granted_at, r.revoked_at) {
            (None, _) => Some(0),
            (Some(_), revoked) => revoked,
        };
        out.entry(r.credential_id).or_default().push(CredentialRole { role, revoked_at });
    }
    out.values_mut().for_each(|roles| roles.sort_by_key(|r| r.role));
    Ok(out)
}

/// Every live credential with its roles (for auditors).
pub async fn list_all(pool: &sqlx::AnyPool) -> Result<Vec<(Credential, Vec<Role>)>> {
    let mut conn = pool.acquire().await?;
    let rows = sqlx::query_as::<_, Row>(&format!(
        "select {COLUMNS} from credentials where deleted_at is null order by created_at, id"
    ))
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut roles = roles_with_status(&mut conn, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let held = roles.remove(&row.id).unwrap_or_default();
            (Credential::from(row), held.into_iter().map(|r| r.role).collect())
        })
        .collect())
}

// --- every credential, for Auditors -----------------------------------------------

/// A credential as the Auditors' list reads it, its roles apart; `live_tokens`
/// counts the tokens not revoked and not past their stored expiry.
#[derive(Debug, FromRow)]
pub struct AuditedRow {
    id: String,
    name: String,
    owner_id: String,
    owner_username: String,
    expires_at: i64,
    created_at: i64,
    last_used_at: Option<i64>,
    deleted_at: Option<i64>,
    secret_rotated_at: i64,
    live_tokens: i64,
}

impl AuditedRow {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The credential as Auditors see it, with its roles.
    pub fn with_roles(self, roles: Vec<CredentialRole>) -> AuditedCredential {
        AuditedCredential {
            id: self.id,
            name: self.name,
            owner_id: self.owner_id,
            owner_username: self.owner_username,
            roles,
            expires_at: self.expires_at,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            deleted_at: self.deleted_at,
            secret_rotated_at: self.secret_rotated_at,
            live_tokens: self.live_tokens,
        }
    }
}

/// The view and the text filter of the list, over `credentials c join
/// users u`. The view's conditions are [`audited::in_view`] in SQL.
fn credential_where(q: &CredentialQuery, now: i64) -> Where {
    let mut w = Where::default();
    match q.view {
        CredentialView::All => {}
        CredentialView::Active => {
            w.raw("c.deleted_at is null");
            w.push("c.expires_at > ?", Arg::Int(now));
        }
        CredentialView::Expired => {
            w.raw("c.deleted_at is null");
            w.push("c.expires_at <= ?", Arg::Int(now));
        }
        CredentialView::Deleted => w.raw("c.deleted_at is not null"),
        CredentialView::Unused90 => {
            w.raw("c.deleted_at is null");
            w.push("coalesce(c.last_used_at, c.created_at) < ?", Arg::Int(audited::unused_before(now)));
        }
        CredentialView::Expiring30 => {
            w.raw("c.deleted_at is null");
            w.push("c.expires_at > ?", Arg::Int(now));
            w.push("c.expires_at < ?", Arg::Int(audited::expiring_before(now)));
        }
    }
    let filter: String = q.filter.trim().chars().take(100).collect();
    if !filter.is_empty() {
        let pattern = format!("%{}%", escape_like(&filter.to_lowercase()));
        w.push(
            "(c.name_key like ? escape '\\' or c.id like ? escape '\\' or u.username_key like ? escape '\\')",
            Arg::Text(pattern),
        );
    }
    w
}

/// A page of every user's credentials (deleted ones too) that the query
/// keeps at `now`, in its order, and how many it keeps in all.
pub async fn credentials_page(
    pool: &AnyPool,
    q: &CredentialQuery,
    now: i64,
    limit: i64,
    offset: i64,
) -> Result<(Vec<AuditedRow>, i64)> {
    let w = credential_where(q, now);
    let from = "credentials c join users u on u.id = c.owner_id";
    let count = format!("select count(*) from {from} where {}", w.sql());
    let total: i64 = bind_args!(sqlx::query_scalar::<_, i64>(&count), &w.args).fetch_one(pool).await?;
    let dir = if q.descending { "desc" } else { "asc" };
    let order = match q.sort {
        AuditSort::Owner => format!("u.username_key {dir}, c.name_key"),
        AuditSort::SecretAge => format!("c.secret_rotated_at {dir}, c.name_key"),
        AuditSort::Base(CredentialSort::Name) => format!("c.name_key {dir}, c.id"),
        AuditSort::Base(CredentialSort::Expires) => format!("c.expires_at {dir}, c.name_key"),
        AuditSort::Base(CredentialSort::LastUsed) => format!("coalesce(c.last_used_at, 0) {dir}, c.name_key"),
        AuditSort::Base(CredentialSort::Created) => format!("c.created_at {dir}, c.name_key"),
    };
    let (n, l, o) = (w.next(), w.next() + 1, w.next() + 2);
    let sql = format!(
        "select c.id, c.name, c.owner_id, u.username as owner_username, c.expires_at, c.created_at, \
         c.last_used_at, c.deleted_at, c.secret_rotated_at, \
         (select count(*) from tokens t where t.credential_id = c.id and t.revoked_at is null \
          and t.expires_at > ${n}) as live_tokens \
         from {from} where {} order by {order} limit ${l} offset ${o}",
        w.sql()
    );
    let rows = bind_args!(sqlx::query_as::<_, AuditedRow>(&sql), &w.args)
        .bind(now)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await?;
    Ok((rows, total))
}

/// Whether a credential with this id was ever created (deleted ones too).
pub async fn credential_exists(pool: &AnyPool, id: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("select count(*) from credentials where id = $1").bind(id).fetch_one(pool).await?;
    Ok(n > 0)
}
