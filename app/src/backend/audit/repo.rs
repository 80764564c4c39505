//! SQL for the audit log: its rows (`audit_events`), the chain's head
//! (`audit_head`), and the Auditors' filtered pages of the log.

use super::query::Condition;
use super::StoredEvent;
use crate::backend::db::{bind_args, values_list, Arg, Where};
use crate::backend::Result;
use sqlx::{Any, AnyConnection, AnyPool, Executor, FromRow};

const COLUMNS: &str = "seq, at, event, outcome, actor_kind, actor_id, actor_name, ip, target_kind, target_id, \
                       target_name, details, prev_hash, hash";

// --- the chain ----------------------------------------------------------------

/// The chain's last event and its hash, as stored.
#[derive(Debug, FromRow)]
pub struct HeadRow {
    pub seq: i64,
    pub hash: String,
}

/// The head with the first event of the keyed chain (`None` only when
/// someone removed it: migration 0009 sets it).
#[derive(Debug, FromRow)]
pub struct StoredHead {
    #[sqlx(flatten)]
    pub head: HeadRow,
    pub keyed_from: Option<i64>,
}

/// Reserves `n` sequence numbers: moves the head on by `n` and returns the
/// last one reserved, with the hash the first of them links to. A row
/// update, so it locks the head until the transaction ends: concurrent
/// writers queue here and the chain never forks.
pub async fn advance_head(conn: &mut AnyConnection, n: i64) -> Result<HeadRow> {
    Ok(sqlx::query_as("update audit_head set seq = seq + $1 where id = 1 returning seq, hash")
        .bind(n)
        .fetch_one(conn)
        .await?)
}

/// Sets the hash of the head's last event.
pub async fn set_head_hash(conn: &mut AnyConnection, hash: &str) -> Result<()> {
    sqlx::query("update audit_head set hash = $1 where id = 1").bind(hash).execute(conn).await?;
    Ok(())
}

pub async fn load_head(pool: &AnyPool) -> Result<StoredHead> {
    Ok(sqlx::query_as("select seq, hash, keyed_from from audit_head where id = 1").fetch_one(pool).await?)
}

/// Inserts rows whose sequence numbers and hashes are already set, one
/// statement per 256 rows (a writer's batch at most). The chain head is the
/// caller's to move.
pub async fn insert_rows(conn: &mut AnyConnection, rows: &[StoredEvent]) -> Result<()> {
    for chunk in rows.chunks(256) {
        let sql = format!("insert into audit_events ({COLUMNS}) values {}", values_list(conn, chunk.len(), 14));
        let mut q = sqlx::query(&sql);
        for row in chunk {
            q = q
                .bind(row.seq)
                .bind(row.at)
                .bind(row.event.as_str())
                .bind(row.outcome.as_str())
                .bind(row.actor_kind.as_str())
                .bind(row.actor_id.as_deref())
                .bind(row.actor_name.as_deref())
                .bind(row.ip.as_deref())
                .bind(row.target_kind.as_deref())
                .bind(row.target_id.as_deref())
                .bind(row.target_name.as_deref())
                .bind(row.details.as_str())
                .bind(row.prev_hash.as_str())
                .bind(row.hash.as_str());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// At most `limit` events from sequence number `seq` on, in order.
pub async fn events_from(pool: &AnyPool, seq: i64, limit: i64) -> Result<Vec<StoredEvent>> {
    Ok(sqlx::query_as::<_, StoredEvent>(&format!(
        "select {COLUMNS} from audit_events where seq >= $1 order by seq limit $2"
    ))
    .bind(seq)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Rows stored with a sequence number below `seq`.
pub async fn count_before(pool: &AnyPool, seq: i64) -> Result<i64> {
    Ok(sqlx::query_scalar("select count(*) from audit_events where seq < $1").bind(seq).fetch_one(pool).await?)
}

/// The stored hash of event `seq`, if there is one.
pub async fn hash_at(pool: &AnyPool, seq: i64) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("select hash from audit_events where seq = $1").bind(seq).fetch_optional(pool).await?)
}

/// The newest events first.
pub async fn recent<'e>(ex: impl Executor<'e, Database = Any>, limit: i64) -> Result<Vec<StoredEvent>> {
    Ok(sqlx::query_as::<_, StoredEvent>(&format!("select {COLUMNS} from audit_events order by seq desc limit $1"))
        .bind(limit)
        .fetch_all(ex)
        .await?)
}

// --- filters --------------------------------------------------------------------

// --- the log --------------------------------------------------------------------

fn event_where(f: &[Condition]) -> Where {
    let mut w = Where::default();
    for c in f {
        match c {
            Condition::Since(at) => w.push("at >= ?", Arg::Int(*at)),
            Condition::Before(at) => w.push("at < ?", Arg::Int(*at)),
            Condition::Actor(a) => w.push("(lower(actor_name) = ? or actor_id = ?)", Arg::Text(a.clone())),
            Condition::Credential(c) => w.push("(target_id = ? or actor_id = ?)", Arg::Text(c.clone())),
            Condition::Event(e) => w.push("event = ?", Arg::Text(e.clone())),
            Condition::Outcome(o) => w.push("outcome = ?", Arg::Text(o.clone())),
        }
    }
    w
}

/// The events the filter keeps.
pub async fn count_events(pool: &AnyPool, f: &[Condition]) -> Result<i64> {
    let w = event_where(f);
    let count = format!("select count(*) from audit_events where {}", w.sql());
    Ok(bind_args!(sqlx::query_scalar::<_, i64>(&count), &w.args).fetch_one(pool).await?)
}

/// A page of the events the filter keeps, newest first.
pub async fn events_page(pool: &AnyPool, f: &[Condition], limit: i64, offset: i64) -> Result<Vec<StoredEvent>> {
    let w = event_where(f);
    let (l, o) = (w.next(), w.next() + 1);
    let sql = format!("select {COLUMNS} from audit_events where {} order by seq desc limit ${l} offset ${o}", w.sql());
    let q = bind_args!(sqlx::query_as::<_, StoredEvent>(&sql), &w.args);
    Ok(q.bind(limit).bind(offset).fetch_all(pool).await?)
}

#[cfg(test)]
mod tests {
    use super::super::query;
    use super::*;
    use crate::model::AuditFilter;

    /// The filters' `where` clause, as the log's queries build it.
    fn audit_where(f: &AuditFilter) -> Result<Where> {
        Ok(event_where(&query::event_filter(f)?))
    }

    #[test]
    fn filters_number_their_parameters_in_order() {
        let f = AuditFilter {
            from: Some("2026-11-01".into()),
            actor: Some("Alice".into()),
            outcome: Some("failure".into()),
            ..Default::default()
        };
        let w = audit_where(&f).unwrap();
        assert_eq!(w.sql(), "at >= $1 and (lower(actor_name) = $2 or actor_id = $2) and outcome = $3");
        assert!(audit_where(&AuditFilter { outcome: Some("maybe".into()), ..Default::default() }).is_err());
        assert!(audit_where(&AuditFilter { from: Some("2026-13-01".into()), ..Default::default() }).is_err());
        let reversed =
            AuditFilter { from: Some("2026-11-02".into()), to: Some("2026-11-01".into()), ..Default::default() };
        assert!(audit_where(&reversed).is_err());
    }
}
