//! SQL for the audit log: its rows (`audit_events`), the chain's head
//! (`audit_head`), the Auditors' filtered pages of the log, and their list
//! of every user's credentials.

use super::query::{self, AuditSort, Condition, CredentialQuery};
use super::StoredEvent;
use crate::backend::db::{escape_like, values_list};
use crate::backend::Result;
use crate::model::{AuditedCredential, CredentialRole, CredentialSort, CredentialView};
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

/// A bound query parameter.
enum Arg {
    Text(String),
    Int(i64),
}

/// A `where` clause with its parameters, numbered as they are added.
#[derive(Default)]
struct Where {
    clauses: Vec<String>,
    args: Vec<Arg>,
}

impl Where {
    /// Adds a clause; `?` in it becomes the next parameter (all of them the
    /// same parameter, so one value can be compared twice).
    fn push(&mut self, clause: &str, arg: Arg) {
        self.args.push(arg);
        self.clauses.push(clause.replace('?', &format!("${}", self.args.len())));
    }

    fn raw(&mut self, clause: &str) {
        self.clauses.push(clause.to_string());
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "true".to_string()
        } else {
            self.clauses.join(" and ")
        }
    }

    fn next(&self) -> usize {
        self.args.len() + 1
    }
}

/// Binds a [`Where`]'s parameters, in order, to a query of any of sqlx's
/// query types.
macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::Text(s) => q.bind(s.clone()),
                Arg::Int(i) => q.bind(*i),
            };
        }
        q
    }};
}

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

// --- every credential -------------------------------------------------------------

/// A credential as the Auditors' list reads it, its roles apart; `live_tokens`
/// counts the tokens not revoked and not past their stored expiry.
#[derive(Debug, FromRow)]
pub struct AuditedRow {
    id: String,
    name: String,
    owner_id: String,
    owner_username: String,
    expires_at: i64,
    created_at: i64,
    last_used_at: Option<i64>,
    deleted_at: Option<i64>,
    secret_rotated_at: i64,
    live_tokens: i64,
}

impl AuditedRow {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The credential as Auditors see it, with its roles.
    pub fn with_roles(self, roles: Vec<CredentialRole>) -> AuditedCredential {
        AuditedCredential {
            id: self.id,
            name: self.name,
            owner_id: self.owner_id,
            owner_username: self.owner_username,
            roles,
            expires_at: self.expires_at,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            deleted_at: self.deleted_at,
            secret_rotated_at: self.secret_rotated_at,
            live_tokens: self.live_tokens,
        }
    }
}

/// The view and the text filter of the list, over `credentials c join
/// users u`. The view's conditions are [`query::in_view`] in SQL.
fn credential_where(q: &CredentialQuery, now: i64) -> Where {
    let mut w = Where::default();
    match q.view {
        CredentialView::All => {}
        CredentialView::Active => {
            w.raw("c.deleted_at is null");
            w.push("c.expires_at > ?", Arg::Int(now));
        }
        CredentialView::Expired => {
            w.raw("c.deleted_at is null");
            w.push("c.expires_at <= ?", Arg::Int(now));
        }
        CredentialView::Deleted => w.raw("c.deleted_at is not null"),
        CredentialView::Unused90 => {
            w.raw("c.deleted_at is null");
            w.push("coalesce(c.last_used_at, c.created_at) < ?", Arg::Int(query::unused_before(now)));
        }
        CredentialView::Expiring30 => {
            w.raw("c.deleted_at is null");
            w.push("c.expires_at > ?", Arg::Int(now));
            w.push("c.expires_at < ?", Arg::Int(query::expiring_before(now)));
        }
    }
    let filter: String = q.filter.trim().chars().take(100).collect();
    if !filter.is_empty() {
        let pattern = format!("%{}%", escape_like(&filter.to_lowercase()));
        w.push(
            "(c.name_key like ? escape '\\' or c.id like ? escape '\\' or u.username_key like ? escape '\\')",
            Arg::Text(pattern),
        );
    }
    w
}

/// A page of every user's credentials (deleted ones too) that the query
/// keeps at `now`, in its order, and how many it keeps in all.
pub async fn credentials_page(
    pool: &AnyPool,
    q: &CredentialQuery,
    now: i64,
    limit: i64,
    offset: i64,
) -> Result<(Vec<AuditedRow>, i64)> {
    let w = credential_where(q, now);
    let from = "credentials c join users u on u.id = c.owner_id";
    let count = format!("select count(*) from {from} where {}", w.sql());
    let total: i64 = bind_args!(sqlx::query_scalar::<_, i64>(&count), &w.args).fetch_one(pool).await?;
    let dir = if q.descending { "desc" } else { "asc" };
    let order = match q.sort {
        AuditSort::Owner => format!("u.username_key {dir}, c.name_key"),
        AuditSort::SecretAge => format!("c.secret_rotated_at {dir}, c.name_key"),
        AuditSort::Base(CredentialSort::Name) => format!("c.name_key {dir}, c.id"),
        AuditSort::Base(CredentialSort::Expires) => format!("c.expires_at {dir}, c.name_key"),
        AuditSort::Base(CredentialSort::LastUsed) => format!("coalesce(c.last_used_at, 0) {dir}, c.name_key"),
        AuditSort::Base(CredentialSort::Created) => format!("c.created_at {dir}, c.name_key"),
    };
    let (n, l, o) = (w.next(), w.next() + 1, w.next() + 2);
    let sql = format!(
        "select c.id, c.name, c.owner_id, u.username as owner_username, c.expires_at, c.created_at, \
         c.last_used_at, c.deleted_at, c.secret_rotated_at, \
         (select count(*) from tokens t where t.credential_id = c.id and t.revoked_at is null \
          and t.expires_at > ${n}) as live_tokens \
         from {from} where {} order by {order} limit ${l} offset ${o}",
        w.sql()
    );
    let rows = bind_args!(sqlx::query_as::<_, AuditedRow>(&sql), &w.args)
        .bind(now)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await?;
    Ok((rows, total))
}

/// Whether a credential with this id was ever created (deleted ones too).
pub async fn credential_exists(pool: &AnyPool, id: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("select count(*) from credentials where id = $1").bind(id).fetch_one(pool).await?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
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
