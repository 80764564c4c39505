//! What Auditors see: the audit log and every user's credentials, with
//! filters and CSV export. Read-only by construction: nothing here writes,
//! and nothing here reads a secret or a digest.

use super::audit::{StoredEvent, COLUMNS};
use super::auth::{Caller, Principal};
use super::{AppState, Error, Result};
use crate::model::{
    parse_date, AuditEntry, AuditFilter, AuditedCredential, CredentialSort, CredentialUsage, CredentialView, Page,
    Role, SECS_PER_DAY,
};
use sqlx::FromRow;

pub const EVENTS_PER_PAGE: i64 = 50;
pub const CREDENTIALS_PER_PAGE: i64 = 25;
/// At most this many rows go into one CSV file.
pub const CSV_MAX_ROWS: i64 = 50_000;

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

fn day_of(field: &'static str, raw: &Option<String>) -> Result<Option<i64>> {
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => parse_date(s).map(Some).ok_or_else(|| Error::invalid(field, "Enter a date as YYYY-MM-DD.")),
    }
}

fn clean(raw: &Option<String>) -> Option<String> {
    raw.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|s| s.chars().take(200).collect())
}

fn audit_where(f: &AuditFilter) -> Result<Where> {
    let mut w = Where::default();
    let (from, to) = (day_of("from", &f.from)?, day_of("to", &f.to)?);
    if let (Some(a), Some(b)) = (from, to) {
        if a > b {
            return Err(Error::invalid("to", "The end date is before the start date."));
        }
    }
    if let Some(day) = from {
        w.push("at >= ?", Arg::Int(day * SECS_PER_DAY));
    }
    if let Some(day) = to {
        w.push("at < ?", Arg::Int((day + 1) * SECS_PER_DAY));
    }
    if let Some(actor) = clean(&f.actor) {
        w.push("(lower(actor_name) = ? or actor_id = ?)", Arg::Text(actor.to_lowercase()));
        // actor ids are lower-case UUIDs, so one lower-cased value serves both
    }
    if let Some(c) = clean(&f.credential) {
        w.push("(target_id = ? or actor_id = ?)", Arg::Text(c.to_lowercase()));
    }
    if let Some(e) = clean(&f.event) {
        w.push("event = ?", Arg::Text(e));
    }
    match clean(&f.outcome).as_deref() {
        None => {}
        Some(o @ ("success" | "failure")) => w.push("outcome = ?", Arg::Text(o.to_string())),
        Some(_) => return Err(Error::invalid("outcome", "Choose success or failure.")),
    }
    Ok(w)
}

async fn select_events(state: &AppState, w: &Where, limit: i64, offset: i64) -> Result<Vec<StoredEvent>> {
    let (l, o) = (w.next(), w.next() + 1);
    let sql = format!("select {COLUMNS} from audit_events where {} order by seq desc limit ${l} offset ${o}", w.sql());
    let q = bind_args!(sqlx::query_as::<_, StoredEvent>(&sql), &w.args);
    Ok(q.bind(limit).bind(offset).fetch_all(&state.db.pool).await?)
}

fn entry(e: StoredEvent) -> AuditEntry {
    AuditEntry {
        seq: e.seq,
        at: e.at,
        event: e.event,
        outcome: e.outcome,
        actor_kind: e.actor_kind,
        actor_id: e.actor_id,
        actor_name: e.actor_name,
        ip: e.ip,
        target_kind: e.target_kind,
        target_id: e.target_id,
        target_name: e.target_name,
        details: e.details,
    }
}

/// One page of audit events, newest first: Auditors (the audit page, and
/// `GET /api/v1/audit` with an `auditor` token).
pub async fn events(state: &AppState, who: &impl Caller, filter: &AuditFilter, page: i64) -> Result<Page<AuditEntry>> {
    who.require_role(Role::Auditor)?;
    let page = page.max(1);
    let w = audit_where(filter)?;
    let count = format!("select count(*) from audit_events where {}", w.sql());
    let total: i64 = bind_args!(sqlx::query_scalar::<_, i64>(&count), &w.args).fetch_one(&state.db.pool).await?;
    let rows = select_events(state, &w, EVENTS_PER_PAGE, (page - 1) * EVENTS_PER_PAGE).await?;
    let items = rows.into_iter().map(entry).collect();
    Ok(Page { items, total, page, per_page: EVENTS_PER_PAGE, now: state.clock.unix() })
}

