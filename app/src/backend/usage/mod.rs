//! API access tracking per credential: calls per endpoint
//! per day, the addresses they came from, and the credential's "last used";
//! and each token's last use, which the idle rule reads.
//!
//! The hot path only bumps counters in memory ([`UsageRecorder::record`]:
//! one short mutex section, no I/O). A background task adds the counters to
//! the database every [`FLUSH_INTERVAL_SECS`] in one transaction, and the
//! server flushes once more on graceful shutdown. A crash loses at most the
//! calls of the last interval; a failed flush puts its counters back, so a
//! database outage loses nothing while the process lives.

pub mod repo;

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

/// Distinct endpoints kept per credential and day; the calls of any further
/// one are added up under [`OTHER_ENDPOINTS`]. Forward auth labels calls
/// with the paths a proxy reports (normalised, but chosen by clients), so
/// without a cap one credential could grow the table without bound.
pub const MAX_ENDPOINTS_PER_DAY: usize = 100;
/// The label of the calls beyond [`MAX_ENDPOINTS_PER_DAY`].
pub const OTHER_ENDPOINTS: &str = "(other paths)";

/// (day, endpoint, calls)
type DayCount = (i64, String, i64);
/// (address, last seen, calls)
type AddressCount = (String, i64, i64);

/// The counters of one credential since the last flush.
#[derive(Debug, Default, PartialEq)]
struct CredentialCounts {
    /// Endpoints are labelled "METHOD /route". A handful of entries per
    /// interval, so a list searched without building the label beats a map
    /// keyed by it.
    calls: Vec<DayCount>,
    /// address → (last seen, calls)
    addresses: HashMap<IpAddr, (i64, i64)>,
    last_used: i64,
}

impl CredentialCounts {
    fn count(&mut self, day: i64, method: &str, route: &str, calls: i64) {
        let is_label = |label: &str| {
            label.len() == method.len() + 1 + route.len()
                && label.starts_with(method)
                && label.as_bytes()[method.len()] == b' '
                && label.ends_with(route)
        };
        self.add(day, is_label, || format!("{method} {route}"), calls);
    }

    /// Adds `calls` to the entry of `day` whose label `is_label` accepts, or
    /// starts one labelled `label()`; past [`MAX_ENDPOINTS_PER_DAY`] endpoints
    /// that day, to the [`OTHER_ENDPOINTS`] entry.
    fn add(&mut self, day: i64, is_label: impl Fn(&str) -> bool, label: impl FnOnce() -> String, calls: i64) {
        if let Some(entry) = self.calls.iter_mut().find(|(d, l, _)| *d == day && is_label(l)) {
            entry.2 += calls;
            return;
        }
        let endpoints = self.calls.iter().filter(|(d, l, _)| *d == day && l != OTHER_ENDPOINTS).count();
        if endpoints < MAX_ENDPOINTS_PER_DAY {
            self.calls.push((day, label(), calls));
            return;
        }
        match self.calls.iter_mut().find(|(d, l, _)| *d == day && l == OTHER_ENDPOINTS) {
            Some(entry) => entry.2 += calls,
            None => self.calls.push((day, OTHER_ENDPOINTS.to_string(), calls)),
        }
    }

    fn seen_from(&mut self, ip: IpAddr, at: i64, calls: i64) {
        let a = self.addresses.entry(ip).or_default();
        a.0 = a.0.max(at);
        a.1 += calls;
    }

    fn merge(&mut self, other: CredentialCounts) {
        for (day, label, n) in other.calls {
            let is_label = |l: &str| l == label;
            self.add(day, is_label, || label.clone(), n);
        }
        for (ip, (seen, n)) in other.addresses {
            self.seen_from(ip, seen, n);
        }
        self.last_used = self.last_used.max(other.last_used);
    }
}

