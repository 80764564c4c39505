//! Forward auth: `/auth/verify`, which a reverse proxy asks before it passes
//! a request on (nginx `auth_request`, Caddy `forward_auth`, Traefik
//! ForwardAuth, Envoy HTTP `ext_authz`). The forwarded request's bearer
//! token is validated as on `/api/v1` (`api::bearer_token`,
//! `tokens::service::validate_for_audience`, which counts as a use when the
//! token is meant for the audience the check names); the proxy may name
//! the roles and the audience it requires. The answer is 200 with the
//! `X-Appcred-*` headers, 401 or 403 with an RFC 6750 §3 challenge, or 503
//! when the store fails: nginx relays nothing else. docs/protect-an-api.md
//! shows the proxies' configurations; docs/errors.md prints the table.

use crate::api::bearer_token;
use crate::error::{ApiError, INVALID_TOKEN};
use crate::middleware::{peer_address, percent_encode_keeping};
use app::backend::caller::{ClientIp, TokenPrincipal};
use app::backend::tokens::rules::audience_admits;
use app::backend::tokens::service;
use app::backend::{AppState, Error};
use app::model::Role;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;

/// The path a proxy asks; Envoy appends the original request's path.
pub const PATH: &str = "/auth/verify";

/// The requirement headers, for proxies that cannot set a query (Envoy).
pub const REQUIRE_ROLES: &str = "x-appcred-require-roles";
pub const REQUIRE_MATCH: &str = "x-appcred-require-match";
pub const AUDIENCE: &str = "x-appcred-audience";

/// The headers of an allowed answer, always all five.
pub const CLIENT_ID: &str = "x-appcred-client-id";
pub const SUBJECT: &str = "x-appcred-subject";
pub const USERNAME: &str = "x-appcred-username";
pub const ROLES: &str = "x-appcred-roles";
pub const CREDENTIAL: &str = "x-appcred-credential";
pub const ANSWER_HEADERS: [&str; 5] = [CLIENT_ID, SUBJECT, USERNAME, ROLES, CREDENTIAL];

/// The headers in which proxies report the original request's URI (nginx's
/// configuration sets the first; Caddy and Traefik send the second).
const ORIGINAL_URI: [&str; 2] = ["x-original-uri", "x-forwarded-uri"];

/// The longest path recorded for usage tracking.
pub const MAX_PATH_CHARS: usize = 120;

/// Any method, on `/auth/verify` and below it.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PATH, any(verify))
        .route("/auth/verify/", any(verify))
        .route("/auth/verify/{*path}", any(verify))
}

/// What the proxy requires of the token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requirements {
    /// Roles, of which the token must carry one (or all, with `all`).
    pub roles: Vec<Role>,
    pub all: bool,
    /// The audience the token must be bound to; none: an unbound token.
    pub audience: Option<String>,
}

/// The requirements of a check. On `/auth/verify` they are its query
/// parameters (`roles`, `match`, `audience`), fixed by the proxy's
/// configuration. Below it (Envoy) the query is the original request's,
/// chosen by the client, so there only the `X-Appcred-Require-Roles`,
/// `X-Appcred-Require-Match` and `X-Appcred-Audience` headers count, which
/// the proxy sets. A requirement that does not parse is the operator's
/// mistake: `Err` names it.
pub fn requirements(parts: &Parts) -> Result<Requirements, &'static str> {
    let (roles, all, audience) = if parts.uri.path() == PATH {
        // A proxy that appends the client's query to a check configured
        // without one (Caddy's `uri /auth/verify`) would let the client
        // choose the requirements: refused as a misconfiguration.
        let query = parts.uri.query().filter(|q| !q.is_empty());
        let original = ORIGINAL_URI.iter().find_map(|n| parts.headers.get(*n)?.to_str().ok());
        if query.is_some() && original.and_then(|u| u.split_once('?')).map(|(_, q)| q.split('#').next()) == Some(query)
        {
            return Err("the query is the client's: configure the check with one of its own");
        }
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).map_err(|_| "the query does not parse")?;
        let one = |name: &str| -> Result<Option<String>, &'static str> {
            let mut values = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone());
            let first = values.next();
            if values.next().is_some() {
                return Err("a requirement is given twice");
            }
            Ok(first)
        };
        (one("roles")?, one("match")?, one("audience")?)
    } else {
        let one = |name: &str| -> Result<Option<String>, &'static str> {
            let mut values = parts.headers.get_all(name).iter();
            let first = values.next().map(|v| v.to_str().map(str::to_string).map_err(|_| "a header is not text"));
            if values.next().is_some() {
                return Err("a requirement is given twice");
            }
            first.transpose()
        };
        (one(REQUIRE_ROLES)?, one(REQUIRE_MATCH)?, one(AUDIENCE)?)
    };
    let roles = roles
        .unwrap_or_default()
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(|s| Role::from_slug(s).ok_or("a required role is unknown"))
        .collect::<Result<Vec<_>, _>>()?;
    let all = match all.as_deref().map(str::trim) {
        None | Some("") | Some("any") => false,
        Some("all") => true,
        Some(_) => return Err("match is neither any nor all"),
    };
    let audience = audience.map(|a| a.trim().to_string()).filter(|a| !a.is_empty());
    Ok(Requirements { roles, all, audience })
}