/// The filtered events as CSV, newest first, with each row's hash so an
/// export can be checked against the chain later.
pub async fn events_csv(state: &AppState, principal: &Principal, filter: &AuditFilter) -> Result<String> {
    principal.require(Role::Auditor)?;
    let w = audit_where(filter)?;
    let rows = select_events(state, &w, CSV_MAX_ROWS, 0).await?;
    let mut out = csv_line(&[
        "seq",
        "time_utc",
        "event",
        "outcome",
        "actor_kind",
        "actor_id",
        "actor_name",
        "ip",
        "target_kind",
        "target_id",
        "target_name",
        "details",
        "hash",
    ]);
    for e in rows {
        out.push_str(&csv_line(&[
            &e.seq.to_string(),
            &iso_time(e.at),
            &e.event,
            &e.outcome,
            &e.actor_kind,
            e.actor_id.as_deref().unwrap_or(""),
            e.actor_name.as_deref().unwrap_or(""),
            e.ip.as_deref().unwrap_or(""),
            e.target_kind.as_deref().unwrap_or(""),
            e.target_id.as_deref().unwrap_or(""),
            e.target_name.as_deref().unwrap_or(""),
            &e.details,
            &e.hash,
        ]));
    }
    Ok(out)
}

/// One CSV record (RFC 4180), CRLF-terminated. Cells that a spreadsheet
/// would run as a formula get a leading apostrophe (OWASP CSV injection).
pub fn csv_line(cells: &[&str]) -> String {
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        let mut cell = cell.to_string();
        if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            cell.insert(0, '\'');
        }
        if cell.contains([',', '"', '\n', '\r']) {
            line.push('"');
            line.push_str(&cell.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(&cell);
        }
    }
    line.push_str("\r\n");
    line
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn iso_time(unix: i64) -> String {
    format!("{}T{}Z", crate::model::format_date(unix), crate::model::format_time_of_day(unix))
}

// --- every credential --------------------------------------------------------

/// The auditor's credential list query.
#[derive(Clone, Debug)]
pub struct CredentialQuery {
    pub filter: String,
    pub view: CredentialView,
    pub sort: AuditSort,
    pub descending: bool,
    pub page: i64,
}

/// Sort keys of the auditor's credential list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditSort {
    Owner,
    SecretAge,
    Base(CredentialSort),
}

impl AuditSort {
    pub fn from_param(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(AuditSort::Owner),
            "secret" => Some(AuditSort::SecretAge),
            other => CredentialSort::from_param(other).map(AuditSort::Base),
        }
    }
}

/// The list query from URL parameters; unknown values fall back to the
/// defaults (all credentials, by name, first page).
pub fn query_from_params(
    q: Option<String>,
    view: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<i64>,
) -> CredentialQuery {
    CredentialQuery {
        filter: q.unwrap_or_default(),
        view: view.as_deref().and_then(CredentialView::from_param).unwrap_or(CredentialView::All),
        sort: sort.as_deref().and_then(AuditSort::from_param).unwrap_or(AuditSort::Base(CredentialSort::Name)),
        descending: dir.as_deref() == Some("desc"),
        page: page.unwrap_or(1),
    }
}

#[derive(FromRow)]
struct AuditedRow {
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

const UNUSED_DAYS: i64 = 90;
const EXPIRING_DAYS: i64 = 30;

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
            w.push("coalesce(c.last_used_at, c.created_at) < ?", Arg::Int(now - UNUSED_DAYS * SECS_PER_DAY));
        }
        CredentialView::Expiring30 => {
            w.raw("c.deleted_at is null");
            w.push("c.expires_at > ?", Arg::Int(now));
            // through the end of the 30th day from today (expiry is end-of-day)
            let end = (now.div_euclid(SECS_PER_DAY) + EXPIRING_DAYS + 1) * SECS_PER_DAY;
            w.push("c.expires_at < ?", Arg::Int(end));
        }
    }
    let filter: String = q.filter.trim().chars().take(100).collect();
    if !filter.is_empty() {
        let pattern = format!("%{}%", super::db::escape_like(&filter.to_lowercase()));
        w.push(
            "(c.name_key like ? escape '\\' or c.id like ? escape '\\' or u.username_key like ? escape '\\')",
            Arg::Text(pattern),
        );
    }
    w
}

