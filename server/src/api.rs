//! The bearer-protected API under `/api/v1` (RFC 6750). One extractor,
//! [`Bearer`], validates the token; each handler states the role it needs.

use crate::error::ApiError;
use app::backend::audit;
use app::backend::caller::ClientIp;
use app::backend::caller::{Caller, TokenPrincipal};
use app::backend::credentials::service as credentials;
use app::backend::tokens::service;
use app::backend::users::service as users;
use app::backend::AppState;
use app::model::Role;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, MatchedPath, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Extension;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;

/// Mounted at `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/users", get(list_users))
        .route("/users/{id}/roles/{role}", put(grant_role).delete(revoke_role))
        .route("/credentials", get(list_credentials))
        .route("/audit", get(list_audit_events))
        .fallback(not_found)
}

/// Extracts the token from `Authorization: Bearer <b64token>` only (R6750-01,
/// R6750-02): the scheme matches case-insensitively; a token in the query
/// string or two Authorization headers are `invalid_request`. Credentials of
/// another scheme (`Basic`) are no bearer credentials at all: the answer is
/// the bare challenge, as without the header (RFC 6750 §3.1).
pub fn bearer_token(parts: &Parts) -> Result<&str, ApiError> {
    if crate::oauth::form::query_has_any(parts.uri.query(), &["access_token"]) {
        return Err(ApiError::InvalidRequest("tokens are accepted in the Authorization header only"));
    }
    let mut values = parts.headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else { return Err(ApiError::Missing) };
    if values.next().is_some() {
        return Err(ApiError::InvalidRequest("more than one Authorization header"));
    }
    let value = value.to_str().map_err(|_| ApiError::InvalidRequest("malformed Authorization header"))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Missing);
    }
    let token = token.trim_start_matches(' ');
    let body = token.trim_end_matches('=');
    let b64token = !body.is_empty() && body.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    if !b64token {
        return Err(ApiError::InvalidRequest("malformed bearer token"));
    }
    Ok(token)
}

/// A request authenticated by a valid bearer token: the token's principal
/// and the caller's address. Every log line of the request names the
/// client (the request span's `client_id`).
pub struct Bearer {
    pub token: TokenPrincipal,
    pub ip: Option<std::net::IpAddr>,
}

impl FromRequestParts<AppState> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts)?;
        match service::validate_for_api(state, token).await {
            Ok(p) => {
                tracing::Span::current().record("client_id", p.credential_id.as_str());
                // API access tracking: method and route template, in memory.
                let route = parts.extensions.get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or("?");
                let ip = parts.extensions.get::<ClientIp>().map(|c| c.0);
                if let Some(ip) = ip {
                    state.usage.record(&p.credential_id, parts.method.as_str(), route, ip, state.clock.unix());
                }
                Ok(Bearer { token: p, ip })
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl Bearer {
    /// The caller the services authorize.
    pub fn caller(&self) -> Caller {
        Caller::Client(self.token.clone(), self.ip)
    }
}

/// The answer of `GET /api/v1/me`.
#[derive(Serialize)]
struct Me<'a> {
    client_id: &'a str,
    credential_name: &'a str,
    owner: Owner<'a>,
    roles: Vec<&'static str>,
    scope: String,
    issued_at: i64,
    expires_at: i64,
}

#[derive(Serialize)]
struct Owner<'a> {
    id: &'a str,
    username: &'a str,
    display_name: &'a str,
}

/// The credential, its owner and the roles this token carries.
async fn me(Bearer { token: p, .. }: Bearer) -> Response {
    Json(Me {
        client_id: &p.credential_id,
        credential_name: &p.credential_name,
        owner: Owner { id: &p.owner_id, username: &p.owner_username, display_name: &p.owner_display_name },
        roles: p.roles.iter().map(|r| r.slug()).collect(),
        scope: app::backend::tokens::roles_to_scope(&p.roles),
        issued_at: p.issued_at,
        expires_at: p.expires_at,
    })
    .into_response()
}