#[derive(Default)]
struct Pending {
    credentials: HashMap<String, CredentialCounts>,
    /// Last use of each token (by stored key), for the idle rule.
    token_uses: HashMap<String, i64>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.credentials.is_empty() && self.token_uses.is_empty()
    }

    /// Adds `other` (counters that could not be written) back in.
    fn merge(&mut self, other: Pending) {
        for (id, counts) in other.credentials {
            self.credentials.entry(id).or_default().merge(counts);
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
    /// Counts one call of `method` on `route` (the route template, never the
    /// raw URL, so the set of keys stays small). Allocates only for the
    /// first call of a credential, endpoint and day in a flush interval.
    pub fn record(&self, credential_id: &str, method: &str, route: &str, ip: IpAddr, now: i64) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let counts = match p.credentials.get_mut(credential_id) {
            Some(c) => c,
            None => p.credentials.entry(credential_id.to_string()).or_default(),
        };
        counts.count(now.div_euclid(SECS_PER_DAY), method, route, 1);
        counts.seen_from(ip, now, 1);
        counts.last_used = counts.last_used.max(now);
    }

    /// Notes a token's use (by stored key) for the idle rule; written with the
    /// next batch.
    pub fn record_token_use(&self, key: &str, now: i64) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        match p.token_uses.get_mut(key) {
            Some(t) => *t = (*t).max(now),
            None => {
                p.token_uses.insert(key.to_string(), now);
            }
        }
    }

    /// A token's last use seen here and not yet written.
    pub fn pending_token_use(&self, key: &str) -> Option<i64> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).token_uses.get(key).copied()
    }

    /// This instance's not-yet-written counters of one credential, so a page
    /// shows calls at once instead of after the next flush.
    fn pending_for(&self, credential_id: &str) -> (Vec<DayCount>, Vec<AddressCount>) {
        let p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let Some(counts) = p.credentials.get(credential_id) else { return (Vec::new(), Vec::new()) };
        let addresses = counts.addresses.iter().map(|(ip, (seen, n))| (ip.to_string(), *seen, *n)).collect();
        (counts.calls.clone(), addresses)
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
    repo::add(&mut tx, batch).await?;
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
    let stored = repo::days_since(pool, credential_id, since).await?.into_iter().map(|r| (r.day, r.endpoint, r.calls));
    for (day, endpoint, calls) in stored.chain(pending_calls.into_iter().filter(|(d, ..)| *d >= since)) {
        *days.entry((day, endpoint)).or_default() += calls;
    }
    let mut days: Vec<EndpointDay> = days
        .into_iter()
        .map(|((day, endpoint), calls)| EndpointDay { day: day * SECS_PER_DAY, endpoint, calls })
        .collect();
    days.sort_by(|a, b| b.day.cmp(&a.day).then_with(|| a.endpoint.cmp(&b.endpoint)));

    let stored = repo::recent_addresses(pool, credential_id, RECENT_ADDRESSES).await?;
    let mut addresses: HashMap<String, (i64, i64)> = HashMap::new();
    for (ip, seen, calls) in stored.into_iter().map(|r| (r.ip, r.last_seen, r.calls)).chain(pending_addresses) {
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
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        r.record("c1", "GET", "/api/v1/me", ip, 100);
        r.record("c1", "GET", "/api/v1/me", ip, 200);
        r.record("c1", "GET", "/api/v1/me", ip, SECS_PER_DAY + 1);
        r.record("c1", "GET", "/api/v1/users", other, 150);
        r.record("c1", "PUT", "/api/v1/me", ip, 160);
        let p = r.pending.lock().unwrap();
        let c = &p.credentials["c1"];
        let mut calls = c.calls.clone();
        calls.sort();
        assert_eq!(
            calls,
            vec![
                (0, "GET /api/v1/me".to_string(), 2),
                (0, "GET /api/v1/users".to_string(), 1),
                (0, "PUT /api/v1/me".to_string(), 1),
                (1, "GET /api/v1/me".to_string(), 1),
            ]
        );
        assert_eq!(c.addresses[&ip], (SECS_PER_DAY + 1, 4));
        assert_eq!(c.addresses[&other], (150, 1));
        assert_eq!(c.last_used, SECS_PER_DAY + 1);
    }

    #[test]
    fn distinct_endpoints_are_capped_per_credential_and_day() {
        let r = UsageRecorder::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for i in 0..MAX_ENDPOINTS_PER_DAY + 50 {
            r.record("c1", "GET", &format!("/p{i}"), ip, 100);
        }
        r.record("c1", "GET", "/p0", ip, 100);
        r.record("c1", "GET", "/next-day", ip, SECS_PER_DAY + 1);
        let p = r.pending.lock().unwrap();
        let calls = &p.credentials["c1"].calls;
        let day0: Vec<_> = calls.iter().filter(|(d, ..)| *d == 0).collect();
        assert_eq!(day0.len(), MAX_ENDPOINTS_PER_DAY + 1, "the cap, and one entry for the rest");
        assert!(day0.contains(&&(0, "GET /p0".to_string(), 2)), "a kept endpoint still counts");
        assert!(day0.contains(&&(0, OTHER_ENDPOINTS.to_string(), 50)));
        assert!(calls.contains(&(1, "GET /next-day".to_string(), 1)), "each day has its own cap");
    }

    #[test]
    fn unwritten_counters_are_merged_back() {
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let mut a = Pending::default();
        a.credentials.entry("c".into()).or_default().count(0, "GET", "/e", 2);
        a.credentials.get_mut("c").unwrap().last_used = 10;
        a.token_uses.insert("t".into(), 7);
        let mut b = Pending::default();
        let counts = b.credentials.entry("c".into()).or_default();
        counts.count(0, "GET", "/e", 3);
        counts.count(1, "GET", "/e", 1);
        counts.seen_from(ip, 5, 3);
        counts.last_used = 5;
        b.token_uses.insert("t".into(), 9);
        a.merge(b);
        let c = &a.credentials["c"];
        assert_eq!(c.calls, vec![(0, "GET /e".to_string(), 5), (1, "GET /e".to_string(), 1)]);
        assert_eq!(c.addresses[&ip], (5, 3));
        assert_eq!(c.last_used, 10);
        assert_eq!(a.token_uses["t"], 9);
    }
}
