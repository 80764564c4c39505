//! Request middleware of the admin web surface: client address, CSRF
//! origin checks, the principal resolved once per request, the page guard
//! and security headers.

use app::backend::auth::service::{self, SessionState};
use app::backend::caller::{ClientIp, CurrentPrincipal};
use app::backend::AppState;
use app::error::AppError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use leptos::server_fn::error::SERVER_FN_ERROR_HEADER;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tower_sessions::Session;

/// Marks a request whose session had just timed out, so that sign-in can
/// say so.
#[derive(Clone, Copy, Debug)]
pub struct SessionExpired;

/// Paths served without a session and without the page guard.
fn is_asset_or_probe(path: &str) -> bool {
    path.starts_with("/pkg/") || path == "/healthz" || path.rsplit('/').next().is_some_and(|last| last.contains('.'))
}

/// The caller's address. `X-Forwarded-For` counts only when the peer is a
/// configured trusted proxy, and then the right-most untrusted hop is the
/// client (RFC 9700 §4.13, ASVS V4.1.3).
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    hops.into_iter().rev().find(|ip| !trusted.contains(ip)).unwrap_or(peer)
}

/// The address of the connection's other end (unspecified when unknown).
pub fn peer_address(extensions: &axum::http::Extensions) -> IpAddr {
    extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

pub async fn client_ip(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = peer_address(req.extensions());
    let ip = client_address(peer, req.headers(), &state.security.trusted_proxies);
    req.extensions_mut().insert(ClientIp(ip));
    next.run(req).await
}

/// Refuses state-changing requests that a browser marks as coming from
/// another site (ASVS V3.5.1): `Sec-Fetch-Site` other than same-origin, or
/// an `Origin` whose host differs from ours. Requests with neither header
/// come from non-browser clients, which carry no ambient cookies by accident.
pub async fn csrf(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    if cross_site(req.headers()) {
        tracing::warn!(event = "csrf_refused", path = %req.uri().path());
        return (StatusCode::FORBIDDEN, "Cross-site request refused.").into_response();
    }
    next.run(req).await
}

pub fn cross_site(headers: &HeaderMap) -> bool {
    // Fetch metadata, where the browser sends it, is the authoritative answer.
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site != "same-origin" && site != "none";
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        let origin_host =
            origin.to_str().ok().and_then(|o| o.split_once("://")).map(|(_, rest)| rest.trim_end_matches('/'));
        return match (origin_host, host) {
            (Some(o), Some(h)) => !o.eq_ignore_ascii_case(h),
            _ => true,
        };
    }
    false
}

/// The largest request body accepted anywhere.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request body sent without `Content-Length` (chunked) is read here, up
/// to the size limit, so that an oversized one is answered 413 like one
/// that announced its length, instead of failing inside a server function.
pub async fn limit_streamed_body(req: Request, next: Next) -> Response {
    if req.headers().contains_key(header::CONTENT_LENGTH) || matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await,
        Err(_) => (StatusCode::PAYLOAD_TOO_LARGE, "The request is too large.").into_response(),
    }
}

/// An `x-request-id` sent by the client is kept only when it looks like an
/// id (letters, digits, `-`, at most 64): it goes into every log line.
pub async fn drop_foreign_request_id(mut req: Request) -> Request {
    let acceptable =
        req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).is_some_and(|v| {
            !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !acceptable {
        req.headers_mut().remove("x-request-id");
    }
    req
}

/// The span of one request: its id, method and path (never the query
/// string, which could carry a token sent where it does not belong).
pub fn request_span<B>(req: &axum::http::Request<B>) -> tracing::Span {
    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
    // `client_id` is filled in by the bearer extractor (`api::Bearer`).
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
        client_id = tracing::field::Empty
    )
}

/// Resolves the session into the request's principal, once.
pub async fn principal(State(state): State<AppState>, session: Session, mut req: Request, next: Next) -> Response {
    if is_asset_or_probe(req.uri().path()) {
        req.extensions_mut().insert(CurrentPrincipal(None));
        return next.run(req).await;
    }
    match service::resolve(&state, &session).await {
        Ok(SessionState::Active(mut p)) => {
            p.ip = req.extensions().get::<ClientIp>().map(|c| c.0);
            req.extensions_mut().insert(CurrentPrincipal(Some(p)));
        }
        Ok(SessionState::Expired) => {
            req.extensions_mut().insert(CurrentPrincipal(None));
            req.extensions_mut().insert(SessionExpired);
        }
        Ok(SessionState::Anonymous) => {
            req.extensions_mut().insert(CurrentPrincipal(None));
        }
        Err(e) => {
            tracing::error!(error = ?e, "could not resolve the session");
            return (StatusCode::SERVICE_UNAVAILABLE, "Service temporarily unavailable.").into_response();
        }
    }
    next.run(req).await
}

