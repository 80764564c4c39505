//! Recording a token's death. Every event that kills tokens marks them
//! revoked in the same transaction, with the reason, so that no later event
//! (a role granted back, a clock that jumps) can revive them (LC-06). The
//! validation path re-checks the live state as well, as a second line.

use crate::backend::Result;
use crate::model::Role;
use sqlx::{Any, Executor};

/// Why tokens died; stored in `tokens.revoked_reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    SecretRegenerated,
    CredentialDeleted,
    RoleRevoked,
    RoleRemovedFromCredential,
    OwnerDeactivated,
    Idle,
    Expired,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::SecretRegenerated => "secret_regenerated",
            Reason::CredentialDeleted => "credential_deleted",
            Reason::RoleRevoked => "role_revoked",
            Reason::RoleRemovedFromCredential => "role_removed_from_credential",
            Reason::OwnerDeactivated => "owner_deactivated",
            Reason::Idle => "idle",
            Reason::Expired => "expired",
        }
    }
}

fn carries(role: Role) -> String {
    format!("% {} %", role.slug().replace('_', "\\_"))
}

/// Every live token of a credential.
pub async fn revoke_for_credential<'e>(
    ex: impl Executor<'e, Database = Any>,
    credential_id: &str,
    reason: Reason,
    now: i64,
) -> Result<u64> {
    let res = sqlx::query(
        "update tokens set revoked_at = $1, revoked_reason = $2 where credential_id = $3 and revoked_at is null",
    )
    .bind(now)
    .bind(reason.as_str())
    .bind(credential_id)
    .execute(ex)
    .await?;
    Ok(res.rows_affected())
}

/// Live tokens of a credential that carry `role`.
pub async fn revoke_for_credential_role<'e>(
    ex: impl Executor<'e, Database = Any>,
    credential_id: &str,
    role: Role,
    reason: Reason,
    now: i64,
) -> Result<u64> {
    let res = sqlx::query(
        "update tokens set revoked_at = $1, revoked_reason = $2 where credential_id = $3 and revoked_at is null \
         and (' ' || roles || ' ') like $4 escape '\\'",
    )
    .bind(now)
    .bind(reason.as_str())
    .bind(credential_id)
    .bind(carries(role))
    .execute(ex)
    .await?;
    Ok(res.rows_affected())
}

/// Live tokens of any of the owner's credentials that carry `role`.
pub async fn revoke_for_owner_role<'e>(
    ex: impl Executor<'e, Database = Any>,
    owner_id: &str,
    role: Role,
    now: i64,
) -> Result<u64> {
    let res = sqlx::query(
        "update tokens set revoked_at = $1, revoked_reason = $2 where revoked_at is null \
         and credential_id in (select id from credentials where owner_id = $3) \
         and (' ' || roles || ' ') like $4 escape '\\'",
    )
    .bind(now)
    .bind(Reason::RoleRevoked.as_str())
    .bind(owner_id)
    .bind(carries(role))
    .execute(ex)
    .await?;
    Ok(res.rows_affected())
}

/// Every live token of the owner's credentials.
pub async fn revoke_for_owner<'e>(
    ex: impl Executor<'e, Database = Any>,
    owner_id: &str,
    reason: Reason,
    now: i64,
) -> Result<u64> {
    let res = sqlx::query(
        "update tokens set revoked_at = $1, revoked_reason = $2 where revoked_at is null \
         and credential_id in (select id from credentials where owner_id = $3)",
    )
    .bind(now)
    .bind(reason.as_str())
    .bind(owner_id)
    .execute(ex)
    .await?;
    Ok(res.rows_affected())
}

/// One token, by its stored key, if still live.
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
