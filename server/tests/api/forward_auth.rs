//! Forward auth (`/auth/verify`, server/src/forward_auth.rs) in process:
//! the answers a proxy relays, the requirements, the token's use and the
//! usage tracking of the original request. Real proxies: `proxies.rs`.

use crate::common::*;
use app::model::Role;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};

const BARE: &str = "Bearer realm=\"appcred\"";

async fn verify(app: &TestApp, method: &str, uri: &str, headers: &[(&str, &str)]) -> TestResponse {
    let mut b = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    app.send(b.body(Body::empty()).unwrap()).await
}

/// alice (Work Creator) with a credential carrying her role, and a token.
async fn alice(app: &TestApp) -> (String, Client, String) {
    let alice = app.create_user("alice", ADMIN_PASSWORD, &[Role::WorkCreator]).await;
    let c = credential_for(app, &alice, "Nightly export: ünïcode", &["work_creator"]).await;
    let t = access_token(app, &c).await;
    (alice, c, t)
}

#[tokio::test]
async fn a_valid_token_is_allowed_with_who_it_is() {
    let app = spawn().await;
    let (alice, c, t) = alice(&app).await;
    let bearer = format!("Bearer {t}");
    for (method, uri) in
        [("GET", "/auth/verify"), ("POST", "/auth/verify?roles=work_creator"), ("DELETE", "/auth/verify/orders/1")]
    {
        let res = verify(&app, method, uri, &[("authorization", &bearer)]).await;
        assert_eq!(res.status, StatusCode::OK, "{method} {uri}: {}", res.body);
        assert_eq!(res.header("x-appcred-client-id"), Some(c.id.as_str()));
        assert_eq!(res.header("x-appcred-subject"), Some(alice.as_str()));
        assert_eq!(res.header("x-appcred-username"), Some("alice"));
        assert_eq!(res.header("x-appcred-roles"), Some("work_creator"));
        assert_eq!(res.header("x-appcred-credential"), Some("Nightly%20export%3A%20%C3%BCn%C3%AFcode"));
        assert_eq!(res.header("cache-control"), Some("no-store"));
    }
}

#[tokio::test]
async fn missing_roles_are_403_and_bad_tokens_401_with_a_challenge() {
    let app = spawn().await;
    let (_, _, t) = alice(&app).await;
    let bearer = format!("Bearer {t}");
    let auth = [("authorization", bearer.as_str())];

    let res = verify(&app, "GET", "/auth/verify?roles=team_leader,auditor", &auth).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    let challenge = res.header("www-authenticate").unwrap();
    assert!(challenge.contains("error=\"insufficient_scope\""), "{challenge}");
    let res = verify(&app, "GET", "/auth/verify?roles=work_creator,team_leader&match=all", &auth).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = verify(&app, "GET", "/auth/verify?roles=team_leader+work_creator&match=any", &auth).await;
    assert_eq!(res.status, StatusCode::OK);
    // Below /auth/verify (Envoy), the query is the client's: it requires nothing.
    let envoy = [("authorization", bearer.as_str()), ("x-appcred-require-roles", "auditor")];
    assert_eq!(verify(&app, "GET", "/auth/verify/x?roles=work_creator", &envoy).await.status, StatusCode::FORBIDDEN);

    // An audience named: this token is bound to none, so it is valid there
    // too (bound tokens: protected_apis.rs).
    let res = verify(&app, "GET", "/auth/verify?audience=https%3A%2F%2Fapi.example", &auth).await;
    assert_eq!(res.status, StatusCode::OK);

    for bad in ["Bearer act_unknown", "Bearer ä", "Bearer a b"] {
        let res = verify(&app, "GET", "/auth/verify", &[("authorization", bad)]).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{bad}: nginx relays only 401 and 403");
        assert!(res.header("www-authenticate").unwrap().contains("error="), "{bad}");
    }
    let res = verify(&app, "GET", &format!("/auth/verify?access_token={t}"), &[]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "a token in the query string is refused");
    assert!(res.header("www-authenticate").unwrap().contains("invalid_request"));
    assert!(!res.body.contains(&t));

    // A misconfigured requirement fails closed.
    assert_eq!(verify(&app, "GET", "/auth/verify?roles=nobody", &auth).await.status, StatusCode::INTERNAL_SERVER_ERROR);
}

/// No bearer credentials, or another scheme: the bare challenge (RFC 6750
/// §3.1), on /auth/verify and on /api/v1 alike.
#[tokio::test]
async fn no_bearer_credentials_get_the_bare_challenge_everywhere() {
    let app = spawn().await;
    let (_, c, _) = alice(&app).await;
    let basic = basic(&c.id, &c.secret);
    for path in ["/auth/verify", "/api/v1/me"] {
        for auth in [None, Some(basic.as_str()), Some("Digest username=x")] {
            let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", *a)).collect();
            let res = verify(&app, "GET", path, &headers).await;
            assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{path} {auth:?}: {}", res.body);
            assert_eq!(res.header("www-authenticate"), Some(BARE), "{path} {auth:?}");
        }
    }
}

