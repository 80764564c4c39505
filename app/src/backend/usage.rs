//! API access tracking per credential (issue 6, item 5): calls per endpoint
//! per day, the addresses they came from, and the credential's "last used";
//! and each token's last use, which the idle rule reads.
//!
//! The hot path only bumps counters in memory ([`UsageRecorder::record`]:
//! one short mutex section, no I/O). A background task adds the counters to
//! the database every [`FLUSH_INTERVAL_SECS`] in one transaction, and the
//! server flushes once more on graceful shutdown. A crash loses at most the
//! calls of the last interval; a failed flush puts its counters back, so a
//! database outage loses nothing while the process lives.

use super::Result;
use crate::model::{CredentialUsage, EndpointDay, SourceAddress, SECS_PER_DAY};
use sqlx::AnyPool;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Also the idle rule's tolerance across instances: the instance that saw
/// a token's use applies the rule exactly; another reads the stored last
/// use, so there a token may die up to this many seconds early, never late.
pub const FLUSH_INTERVAL_SECS: u64 = 5;
/// Days of per-endpoint counts shown.
pub const HISTORY_DAYS: i64 = 30;
/// Source addresses shown, newest first.
pub const RECENT_ADDRESSES: i64 = 10;

/// (day, endpoint, calls)
type DayCount = (i64, String, i64);
/// (address, last seen, calls)
type AddressCount = (String, i64, i64);

#[derive(Default)]
struct Pending {
    calls: HashMap<(String, i64, String), i64>,
    addresses: HashMap<(String, IpAddr), (i64, i64)>,
    last_used: HashMap<String, i64>,
    /// Last use of each token (by digest), for the idle rule.
    token_uses: HashMap<String, i64>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.calls.is_empty() && self.addresses.is_empty() && self.last_used.is_empty() && self.token_uses.is_empty()
    }

    /// Adds `other` (counters that could not be written) back in.
    fn merge(&mut self, other: Pending) {
        for (k, n) in other.calls {
            *self.calls.entry(k).or_default() += n;
        }
        for (k, (seen, n)) in other.addresses {
            let e = self.addresses.entry(k).or_default();
            e.0 = e.0.max(seen);
            e.1 += n;
        }
        for (k, t) in other.last_used {
            let e = self.last_used.entry(k).or_default();
            *e = (*e).max(t);
        }
        for (k, t) in other.token_uses {
            let e = self.token_uses.entry(k).or_default();
            *e = (*e).max(t);
        }
    }
}

#[derive(Default)]
pub struct UsageRecorder {
    pending: Mutex<Pending>,
}

impl UsageRecorder {
    /// Counts one call. `endpoint` is the method and route template (never
    /// the raw URL, so the set of keys stays small).
    pub fn record(&self, credential_id: &str, endpoint: &str, ip: IpAddr, now: i64) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let day = now.div_euclid(SECS_PER_DAY);
        *p.calls.entry((credential_id.to_string(), day, endpoint.to_string())).or_default() += 1;
        let a = p.addresses.entry((credential_id.to_string(), ip)).or_default();
        a.0 = a.0.max(now);
        a.1 += 1;
        let last = p.last_used.entry(credential_id.to_string()).or_default();
        *last = (*last).max(now);
    }

    /// Notes a token's use (by digest) for the idle rule; written with the
    /// next batch.
    pub fn record_token_use(&self, digest: &str, now: i64) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        match p.token_uses.get_mut(digest) {
            Some(t) => *t = (*t).max(now),
            None => {
                p.token_uses.insert(digest.to_string(), now);
            }
        }
    }

    /// A token's last use seen here and not yet written.
    pub fn pending_token_use(&self, digest: &str) -> Option<i64> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).token_uses.get(digest).copied()
    }

    /// This instance's not-yet-written counters of one credential, so a page
    /// shows calls at once instead of after the next flush.
    fn pending_for(&self, credential_id: &str) -> (Vec<DayCount>, Vec<AddressCount>) {
        let p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let calls = p
            .calls
            .iter()
            .filter(|((c, ..), _)| c == credential_id)
            .map(|((_, day, endpoint), n)| (*day, endpoint.clone(), *n))
            .collect();
        let addresses = p
            .addresses
            .iter()
            .filter(|((c, _), _)| c == credential_id)
            .map(|((_, ip), (seen, n))| (ip.to_string(), *seen, *n))
            .collect();
        (calls, addresses)
    }

    /// Writes the pending counters in one transaction. On failure they are
    /// kept for the next attempt.
    pub async fn flush(&self, pool: &AnyPool) -> Result<()> {
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if batch.is_empty() {
            return Ok(());
        }
        match write(pool, &batch).await {
            Ok(()) => Ok(()),
            Err(e) => {
                self.pending.lock().unwrap_or_else(|e| e.into_inner()).merge(batch);
                Err(e)
            }
        }
    }
}

