//! The OAuth 2.0 endpoints: token (RFC 6749 §4.4), introspection (RFC 7662),
//! revocation (RFC 7009) and metadata (RFC 8414).

pub mod error;
pub mod form;

use app::backend::caller::ClientIp;
use app::backend::tokens::service::{self, RefusedRequest};
use app::backend::tokens::{AuthenticatedClient, Introspector};
use app::backend::AppState;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
pub use error::OAuthError;
use form::{client_auth, is_form_content_type, parse_form, ClientAuth, Params};
use serde_json::json;

/// Bodies of OAuth requests are small; anything larger is refused.
pub const MAX_BODY_BYTES: usize = 8 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth/token", post(token).fallback(method_not_allowed))
        .route("/oauth/introspect", post(introspect).fallback(method_not_allowed))
        .route("/oauth/revoke", post(revoke).fallback(method_not_allowed))
        .route("/.well-known/oauth-authorization-server", get(metadata))
}

fn fail(error: impl Into<OAuthError>) -> Response {
    error.into().into_response()
}

/// R6749-31: responses with tokens or credentials are never cached.
pub fn no_store(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

async fn method_not_allowed() -> Response {
    // R6749-02: no token for GET (or anything but POST)
    let mut res = fail(OAuthError::invalid_request("use POST"));
    *res.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    res.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
    res
}

/// Reads and checks a form request: POST body of the form type, no
/// credentials in the query string (R6749-12, ASVS V14.2.1).
async fn read_request(req: Request) -> Result<(HeaderMap, Params, std::net::IpAddr), Response> {
    let (parts, body) = req.into_parts();
    let ip = parts.extensions.get::<ClientIp>().map(|c| c.0).unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    if form::query_has_any(parts.uri.query(), &["client_secret", "client_id", "token", "access_token"]) {
        return Err(fail(OAuthError::invalid_request("credentials and tokens are not accepted in the URL")));
    }
    if !is_form_content_type(parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok())) {
        return Err(fail(OAuthError::invalid_request("the body must be application/x-www-form-urlencoded")));
    }
    let bytes: Bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| fail(OAuthError::invalid_request("the body is too large")))?;
    let params = parse_form(&bytes).map_err(fail)?;
    Ok((parts.headers, params, ip))
}

/// The client id and secret a request authenticates with (one method).
fn presented(headers: &HeaderMap, params: &Params) -> Result<(String, String), OAuthError> {
    let authorization = headers.get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or("\u{0}"));
    match client_auth(authorization, params)? {
        ClientAuth::Basic(b) => Ok((b.client_id, b.secret)),
        ClientAuth::Body { client_id, secret } => Ok((client_id, secret)),
        ClientAuth::None => Err(OAuthError::no_client_authentication()),
    }
}

/// The answer to a failed authentication, counted for the audit log.
async fn not_authenticated(state: &AppState, id: &str, ip: std::net::IpAddr, e: app::backend::Error) -> Response {
    let look_up = matches!(e, app::backend::Error::InvalidCredentials);
    refused(state, RefusedRequest { client_id: id, ip, credential: None, look_up }, e).await
}

/// Authenticates the client of a token or revocation request.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    ip: std::net::IpAddr,
) -> Result<AuthenticatedClient, Response> {
    let (id, secret) = presented(headers, params).map_err(fail)?;
    match service::authenticate(state, &id, &secret, ip).await {
        Ok(c) => Ok(c),
        Err(e) => Err(not_authenticated(state, &id, ip, e).await),
    }
}

/// The answer to a refused token request, counted for the audit log with
/// the words the client is told (a store failure is not a refusal).
async fn refused(state: &AppState, request: RefusedRequest<'_>, e: app::backend::Error) -> Response {
    let internal = matches!(e, app::backend::Error::Internal(_));
    let error = OAuthError::from(e);
    if !internal {
        if let Err(e) = service::record_refusal(state, request, error.code.as_str(), error.description()).await {
            return fail(e);
        }
    }
    fail(error)
}

async fn token(State(state): State<AppState>, req: Request) -> Response {
    let (headers, params, ip) = match read_request(req).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    match params.get("grant_type") {
        None => return fail(OAuthError::invalid_request("grant_type is required")),
        Some("client_credentials") => {}
        Some(_) => return fail(OAuthError::unsupported_grant_type()),
    }
    let client = match authenticate(&state, &headers, &params, ip).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let resource = params.resource();
    let issued = match resource {
        Ok(resource) => service::issue(&state, &client, params.get("scope"), resource).await,
        Err(e) => Err(e),
    };
    match issued {
        Ok(t) => {
            // R6749-30: exactly these members; no refresh token (R6749-23)
            let mut res = Json(json!({
                "access_token": t.access_token,
                "token_type": "Bearer",
                "expires_in": t.expires_in,
                "scope": t.scope,
            }))
            .into_response();
            no_store(res.headers_mut());
            res
        }
        Err(e) => {
            let request =
                RefusedRequest { client_id: &client.credential_id, ip, credential: Some(&client), look_up: false };
            refused(&state, request, e).await
        }
    }
}

