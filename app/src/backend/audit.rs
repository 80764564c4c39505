//! The audit log (ASVS V16.2, V16.3). Every event is written by the service
//! that makes the change, inside the same transaction, so an event exists if
//! and only if its change committed. Rows form a hash chain: each row's hash
//! covers its own fields and the previous row's hash, so editing, deleting or
//! reordering rows breaks the chain at that point, which [`verify`] reports.
//! The hash is an HMAC under a key derived from the server key
//! (`backend/keys.rs`), so whoever can write the database but lacks the key
//! cannot rewrite a row and every later one; rows written before the chain
//! was keyed keep their plain SHA-256 hash (`audit_head.keyed_from`).
//!
//! No secret, password or token value is ever put in an event: the types
//! here only take identifiers, names and values chosen by the code, and
//! [`record_many`] redacts anything shaped like a secret or token in the
//! text a caller chose (a client id as sent, say).

use super::auth::Principal;
use super::db::{values_list, Db};
use super::keys::MacKey;
use super::Result;
use crate::model::AuditEvent;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use sqlx::{Any, AnyConnection, Executor, FromRow};
use std::net::IpAddr;

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    User {
        id: String,
        name: String,
    },
    Credential {
        id: String,
        name: String,
    },
    /// The operator at the command line, who holds the database.
    Operator,
    /// appcred itself (a token dying of old age).
    System,
    /// Nobody identified (a failed sign-in, an unknown client).
    Anonymous,
}

impl Actor {
    pub fn user(p: &Principal) -> Self {
        Actor::User { id: p.user_id.clone(), name: p.username.clone() }
    }

    fn parts(&self) -> (&'static str, Option<&str>, Option<&str>) {
        match self {
            Actor::User { id, name } => ("user", Some(id), Some(name)),
            Actor::Credential { id, name } => ("credential", Some(id), Some(name)),
            Actor::Operator => ("operator", None, None),
            Actor::System => ("system", None, None),
            Actor::Anonymous => ("anonymous", None, None),
        }
    }
}

/// What it was done to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub kind: &'static str,
    pub id: String,
    pub name: String,
}

impl Target {
    pub fn user(id: &str, username: &str) -> Self {
        Target { kind: "user", id: id.to_string(), name: username.to_string() }
    }
    pub fn credential(id: &str, name: &str) -> Self {
        Target { kind: "credential", id: id.to_string(), name: name.to_string() }
    }
    pub fn settings() -> Self {
        Target { kind: "settings", id: "general".to_string(), name: "General Settings".to_string() }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// One event, before it is written.
#[derive(Clone, Debug)]
pub struct Event {
    pub event: AuditEvent,
    pub outcome: Outcome,
    pub actor: Actor,
    pub ip: Option<IpAddr>,
    pub target: Option<Target>,
    pub details: Map<String, Value>,
}

impl Event {
    pub fn new(event: AuditEvent, actor: Actor) -> Self {
        Event { event, outcome: Outcome::Success, actor, ip: None, target: None, details: Map::new() }
    }
    pub fn failed(mut self) -> Self {
        self.outcome = Outcome::Failure;
        self
    }
    pub fn ip(mut self, ip: impl Into<Option<IpAddr>>) -> Self {
        self.ip = ip.into();
        self
    }
    pub fn target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_string(), value.into());
        self
    }
    /// Records `before → after` for a field, only when it changed.
    pub fn change(self, field: &str, before: impl Into<Value>, after: impl Into<Value>) -> Self {
        let (before, after) = (before.into(), after.into());
        if before == after {
            return self;
        }
        self.detail(field, serde_json::json!({ "before": before, "after": after }))
    }
}

/// A stored event, as the audit page and the verifier read it.
#[derive(Clone, Debug, PartialEq, Eq, FromRow, Serialize)]
pub struct StoredEvent {
    pub seq: i64,
    pub at: i64,
    pub event: String,
    pub outcome: String,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub ip: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

pub const COLUMNS: &str = "seq, at, event, outcome, actor_kind, actor_id, actor_name, ip, target_kind, target_id, \
                       target_name, details, prev_hash, hash";

/// The fields of a row as hashed: the previous hash and every field, each
/// length-prefixed so no two different rows serialise alike.
fn encode(e: &StoredEvent) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + e.details.len());
    let mut field = |v: Option<&str>| match v {
        None => out.extend_from_slice(b"-"),
        Some(s) => {
            out.extend_from_slice(s.len().to_string().as_bytes());
            out.push(b':');
            out.extend_from_slice(s.as_bytes());
        }
    };
    field(Some(&e.prev_hash));
    field(Some(&e.seq.to_string()));
    field(Some(&e.at.to_string()));
    field(Some(&e.event));
    field(Some(&e.outcome));
    field(Some(&e.actor_kind));
    field(e.actor_id.as_deref());
    field(e.actor_name.as_deref());
    field(e.ip.as_deref());
    field(e.target_kind.as_deref());
    field(e.target_id.as_deref());
    field(e.target_name.as_deref());
    field(Some(&e.details));
    out
}

