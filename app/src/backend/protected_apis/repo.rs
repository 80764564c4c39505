//! SQL for protected APIs. Every write takes a [`RightsChange`]: a new
//! secret, a deletion or another audience changes what the token caches
//! may answer (`tokens/cache.rs`).

use crate::backend::db::changes::RightsChange;
use crate::backend::db::SecretTable;
use crate::backend::Result;
use crate::model::ProtectedApiSummary;
use sqlx::{Any, Executor, FromRow};

#[derive(FromRow)]
struct Row {
    id: String,
    name: String,
    audience: String,
    created_at: i64,
    updated_at: i64,
    secret_rotated_at: i64,
}

impl From<Row> for ProtectedApiSummary {
    fn from(r: Row) -> Self {
        ProtectedApiSummary {
            id: r.id,
            name: r.name,
            audience: r.audience,
            created_at: r.created_at,
            updated_at: r.updated_at,
            secret_rotated_at: r.secret_rotated_at,
        }
    }
}

const COLUMNS: &str = "id, name, audience, created_at, updated_at, secret_rotated_at";

pub struct NewApi<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub audience: &'a str,
    pub secret_digest: &'a str,
    pub now: i64,
}

/// Inserts a protected API; `Ok(false)` when a live one has the audience.
pub async fn insert(tx: &mut RightsChange<'_>, a: NewApi<'_>) -> Result<bool> {
    let res = sqlx::query(
        "insert into protected_apis (id, name, audience, secret_digest, created_at, updated_at, secret_rotated_at) \
         values ($1, $2, $3, $4, $5, $5, $5)",
    )
    .bind(a.id)
    .bind(a.name)
    .bind(a.audience)
    .bind(a.secret_digest)
    .bind(a.now)
    .execute(&mut **tx)
    .await;
    crate::backend::db::unless_unique_violation(res)
}

/// Every live protected API, by name.
pub async fn list_live<'e>(ex: impl Executor<'e, Database = Any>) -> Result<Vec<ProtectedApiSummary>> {
    let rows = sqlx::query_as::<_, Row>(&format!(
        "select {COLUMNS} from protected_apis where deleted_at is null order by lower(name), id"
    ))
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(ProtectedApiSummary::from).collect())
}

/// A live protected API by id.
pub async fn find_live<'e>(ex: impl Executor<'e, Database = Any>, id: &str) -> Result<Option<ProtectedApiSummary>> {
    let row =
        sqlx::query_as::<_, Row>(&format!("select {COLUMNS} from protected_apis where id = $1 and deleted_at is null"))
            .bind(id)
            .fetch_optional(ex)
            .await?;
    Ok(row.map(ProtectedApiSummary::from))
}

/// Sets name and audience; `Ok(false)` when another live API has the
/// audience.
pub async fn update(tx: &mut RightsChange<'_>, id: &str, name: &str, audience: &str, now: i64) -> Result<bool> {
    let res = sqlx::query(
        "update protected_apis set name = $1, audience = $2, updated_at = $3 where id = $4 and deleted_at is null",
    )
    .bind(name)
    .bind(audience)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await;
    crate::backend::db::unless_unique_violation(res)
}

/// A new secret digest; `false` when the API is gone.
pub async fn set_secret(tx: &mut RightsChange<'_>, id: &str, digest: &str, now: i64) -> Result<bool> {
    crate::backend::db::set_secret(tx, SecretTable::ProtectedApis, id, digest, now).await
}

/// Marks the API deleted; `false` when it already was.
pub async fn mark_deleted(tx: &mut RightsChange<'_>, id: &str, now: i64) -> Result<bool> {
    crate::backend::db::mark_deleted(tx, SecretTable::ProtectedApis, id, now).await
}
