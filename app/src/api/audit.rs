//! Server functions of the Auditor pages: the audit log and every
//! credential. All read-only; the auditing service checks the role.

use crate::error::AppError;
use crate::model::{AuditEntry, AuditedCredential, CredentialUsage, Page};
use leptos::prelude::*;

/// One page of audit events matching the filters, newest first.
#[server(prefix = "/admin/fn", endpoint = "audit/events")]
pub async fn audit_events(
    from: Option<String>,
    to: Option<String>,
    actor: Option<String>,
    credential: Option<String>,
    event: Option<String>,
    outcome: Option<String>,
    page: Option<i64>,
) -> Result<Page<AuditEntry>, AppError> {
    use crate::api::context;
    use crate::backend::audit;
    let filter = crate::model::AuditFilter { from, to, actor, credential, event, outcome };
    let state = context::app_state()?;
    let caller = context::caller()?;
    Ok(audit::events(&state, &caller, &filter, page.unwrap_or(1)).await?)
}

/// One page of every user's credentials (never a secret).
#[server(prefix = "/admin/fn", endpoint = "audit/credentials")]
pub async fn audited_credentials(
    q: Option<String>,
    view: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<i64>,
) -> Result<Page<AuditedCredential>, AppError> {
    use crate::api::context;
    use crate::backend::credentials::{audited, service};
    let state = context::app_state()?;
    let caller = context::caller()?;
    let query = audited::query_from_params(q, view, sort, dir, page);
    Ok(service::audited(&state, &caller, &query).await?)
}

/// Any credential's tracked API use.
#[server(prefix = "/admin/fn", endpoint = "audit/usage")]
pub async fn audited_usage(id: String) -> Result<CredentialUsage, AppError> {
    use crate::api::context;
    use crate::backend::credentials::service;
    let state = context::app_state()?;
    let caller = context::caller()?;
    Ok(service::audited_usage(&state, &caller, &id).await?)
}
