//! SQL for tokens: the writer's insert of issued tokens, the one-statement
//! reads of a client, of a protected API and of a token with everything
//! their rules need, the purge of long-expired rows, and recording a
//! token's death.
//!
//! Every event that kills tokens marks them revoked in the same transaction,
//! with the reason, so that no later event (a role granted back, a clock that
//! jumps) can revive them (LC-06). The validation path re-checks the live
//! state as well, as a second line.

use super::{Ending, Reason};
use crate::backend::db::changes::RightsChange;
use crate::backend::db::values_list;
use crate::backend::Result;
use crate::model::Role;
use sqlx::{Any, AnyConnection, AnyPool, Executor, FromRow};

fn carries(role: Role) -> String {
    format!("% {} %", role.slug().replace('_', "\\_"))
}

/// Revokes the live tokens `which` names, with `reason`; returns how many.
/// A token carries a role when its scope names it (`scope_to_roles`): the
/// scope, padded with spaces, holds the slug between two spaces.
pub async fn revoke_live(tx: &mut RightsChange<'_>, which: Ending<'_>, reason: Reason, now: i64) -> Result<u64> {
    const OF_CREDENTIAL: &str = "credential_id = $3";
    const OF_OWNER: &str = "credential_id in (select id from credentials where owner_id = $3)";
    const CARRYING: &str = " and (' ' || roles || ' ') like $4 escape '\\'";
    const OF_AUDIENCE: &str = "audience = $3";
    let (of, id, role) = match which {
        Ending::Audience(audience) => (OF_AUDIENCE, audience, None),
        Ending::Credential(id) => (OF_CREDENTIAL, id, None),
        Ending::CredentialRole(id, role) => (OF_CREDENTIAL, id, Some(role)),
        Ending::Owner(id) => (OF_OWNER, id, None),
        Ending::OwnerRole(id, role) => (OF_OWNER, id, Some(role)),
    };
    let carrying = if role.is_some() { CARRYING } else { "" };
    let sql =
        format!("update tokens set revoked_at = $1, revoked_reason = $2 where revoked_at is null and {of}{carrying}");
    let mut q = sqlx::query(&sql).bind(now).bind(reason.as_str()).bind(id);
    if let Some(role) = role {
        q = q.bind(carries(role));
    }
    Ok(q.execute(&mut **tx).await?.rows_affected())
}

/// One token, by its stored key, if not yet marked dead. Takes any
/// executor: marking a token that the time rules already killed changes
/// no cached answer (the caches check those rules themselves); revoking a
/// live one goes through [`RightsChange`].
pub async fn revoke_one<'e>(ex: impl Executor<'e, Database = Any>, key: &str, reason: &str, now: i64) -> Result<u64> {
    let res = sqlx::query(
        "update tokens set revoked_at = $1, revoked_reason = $2 where token_digest = $3 and revoked_at is null",
    )
    .bind(now)
    .bind(reason)
    .bind(key)
    .execute(ex)
    .await?;
    Ok(res.rows_affected())
}

/// A token row to insert: the token's stored key (its issue order and keyed
/// digest), never the token itself.
#[derive(Debug)]
pub struct NewToken {
    pub key: String,
    pub credential_id: String,
    pub roles: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub secret_version: i64,
    /// The owner's rights generation the token's roles were read at.
    pub rights_gen: i64,
    /// The protected API's audience the token is bound to (RFC 8707 §2),
    /// and that API.
    pub audience: Option<String>,
    pub protected_api_id: Option<String>,
}

