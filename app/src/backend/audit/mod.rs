//! The audit log (ASVS V16.2, V16.3). Every event is written by the service
//! that makes the change, inside the same transaction, so an event exists if
//! and only if its change committed. Rows form a hash chain ([`chain`]):
//! editing, deleting or reordering rows breaks it at that point, which
//! [`verify`] reports.
//!
//! No secret, password or token value is ever put in an event: the types
//! here only take identifiers, names and values chosen by the code, and
//! [`record_many`] redacts anything shaped like a secret or token in the
//! text a caller chose (a client id as sent, say).
//!
//! - [`chain`]: the keyed hash chain, computing a row's link and checking them;
//! - [`service`]: recording events, verifying the chain, and what Auditors
//!   read (the log and every user's credentials, with filters and CSV export);
//! - [`query`]: the read side's filters, sort keys, pages and CSV;
//! - [`repo`]: all of the audit log's SQL.

pub mod chain;
pub mod query;
pub mod repo;
pub mod service;

pub use chain::{keyed_row_hash, row_hash, Anchor, Head, Verdict, GENESIS_HASH};
pub use query::{csv_line, iso_time, CSV_MAX_ROWS, EVENTS_PER_PAGE};
/// Rows whose sequence numbers and hashes are already set (the upgrade
/// tests write the rows of older releases with it).
pub use repo::insert_rows;
pub use service::{events, events_csv, head, recent, record, record_alone, record_many, verify, verify_against};

use super::caller::{Caller, Principal};
use crate::model::AuditEvent;
use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::FromRow;
use std::net::IpAddr;

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

    /// The actor a caller's change is recorded under.
    pub fn of(caller: &Caller) -> Self {
        match caller {
            Caller::Person(p) => Actor::user(p),
            Caller::Client(t, _) => Actor::Credential { id: t.credential_id.clone(), name: t.credential_name.clone() },
            Caller::Operator => Actor::Operator,
        }
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
    pub fn protected_api(id: &str, name: &str) -> Self {
        Target { kind: "protected_api", id: id.to_string(), name: name.to_string() }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_fields_are_not_recorded_as_changes() {
        let e = Event::new(AuditEvent::SettingsChanged, Actor::System).change("name", "a", "a").change("expires", 1, 2);
        assert!(!e.details.contains_key("name"));
        assert_eq!(e.details["expires"], serde_json::json!({"before": 1, "after": 2}));
    }
}
