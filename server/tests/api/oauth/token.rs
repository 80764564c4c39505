//! The token endpoint (RFC 6749 §4.4, §5): client authentication, scope,
//! malformed requests, storage and throttling.

use super::*;
use crate::common::*;
use app::backend::caller::Caller;
use app::backend::users::service as users;
use app::model::Role;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

#[tokio::test]
async fn basic_auth_issues_a_bearer_token_per_rfc_6749_5_1() {
    // TOK-01..05, TOK-07..09, R6749-30, R6749-31, R6749-23
    let app = spawn().await;
    let c = setup(&app, &["work_creator", "team_leader"]).await;
    let res = token(&app, &c, &[]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(res.header("content-type").unwrap().starts_with("application/json"));
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert_eq!(res.header("pragma"), Some("no-cache"));
    assert_eq!(res.header("x-content-type-options"), Some("nosniff"), "TOK-17");
    let v = json(&res);
    let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys.len(), 4, "exactly access_token, token_type, expires_in, scope: {keys:?}");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3600);
    assert_eq!(v["scope"], "work_creator team_leader");
    let t = v["access_token"].as_str().unwrap();
    assert!(t.len() >= 43 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)), "TOK-06, TOK-15");
    assert!(v.get("refresh_token").is_none());
}

#[tokio::test]
async fn body_authentication_and_percent_encoded_basic_both_work() {
    // TOK-13, TOK-14, R6749-11, R6749-12
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let res = post(
        &app,
        "/oauth/token",
        None,
        &[("grant_type", "client_credentials"), ("client_id", &c.id), ("client_secret", &c.secret)],
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let every_octet = |s: &str| s.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
    let res = post(
        &app,
        "/oauth/token",
        Some(&basic(&every_octet(&c.id), &every_octet(&c.secret))),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    // a matching client_id in the body beside Basic is accepted (R6749-13)
    let res = token(&app, &c, &[("client_id", &c.id)]).await;
    assert_eq!(res.status, StatusCode::OK);
    // unknown parameters are ignored (TOK-11), an empty scope is an absent scope (TOK-12)
    let res = token(&app, &c, &[("audience", "x"), ("scope", "")]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(json(&res)["scope"], "work_creator");
}

#[tokio::test]
async fn bad_client_authentication_gets_invalid_client_and_reveals_nothing() {
    // AUTH-01..06, AUTH-15, R6749-15, R6749-42
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let wrong =
        post(&app, "/oauth/token", Some(&basic(&c.id, "acs_wrong")), &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(&wrong, StatusCode::UNAUTHORIZED, "invalid_client");
    let unknown =
        post(&app, "/oauth/token", Some(&basic("no-such-client", &c.secret)), &[("grant_type", "client_credentials")])
            .await;
    assert_oauth_error(&unknown, StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(wrong.body, unknown.body, "unknown client and wrong secret answer identically");
    assert!(!unknown.body.contains(&c.secret));
    let body_wrong = post(
        &app,
        "/oauth/token",
        None,
        &[("grant_type", "client_credentials"), ("client_id", &c.id), ("client_secret", "nope")],
    )
    .await;
    assert_oauth_error(&body_wrong, StatusCode::UNAUTHORIZED, "invalid_client");
    let none = post(&app, "/oauth/token", None, &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(&none, StatusCode::UNAUTHORIZED, "invalid_client");
    let id_only = post(&app, "/oauth/token", None, &[("grant_type", "client_credentials"), ("client_id", &c.id)]).await;
    assert_oauth_error(&id_only, StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn malformed_requests_get_invalid_request_or_unsupported_grant_type() {
    // AUTH-07..12, TNEG-01..10
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let good = basic(&c.id, &c.secret);
    type Case<'a> = (Option<String>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (Some(good.clone()), vec![], "invalid_request"),
        (Some(good.clone()), vec![("grant_type", "")], "invalid_request"),
        (Some(good.clone()), vec![("grant_type", "authorization_code")], "unsupported_grant_type"),
        (Some(good.clone()), vec![("grant_type", "password")], "unsupported_grant_type"),
        (
            Some(good.clone()),
            vec![("grant_type", "client_credentials"), ("grant_type", "client_credentials")],
            "invalid_request",
        ),
        (
            Some(good.clone()),
            vec![("grant_type", "client_credentials"), ("client_secret", &c.secret)],
            "invalid_request",
        ),
        (
            Some(good.clone()),
            vec![("grant_type", "client_credentials"), ("client_id", "someone-else")],
            "invalid_request",
        ),
        (Some("Basic".into()), vec![("grant_type", "client_credentials")], "invalid_request"),
        (Some("Basic !!!".into()), vec![("grant_type", "client_credentials")], "invalid_request"),
        (
            Some(format!("Basic {}", STANDARD.encode("nocolon"))),
            vec![("grant_type", "client_credentials")],
            "invalid_request",
        ),
        (
            Some(format!("Basic {}", STANDARD.encode("%zz:x"))),
            vec![("grant_type", "client_credentials")],
            "invalid_request",
        ),
    ];
    for (auth, form, code) in cases {
        let res = post(&app, "/oauth/token", auth.as_deref(), &form).await;
        assert_oauth_error(&res, StatusCode::BAD_REQUEST, code);
        assert!(json(&res).get("access_token").is_none());
    }
    // TNEG-06: a repeated client_id
    let res = post(
        &app,
        "/oauth/token",
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &c.id),
            ("client_id", &c.id),
            ("client_secret", &c.secret),
        ],
    )
    .await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_request");

    // TNEG-08: GET issues nothing
    let res = app
        .send(
            Request::get("/oauth/token?grant_type=client_credentials")
                .header(header::AUTHORIZATION, &good)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(json(&res).get("access_token").is_none());
    // TNEG-09: a JSON body issues nothing
    let res = app
        .send(
            Request::post("/oauth/token")
                .header(header::AUTHORIZATION, &good)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"grant_type":"client_credentials"}"#))
                .unwrap(),
        )
        .await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
    // TNEG-10: credentials in the query string
    let res = app
        .send(
            Request::post(format!("/oauth/token?client_id={}&client_secret={}", c.id, c.secret))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("grant_type=client_credentials"))
                .unwrap(),
        )
        .await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn scope_narrows_within_the_credentials_usable_roles() {
    // R6749-24..26, TOK-10, TOK-16, TNEG-11, TNEG-12
    let app = spawn().await;
    let c = setup(&app, &["work_creator", "team_leader"]).await;
    let res = token(&app, &c, &[("scope", "team_leader")]).await;
    assert_eq!(json(&res)["scope"], "team_leader");
    let res = token(&app, &c, &[("scope", "team_leader work_creator")]).await;
    assert_eq!(json(&res)["scope"], "work_creator team_leader", "order does not matter");
    for bad in ["auditor", "administrator", "no_such_role", "Team_Leader", "bad\"scope"] {
        let res = token(&app, &c, &[("scope", bad)]).await;
        assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_scope");
    }
    let t = json(&token(&app, &c, &[("scope", "team_leader")]).await)["access_token"].as_str().unwrap().to_string();
    let me = json(&api(&app, "/api/v1/me", &t).await);
    assert_eq!(me["roles"], serde_json::json!(["team_leader"]));
}

#[tokio::test]
async fn tokens_are_stored_only_as_digests() {
    // R6749-33, ASVS-K2
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let t = access_token(&app, &c).await;
    let rows: Vec<(String, String)> =
        sqlx::query_as("select token_digest, roles from tokens").fetch_all(&app.state.db.pool).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].0.contains(&t) && rows[0].0 != t);
    // the key: the issue order (11 characters after `act_`), then the keyed digest
    assert_eq!(rows[0].0, format!("{}{}", &t[4..15], app.state.secret_key.digest(&t)));
    let random = &t[15..58];
    assert!(!rows[0].0.contains(random));
}

#[tokio::test]
async fn a_credential_with_no_usable_role_gets_a_clear_error() {
    let app = spawn().await;
    let c = setup(&app, &["team_leader"]).await;
    users::revoke_role(&app.state, &Caller::Operator, &alice(&app).await, Role::TeamLeader).await.unwrap();
    let res = token(&app, &c, &[]).await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_scope");
    assert!(json(&res)["error_description"].as_str().unwrap().contains("no usable role"));
}

#[tokio::test]
async fn failed_client_authentication_is_throttled_without_locking_out_others() {
    // AUTH-16, R6749-17, ASVS-B1
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    for _ in 0..20 {
        let res =
            post(&app, "/oauth/token", Some(&basic(&c.id, "acs_guess")), &[("grant_type", "client_credentials")]).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    let res = token(&app, &c, &[]).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(res.header("retry-after").unwrap().parse::<u64>().unwrap() > 0);
    let admin_id: String = sqlx::query_scalar("select id from users where username = 'admin'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let other = credential_for(&app, &admin_id, "other", &["work_creator"]).await;
    assert_eq!(token(&app, &other, &[]).await.status, StatusCode::OK, "another client is served");
    // R6749-17: keyed per (client id, address), so failing on purpose from
    // one address does not lock the real client out everywhere.
    let grant = [("grant_type", "client_credentials")];
    let right = basic(&c.id, &c.secret);
    let elsewhere = post_from(&app, "198.51.100.7:4000", &[], "/oauth/token", Some(&right), &grant).await;
    assert_eq!(elsewhere.status, StatusCode::OK, "the same client from another address is served");
    app.clock.advance(301);
    assert_eq!(token(&app, &c, &[]).await.status, StatusCode::OK, "no permanent lock-out");
    // Many client ids from one address: the address's own limit.
    for n in 0..100 {
        let res = post(&app, "/oauth/token", Some(&basic(&format!("guess-{n}"), "acs_guess")), &grant).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(token(&app, &c, &[]).await.status, StatusCode::TOO_MANY_REQUESTS, "per address");
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_a_trusted_proxy() {
    // BCP-07, ASVS V4.1.3: a spoofed X-Forwarded-For from an untrusted peer
    // neither escapes the throttle nor lands in the audit log.
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let grant = [("grant_type", "client_credentials")];
    let wrong = basic(&c.id, "acs_guess");
    for n in 0..20 {
        let spoofed = format!("203.0.113.{n}");
        let res =
            post_from(&app, "192.0.2.10:4000", &[("x-forwarded-for", &spoofed)], "/oauth/token", Some(&wrong), &grant)
                .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    let right = basic(&c.id, &c.secret);
    let res = post_from(
        &app,
        "192.0.2.10:4000",
        &[("x-forwarded-for", "203.0.113.99")],
        "/oauth/token",
        Some(&right),
        &grant,
    )
    .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "the failures counted against the real peer");
    app.flush_refusals().await;
    let refused: Vec<(String, i64)> =
        sqlx::query_as("select address, requests from token_refusals where error = 'invalid_client'")
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(refused, vec![("192.0.2.10".to_string(), 20)]);

    // Behind a configured proxy, the right-most hop it reports is the client.
    let proxy = "192.0.2.1";
    let app = spawn_with(Options { trusted_proxies: vec![proxy.parse().unwrap()], ..Default::default() }).await;
    let c = setup(&app, &["work_creator"]).await;
    let (wrong, right) = (basic(&c.id, "acs_guess"), basic(&c.id, &c.secret));
    let via = |client: &'static str| [("x-forwarded-for", client)];
    for _ in 0..20 {
        let res = post_from(&app, "192.0.2.1:443", &via("198.51.100.5"), "/oauth/token", Some(&wrong), &grant).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    let throttled = post_from(&app, "192.0.2.1:443", &via("198.51.100.5"), "/oauth/token", Some(&right), &grant).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    let other = post_from(&app, "192.0.2.1:443", &via("198.51.100.6"), "/oauth/token", Some(&right), &grant).await;
    assert_eq!(other.status, StatusCode::OK, "another client behind the same proxy is served");
    app.flush_refusals().await;
    let ip: Option<String> =
        sqlx::query_scalar("select ip from audit_events where event = 'token.refused' order by seq desc limit 1")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(ip.as_deref(), Some("198.51.100.5"), "the one address of the counted refusals");
}