/// Inserts issued tokens in one statement (a writer's batch), each last used
/// when it was issued. A plain transaction: a new token changes no cached
/// answer.
pub async fn insert_issued(conn: &mut AnyConnection, tokens: &[NewToken]) -> Result<()> {
    let sql = format!(
        "insert into tokens (token_digest, credential_id, roles, issued_at, expires_at, last_used_at, secret_version, \
         rights_gen, audience, protected_api_id) values {}",
        values_list(conn, tokens.len(), 10)
    );
    let mut q = sqlx::query(&sql);
    for t in tokens {
        q = q
            .bind(t.key.as_str())
            .bind(t.credential_id.as_str())
            .bind(t.roles.as_str())
            .bind(t.issued_at)
            .bind(t.expires_at)
            .bind(t.issued_at)
            .bind(t.secret_version)
            .bind(t.rights_gen)
            .bind(t.audience.as_deref())
            .bind(t.protected_api_id.as_deref());
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

/// A credential and its owner as issuance needs them, read in one
/// statement so that the roles and the rights generation belong together:
/// one row per role on the credential (or one row with no role).
#[derive(Debug, FromRow)]
pub struct ClientRow {
    pub id: String,
    pub name: String,
    pub owner_id: String,
    pub secret_digest: String,
    pub secret_version: i64,
    pub expires_at: i64,
    pub deleted_at: Option<i64>,
    pub active: i64,
    pub rights_gen: i64,
    #[sqlx(flatten)]
    pub role: RoleRow,
}

/// One role on a credential: when it was added to the credential and, when
/// the owner holds it now, when that holding began (generations).
#[derive(Debug, FromRow)]
pub struct RoleRow {
    pub role: Option<String>,
    pub added_gen: Option<i64>,
    pub granted_gen: Option<i64>,
}

const ROLE_JOINS: &str = "left join credential_roles cr on cr.credential_id = c.id \
     left join user_roles ur on ur.user_id = u.id and ur.role = cr.role and ur.revoked_at is null";

pub async fn load_client(pool: &AnyPool, client_id: &str) -> Result<Vec<ClientRow>> {
    Ok(sqlx::query_as::<_, ClientRow>(&format!(
        "select c.id, c.name, c.owner_id, c.secret_digest, c.secret_version, c.expires_at, c.deleted_at, u.active, \
         u.rights_gen, cr.role, cr.added_gen, ur.granted_gen \
         from credentials c join users u on u.id = c.owner_id {ROLE_JOINS} where c.id = $1"
    ))
    .bind(client_id)
    .fetch_all(pool)
    .await?)
}

/// A stored token with its credential, owner and roles, read in one
/// statement: one row per role on the credential.
#[derive(Debug, FromRow)]
pub struct TokenRow {
    pub credential_id: String,
    pub roles: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub last_used_at: i64,
    pub secret_version: i64,
    pub rights_gen: i64,
    pub revoked_at: Option<i64>,
    pub audience: Option<String>,
    pub protected_api_id: Option<String>,
    pub owner_id: String,
    pub name: String,
    pub credential_expires_at: i64,
    pub credential_secret_version: i64,
    pub deleted_at: Option<i64>,
    pub active: i64,
    pub tokens_valid_gen: i64,
    pub username: String,
    pub display_name: String,
    #[sqlx(flatten)]
    pub role: RoleRow,
}

pub async fn load_token(pool: &AnyPool, key: &str) -> Result<Vec<TokenRow>> {
    Ok(sqlx::query_as::<_, TokenRow>(&format!(
        "select t.credential_id, t.roles, t.issued_at, t.expires_at, t.last_used_at, t.secret_version, \
         t.rights_gen, t.revoked_at, t.audience, t.protected_api_id, c.owner_id, c.name, c.expires_at as credential_expires_at, \
         c.secret_version as credential_secret_version, c.deleted_at, u.active, u.tokens_valid_gen, u.username, \
         u.display_name, cr.role, cr.added_gen, ur.granted_gen \
         from tokens t join credentials c on c.id = t.credential_id join users u on u.id = c.owner_id {ROLE_JOINS} \
         where t.token_digest = $1"
    ))
    .bind(key)
    .fetch_all(pool)
    .await?)
}

/// A protected API as introspection needs it (deleted ones too, so that
/// a deleted API's id is known and refused like a wrong secret).
#[derive(Debug, FromRow)]
pub struct ApiRow {
    pub id: String,
    pub name: String,
    pub audience: String,
    pub secret_digest: String,
    pub deleted_at: Option<i64>,
}

pub async fn load_api(pool: &AnyPool, id: &str) -> Result<Option<ApiRow>> {
    Ok(sqlx::query_as::<_, ApiRow>(
        "select id, name, audience, secret_digest, deleted_at from protected_apis where id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// The live protected API with this audience (RFC 8707 §2), by id.
pub async fn api_of_audience(pool: &AnyPool, audience: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("select id from protected_apis where audience = $1 and deleted_at is null")
        .bind(audience)
        .fetch_optional(pool)
        .await?)
}

/// Deletes at most `limit` tokens that expired before `expired_before`,
/// oldest first, among those whose key sorts before `key_bound` (issued
/// before then; `secrets::issue_order_bound`). The bound keeps the search on
/// the first pages of the key's index, where the oldest tokens are; the
/// expiry test alone decides what goes.
pub async fn purge_expired<'e>(
    ex: impl Executor<'e, Database = Any>,
    key_bound: &str,
    expired_before: i64,
    limit: i64,
) -> Result<u64> {
    let res = sqlx::query(
        "delete from tokens where token_digest in (select token_digest from tokens \
         where token_digest < $1 and expires_at < $2 order by token_digest limit $3)",
    )
    .bind(key_bound)
    .bind(expired_before)
    .bind(limit)
    .execute(ex)
    .await?;
    Ok(res.rows_affected())
}
