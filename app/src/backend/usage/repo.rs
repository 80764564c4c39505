//! SQL for API use: calls per credential, endpoint and day, the addresses
//! they came from, and the last uses that the lists and the idle rule read.
//! The writes are additive, so every instance adds its own counts into the
//! same rows.

use super::{Pending, MAX_ENDPOINTS_PER_DAY, OTHER_ENDPOINTS};
use crate::backend::Result;
use sqlx::{AnyConnection, AnyPool, FromRow};

/// Calls of one endpoint on one day (days since the Unix epoch).
#[derive(Debug, FromRow)]
pub struct DayRow {
    pub day: i64,
    pub endpoint: String,
    pub calls: i64,
}

/// Calls from one source address, and when it was last seen.
#[derive(Debug, FromRow)]
pub struct AddressRow {
    pub ip: String,
    pub last_seen: i64,
    pub calls: i64,
}

/// Adds a batch of counters: the calls per endpoint and day and per source
/// address, and each credential's and token's last use (never moved back).
/// An endpoint not yet stored for the credential and day, when
/// [`MAX_ENDPOINTS_PER_DAY`] are, is added to [`OTHER_ENDPOINTS`] (every
/// instance writes its own batches, so the cap holds across them).
pub(super) async fn add(conn: &mut AnyConnection, batch: &Pending) -> Result<()> {
    for (credential_id, counts) in &batch.credentials {
        for (day, endpoint, calls) in &counts.calls {
            sqlx::query(
                "insert into credential_usage (credential_id, day, endpoint, calls) \
                 select $1, $2, case when exists (select 1 from credential_usage \
                 where credential_id = $1 and day = $2 and endpoint = $3) \
                 or (select count(*) from credential_usage where credential_id = $1 and day = $2 \
                 and endpoint <> $6) < $5 then $3 else $6 end, $4 where true \
                 on conflict (credential_id, day, endpoint) do update set calls = credential_usage.calls + excluded.calls",
            )
            .bind(credential_id)
            .bind(day)
            .bind(endpoint)
            .bind(calls)
            .bind(MAX_ENDPOINTS_PER_DAY as i64)
            .bind(OTHER_ENDPOINTS)
            .execute(&mut *conn)
            .await?;
        }
        for (ip, (last_seen, calls)) in &counts.addresses {
            sqlx::query(
                "insert into credential_addresses (credential_id, ip, last_seen, calls) values ($1, $2, $3, $4) \
                 on conflict (credential_id, ip) do update set calls = credential_addresses.calls + excluded.calls, \
                 last_seen = case when excluded.last_seen > credential_addresses.last_seen \
                 then excluded.last_seen else credential_addresses.last_seen end",
            )
            .bind(credential_id)
            .bind(ip.to_string())
            .bind(last_seen)
            .bind(calls)
            .execute(&mut *conn)
            .await?;
        }
        sqlx::query(
            "update credentials set last_used_at = $1 where id = $2 and (last_used_at is null or last_used_at < $1)",
        )
        .bind(counts.last_used)
        .bind(credential_id)
        .execute(&mut *conn)
        .await?;
    }
    for (key, at) in &batch.token_uses {
        sqlx::query("update tokens set last_used_at = $1 where token_digest = $2 and last_used_at < $1")
            .bind(at)
            .bind(key)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The stored calls of one credential on `since` and the days after it.
pub async fn days_since(pool: &AnyPool, credential_id: &str, since: i64) -> Result<Vec<DayRow>> {
    Ok(sqlx::query_as("select day, endpoint, calls from credential_usage where credential_id = $1 and day >= $2")
        .bind(credential_id)
        .bind(since)
        .fetch_all(pool)
        .await?)
}

/// The `limit` addresses one credential was last called from, newest first.
pub async fn recent_addresses(pool: &AnyPool, credential_id: &str, limit: i64) -> Result<Vec<AddressRow>> {
    Ok(sqlx::query_as(
        "select ip, last_seen, calls from credential_addresses where credential_id = $1 \
         order by last_seen desc, ip limit $2",
    )
    .bind(credential_id)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}