/// Applies the requirements to a valid token.
pub fn check(required: &Requirements, token: &TokenPrincipal) -> Result<(), ApiError> {
    if !audience_admits(required.audience.as_deref(), token.audience.as_deref()) {
        return Err(ApiError::InvalidToken("the token is not meant for this resource".into()));
    }
    let held = |r: &&Role| token.roles.contains(r);
    let missing = if required.all {
        required.roles.iter().find(|r| !held(r))
    } else if required.roles.iter().any(|r| held(&r)) {
        None
    } else {
        required.roles.first()
    };
    match missing {
        Some(role) => Err(ApiError::from(Error::MissingRole(*role))),
        None => Ok(()),
    }
}

/// The forward-auth table: every domain refusal is 401 or 403 (what nginx
/// relays), the store's failure 503. docs/errors.md prints it.
pub fn from_domain(e: Error) -> ApiError {
    match e {
        Error::Throttled { .. } => ApiError::InvalidToken("too many requests; retry later".into()),
        Error::NotFound | Error::Invalid { .. } => ApiError::InvalidToken(INVALID_TOKEN.into()),
        other => ApiError::from(other),
    }
}

/// A refusal as the proxy gets it: the JSON API's answer, except that a
/// malformed request is 401 (its challenge still says `invalid_request`),
/// as nginx turns a 400 into a 500.
pub fn answer(e: ApiError) -> Response {
    let mut res = e.into_response();
    if res.status() == StatusCode::BAD_REQUEST {
        *res.status_mut() = StatusCode::UNAUTHORIZED;
    }
    res
}

async fn verify(State(state): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let required = match requirements(&parts) {
        Ok(r) => r,
        Err(why) => {
            tracing::error!(event = "forward_auth_misconfigured", why);
            return (StatusCode::INTERNAL_SERVER_ERROR, "forward auth is misconfigured").into_response();
        }
    };
    let token = match bearer_token(&parts) {
        Ok(t) => t,
        Err(e) => return answer(e),
    };
    let principal = match service::validate_for_audience(&state, token, required.audience.as_deref()).await {
        Ok(p) => p,
        Err(e) => return answer(from_domain(e)),
    };
    tracing::Span::current().record("client_id", principal.credential_id.as_str());
    if let Some(ClientIp(ip)) = parts.extensions.get::<ClientIp>().copied() {
        let trusted = state.security.trusted_proxies.contains(&peer_address(&parts.extensions));
        let (method, path) = original_request(&parts, trusted);
        state.usage.record(&principal.credential_id, &method, &path, ip, state.clock.unix());
    }
    match check(&required, &principal) {
        Ok(()) => allowed(&principal),
        Err(e) => answer(e),
    }
}

/// 200, with who the caller is.
fn allowed(p: &TokenPrincipal) -> Response {
    let roles: Vec<&str> = p.roles.iter().map(|r| r.slug()).collect();
    let values = [
        header_text(&p.credential_id),
        header_text(&p.owner_id),
        header_text(&p.owner_username),
        roles.join(" "),
        header_text(&p.credential_name),
    ];
    let mut res = StatusCode::OK.into_response();
    for (name, value) in ANSWER_HEADERS.into_iter().zip(values) {
        if let Ok(value) = HeaderValue::from_str(&value) {
            res.headers_mut().insert(HeaderName::from_static(name), value);
        }
    }
    res
}

/// Text made safe for a header value: every byte of its UTF-8 but the
/// unreserved characters of RFC 3986 §2.3 is percent-encoded (§2.1), so a
/// name cannot end the header or start another.
pub fn header_text(s: &str) -> String {
    percent_encode_keeping(s, b"-._~")
}

