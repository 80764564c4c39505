//! Recording events, checking the chain, and what Auditors read of the
//! log, with filters and CSV export. The read
//! services are read-only by construction: they write nothing, and read no
//! secret and no digest.

use super::chain::{self, Anchor, Head, Verdict, Walk};
use super::query::{self, CSV_MAX_ROWS, EVENTS_PER_PAGE};
use super::{repo, Event, StoredEvent};
use crate::backend::caller::Caller;
use crate::backend::{AppState, Db, Result};
use crate::model::{AuditEntry, AuditFilter, Page, Role};
use serde_json::Value;
use sqlx::{Any, AnyConnection, Executor};

// --- recording ------------------------------------------------------------------

/// Appends an event. Call it inside the transaction of the change; it
/// locks the chain head (a row update), so concurrent writers queue here
/// and the chain never forks. Put it after the change's own writes. `db`
/// gives the audit key.
pub async fn record(db: &Db, conn: &mut AnyConnection, now: i64, e: Event) -> Result<i64> {
    record_many(db, conn, vec![(now, e)]).await
}

/// Anything shaped like a secret or token in a text the caller chose
/// (a client id as sent, a name) is replaced before it is stored.
fn redacted(s: &str) -> String {
    crate::backend::secrets::redact(s).into_owned()
}

