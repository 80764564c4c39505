//! Throttling of failed attempts, kept in the database so that every
//! instance sees the same counts. A fixed window per key: after
//! `max_failures` failures the key is refused until the window ends. Nothing
//! is locked out for longer than one window (ASVS V6.1.1, RFC 6749 §2.3.1).

use crate::backend::Result;
use sqlx::AnyPool;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub max_failures: i64,
    pub window_secs: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub key: String,
    pub policy: Policy,
}

impl Key {
    pub fn new(key: impl Into<String>, policy: Policy) -> Self {
        Key { key: key.into(), policy }
    }
}

/// Seconds until the first of `keys` that is over its limit frees up, if any.
pub async fn blocked_for(pool: &AnyPool, keys: &[Key], now: i64) -> Result<Option<u64>> {
    let mut worst: Option<u64> = None;
    for k in keys {
        let row: Option<(i64, i64)> = sqlx::query_as("select window_start, failures from throttle where key = $1")
            .bind(&k.key)
            .fetch_optional(pool)
            .await?;
        if let Some((start, failures)) = row {
            let ends = start + k.policy.window_secs;
            if failures >= k.policy.max_failures && now < ends {
                let wait = (ends - now) as u64;
                worst = Some(worst.map_or(wait, |w| w.max(wait)));
            }
        }
    }
    Ok(worst)
}

/// Counts one failure against every key, opening a new window where the
/// previous one has ended.
pub async fn record_failure(pool: &AnyPool, keys: &[Key], now: i64) -> Result<()> {
    for k in keys {
        sqlx::query(
            "insert into throttle (key, window_start, failures) values ($1, $2, 1) \
             on conflict (key) do update set \
               failures = case when throttle.window_start <= $3 then 1 else throttle.failures + 1 end, \
               window_start = case when throttle.window_start <= $3 then excluded.window_start else throttle.window_start end",
        )
        .bind(&k.key)
        .bind(now)
        .bind(now - k.policy.window_secs)
        .execute(pool)
        .await?;
    }
    Ok(())
}

pub async fn clear(pool: &AnyPool, key: &str) -> Result<()> {
    sqlx::query("delete from throttle where key = $1").bind(key).execute(pool).await?;
    Ok(())
}

/// Forgets windows that ended long ago.
pub async fn purge_older_than(pool: &AnyPool, cutoff: i64) -> Result<u64> {
    let res = sqlx::query("delete from throttle where window_start < $1").bind(cutoff).execute(pool).await?;
    Ok(res.rows_affected())
}

/// The same fixed-window rule in memory, for the token endpoints, where a
/// database round trip per request would cost too much. Each instance
/// counts on its own, so with N instances an attacker gets at most N times
/// the budget; no block outlives its window.
#[derive(Debug, Default)]
pub struct MemoryThrottle {
    windows: std::sync::Mutex<std::collections::HashMap<String, (i64, i64)>>,
}

impl MemoryThrottle {
    /// Seconds until the first of `keys` over its limit frees up, if any.
    pub fn blocked_for(&self, keys: &[Key], now: i64) -> Option<u64> {
        let map = self.windows.lock().expect("throttle lock");
        keys.iter()
            .filter_map(|k| {
                let (start, failures) = *map.get(&k.key)?;
                let ends = start + k.policy.window_secs;
                (failures >= k.policy.max_failures && now < ends).then_some((ends - now) as u64)
            })
            .max()
    }

    pub fn record_failure(&self, keys: &[Key], now: i64) {
        let mut map = self.windows.lock().expect("throttle lock");
        if map.len() > 100_000 {
            // bound the memory an attacker can make us hold
            map.retain(|_, (start, _)| now - *start < 3600);
        }
        for k in keys {
            let entry = map.entry(k.key.clone()).or_insert((now, 0));
            if now - entry.0 >= k.policy.window_secs {
                *entry = (now, 0);
            }
            entry.1 += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_throttle_blocks_after_the_limit_and_forgets_after_the_window() {
        let t = MemoryThrottle::default();
        let keys = [Key::new("k", Policy { max_failures: 3, window_secs: 60 })];
        for _ in 0..3 {
            assert_eq!(t.blocked_for(&keys, 100), None);
            t.record_failure(&keys, 100);
        }
        assert_eq!(t.blocked_for(&keys, 110), Some(50));
        assert_eq!(t.blocked_for(&keys, 160), None);
        t.record_failure(&keys, 161);
        assert_eq!(t.blocked_for(&keys, 161), None, "a new window starts from one failure");
    }
}