/// The hash of a row written before the chain was keyed (`audit_head.keyed_from`,
/// migration 0009): plain SHA-256 over [`encode`]. Anyone can compute it,
/// so it shows accidents, not an attacker who can write the database.
pub fn row_hash(e: &StoredEvent) -> String {
    super::secrets::hex(&Sha256::digest(encode(e)))
}

/// The hash of a row of the keyed chain: HMAC-SHA-256 under the derived
/// audit key (`backend/keys.rs`) over the same encoding. Without the key
/// nobody can write a row, or cut and re-head the log, that verifies.
pub fn keyed_row_hash(key: &MacKey, e: &StoredEvent) -> String {
    key.digest(&encode(e))
}

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
    super::secrets::redact(s).into_owned()
}

fn redact_strings(v: &mut Value) {
    match v {
        Value::String(s) => {
            if let std::borrow::Cow::Owned(r) = super::secrets::redact(s) {
                *s = r;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_strings),
        Value::Object(map) => map.values_mut().for_each(redact_strings),
        _ => {}
    }
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

/// Appends several events (each with its own time) in one go: one head
/// update, one multi-row insert. Returns the last sequence number.
///
/// This is the one place where events are serialised, so every text field
/// and every string in the details passes [`super::secrets::redact`] here:
/// no caller can write a secret or token into the log by mistake.
pub async fn record_many(db: &Db, conn: &mut AnyConnection, events: Vec<(i64, Event)>) -> Result<i64> {
    let key = &db.keys()?.audit_chain;
    let n = events.len() as i64;
    let (last, mut prev_hash): (i64, String) =
        sqlx::query_as("update audit_head set seq = seq + $1 where id = 1 returning seq, hash")
            .bind(n)
            .fetch_one(&mut *conn)
            .await?;
    let mut rows = Vec::with_capacity(events.len());
    for (i, (at, mut e)) in events.into_iter().enumerate() {
        let (actor_kind, actor_id, actor_name) = e.actor.parts();
        let mut details = Value::Object(std::mem::take(&mut e.details));
        redact_strings(&mut details);
        let mut row = StoredEvent {
            seq: last - n + 1 + i as i64,
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
            prev_hash,
            hash: String::new(),
        };
        row.hash = keyed_row_hash(key, &row);
        prev_hash = row.hash.clone();
        rows.push(row);
    }
    insert_rows(conn, &rows).await?;
    sqlx::query("update audit_head set hash = $1 where id = 1").bind(&prev_hash).execute(&mut *conn).await?;
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

/// The head of the chain: its last event and that event's hash. Kept
/// somewhere the database's writers cannot reach, it makes a cut tail
/// detectable (`appcred audit head`, `appcred audit verify --head`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
    /// The first event of the keyed chain; the ones before carry the
    /// unkeyed hash of releases before it (migration 0009).
    pub keyed_from: i64,
}

impl std::fmt::Display for Head {
    /// `SEQ:HASH`, the form `appcred audit verify --head` takes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

/// A head recorded earlier, to check the log against (`SEQ:HASH`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchor {
    pub seq: i64,
    pub hash: String,
}

impl std::str::FromStr for Anchor {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (seq, hash) = s.trim().split_once(':').ok_or("expected SEQ:HASH, as `appcred audit head` prints")?;
        let seq = seq.parse::<i64>().map_err(|_| format!("{seq:?} is not a sequence number"))?;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("the hash must be 64 hex characters".into());
        }
        Ok(Anchor { seq, hash: hash.to_ascii_lowercase() })
    }
}

/// The current head. `keyed_from` is missing only when someone removed it
/// (migration 0009 sets it); that is an error here and a break in [`verify`].
pub async fn head(db: &Db) -> Result<Head> {
    let (seq, hash, keyed_from): (i64, String, Option<i64>) =
        sqlx::query_as("select seq, hash, keyed_from from audit_head where id = 1").fetch_one(&db.pool).await?;
    let keyed_from = keyed_from.ok_or_else(|| anyhow::anyhow!("audit_head.keyed_from is missing"))?;
    Ok(Head { seq, hash, keyed_from })
}