/// The method and path to count the call under: the original request's,
/// which the proxy reports (`X-Original-Method` and `X-Original-URI` from
/// nginx, `X-Forwarded-Method` and `X-Forwarded-Uri` from Caddy and
/// Traefik, the path below `/auth/verify` from Envoy), believed only from a
/// trusted proxy; otherwise `/auth/verify` itself.
pub fn original_request(parts: &Parts, trusted_peer: bool) -> (String, String) {
    let own = parts.method.as_str();
    if !trusted_peer {
        return (own.to_string(), PATH.to_string());
    }
    let header = |names: [&str; 2]| names.into_iter().find_map(|n| parts.headers.get(n).and_then(|v| v.to_str().ok()));
    let method = header(["x-original-method", "x-forwarded-method"])
        .filter(|m| !m.is_empty() && m.len() <= 16 && m.bytes().all(|b| b.is_ascii_alphabetic()))
        .map(str::to_ascii_uppercase)
        .unwrap_or_else(|| own.to_string());
    let below = parts.uri.path().strip_prefix(PATH).filter(|rest| rest.starts_with('/'));
    match header(ORIGINAL_URI).or(below) {
        Some(path) => (method, normalise_path(path)),
        None => (method, PATH.to_string()),
    }
}

/// A path as usage tracking keeps it: without the query, every id-like
/// segment replaced by `{id}`, at most [`MAX_PATH_CHARS`] long.
pub fn normalise_path(raw: &str) -> String {
    let path = raw.split(['?', '#']).next().unwrap_or("");
    // An absolute URI (RFC 9112 §3.2.2): its path.
    let path = match path.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => path,
    };
    let mut out = String::new();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        out.push_str(if id_like(segment) { "{id}" } else { segment });
        if out.len() > MAX_PATH_CHARS {
            break;
        }
    }
    if out.len() > MAX_PATH_CHARS {
        let mut end = MAX_PATH_CHARS;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// Whether a path segment looks like an id: a UUID, a run of 4 or more
/// digits, 8 or more hex digits with a digit among them, or 16 or more
/// characters of token text with a digit or both cases.
fn id_like(s: &str) -> bool {
    let b = s.as_bytes();
    let has_digit = b.iter().any(u8::is_ascii_digit);
    let uuid = b.len() == 36
        && b.iter()
            .enumerate()
            .all(|(i, c)| if [8, 13, 18, 23].contains(&i) { *c == b'-' } else { c.is_ascii_hexdigit() });
    let digits = b.len() >= 4 && b.iter().all(u8::is_ascii_digit);
    let hex = b.len() >= 8 && has_digit && b.iter().all(u8::is_ascii_hexdigit);
    let mixed_case = b.iter().any(u8::is_ascii_uppercase) && b.iter().any(u8::is_ascii_lowercase);
    let token = b.len() >= 16
        && (has_digit || mixed_case)
        && b.iter().all(|c| c.is_ascii_alphanumeric() || b"-_.~+=%".contains(c));
    uuid || digits || hex || token
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = Request::get(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn token(roles: &[Role], audience: Option<&str>) -> TokenPrincipal {
        TokenPrincipal {
            credential_id: "c".into(),
            credential_name: "n".into(),
            owner_id: "o".into(),
            owner_username: "u".into(),
            owner_display_name: "U".into(),
            roles: roles.to_vec(),
            issued_at: 0,
            expires_at: 1,
            audience: audience.map(str::to_string),
        }
    }

    #[test]
    fn an_audience_admits_only_tokens_bound_to_it() {
        assert!(audience_admits(None, None), "no audience, unbound token");
        assert!(audience_admits(Some("https://a.example"), Some("https://a.example")));
        assert!(!audience_admits(None, Some("https://a.example")), "a bound token opens no unnamed resource");
        assert!(!audience_admits(Some("https://b.example"), Some("https://a.example")), "nor another one");
        assert!(audience_admits(Some("https://a.example"), None), "an unbound token is valid everywhere");
        let need = Requirements { audience: Some("https://a.example".into()), ..Default::default() };
        let refused = check(&Requirements::default(), &token(&[], Some("https://a.example"))).unwrap_err();
        assert!(matches!(refused, ApiError::InvalidToken(_)), "401 invalid_token");
        assert!(check(&need, &token(&[], Some("https://a.example"))).is_ok());
    }

    #[test]
    fn roles_match_any_or_all() {
        let any = Requirements { roles: vec![Role::WorkCreator, Role::TeamLeader], ..Default::default() };
        let all = Requirements { all: true, ..any.clone() };
        assert!(check(&any, &token(&[Role::TeamLeader], None)).is_ok());
        assert_eq!(
            check(&all, &token(&[Role::WorkCreator], None)).unwrap_err(),
            ApiError::InsufficientScope(Role::TeamLeader)
        );
        assert!(check(&all, &token(&[Role::TeamLeader, Role::WorkCreator], None)).is_ok());
        assert!(matches!(check(&any, &token(&[Role::Auditor], None)), Err(ApiError::InsufficientScope(_))));
        assert!(check(&Requirements::default(), &token(&[], None)).is_ok());
    }

    #[test]
    fn requirements_come_from_the_query_on_the_path_and_from_headers_below_it() {
        let q = parts("/auth/verify?roles=work_creator,team_leader&match=all&audience=https%3A%2F%2Fa.example", &[]);
        let r = requirements(&q).unwrap();
        assert_eq!(r.roles, vec![Role::WorkCreator, Role::TeamLeader]);
        assert!(r.all);
        assert_eq!(r.audience.as_deref(), Some("https://a.example"));
        // The headers do not count on /auth/verify, nor the query below it
        // (Envoy forwards the client's query).
        let forged = [(REQUIRE_ROLES, "auditor"), (AUDIENCE, "https://x.example")];
        assert_eq!(requirements(&parts("/auth/verify", &forged)).unwrap(), Requirements::default());
        let envoy = parts("/auth/verify/api/x?roles=auditor&audience=y", &[(REQUIRE_ROLES, "team_leader")]);
        assert_eq!(requirements(&envoy).unwrap().roles, vec![Role::TeamLeader]);
        assert_eq!(requirements(&envoy).unwrap().audience, None);
        let copied = parts("/auth/verify?audience=x", &[("x-forwarded-uri", "/api?audience=x")]);
        assert!(requirements(&copied).is_err(), "the client's own query is no requirement");
        let own = parts("/auth/verify?roles=auditor", &[("x-forwarded-uri", "/api?audience=x")]);
        assert!(requirements(&own).is_ok());
        for bad in ["/auth/verify?roles=nobody", "/auth/verify?match=some", "/auth/verify?roles=auditor&roles=x"] {
            assert!(requirements(&parts(bad, &[])).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_are_normalised_for_usage_tracking() {
        assert_eq!(normalise_path("/orders/8f14e45f-ceea-467f-a0e3-9fa2a9e2c1b4/items?page=2"), "/orders/{id}/items");
        assert_eq!(normalise_path("/users/123456"), "/users/{id}");
        assert_eq!(normalise_path("/blobs/deadbeef0123"), "/blobs/{id}");
        assert_eq!(normalise_path("/t/act_aB3dE5gH7jK9mN1p"), "/t/{id}");
        assert_eq!(normalise_path("/api/v2/work-items"), "/api/v2/work-items");
        assert_eq!(normalise_path("https://h.example/a/b?access_token=x"), "/a/b");
        assert_eq!(normalise_path(""), "/");
        assert!(normalise_path(&"/segment".repeat(100)).len() <= MAX_PATH_CHARS);
    }

    #[test]
    fn the_original_request_is_believed_only_from_a_trusted_proxy() {
        let p = parts("/auth/verify", &[("x-original-method", "delete"), ("x-original-uri", "/orders/12345?x=1")]);
        assert_eq!(original_request(&p, true), ("DELETE".into(), "/orders/{id}".into()));
        assert_eq!(original_request(&p, false), ("GET".into(), "/auth/verify".into()));
        let caddy = parts("/auth/verify", &[("x-forwarded-method", "POST"), ("x-forwarded-uri", "/a")]);
        assert_eq!(original_request(&caddy, true), ("POST".into(), "/a".into()));
        let envoy = parts("/auth/verify/things/123456", &[]);
        assert_eq!(original_request(&envoy, true), ("GET".into(), "/things/{id}".into()));
    }

    #[test]
    fn names_are_encoded_for_a_header() {
        assert_eq!(header_text("Nightly export"), "Nightly%20export");
        assert_eq!(header_text("a\r\nX-Evil: 1"), "a%0D%0AX-Evil%3A%201");
        assert_eq!(header_text("Zoë"), "Zo%C3%AB");
        assert!(HeaderValue::from_str(&header_text("\u{7f}\"\\")).is_ok());
    }

    #[test]
    fn refusals_are_401_403_or_503() {
        for e in [
            Error::Unauthenticated,
            Error::MissingRole(Role::Auditor),
            Error::Throttled { retry_after_secs: 3 },
            Error::NotFound,
            Error::Internal(anyhow::anyhow!("down")),
        ] {
            let status = answer(from_domain(e)).status().as_u16();
            assert!([401, 403, 503].contains(&status), "{status}");
        }
        assert_eq!(answer(ApiError::InvalidRequest("malformed bearer token")).status(), StatusCode::UNAUTHORIZED);
    }
}
