//! SQL for the throttles' counts: one row of `throttle` per key, holding
//! the start of its current window and the attempts counted in it.

use crate::backend::Result;
use sqlx::{AnyPool, FromRow};

/// A key's window as stored.
#[derive(Debug, FromRow)]
pub struct WindowRow {
    pub window_start: i64,
    pub failures: i64,
}

/// A key and its window.
#[derive(Debug, FromRow)]
pub struct KeyWindowRow {
    pub key: String,
    #[sqlx(flatten)]
    pub window: WindowRow,
}

/// Counts one attempt on `key`, atomically: a window that started at or
/// before `ended_before` has ended, and starts again at `now` with one.
/// With `limit`, only while the open window holds fewer than `limit`
/// (`None` back: the key is full). Returns the window after the count.
pub async fn take_slot(
    pool: &AnyPool,
    key: &str,
    now: i64,
    ended_before: i64,
    limit: Option<i64>,
) -> Result<Option<WindowRow>> {
    // $3: windows that started at or before it have ended.
    const UPSERT: &str = "insert into throttle (key, window_start, failures) values ($1, $2, 1) \
         on conflict (key) do update set \
           failures = case when throttle.window_start <= $3 then 1 else throttle.failures + 1 end, \
           window_start = case when throttle.window_start <= $3 then excluded.window_start else throttle.window_start end";
    let sql = if limit.is_some() {
        format!("{UPSERT} where throttle.window_start <= $3 or throttle.failures < $4 returning window_start, failures")
    } else {
        format!("{UPSERT} returning window_start, failures")
    };
    let mut q = sqlx::query_as(&sql).bind(key).bind(now).bind(ended_before);
    if let Some(limit) = limit {
        q = q.bind(limit);
    }
    Ok(q.fetch_optional(pool).await?)
}

/// When the stored window of `key` started, if it has one.
pub async fn window_start(pool: &AnyPool, key: &str) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar("select window_start from throttle where key = $1").bind(key).fetch_optional(pool).await?)
}

/// Gives back one attempt counted in the window that started at `start`;
/// a window restarted since is left alone.
pub async fn give_back(pool: &AnyPool, key: &str, start: i64) -> Result<()> {
    sqlx::query("update throttle set failures = failures - 1 where key = $1 and window_start = $2 and failures > 0")
        .bind(key)
        .bind(start)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn delete(pool: &AnyPool, key: &str) -> Result<()> {
    sqlx::query("delete from throttle where key = $1").bind(key).execute(pool).await?;
    Ok(())
}

pub async fn purge_older_than(pool: &AnyPool, cutoff: i64) -> Result<u64> {
    let res = sqlx::query("delete from throttle where window_start < $1").bind(cutoff).execute(pool).await?;
    Ok(res.rows_affected())
}

/// At most `limit` keys starting with `prefix` whose window started after
/// `open_after` and holds at least `min_failures`, fullest first.
pub async fn full_keys(
    pool: &AnyPool,
    prefix: &str,
    open_after: i64,
    min_failures: i64,
    limit: i64,
) -> Result<Vec<KeyWindowRow>> {
    Ok(sqlx::query_as(
        "select key, window_start, failures from throttle \
         where window_start > $1 and failures >= $2 and key like $3 \
         order by failures desc limit $4",
    )
    .bind(open_after)
    .bind(min_failures)
    .bind(format!("{prefix}%"))
    .bind(limit)
    .fetch_all(pool)
    .await?)
}