/// Every page but sign-in needs a session: without one, the browser is sent
/// to sign-in with the page it asked for, and comes back after.
pub async fn guard_pages(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if req.method() != Method::GET || is_asset_or_probe(path) || path.starts_with(app::SERVER_FN_PREFIX) {
        return next.run(req).await;
    }
    let signed_in = req.extensions().get::<CurrentPrincipal>().is_some_and(|p| p.0.is_some());
    if path == "/login" {
        return if signed_in { Redirect::to("/").into_response() } else { next.run(req).await };
    }
    if !signed_in {
        let wanted = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let mut target = String::from("/login");
        let mut sep = '?';
        if wanted != "/" {
            target.push_str("?next=");
            target.push_str(&percent_encode(wanted));
            sep = '&';
        }
        if req.extensions().get::<SessionExpired>().is_some() {
            target.push(sep);
            target.push_str("expired=1");
        }
        return Redirect::to(&target).into_response();
    }
    next.run(req).await
}

fn percent_encode(s: &str) -> String {
    percent_encode_keeping(s, b"-._~/")
}

/// Percent-encodes every byte of `s`'s UTF-8 (RFC 3986 §2.1) but ASCII
/// letters, digits and the bytes of `keep`.
pub fn percent_encode_keeping(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Headers on every response (ASVS V3.4): no sniffing, no framing, no
/// referrer, isolated browsing context; HSTS when served over https. HTML
/// and server-function answers are never cached (ASVS V14.3.2).
pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let cacheable = req.uri().path().starts_with("/pkg/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    // same-origin: nothing leaks to other sites, while our own form posts
    // keep their Origin and Referer (no-referrer would make Origin "null").
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    // Pages set their own policy with the response's script nonce (app::page_csp);
    // everything else (JSON, CSV, assets, errors) gets one that allows nothing
    // to run.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action 'self'",
            ),
        );
    }
    if state.security.secure_cookies {
        h.insert("strict-transport-security", HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    if !cacheable && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// The UI surface's status line: a server function that failed answers
/// 500 with its `AppError` as JSON (leptos marks it with the
/// `serverfnerror` header); here it gets the error's own status (401, 403,
/// 404, 422, 429 with `Retry-After`), so tools and tests see what went
/// wrong. A plain (no-JS) form post is answered with a redirect back to the
/// form, carrying the error, and is left alone. A refused call is logged as
/// a security event (ASVS V16.3.2): who, what, from where.
pub async fn server_fn_status(req: Request, next: Next) -> Response {
    let user = req.extensions().get::<CurrentPrincipal>().and_then(|p| p.0.as_ref()).map(|p| p.user_id.clone());
    let ip = req.extensions().get::<ClientIp>().map(|c| c.0);
    let path = req.uri().path().to_string();
    let res = next.run(req).await;
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR || !res.headers().contains_key(SERVER_FN_ERROR_HEADER) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        if error == AppError::Forbidden {
            let ip = ip.map(|ip| ip.to_string()).unwrap_or_default();
            tracing::warn!(event = "access_refused", user_id = %user.unwrap_or_default(), path = %path, ip = %ip);
        }
        parts.status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let AppError::TooManyAttempts { retry_after_secs } = error {
            parts.headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        // BCP-07: a spoofed header from an untrusted peer is ignored
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(client_address(peer, &h, &[]), peer);
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7")]);
        assert_eq!(client_address(proxy, &h, &[proxy]), "198.51.100.7".parse::<IpAddr>().unwrap());
        assert_eq!(client_address(proxy, &HeaderMap::new(), &[proxy]), proxy);
    }

    #[test]
    fn cross_site_requests_are_recognised() {
        assert!(cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(cross_site(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(!cross_site(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!cross_site(&headers(&[("sec-fetch-site", "same-origin"), ("origin", "null"), ("host", "a")])));
        assert!(cross_site(&headers(&[("sec-fetch-site", "cross-site"), ("origin", "https://a"), ("host", "a")])));
        assert!(cross_site(&headers(&[("origin", "https://evil.example"), ("host", "app.example")])));
        assert!(!cross_site(&headers(&[("origin", "https://app.example"), ("host", "app.example")])));
        assert!(cross_site(&headers(&[("origin", "null"), ("host", "app.example")])));
        assert!(!cross_site(&HeaderMap::new()));
    }

    #[test]
    fn next_paths_are_percent_encoded() {
        assert_eq!(percent_encode("/a b?x=1&y=2"), "/a%20b%3Fx%3D1%26y%3D2");
    }
}
