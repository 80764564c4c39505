//! The Auditors' list of every user's credentials (deleted ones too): its
//! views, sort keys, query and CSV. The SQL it becomes is
//! `repo::credentials_page`; the services that run it are
//! `service::{audited, audited_csv}`.

use crate::backend::audit::{csv_line, iso_time};
use crate::model::{AuditedCredential, CredentialSort, CredentialStatus, CredentialView, SECS_PER_DAY};

pub const PER_PAGE: i64 = 25;

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

const UNUSED_DAYS: i64 = 90;
const EXPIRING_DAYS: i64 = 30;

/// A credential last used (or, never used, created) before this instant is
/// unused ([`CredentialView::Unused90`]).
pub fn unused_before(now: i64) -> i64 {
    now - UNUSED_DAYS * SECS_PER_DAY
}

/// A live credential that expires before this instant is expiring
/// ([`CredentialView::Expiring30`]): through the end of the 30th day from
/// today, as expiry is the end of a day.
pub fn expiring_before(now: i64) -> i64 {
    (now.div_euclid(SECS_PER_DAY) + EXPIRING_DAYS + 1) * SECS_PER_DAY
}

/// Whether `view` lists the credential at `now`, on the credential's status
/// ([`AuditedCredential::status`]). The list's SQL states the same rule
/// (`repo::credentials_page`); a test holds the two together on every case.
pub fn in_view(view: CredentialView, c: &AuditedCredential, now: i64) -> bool {
    let status = c.status(now);
    match view {
        CredentialView::All => true,
        CredentialView::Active => status == CredentialStatus::Active,
        CredentialView::Expired => status == CredentialStatus::Expired,
        CredentialView::Deleted => status == CredentialStatus::Deleted,
        CredentialView::Unused90 => {
            status != CredentialStatus::Deleted && c.last_used_at.unwrap_or(c.created_at) < unused_before(now)
        }
        CredentialView::Expiring30 => status == CredentialStatus::Active && c.expires_at < expiring_before(now),
    }
}

/// Credentials as CSV, in the order given. Never a secret.
pub fn csv_of_credentials(items: Vec<AuditedCredential>, now: i64) -> String {
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
    out
}