fn redact_strings(v: &mut Value) {
    match v {
        Value::String(s) => {
            if let std::borrow::Cow::Owned(r) = crate::backend::secrets::redact(s) {
                *s = r;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_strings),
        Value::Object(map) => map.values_mut().for_each(redact_strings),
        _ => {}
    }
}

/// The row of event `e`, numbered `seq`, before it is linked into the chain.
fn stored(seq: i64, at: i64, mut e: Event) -> StoredEvent {
    let (actor_kind, actor_id, actor_name) = e.actor.parts();
    let mut details = Value::Object(std::mem::take(&mut e.details));
    redact_strings(&mut details);
    StoredEvent {
        seq,
        at,
        event: e.event.as_str().to_string(),
        outcome: e.outcome.as_str().to_string(),
        actor_kind: actor_kind.to_string(),
        actor_id: actor_id.map(redacted),
        actor_name: actor_name.map(redacted),
        ip: e.ip.map(|ip| ip.to_string()),
        target_kind: e.target.as_ref().map(|t| t.kind.to_string()),
        target_id: e.target.as_ref().map(|t| redacted(&t.id)),
        target_name: e.target.as_ref().map(|t| redacted(&t.name)),
        details: details.to_string(),
        prev_hash: String::new(),
        hash: String::new(),
    }
}

/// Appends several events (each with its own time) in one go: one head
/// update, one multi-row insert. Returns the last sequence number.
///
/// This is the one place where events are serialised, so every text field
/// and every string in the details passes [`crate::backend::secrets::redact`]
/// here: no caller can write a secret or token into the log by mistake.
pub async fn record_many(db: &Db, conn: &mut AnyConnection, events: Vec<(i64, Event)>) -> Result<i64> {
    let key = &db.keys()?.audit_chain;
    let n = events.len() as i64;
    let head = repo::advance_head(&mut *conn, n).await?;
    let (last, mut prev_hash) = (head.seq, head.hash);
    let mut rows = Vec::with_capacity(events.len());
    for (i, (at, e)) in events.into_iter().enumerate() {
        let row = chain::link(key, stored(last - n + 1 + i as i64, at, e), prev_hash);
        prev_hash = row.hash.clone();
        rows.push(row);
    }
    repo::insert_rows(conn, &rows).await?;
    repo::set_head_hash(conn, &prev_hash).await?;
    Ok(last)
}

/// Records an event that has no other change to go with it (a failed
/// sign-in, a refused token request), in a transaction of its own.
pub async fn record_alone(db: &Db, now: i64, e: Event) -> Result<i64> {
    let mut tx = db.pool.begin().await?;
    let seq = record(db, &mut tx, now, e).await?;
    tx.commit().await?;
    Ok(seq)
}

// --- the chain ------------------------------------------------------------------

/// The current head. `keyed_from` is missing only when someone removed it
/// (migration 0009 sets it); that is an error here and a break in [`verify`].
pub async fn head(db: &Db) -> Result<Head> {
    let stored = repo::load_head(&db.pool).await?;
    let keyed_from = stored.keyed_from.ok_or_else(|| anyhow::anyhow!("audit_head.keyed_from is missing"))?;
    Ok(Head { seq: stored.head.seq, hash: stored.head.hash, keyed_from })
}

/// Walks the whole chain in order and reports the first broken link: a row
/// edited (its hash no longer matches its fields), deleted or inserted (a
/// gap or a link to the wrong previous hash), or the head out of step.
/// Rows before `audit_head.keyed_from` are checked against the unkeyed hash
/// they were written with, the rest against the HMAC under `db`'s audit key.
pub async fn verify(db: &Db) -> Result<Verdict> {
    verify_against(db, None).await
}

/// [`verify`], and then that the log reaches `anchor` (a head recorded
/// earlier) and that the event there still carries its hash: a log cut
/// after the anchor was taken is found even when its head row was rewritten.
pub async fn verify_against(db: &Db, anchor: Option<&Anchor>) -> Result<Verdict> {
    const BATCH: i64 = 1000;
    let key = &db.keys()?.audit_chain;
    let pool = &db.pool;
    let stored = repo::load_head(pool).await?;
    let Some(keyed_from) = stored.keyed_from else {
        return Ok(Verdict::Broken { seq: 0, reason: "the start of the keyed chain is not recorded".into() });
    };
    let mut walk = Walk::new(key, keyed_from);
    loop {
        let rows = repo::events_from(pool, walk.next_seq(), BATCH).await?;
        let done = (rows.len() as i64) < BATCH;
        for row in rows {
            if let Err(broken) = walk.check(row) {
                return Ok(broken);
            }
        }
        if done {
            break;
        }
    }
    let count = match walk.end(stored.head.seq, &stored.head.hash) {
        Ok(count) => count,
        Err(broken) => return Ok(broken),
    };
    // Anything stored beyond a gap is caught above; rows before seq 1 are not
    // part of the chain at all.
    if repo::count_before(pool, 1).await? > 0 {
        return Ok(Verdict::Broken { seq: 0, reason: "rows outside the chain".into() });
    }
    if let Some(anchor) = anchor {
        if count < anchor.seq {
            return Ok(Verdict::Broken {
                seq: count + 1,
                reason: format!("the log ends before the anchored head (event {})", anchor.seq),
            });
        }
        let hash = repo::hash_at(pool, anchor.seq).await?;
        if hash.as_deref() != Some(anchor.hash.as_str()) {
            return Ok(Verdict::Broken { seq: anchor.seq, reason: "does not carry the anchored hash".into() });
        }
    }
    Ok(Verdict::Intact { count })
}

/// The newest events first (for tests and the CLI).
pub async fn recent<'e>(ex: impl Executor<'e, Database = Any>, limit: i64) -> Result<Vec<StoredEvent>> {
    repo::recent(ex, limit).await
}

// --- what Auditors read ---------------------------------------------------------------

/// One page of audit events, newest first: Auditors (the audit page, and
/// `GET /api/v1/audit` with an `auditor` token).
pub async fn events(state: &AppState, by: &Caller, filter: &AuditFilter, page: i64) -> Result<Page<AuditEntry>> {
    by.require(Role::Auditor)?;
    let page = page.max(1);
    let f = query::event_filter(filter)?;
    let total = repo::count_events(&state.db.pool, &f).await?;
    let rows = repo::events_page(&state.db.pool, &f, EVENTS_PER_PAGE, (page - 1) * EVENTS_PER_PAGE).await?;
    let items = rows.into_iter().map(query::entry).collect();
    Ok(Page { items, total, page, per_page: EVENTS_PER_PAGE, now: state.clock.unix() })
}

/// The filtered events as CSV, newest first, with each row's hash so an
/// export can be checked against the chain later.
pub async fn events_csv(state: &AppState, by: &Caller, filter: &AuditFilter) -> Result<String> {
    by.require(Role::Auditor)?;
    let f = query::event_filter(filter)?;
    let rows = repo::events_page(&state.db.pool, &f, CSV_MAX_ROWS, 0).await?;
    Ok(query::csv_of_events(rows))
}
