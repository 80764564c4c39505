//! CSV downloads for Auditors: the filtered audit log and the filtered list
//! of every credential. Plain GETs on the web surface (session cookie,
//! Auditor role checked by the auditing service), so a link can carry the
//! same filters as the page.

use app::backend::caller::{Caller, CurrentPrincipal};
use app::backend::credentials::{audited, service as credentials};
use app::backend::{audit, AppState, Error};
use app::error::AppError;
use app::model::AuditFilter;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new().route("/audit/export/events", get(events)).route("/audit/export/credentials", get(credentials))
}

fn csv(result: Result<String, Error>, name: &str, now: i64) -> Response {
    match result {
        Ok(body) => {
            let file = format!("attachment; filename=\"appcred-{name}-{}.csv\"", app::model::format_date(now));
            let mut res = body.into_response();
            let headers = res.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
            if let Ok(v) = HeaderValue::from_str(&file) {
                headers.insert(header::CONTENT_DISPOSITION, v);
            }
            res
        }
        // The UI surface's answer (its status and its words, as text).
        Err(e) => {
            let e = AppError::from(e);
            (StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), e.to_string())
                .into_response()
        }
    }
}

async fn events(
    State(state): State<AppState>,
    Extension(principal): Extension<CurrentPrincipal>,
    Query(filter): Query<AuditFilter>,
) -> Response {
    let now = app::backend::Clock::unix(&*state.clock);
    let result = match principal.0 {
        Some(p) => audit::events_csv(&state, &Caller::Person(p), &filter).await,
        None => Err(Error::Unauthenticated),
    };
    csv(result, "audit", now)
}

#[derive(Deserialize)]
struct CredentialParams {
    q: Option<String>,
    view: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
}

async fn credentials(
    State(state): State<AppState>,
    Extension(principal): Extension<CurrentPrincipal>,
    Query(p): Query<CredentialParams>,
) -> Response {
    let now = app::backend::Clock::unix(&*state.clock);
    let query = audited::query_from_params(p.q, p.view, p.sort, p.dir, None);
    let result = match principal.0 {
        Some(p) => credentials::audited_csv(&state, &Caller::Person(p), &query).await,
        None => Err(Error::Unauthenticated),
    };
    csv(result, "credentials", now)
}
