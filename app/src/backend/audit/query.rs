//! The audit log's read side, as Auditors query it: the log's filters,
//! checked and turned into bounds; pages; and CSV. The SQL they become is
//! in [`super::repo`]; the services that run them are in [`super::service`].

use super::StoredEvent;
use crate::backend::{Error, Result};
use crate::model::{parse_date, AuditEntry, AuditFilter, SECS_PER_DAY};

pub const EVENTS_PER_PAGE: i64 = 50;
/// At most this many rows go into one CSV file.
pub const CSV_MAX_ROWS: i64 = 50_000;

// --- the audit log ------------------------------------------------------------

/// One of the audit log's filters, checked: an event must meet every one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// At or after this instant (the start of the `from` day, UTC).
    Since(i64),
    /// Before this instant (the end of the `to` day, UTC).
    Before(i64),
    /// By the actor of this name, in any case, or id; lower-cased (actor ids
    /// are lower-case UUIDs, so one lower-cased value serves both).
    Actor(String),
    /// Done by or to the credential of this id; lower-cased.
    Credential(String),
    /// Of the event of this stored name.
    Event(String),
    /// `success` or `failure`.
    Outcome(String),
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

/// Checks the filters of the audit page (and of `GET /api/v1/audit`): dates
/// as `YYYY-MM-DD`, in order, and an outcome that exists. The conditions
/// come in the form's order; none keeps every event.
pub fn event_filter(f: &AuditFilter) -> Result<Vec<Condition>> {
    let (from, to) = (day_of("from", &f.from)?, day_of("to", &f.to)?);
    if let (Some(a), Some(b)) = (from, to) {
        if a > b {
            return Err(Error::invalid("to", "The end date is before the start date."));
        }
    }
    let outcome = match clean(&f.outcome).as_deref() {
        None => None,
        Some(o @ ("success" | "failure")) => Some(o.to_string()),
        Some(_) => return Err(Error::invalid("outcome", "Choose success or failure.")),
    };
    let mut conditions = Vec::new();
    conditions.extend(from.map(|day| Condition::Since(day * SECS_PER_DAY)));
    conditions.extend(to.map(|day| Condition::Before((day + 1) * SECS_PER_DAY)));
    conditions.extend(clean(&f.actor).map(|a| Condition::Actor(a.to_lowercase())));
    conditions.extend(clean(&f.credential).map(|c| Condition::Credential(c.to_lowercase())));
    conditions.extend(clean(&f.event).map(Condition::Event));
    conditions.extend(outcome.map(Condition::Outcome));
    Ok(conditions)
}

pub fn entry(e: StoredEvent) -> AuditEntry {
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

/// Events as CSV, in the order given, with each row's hash so an export can
/// be checked against the chain later.
pub fn csv_of_events(rows: Vec<StoredEvent>) -> String {
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
    out
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
}