/// What [`verify`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every row links to the one before; `count` rows checked.
    Intact { count: i64 },
    /// The first row whose hash or link does not match.
    Broken { seq: i64, reason: String },
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
    let (head_seq, head_hash, keyed_from): (i64, String, Option<i64>) =
        sqlx::query_as("select seq, hash, keyed_from from audit_head where id = 1").fetch_one(pool).await?;
    let Some(keyed_from) = keyed_from else {
        return Ok(Verdict::Broken { seq: 0, reason: "the start of the keyed chain is not recorded".into() });
    };
    let mut expected_prev = GENESIS_HASH.to_string();
    let mut expected_seq = 1;
    loop {
        let rows = sqlx::query_as::<_, StoredEvent>(&format!(
            "select {COLUMNS} from audit_events where seq >= $1 order by seq limit $2"
        ))
        .bind(expected_seq)
        .bind(BATCH)
        .fetch_all(pool)
        .await?;
        let done = (rows.len() as i64) < BATCH;
        for row in rows {
            if row.seq != expected_seq {
                return Ok(Verdict::Broken { seq: expected_seq, reason: "row missing".into() });
            }
            if row.prev_hash != expected_prev {
                return Ok(Verdict::Broken { seq: row.seq, reason: "does not link to the previous row".into() });
            }
            let hash = if row.seq < keyed_from { row_hash(&row) } else { keyed_row_hash(key, &row) };
            if hash != row.hash {
                return Ok(Verdict::Broken { seq: row.seq, reason: "contents changed after writing".into() });
            }
            expected_prev = row.hash;
            expected_seq += 1;
        }
        if done {
            break;
        }
    }
    let count = expected_seq - 1;
    if head_seq != count || head_hash != expected_prev {
        return Ok(Verdict::Broken { seq: count + 1, reason: "the last rows are missing".into() });
    }
    // Anything stored beyond a gap is caught above; rows before seq 1 are not
    // part of the chain at all.
    let stray: i64 = sqlx::query_scalar("select count(*) from audit_events where seq < 1").fetch_one(pool).await?;
    if stray > 0 {
        return Ok(Verdict::Broken { seq: 0, reason: "rows outside the chain".into() });
    }
    if let Some(anchor) = anchor {
        if count < anchor.seq {
            return Ok(Verdict::Broken {
                seq: count + 1,
                reason: format!("the log ends before the anchored head (event {})", anchor.seq),
            });
        }
        let hash: Option<String> = sqlx::query_scalar("select hash from audit_events where seq = $1")
            .bind(anchor.seq)
            .fetch_optional(pool)
            .await?;
        if hash.as_deref() != Some(anchor.hash.as_str()) {
            return Ok(Verdict::Broken { seq: anchor.seq, reason: "does not carry the anchored hash".into() });
        }
    }
    Ok(Verdict::Intact { count })
}

/// The newest events first (for tests and the CLI).
pub async fn recent<'e>(ex: impl Executor<'e, Database = Any>, limit: i64) -> Result<Vec<StoredEvent>> {
    Ok(sqlx::query_as::<_, StoredEvent>(&format!("select {COLUMNS} from audit_events order by seq desc limit $1"))
        .bind(limit)
        .fetch_all(ex)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> StoredEvent {
        StoredEvent {
            seq: 1,
            at: 10,
            event: "x".into(),
            outcome: "success".into(),
            actor_kind: "system".into(),
            actor_id: None,
            actor_name: None,
            ip: None,
            target_kind: None,
            target_id: None,
            target_name: None,
            details: "{}".into(),
            prev_hash: GENESIS_HASH.into(),
            hash: String::new(),
        }
    }

    #[test]
    fn every_field_is_covered_by_the_hash() {
        let base = row_hash(&row());
        let mut r = row();
        r.details = "{\"a\":1}".into();
        assert_ne!(row_hash(&r), base);
        let mut r = row();
        r.actor_id = Some(String::new());
        assert_ne!(row_hash(&r), base, "empty and absent differ");
        let mut r = row();
        r.seq = 2;
        assert_ne!(row_hash(&r), base);
    }

    #[test]
    fn the_keyed_hash_covers_the_same_fields_and_needs_the_key() {
        use crate::backend::keys::DerivedKeys;
        use crate::backend::secrets::SecretKey;
        let k1 = DerivedKeys::derive(&SecretKey::from_bytes([1; 32])).audit_chain;
        let k2 = DerivedKeys::derive(&SecretKey::from_bytes([2; 32])).audit_chain;
        let base = keyed_row_hash(&k1, &row());
        assert_ne!(base, row_hash(&row()), "not the unkeyed hash");
        assert_ne!(base, keyed_row_hash(&k2, &row()), "another key, another hash");
        let mut r = row();
        r.target_name = Some("x".into());
        assert_ne!(keyed_row_hash(&k1, &r), base);
    }

    #[test]
    fn anchors_parse_from_what_head_prints() {
        let h = Head { seq: 42, hash: "ab".repeat(32), keyed_from: 1 };
        let a: Anchor = h.to_string().parse().unwrap();
        assert_eq!((a.seq, a.hash.as_str()), (42, h.hash.as_str()));
        assert!("42".parse::<Anchor>().is_err());
        assert!("x:ab".parse::<Anchor>().is_err());
        assert!(format!("1:{}", "zz".repeat(32)).parse::<Anchor>().is_err());
    }

    #[test]
    fn unchanged_fields_are_not_recorded_as_changes() {
        let e = Event::new(AuditEvent::SettingsChanged, Actor::System).change("name", "a", "a").change("expires", 1, 2);
        assert!(!e.details.contains_key("name"));
        assert_eq!(e.details["expires"], serde_json::json!({"before": 1, "after": 2}));
    }
}