async fn write(pool: &AnyPool, batch: &Pending) -> Result<()> {
    let mut tx = pool.begin().await?;
    for ((credential_id, day, endpoint), calls) in &batch.calls {
        sqlx::query(
            "insert into credential_usage (credential_id, day, endpoint, calls) values ($1, $2, $3, $4) \
             on conflict (credential_id, day, endpoint) do update set calls = credential_usage.calls + excluded.calls",
        )
        .bind(credential_id)
        .bind(day)
        .bind(endpoint)
        .bind(calls)
        .execute(&mut *tx)
        .await?;
    }
    for ((credential_id, ip), (last_seen, calls)) in &batch.addresses {
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
        .execute(&mut *tx)
        .await?;
    }
    for (digest, at) in &batch.token_uses {
        sqlx::query("update tokens set last_used_at = $1 where token_digest = $2 and last_used_at < $1")
            .bind(at)
            .bind(digest)
            .execute(&mut *tx)
            .await?;
    }
    for (credential_id, at) in &batch.last_used {
        sqlx::query(
            "update credentials set last_used_at = $1 where id = $2 and (last_used_at is null or last_used_at < $1)",
        )
        .bind(at)
        .bind(credential_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The tracked use of one credential: per endpoint per day (newest day
/// first, last [`HISTORY_DAYS`]) and the most recent source addresses. The
/// stored counts plus this instance's pending ones.
pub async fn for_credential(
    pool: &AnyPool,
    recorder: &UsageRecorder,
    credential_id: &str,
    now: i64,
) -> Result<CredentialUsage> {
    let since = now.div_euclid(SECS_PER_DAY) - HISTORY_DAYS + 1;
    let (pending_calls, pending_addresses) = recorder.pending_for(credential_id);
    let mut days: HashMap<(i64, String), i64> = HashMap::new();
    let stored: Vec<(i64, String, i64)> =
        sqlx::query_as("select day, endpoint, calls from credential_usage where credential_id = $1 and day >= $2")
            .bind(credential_id)
            .bind(since)
            .fetch_all(pool)
            .await?;
    for (day, endpoint, calls) in stored.into_iter().chain(pending_calls.into_iter().filter(|(d, ..)| *d >= since)) {
        *days.entry((day, endpoint)).or_default() += calls;
    }
    let mut days: Vec<EndpointDay> = days
        .into_iter()
        .map(|((day, endpoint), calls)| EndpointDay { day: day * SECS_PER_DAY, endpoint, calls })
        .collect();
    days.sort_by(|a, b| b.day.cmp(&a.day).then_with(|| a.endpoint.cmp(&b.endpoint)));

    let stored: Vec<AddressCount> = sqlx::query_as(
        "select ip, last_seen, calls from credential_addresses where credential_id = $1 \
         order by last_seen desc, ip limit $2",
    )
    .bind(credential_id)
    .bind(RECENT_ADDRESSES)
    .fetch_all(pool)
    .await?;
    let mut addresses: HashMap<String, (i64, i64)> = HashMap::new();
    for (ip, seen, calls) in stored.into_iter().chain(pending_addresses) {
        let e = addresses.entry(ip).or_default();
        e.0 = e.0.max(seen);
        e.1 += calls;
    }
    let mut addresses: Vec<SourceAddress> =
        addresses.into_iter().map(|(ip, (last_seen, calls))| SourceAddress { ip, last_seen, calls }).collect();
    addresses.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then_with(|| a.ip.cmp(&b.ip)));
    addresses.truncate(RECENT_ADDRESSES as usize);
    Ok(CredentialUsage { days, addresses })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_per_endpoint_day_and_address() {
        let r = UsageRecorder::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        r.record("c1", "GET /api/v1/me", ip, 100);
        r.record("c1", "GET /api/v1/me", ip, 200);
        r.record("c1", "GET /api/v1/me", ip, SECS_PER_DAY + 1);
        let p = r.pending.lock().unwrap();
        assert_eq!(p.calls[&("c1".to_string(), 0, "GET /api/v1/me".to_string())], 2);
        assert_eq!(p.calls[&("c1".to_string(), 1, "GET /api/v1/me".to_string())], 1);
        assert_eq!(p.addresses[&("c1".to_string(), ip)], (SECS_PER_DAY + 1, 3));
        assert_eq!(p.last_used["c1"], SECS_PER_DAY + 1);
    }

    #[test]
    fn unwritten_counters_are_merged_back() {
        let mut a = Pending::default();
        a.calls.insert(("c".into(), 0, "e".into()), 2);
        a.last_used.insert("c".into(), 10);
        let mut b = Pending::default();
        b.calls.insert(("c".into(), 0, "e".into()), 3);
        b.last_used.insert("c".into(), 5);
        a.merge(b);
        assert_eq!(a.calls[&("c".into(), 0, "e".into())], 5);
        assert_eq!(a.last_used["c"], 10);
    }
}