#[tokio::test]
async fn a_check_counts_as_a_use_of_the_token() {
    let app = spawn().await;
    let (_, _, t) = alice(&app).await;
    let idle = app::backend::settings::current(&app.state).await.unwrap().token_idle_secs;
    let bearer = format!("Bearer {t}");
    for _ in 0..2 {
        app.clock.advance(idle - 10);
        let res = verify(&app, "GET", "/auth/verify", &[("authorization", &bearer)]).await;
        assert_eq!(res.status, StatusCode::OK, "the idle timeout was reset by the last check");
    }
    assert_alive(&app, &t).await;
    app.clock.advance(idle + 1);
    let res = verify(&app, "GET", "/auth/verify", &[("authorization", &bearer)]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "idle");
}

#[tokio::test]
async fn a_database_outage_is_503() {
    let app = spawn().await;
    app.state.db.pool.close().await;
    let res = verify(&app, "GET", "/auth/verify", &[("authorization", "Bearer act_never_seen_before")]).await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "{}", res.body);
}

async fn endpoints(app: &TestApp, credential: &str) -> Vec<(String, i64)> {
    app.state.usage.flush(&app.state.db.pool).await.unwrap();
    let usage = app::backend::usage::for_credential(&app.state.db.pool, &Default::default(), credential, app.now())
        .await
        .unwrap();
    usage.days.into_iter().map(|d| (d.endpoint, d.calls)).collect()
}

#[tokio::test]
async fn the_original_request_is_tracked_only_from_a_trusted_proxy() {
    let forwarded = [
        ("x-original-method", "PUT"),
        ("x-original-uri", "/orders/8f14e45f-ceea-467f-a0e3-9fa2a9e2c1b4/lines/123456?secret=1"),
    ];
    // The harness's peer is 127.0.0.1.
    let trusting =
        spawn_with(Options { trusted_proxies: vec!["127.0.0.1".parse().unwrap()], ..Default::default() }).await;
    let untrusting = spawn().await;
    for (app, expected) in [(&trusting, "PUT /orders/{id}/lines/{id}"), (&untrusting, "GET /auth/verify")] {
        let (_, c, t) = alice(app).await;
        let bearer = format!("Bearer {t}");
        let mut headers = forwarded.to_vec();
        headers.push(("authorization", &bearer));
        assert_eq!(verify(app, "GET", "/auth/verify", &headers).await.status, StatusCode::OK);
        let rows = endpoints(app, &c.id).await;
        assert!(rows.contains(&(expected.to_string(), 1)), "{rows:?}");
        assert!(!rows.iter().any(|(e, _)| e.contains("secret")), "{rows:?}");
    }
}

#[tokio::test]
async fn distinct_paths_are_capped_per_credential_in_the_store() {
    use app::backend::usage::{MAX_ENDPOINTS_PER_DAY, OTHER_ENDPOINTS};
    let app = spawn().await;
    let alice = app.create_user("alice", ADMIN_PASSWORD, &[Role::WorkCreator]).await;
    let c = credential_for(&app, &alice, "busy", &["work_creator"]).await;
    let ip = "10.0.0.1".parse().unwrap();
    // Two batches, each under the in-memory cap, together over it.
    for batch in 0..2 {
        for i in 0..MAX_ENDPOINTS_PER_DAY - 10 {
            app.state.usage.record(&c.id, "GET", &format!("/b{batch}/p{i}"), ip, app.now());
        }
        app.state.usage.flush(&app.state.db.pool).await.unwrap();
    }
    let rows = endpoints(&app, &c.id).await;
    assert_eq!(rows.len(), MAX_ENDPOINTS_PER_DAY + 1, "{rows:?}");
    let other = rows.iter().find(|(e, _)| e == OTHER_ENDPOINTS).map(|(_, n)| *n);
    assert_eq!(other, Some((MAX_ENDPOINTS_PER_DAY - 20) as i64));
    assert_eq!(rows.iter().map(|(_, n)| n).sum::<i64>(), 2 * (MAX_ENDPOINTS_PER_DAY - 10) as i64);
    // A path already stored keeps counting under its own name.
    app.state.usage.record(&c.id, "GET", "/b0/p0", ip, app.now());
    assert!(endpoints(&app, &c.id).await.contains(&("GET /b0/p0".to_string(), 2)));
}

#[tokio::test]
async fn a_token_sent_twice_or_oddly_never_reaches_an_answer_header() {
    let app = spawn().await;
    let (_, _, t) = alice(&app).await;
    let req = Request::get("/auth/verify")
        .header(header::AUTHORIZATION, format!("Bearer {t}"))
        .header(header::AUTHORIZATION, format!("Bearer {t}"))
        .body(Body::empty())
        .unwrap();
    let res = app.send(req).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(res.headers.iter().all(|(_, v)| !v.to_str().unwrap_or("").contains(&t)));
    assert!(!res.body.contains(&t));
}