/// The `token` parameter of introspection and revocation.
fn token_param(params: &Params) -> Result<String, OAuthError> {
    let token = params.get("token").ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    Ok(token.to_string())
}

/// The common start of revocation: a well-formed form request, an
/// authenticated client, and a `token` parameter.
async fn token_request(state: &AppState, req: Request) -> Result<(AuthenticatedClient, String), Response> {
    let (headers, params, ip) = read_request(req).await?;
    let client = authenticate(state, &headers, &params, ip).await?;
    Ok((client, token_param(&params).map_err(fail)?))
}

/// RFC 7662: a client introspects its own tokens; a protected API
/// (§2.1) the tokens meant for it.
async fn introspect(State(state): State<AppState>, req: Request) -> Response {
    let (headers, params, ip) = match read_request(req).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let (id, secret) = match presented(&headers, &params) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let who = match service::authenticate_introspector(&state, &id, &secret, ip).await {
        Ok(who) => who,
        Err(e) => return not_authenticated(&state, &id, ip, e).await,
    };
    let token = match token_param(&params) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let client = match who {
        Introspector::Client(c) => c,
        Introspector::Api(api) => return introspected_by_api(&state, &api, &token).await,
    };
    let token = token.as_str();
    let body = match service::introspect(&state, &client, token).await {
        Ok(Some(i)) => json!({
            "active": true,
            "scope": i.scope,
            "client_id": i.client_id,
            "token_type": "Bearer",
            "exp": i.exp,
            "iat": i.iat,
            "nbf": i.iat,
            "sub": format!("client:{}", i.client_id),
            "iss": state.security.issuer,
        }),
        // R7662-04: nothing but active=false
        Ok(None) => json!({ "active": false }),
        Err(e) => return fail(e),
    };
    let mut res = Json(body).into_response();
    no_store(res.headers_mut());
    res
}

/// The answer to a protected API (RFC 7662 §2.2): who the token acts for
/// (`sub`, the owner's user id, and `username`), through which credential,
/// and, for a bound token, its audience (`aud`).
async fn introspected_by_api(state: &AppState, api: &app::backend::tokens::AuthenticatedApi, token: &str) -> Response {
    let body = match service::introspect_for_api(state, api, token).await {
        Ok(Some(i)) => {
            let p = &i.principal;
            let mut body = json!({
                "active": true,
                "scope": i.scope,
                "client_id": p.credential_id,
                "credential_name": p.credential_name,
                "sub": p.owner_id,
                "username": p.owner_username,
                "token_type": "Bearer",
                "exp": p.expires_at,
                "iat": p.issued_at,
                "nbf": p.issued_at,
                "iss": state.security.issuer,
            });
            if let Some(aud) = &p.audience {
                body["aud"] = json!(aud);
            }
            body
        }
        // R7662-04: nothing but active=false
        Ok(None) => json!({ "active": false }),
        Err(e) => return fail(e),
    };
    let mut res = Json(body).into_response();
    no_store(res.headers_mut());
    res
}

async fn revoke(State(state): State<AppState>, req: Request) -> Response {
    let (client, token) = match token_request(&state, req).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let token = token.as_str();
    // R7009-04: the hint is ignored; unknown tokens are a success
    match service::revoke(&state, &client, token).await {
        Ok(()) => {
            let mut res = StatusCode::OK.into_response();
            no_store(res.headers_mut());
            res
        }
        Err(e) => fail(e),
    }
}

/// RFC 8414 metadata.
async fn metadata(State(state): State<AppState>) -> Response {
    let issuer = &state.security.issuer;
    let methods = ["client_secret_basic", "client_secret_post"];
    let scopes: Vec<&str> = app::model::Role::ALL.iter().map(|r| r.slug()).collect();
    Json(json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/oauth/token"),
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": methods,
        "introspection_endpoint": format!("{issuer}/oauth/introspect"),
        "introspection_endpoint_auth_methods_supported": methods,
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "revocation_endpoint_auth_methods_supported": methods,
        "scopes_supported": scopes,
    }))
    .into_response()
}