async fn select_credentials(
    state: &AppState,
    q: &CredentialQuery,
    now: i64,
    limit: i64,
    offset: i64,
) -> Result<(Vec<AuditedCredential>, i64)> {
    let w = credential_where(q, now);
    let from = "credentials c join users u on u.id = c.owner_id";
    let count = format!("select count(*) from {from} where {}", w.sql());
    let total: i64 = bind_args!(sqlx::query_scalar::<_, i64>(&count), &w.args).fetch_one(&state.db.pool).await?;
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
        .fetch_all(&state.db.pool)
        .await?;
    let mut conn = state.db.pool.acquire().await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        let roles = super::credentials::repo::credential_roles_with_status(&mut conn, &r.id, &r.owner_id).await?;
        items.push(AuditedCredential {
            id: r.id,
            name: r.name,
            owner_id: r.owner_id,
            owner_username: r.owner_username,
            roles,
            expires_at: r.expires_at,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            deleted_at: r.deleted_at,
            secret_rotated_at: r.secret_rotated_at,
            live_tokens: r.live_tokens,
        });
    }
    Ok((items, total))
}

/// One page of every user's credentials.
pub async fn credentials(
    state: &AppState,
    principal: &Principal,
    q: &CredentialQuery,
) -> Result<Page<AuditedCredential>> {
    principal.require(Role::Auditor)?;
    let now = state.clock.unix();
    let page = q.page.max(1);
    let (items, total) =
        select_credentials(state, q, now, CREDENTIALS_PER_PAGE, (page - 1) * CREDENTIALS_PER_PAGE).await?;
    Ok(Page { items, total, page, per_page: CREDENTIALS_PER_PAGE, now })
}

/// The filtered credentials as CSV. Never a secret.
pub async fn credentials_csv(state: &AppState, principal: &Principal, q: &CredentialQuery) -> Result<String> {
    principal.require(Role::Auditor)?;
    let now = state.clock.unix();
    let (items, _) = select_credentials(state, q, now, CSV_MAX_ROWS, 0).await?;
    let mut out = csv_line(&[
        "client_id",
        "name",
        "owner",
        "roles",
        "revoked_roles",
        "status",
        "expires_utc",
        "created_utc",
        "last_used_utc",
        "secret_set_utc",
        "secret_age_days",
        "live_tokens",
    ]);
    for c in items {
        let held: Vec<&str> = c.roles.iter().filter(|r| r.revoked_at.is_none()).map(|r| r.role.slug()).collect();
        let lost: Vec<&str> = c.roles.iter().filter(|r| r.revoked_at.is_some()).map(|r| r.role.slug()).collect();
        out.push_str(&csv_line(&[
            &c.id,
            &c.name,
            &c.owner_username,
            &held.join(" "),
            &lost.join(" "),
            c.status(now).as_str(),
            &iso_time(c.expires_at),
            &iso_time(c.created_at),
            &c.last_used_at.map(iso_time).unwrap_or_default(),
            &iso_time(c.secret_rotated_at),
            &((now - c.secret_rotated_at) / SECS_PER_DAY).to_string(),
            &c.live_tokens.to_string(),
        ]));
    }
    Ok(out)
}

/// Any credential's tracked API use, for Auditors.
pub async fn usage(state: &AppState, principal: &Principal, credential_id: &str) -> Result<CredentialUsage> {
    principal.require(Role::Auditor)?;
    let exists: i64 = sqlx::query_scalar("select count(*) from credentials where id = $1")
        .bind(credential_id)
        .fetch_one(&state.db.pool)
        .await?;
    if exists == 0 {
        return Err(Error::NotFound);
    }
    super::usage::for_credential(&state.db.pool, &state.usage, credential_id, state.clock.unix()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(csv_line(&["a", "b,c", "say \"hi\""]), "a,\"b,c\",\"say \"\"hi\"\"\"\r\n");
        assert_eq!(csv_line(&["=HYPERLINK(1)", "-2", "@x", "ok"]), "'=HYPERLINK(1),'-2,'@x,ok\r\n");
        assert_eq!(csv_line(&["line\nbreak"]), "\"line\nbreak\"\r\n");
    }

    #[test]
    fn times_are_iso_8601_utc() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_time(1_795_000_000), "2026-11-18T11:06:40Z");
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
