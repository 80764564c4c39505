//! Refused token requests, counted instead of written one by one, so that a
//! flood of bad requests neither grows the database nor queues on the audit
//! chain's head (docs/audit.md, "Refused token requests").
//!
//! The request path only bumps a counter in memory: one row per (minute,
//! client id as sent, address, reason). Every [`FLUSH_INTERVAL_SECS`] a
//! periodic task adds the counters to the table `token_refusals` and, in
//! the same transaction, appends one chained `token.refused` audit event per
//! credential named (and one for the client ids that name none), listing the
//! counts. A crash loses at most the counts of the last interval; each
//! instance counts and writes its own, added into the same rows.
//!
//! The caller chooses the client id, so the distinct rows of one minute are
//! capped at [`MAX_KEYS_PER_MINUTE`]; past the cap, requests are counted in
//! one overflow row of that minute ([`OVERFLOW`]).

pub mod repo;

use super::audit::{self, Actor, Event, Target};
use super::Result;
use crate::model::AuditEvent;
use serde_json::json;
use sqlx::AnyPool;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

pub const FLUSH_INTERVAL_SECS: u64 = 60;
/// Distinct (client id, address, reason) rows per minute.
pub const MAX_KEYS_PER_MINUTE: usize = 1_000;
/// The client id, address and reason of the overflow row.
pub const OVERFLOW: &str = "*";

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Row {
    minute: i64,
    client_id: String,
    address: String,
    reason: String,
}

/// (id, name) of a credential.
type Credential = (String, String);

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Counted {
    error: String,
    /// The credential the client id names, if any.
    credential: Option<Credential>,
    count: i64,
}

#[derive(Debug, Default)]
struct Pending {
    rows: HashMap<Row, Counted>,
    /// Distinct rows per minute (the overflow row not included).
    per_minute: HashMap<i64, usize>,
}

impl Pending {
    fn add(&mut self, row: Row, counted: Counted) {
        let row = if self.rows.contains_key(&row) {
            row
        } else if self.per_minute.get(&row.minute).copied().unwrap_or(0) < MAX_KEYS_PER_MINUTE {
            *self.per_minute.entry(row.minute).or_default() += 1;
            row
        } else {
            Row { minute: row.minute, client_id: OVERFLOW.into(), address: OVERFLOW.into(), reason: OVERFLOW.into() }
        };
        let overflow = row.client_id == OVERFLOW && row.reason == OVERFLOW;
        let e = self.rows.entry(row).or_insert_with(|| Counted {
            error: if overflow { OVERFLOW.into() } else { counted.error.clone() },
            credential: if overflow { None } else { counted.credential.clone() },
            count: 0,
        });
        e.count += counted.count;
    }
}

/// The counters of this instance since the last flush.
#[derive(Debug, Default)]
pub struct RefusalLog {
    pending: Mutex<Pending>,
}

impl RefusalLog {
    /// Counts one refused request. `client_id` is the id as sent (already
    /// escaped and clipped by the caller), `address` the throttle's form of
    /// the source address.
    pub fn record(
        &self,
        now: i64,
        client_id: &str,
        address: &str,
        error: &str,
        reason: &str,
        credential: Option<&Target>,
    ) {
        let row = Row {
            minute: now.div_euclid(60) * 60,
            client_id: client_id.to_string(),
            address: address.to_string(),
            reason: reason.to_string(),
        };
        let counted = Counted {
            error: error.to_string(),
            credential: credential.map(|t| (t.id.clone(), t.name.clone())),
            count: 1,
        };
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).add(row, counted);
    }

    /// Distinct rows waiting for the next flush.
    pub fn pending_rows(&self) -> usize {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).rows.len()
    }

    /// Writes the counters and their audit events in one transaction. On
    /// failure they are kept for the next attempt.
    pub async fn flush(&self, db: &crate::backend::Db, now: i64) -> Result<()> {
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if batch.rows.is_empty() {
            return Ok(());
        }
        match write(db, &batch, now).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                for (row, counted) in batch.rows {
                    p.add(row, counted);
                }
                Err(e)
            }
        }
    }
}

async fn write(db: &crate::backend::Db, batch: &Pending, now: i64) -> Result<()> {
    let mut rows: Vec<(&Row, &Counted)> = batch.rows.iter().collect();
    rows.sort_by(|a, b| a.0.cmp(b.0));
    let mut tx = db.pool.begin().await?;
    // One event per credential named, and one for the rest; in a stable order.
    let mut groups: BTreeMap<Option<Credential>, Vec<(&Row, &Counted)>> = BTreeMap::new();
    for (row, counted) in &rows {
        repo::add(&mut *tx, row, counted).await?;
        groups.entry(counted.credential.clone()).or_default().push((row, counted));
    }
    let mut events = Vec::with_capacity(groups.len());
    for (credential, rows) in groups {
        let total: i64 = rows.iter().map(|(_, c)| c.count).sum();
        let listed: Vec<_> = rows
            .iter()
            .map(|(r, c)| {
                json!({
                    "minute": r.minute,
                    "client_id": r.client_id,
                    "ip": r.address,
                    "error": c.error,
                    "reason": r.reason,
                    "count": c.count,
                })
            })
            .collect();
        let mut event = Event::new(AuditEvent::TokenRefused, Actor::Anonymous)
            .failed()
            .detail("count", total)
            .detail("requests", listed);
        // The address, when every counted request came from one.
        let first = &rows[0].0.address;
        if rows.iter().all(|(r, _)| &r.address == first) {
            if let Ok(ip) = first.parse::<std::net::IpAddr>() {
                event = event.ip(ip);
            }
        }
        if let Some((id, name)) = credential {
            event = event.target(Target::credential(&id, &name));
        }
        events.push((now, event));
    }
    audit::record_many(db, &mut tx, events).await?;
    tx.commit().await?;
    Ok(())
}

/// Forgets counts older than `cutoff`.
pub async fn purge_older_than(pool: &AnyPool, cutoff: i64) -> Result<u64> {
    repo::purge_older_than(pool, cutoff).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_minute_client_address_and_reason_and_the_rest_overflow() {
        let log = RefusalLog::default();
        for _ in 0..1_000 {
            log.record(120, "c1", "192.0.2.1", "invalid_client", "client authentication failed", None);
        }
        log.record(179, "c1", "192.0.2.1", "invalid_client", "client authentication failed", None);
        log.record(180, "c1", "192.0.2.1", "invalid_client", "client authentication failed", None);
        {
            let p = log.pending.lock().unwrap();
            assert_eq!(p.rows.len(), 2);
            let minute_two = p.rows.iter().find(|(r, _)| r.minute == 120).unwrap().1;
            assert_eq!(minute_two.count, 1_001);
        }
        for n in 0..(2 * MAX_KEYS_PER_MINUTE) {
            log.record(300, &format!("guess-{n}"), "192.0.2.1", "invalid_client", "x", None);
        }
        let p = log.pending.lock().unwrap();
        let minute = p.rows.iter().filter(|(r, _)| r.minute == 300).count();
        assert_eq!(minute, MAX_KEYS_PER_MINUTE + 1, "capped, plus the overflow row");
        let overflow = p.rows.iter().find(|(r, _)| r.minute == 300 && r.client_id == OVERFLOW).unwrap().1;
        assert_eq!(overflow.count, MAX_KEYS_PER_MINUTE as i64);
    }
}
