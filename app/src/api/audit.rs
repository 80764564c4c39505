//! Server functions of the Auditor pages: the audit log and every
//! credential. All read-only; the auditing service checks the role.

use crate::error::AppError;
use crate::model::{AuditPage, AuditedCredentialPage, CredentialUsage};
use leptos::prelude::*;

/// One page of audit events matching the filters, newest first.
#[server(prefix = "/admin/fn", endpoint = "audit/events")]
#[allow(clippy::too_many_arguments)]
pub async fn audit_events(
    from: Option<String>,
    to: Option<String>,
    actor: Option<String>,
    credential: Option<String>,
    event: Option<String>,
    outcome: Option<String>,
    page: Option<i64>,
) -> Result<AuditPage, AppError> {
    use crate::backend::{audit, context};
    let filter = crate::model::AuditFilter { from, to, actor, credential, event, outcome };
    let state = context::app_state()?;
    let principal = context::require_principal().or_else(context::fail)?;
    audit::events(&state, &principal, &filter, page.unwrap_or(1)).await.or_else(context::fail)
}

/// One page of every user's credentials (never a secret).
#[server(prefix = "/admin/fn", endpoint = "audit/credentials")]
pub async fn audited_credentials(
    q: Option<String>,
    view: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<i64>,
) -> Result<AuditedCredentialPage, AppError> {
    use crate::backend::{audit, context};
    let state = context::app_state()?;
    let principal = context::require_principal().or_else(context::fail)?;
    let query = audit::query_from_params(q, view, sort, dir, page);
    audit::credentials(&state, &principal, &query).await.or_else(context::fail)
}

/// Any credential's tracked API use.
#[server(prefix = "/admin/fn", endpoint = "audit/usage")]
pub async fn audited_usage(id: String) -> Result<CredentialUsage, AppError> {
    use crate::backend::{audit, context};
    let state = context::app_state()?;
    let principal = context::require_principal().or_else(context::fail)?;
    audit::usage(&state, &principal, &id).await.or_else(context::fail)
}