/// Users and their roles: User Manager.
async fn list_users(State(state): State<AppState>, bearer: Bearer) -> Result<Json<serde_json::Value>, ApiError> {
    let list = users::list_with_roles(&state, &bearer.caller()).await?;
    Ok(Json(json!({
        "users": list.iter().map(|u| json!({
            "id": u.user.id,
            "username": u.user.username,
            "display_name": u.user.display_name,
            "active": u.user.active,
            "roles": u.roles.iter().map(|r| r.slug()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>()
    })))
}

/// Every live credential, never a secret: Auditor.
async fn list_credentials(State(state): State<AppState>, bearer: Bearer) -> Result<Json<serde_json::Value>, ApiError> {
    let rows = credentials::list_all(&state, &bearer.caller()).await?;
    Ok(Json(json!({
        "credentials": rows.iter().map(|(c, roles)| json!({
            "client_id": c.id,
            "name": c.name,
            "owner_id": c.owner_id,
            "roles": roles.iter().map(|r| r.slug()).collect::<Vec<_>>(),
            "expires_at": c.expires_at,
            "created_at": c.created_at,
            "last_used_at": c.last_used_at,
            "secret_rotated_at": c.secret_rotated_at,
        })).collect::<Vec<_>>()
    })))
}

/// The query of `GET /api/v1/audit`: the audit page's filters and a page.
/// (The page is read as text: a flattened struct hands every value over as
/// a string.)
#[derive(serde::Deserialize)]
struct AuditQuery {
    #[serde(flatten)]
    filter: app::model::AuditFilter,
    page: Option<String>,
}

/// The audit log, newest first, a page at a time, with the audit page's
/// filters: Auditor. Events never hold a secret (docs/audit.md).
async fn list_audit_events(
    State(state): State<AppState>,
    bearer: Bearer,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let caller = bearer.caller();
    caller.require(Role::Auditor)?;
    let parsed = query.ok().and_then(|Query(q)| Some((q.page.as_deref().map(str::parse).transpose().ok()?, q.filter)));
    let (page, filter) = parsed.ok_or(ApiError::BadParameter("page must be a whole number"))?;
    let page = audit::events(&state, &caller, &filter, page.unwrap_or(1)).await?;
    Ok(Json(json!({
        "events": page.items.iter().map(|e| json!({
            "seq": e.seq,
            "at": e.at,
            "event": e.event,
            "outcome": e.outcome,
            "actor": { "kind": e.actor_kind, "id": e.actor_id, "name": e.actor_name },
            "ip": e.ip,
            "target": e.target_kind.as_ref().map(|kind| json!({ "kind": kind, "id": e.target_id, "name": e.target_name })),
            "details": serde_json::from_str::<serde_json::Value>(&e.details).unwrap_or(serde_json::Value::Null),
        })).collect::<Vec<_>>(),
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
    })))
}

/// Grants a role to a user: User Manager (Administrator to grant
/// Administrator). 204 whether or not the user held it already.
async fn grant_role(
    State(state): State<AppState>,
    bearer: Bearer,
    Extension(ip): Extension<ClientIp>,
    Path((id, role)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    change_role(&state, &bearer, ip, &id, &role, true).await
}

/// Revokes a role: every token of the user's credentials that carries it
/// dies at once (LC-03).
async fn revoke_role(
    State(state): State<AppState>,
    bearer: Bearer,
    Extension(ip): Extension<ClientIp>,
    Path((id, role)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    change_role(&state, &bearer, ip, &id, &role, false).await
}

async fn change_role(
    state: &AppState,
    bearer: &Bearer,
    ip: ClientIp,
    id: &str,
    role: &str,
    grant: bool,
) -> Result<StatusCode, ApiError> {
    let role = Role::from_slug(role).ok_or(ApiError::NotFound)?;
    let by = Caller::Client(bearer.token.clone(), Some(ip.0));
    let result = if grant {
        users::grant_role(state, &by, id, role).await
    } else {
        users::revoke_role(state, &by, id, role).await
    };
    result?;
    Ok(StatusCode::NO_CONTENT)
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(headers: &[(&str, &str)], uri: &str) -> Parts {
        let mut b = Request::get(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn the_bearer_scheme_is_matched_case_insensitively() {
        // R6750-01, RS-02
        let p = parts(&[("authorization", "bEaReR act_abc-._~+/==")], "/api/v1/me");
        assert_eq!(bearer_token(&p).unwrap(), "act_abc-._~+/==");
    }

    #[test]
    fn malformed_missing_and_query_tokens_are_told_apart() {
        assert_eq!(bearer_token(&parts(&[], "/api/v1/me")).unwrap_err(), ApiError::Missing);
        // Another scheme is no bearer credentials: the bare challenge (RFC 6750 §3.1).
        for other in ["Basic abc", "basic", "Digest x=1"] {
            assert_eq!(
                bearer_token(&parts(&[("authorization", other)], "/")).unwrap_err(),
                ApiError::Missing,
                "{other}"
            );
        }
        for bad in ["Bearer", "Bearer ", "Bearer a b", "Bearer ä", "Bearer ===="] {
            assert!(
                matches!(bearer_token(&parts(&[("authorization", bad)], "/")), Err(ApiError::InvalidRequest(_))),
                "{bad}"
            );
        }
        let q = parts(&[], "/api/v1/me?access_token=act_x");
        assert!(matches!(bearer_token(&q), Err(ApiError::InvalidRequest(_))), "RS-10");
        let two = parts(&[("authorization", "Bearer a"), ("authorization", "Bearer b")], "/");
        assert!(matches!(bearer_token(&two), Err(ApiError::InvalidRequest(_))));
    }
}
