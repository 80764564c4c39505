//! SQL for the counts of refused token requests (`token_refusals`): one row
//! per minute, client id as sent, address and reason, which every instance
//! adds its counts into.

use super::{Counted, Row};
use crate::backend::Result;
use sqlx::{Any, AnyPool, Executor};

/// Adds the requests counted in `row` to its stored row.
pub(super) async fn add<'e>(ex: impl Executor<'e, Database = Any>, row: &Row, counted: &Counted) -> Result<()> {
    sqlx::query(
        "insert into token_refusals (minute, client_id, address, reason, error, credential_id, requests) \
         values ($1, $2, $3, $4, $5, $6, $7) \
         on conflict (minute, client_id, address, reason) \
         do update set requests = token_refusals.requests + excluded.requests",
    )
    .bind(row.minute)
    .bind(&row.client_id)
    .bind(&row.address)
    .bind(&row.reason)
    .bind(&counted.error)
    .bind(counted.credential.as_ref().map(|(id, _)| id.clone()))
    .bind(counted.count)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn purge_older_than(pool: &AnyPool, cutoff: i64) -> Result<u64> {
    let res = sqlx::query("delete from token_refusals where minute < $1").bind(cutoff).execute(pool).await?;
    Ok(res.rows_affected())
}
