//! The token service and the bearer API (issue 4), row by row of
//! STANDARDS.md §1–7. Test IDs from the standard appear in the comments.

use crate::common::*;
use app::backend::credentials::service::{self as credentials, CredentialInput};
use app::backend::users::service as users;
use app::model::{format_date, Role, SECS_PER_DAY};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

const PW: &str = "a long secret phrase";

/// Alice holds work_creator, team_leader and auditor; her credential carries
/// the given roles.
async fn setup(app: &TestApp, roles: &[&str]) -> Client {
    let user_id = app.create_user("alice", PW, &[Role::WorkCreator, Role::TeamLeader, Role::Auditor]).await;
    credential_for(app, &user_id, "alice", "integration", roles).await
}

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
async fn the_resource_server_follows_rfc_6750() {
    // RS-01..RS-10, R6750-01..05
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let t = access_token(&app, &c).await;
    let res = api(&app, "/api/v1/me", &t).await;
    assert_eq!(res.status, StatusCode::OK);
    let me = json(&res);
    assert_eq!(me["client_id"], c.id);
    assert_eq!(me["owner"]["username"], "alice");
    assert_eq!(me["roles"], serde_json::json!(["work_creator"]));

    let none = app.send(Request::get("/api/v1/me").body(Body::empty()).unwrap()).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.header("www-authenticate"), Some("Bearer realm=\"appcred\""), "no error code without credentials");
    let lower = app
        .send(
            Request::get("/api/v1/me")
                .header(header::AUTHORIZATION, format!("bearer {t}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(lower.status, StatusCode::OK, "the scheme is case-insensitive");
    assert_dead(&app, "act_not_a_real_token").await;
    let malformed = app
        .send(Request::get("/api/v1/me").header(header::AUTHORIZATION, "Bearer a b").body(Body::empty()).unwrap())
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(malformed.header("www-authenticate").unwrap().contains("error=\"invalid_request\""));
    let query = app.send(Request::get(format!("/api/v1/me?access_token={t}")).body(Body::empty()).unwrap()).await;
    assert_eq!(query.status, StatusCode::BAD_REQUEST, "RS-10: header only");

    let forbidden = api(&app, "/api/v1/users", &t).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert_eq!(
        forbidden.header("www-authenticate"),
        Some("Bearer realm=\"appcred\", error=\"insufficient_scope\", scope=\"user_manager\"")
    );
}

#[tokio::test]
async fn role_gated_endpoints_give_the_roles_meaning_and_never_show_secrets() {
    let app = spawn().await;
    let c = setup(&app, &["auditor"]).await;
    let t = access_token(&app, &c).await;
    let res = api(&app, "/api/v1/credentials", &t).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(json(&res)["credentials"][0]["client_id"], c.id);
    assert!(!res.body.contains(&c.secret) && !res.body.contains("digest"));

    // The audit log, newest first, filtered like the audit page.
    let res = api(&app, "/api/v1/audit", &t).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let all = json(&res);
    assert!(all["total"].as_i64().unwrap() >= 3, "sign-in set-up, credential created, token issued: {all}");
    let seqs: Vec<i64> = all["events"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "newest first: {seqs:?}");
    assert!(!res.body.contains(&c.secret) && !res.body.contains(&t), "never a secret or a token");
    let issued = json(&api(&app, &format!("/api/v1/audit?event=token.issued&credential={}", c.id), &t).await);
    assert_eq!(issued["total"], 1, "{issued}");
    let event = &issued["events"][0];
    assert_eq!((event["event"].as_str(), event["outcome"].as_str()), (Some("token.issued"), Some("success")));
    assert_eq!(event["actor"]["id"], c.id);
    assert_eq!(event["details"]["roles"], "auditor", "details are an object");
    let bad = api(&app, "/api/v1/audit?outcome=maybe", &t).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json(&bad)["error"], "invalid_request");
    assert_eq!(api(&app, "/api/v1/audit?page=first", &t).await.status, StatusCode::BAD_REQUEST);
    let empty = json(&api(&app, "/api/v1/audit?page=99", &t).await);
    assert_eq!((empty["events"].as_array().unwrap().len(), empty["page"].as_i64()), (0, Some(99)));

    let admin_id: String = sqlx::query_scalar("select id from users where username = 'admin'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let m = credential_for(&app, &admin_id, "admin", "manager", &["user_manager"]).await;
    let t = access_token(&app, &m).await;
    let res = api(&app, "/api/v1/users", &t).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains("\"alice\"") && !res.body.contains("argon2"));
    assert_eq!(api(&app, "/api/v1/credentials", &t).await.status, StatusCode::FORBIDDEN);
    assert_eq!(api(&app, "/api/v1/audit", &t).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_token_dies_at_its_absolute_expiry() {
    // LC-01
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let t = access_token(&app, &c).await;
    for _ in 0..6 {
        app.clock.advance(599);
        assert_alive(&app, &t).await;
    }
    app.clock.advance(7);
    assert_dead(&app, &t).await;
    assert_inactive_and_revocable(&app, &c, &t).await;
}

/// The other two oracles of a dead token (LC-01, LC-03): introspection
/// answers `{"active": false}` and nothing else, and revocation succeeds.
async fn assert_inactive_and_revocable(app: &TestApp, c: &Client, t: &str) {
    let auth = basic(&c.id, &c.secret);
    let res = post(app, "/oauth/introspect", Some(&auth), &[("token", t)]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(json(&res), serde_json::json!({ "active": false }));
    assert_eq!(post(app, "/oauth/revoke", Some(&auth), &[("token", t)]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_token_dies_when_idle_past_the_timeout_and_use_keeps_it_alive() {
    // LC-02: idle 1200 s by default
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let t = access_token(&app, &c).await;
    app.clock.advance(1199);
    assert_alive(&app, &t).await;
    app.clock.advance(1199);
    assert_alive(&app, &t).await;
    app.clock.advance(1201);
    assert_dead(&app, &t).await;
    // LC-06: once dead, nothing revives it, not even a clock stepped back
    app.clock.advance(-2000);
    assert_dead(&app, &t).await;
    let reason: String =
        sqlx::query_scalar("select revoked_reason from tokens").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(reason, "idle");
}

/// Alice, the owner of the credential that `setup` creates, signed in.
async fn owner(app: &TestApp) -> app::backend::auth::Principal {
    app::backend::auth::Principal {
        user_id: sqlx::query_scalar("select owner_id from credentials").fetch_one(&app.state.db.pool).await.unwrap(),
        username: "alice".into(),
        display_name: "alice".into(),
        roles: vec![Role::WorkCreator],
        ip: None,
    }
}

#[tokio::test]
async fn regenerating_the_secret_kills_the_old_secret_and_its_tokens() {
    // LC-04
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let t = access_token(&app, &c).await;
    let owner = owner(&app).await;
    let fresh = credentials::regenerate(&app.state, &owner, &c.id).await.unwrap();
    assert_dead(&app, &t).await;
    let res = token(&app, &c, &[]).await;
    assert_oauth_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    let new = Client { id: c.id.clone(), secret: fresh.secret };
    let t2 = access_token(&app, &new).await;
    assert_alive(&app, &t2).await;
}

#[tokio::test]
async fn deleting_or_expiring_a_credential_kills_it_everywhere() {
    // LC-05
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let t = access_token(&app, &c).await;
    app.clock.advance(31 * SECS_PER_DAY);
    assert_dead(&app, &t).await;
    let auth = basic(&c.id, &c.secret);
    assert_oauth_error(&token(&app, &c, &[]).await, StatusCode::UNAUTHORIZED, "invalid_client");
    for endpoint in ["/oauth/introspect", "/oauth/revoke"] {
        let res = post(&app, endpoint, Some(&auth), &[("token", &t)]).await;
        assert_oauth_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    }

    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let t = access_token(&app, &c).await;
    // deleted by another instance: seen at this instance's next epoch poll
    sqlx::query("update credentials set deleted_at = 1").execute(&app.state.db.pool).await.unwrap();
    app.changed_elsewhere().await;
    assert_dead(&app, &t).await;
    assert_oauth_error(&token(&app, &c, &[]).await, StatusCode::UNAUTHORIZED, "invalid_client");
    for endpoint in ["/oauth/introspect", "/oauth/revoke"] {
        let res = post(&app, endpoint, Some(&basic(&c.id, &c.secret)), &[("token", &t)]).await;
        assert_oauth_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    }

    // deleted by its owner on this instance: dead at the very next request,
    // and its tokens marked with the reason in the same transaction
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let t = access_token(&app, &c).await;
    credentials::delete(&app.state, &owner(&app).await, &c.id).await.unwrap();
    assert_dead(&app, &t).await;
    assert_oauth_error(&token(&app, &c, &[]).await, StatusCode::UNAUTHORIZED, "invalid_client");
    let reason: Option<String> =
        sqlx::query_scalar("select revoked_reason from tokens").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(reason.as_deref(), Some("credential_deleted"));
}

#[tokio::test]
async fn under_the_narrow_rule_losing_a_role_kills_only_the_tokens_that_carry_it() {
    // LC-03, ASVS-A4. The default rule ends every token of the user
    // (`revocation.rs`); this is the other General Setting.
    let app = spawn().await;
    sqlx::query("update settings set role_change_ends = 'tokens_with_removed_role'")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let c = setup(&app, &["work_creator", "team_leader"]).await;
    let both = access_token(&app, &c).await;
    let only_wc =
        json(&token(&app, &c, &[("scope", "work_creator")]).await)["access_token"].as_str().unwrap().to_string();
    users::revoke_role(&app.state.db, app.now(), users::By::Operator, &alice(&app).await, Role::TeamLeader)
        .await
        .unwrap();
    assert_dead(&app, &both).await;
    assert_inactive_and_revocable(&app, &c, &both).await;
    assert_alive(&app, &only_wc).await;
    let res = token(&app, &c, &[("scope", "team_leader")]).await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_scope");
    let res = token(&app, &c, &[]).await;
    assert_eq!(json(&res)["scope"], "work_creator", "revoked roles are not assigned to new tokens");
    // granting it back helps new tokens only
    app.clock.advance(1);
    users::grant_role(&app.state.db, app.now(), users::By::Operator, &alice(&app).await, Role::TeamLeader)
        .await
        .unwrap();
    assert_eq!(json(&token(&app, &c, &[]).await)["scope"], "work_creator team_leader");
    assert_dead(&app, &both).await;
    let reason: String = sqlx::query_scalar(
        "select revoked_reason from tokens where roles = 'work_creator team_leader' order by issued_at limit 1",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(reason, "role_revoked");
}

#[tokio::test]
async fn a_credential_with_no_usable_role_gets_a_clear_error() {
    let app = spawn().await;
    let c = setup(&app, &["team_leader"]).await;
    users::revoke_role(&app.state.db, app.now(), users::By::Operator, &alice(&app).await, Role::TeamLeader)
        .await
        .unwrap();
    let res = token(&app, &c, &[]).await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_scope");
    assert!(json(&res)["error_description"].as_str().unwrap().contains("no usable role"));
}

#[tokio::test]
async fn deactivating_the_owner_kills_tokens_and_refuses_new_ones() {
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let t = access_token(&app, &c).await;
    users::set_active(&app.state.db, app.now(), users::By::Operator, &alice(&app).await, false).await.unwrap();
    assert_dead(&app, &t).await;
    assert_oauth_error(&token(&app, &c, &[]).await, StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn narrowing_a_credentials_roles_kills_tokens_carrying_a_removed_role() {
    let app = spawn().await;
    let c = setup(&app, &["work_creator", "team_leader"]).await;
    let both = access_token(&app, &c).await;
    let only_wc =
        json(&token(&app, &c, &[("scope", "work_creator")]).await)["access_token"].as_str().unwrap().to_string();
    let owner = app::backend::auth::Principal {
        user_id: sqlx::query_scalar("select owner_id from credentials").fetch_one(&app.state.db.pool).await.unwrap(),
        username: "alice".into(),
        display_name: "alice".into(),
        roles: vec![Role::WorkCreator, Role::TeamLeader, Role::Auditor],
        ip: None,
    };
    credentials::update(
        &app.state,
        &owner,
        &c.id,
        CredentialInput {
            name: "integration".into(),
            expires_on: format_date(app.now() + 10 * SECS_PER_DAY),
            roles: vec!["work_creator".into()],
        },
    )
    .await
    .unwrap();
    assert_dead(&app, &both).await;
    assert_alive(&app, &only_wc).await;
}

#[tokio::test]
async fn introspection_reports_only_the_callers_live_tokens() {
    // INT-01..INT-11, R7662-01..06
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let t = access_token(&app, &c).await;
    let auth = basic(&c.id, &c.secret);
    let res =
        post(&app, "/oauth/introspect", Some(&auth), &[("token", &t), ("token_type_hint", "refresh_token")]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let v = json(&res);
    assert_eq!(v["active"], true);
    assert_eq!(v["client_id"], c.id);
    assert_eq!(v["scope"], "work_creator");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["sub"], format!("client:{}", c.id));
    assert_eq!(v["iss"], "http://appcred.test");
    // R7662-03: times are numbers, seconds since the epoch
    let iat = v["iat"].as_i64().expect("iat is an integer");
    assert!(iat <= app.now() && iat > app.now() - 60, "issued just now: {iat}");
    assert_eq!(v["nbf"], v["iat"]);
    assert!(v["exp"].as_i64().unwrap() <= app.now() + 3600, "INT-03");
    assert_eq!(v["exp"].as_i64().unwrap() - iat, 3600, "the token's lifetime");

    let admin_id: String = sqlx::query_scalar("select id from users where username = 'admin'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let other = credential_for(&app, &admin_id, "admin", "other", &["work_creator"]).await;
    for probe in [t.as_str(), "garbage", "act_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA000000"] {
        let res = post(&app, "/oauth/introspect", Some(&basic(&other.id, &other.secret)), &[("token", probe)]).await;
        assert_eq!(res.status, StatusCode::OK);
        assert_eq!(json(&res), serde_json::json!({ "active": false }), "only active=false");
    }
    let res = post(&app, "/oauth/introspect", Some(&auth), &[]).await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
    let res = post(&app, "/oauth/introspect", Some(&basic(&c.id, "wrong")), &[("token", &t)]).await;
    assert_oauth_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(json(&res).get("active").is_none());
    let res = app.send(Request::get("/oauth/introspect").body(Body::empty()).unwrap()).await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);

    // introspection is not use: the idle timer keeps running
    app.clock.advance(1000);
    post(&app, "/oauth/introspect", Some(&auth), &[("token", &t)]).await;
    app.clock.advance(201);
    let res = post(&app, "/oauth/introspect", Some(&auth), &[("token", &t)]).await;
    assert_eq!(json(&res), serde_json::json!({ "active": false }));
}

#[tokio::test]
async fn revocation_follows_rfc_7009() {
    // REV-01..REV-11, R7009-01..05, LC-06
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let auth = basic(&c.id, &c.secret);
    let t = access_token(&app, &c).await;

    let admin_id: String = sqlx::query_scalar("select id from users where username = 'admin'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let other = credential_for(&app, &admin_id, "admin", "other", &["work_creator"]).await;
    let res = post(&app, "/oauth/revoke", Some(&basic(&other.id, &other.secret)), &[("token", &t)]).await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
    assert_alive(&app, &t).await;
    let res = post(&app, "/oauth/revoke", Some(&basic(&c.id, "wrong")), &[("token", &t)]).await;
    assert_oauth_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    assert_alive(&app, &t).await;
    let res = post(&app, "/oauth/revoke", Some(&auth), &[]).await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
    let res = app.send(Request::get(format!("/oauth/revoke?token={t}")).body(Body::empty()).unwrap()).await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_alive(&app, &t).await;

    let res = post(&app, "/oauth/revoke", Some(&auth), &[("token", &t), ("token_type_hint", "bogus_hint")]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_dead(&app, &t).await;
    // R7009-03: a wrong hint does not stop the search
    let hinted = access_token(&app, &c).await;
    let res =
        post(&app, "/oauth/revoke", Some(&auth), &[("token", &hinted), ("token_type_hint", "refresh_token")]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_dead(&app, &hinted).await;
    let res = post(&app, "/oauth/introspect", Some(&auth), &[("token", &t)]).await;
    assert_eq!(json(&res), serde_json::json!({ "active": false }));
    assert_eq!(post(&app, "/oauth/revoke", Some(&auth), &[("token", &t)]).await.status, StatusCode::OK, "REV-04");
    assert_eq!(
        post(&app, "/oauth/revoke", Some(&auth), &[("token", "unknown")]).await.status,
        StatusCode::OK,
        "REV-05"
    );
    for _ in 0..20 {
        access_token(&app, &c).await;
    }
    assert_dead(&app, &t).await;
}

#[tokio::test]
async fn metadata_describes_a_client_credentials_server() {
    // META-01..10, R8414-01..06
    let app = spawn().await;
    let res = app.send(Request::get("/.well-known/oauth-authorization-server").body(Body::empty()).unwrap()).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.header("content-type").unwrap().starts_with("application/json"));
    let v = json(&res);
    assert_eq!(v["issuer"], "http://appcred.test");
    assert_eq!(v["token_endpoint"], "http://appcred.test/oauth/token");
    assert_eq!(v["grant_types_supported"], serde_json::json!(["client_credentials"]));
    assert_eq!(v["response_types_supported"], serde_json::json!([]));
    assert!(v["token_endpoint_auth_methods_supported"].as_array().unwrap().contains(&"client_secret_basic".into()));
    assert_eq!(v["introspection_endpoint"], "http://appcred.test/oauth/introspect");
    assert_eq!(v["revocation_endpoint"], "http://appcred.test/oauth/revoke");
    assert!(v["scopes_supported"].as_array().unwrap().contains(&"work_creator".into()));
    assert!(!v["token_endpoint"].as_str().unwrap().contains('#'));
    for methods in ["introspection_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"] {
        let methods = v[methods].as_array().unwrap();
        assert!(methods.contains(&"client_secret_basic".into()) && methods.contains(&"client_secret_post".into()));
    }
}

#[tokio::test]
async fn the_oauth_endpoints_offer_no_cross_origin_access() {
    // BCP-05: server-to-server endpoints, no CORS (a browser page elsewhere
    // cannot read a token answer or the metadata)
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let evil = [("origin", "https://evil.example")];
    let grant = [("grant_type", "client_credentials")];
    let res = post_from(&app, "127.0.0.1:50000", &evil, "/oauth/token", Some(&basic(&c.id, &c.secret)), &grant).await;
    assert_eq!(res.status, StatusCode::OK);
    let preflight = Request::options("/oauth/token")
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .body(Body::empty())
        .unwrap();
    let metadata = Request::get("/.well-known/oauth-authorization-server")
        .header("origin", "https://evil.example")
        .body(Body::empty())
        .unwrap();
    for res in [res, app.send(preflight).await, app.send(metadata).await] {
        assert!(
            !res.headers.keys().any(|k| k.as_str().starts_with("access-control-")),
            "no CORS header: {:?}",
            res.headers
        );
    }
}

#[tokio::test]
async fn a_store_failure_during_revocation_is_503_and_the_token_lives() {
    // R7009-06: the client must assume the token still exists and retry
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let t = access_token(&app, &c).await;
    let auth = basic(&c.id, &c.secret);
    // A first call fills the settings and client caches, so the failure
    // below is the revocation's own: its table is gone for a moment.
    assert_eq!(post(&app, "/oauth/introspect", Some(&auth), &[("token", &t)]).await.status, StatusCode::OK);
    let pool = &app.state.db.pool;
    sqlx::query("alter table tokens rename to tokens_away").execute(pool).await.unwrap();
    let res = post(&app, "/oauth/revoke", Some(&auth), &[("token", &t)]).await;
    sqlx::query("alter table tokens_away rename to tokens").execute(pool).await.unwrap();
    assert_oauth_error(&res, StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    assert_alive(&app, &t).await;
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
    let other = credential_for(&app, &admin_id, "admin", "other", &["work_creator"]).await;
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

#[tokio::test]
async fn switching_the_api_off_refuses_tokens_and_calls() {
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let t = access_token(&app, &c).await;
    sqlx::query("update settings set api_enabled = 0").execute(&app.state.db.pool).await.unwrap();
    app.changed_elsewhere().await;
    let res = token(&app, &c, &[]).await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "unauthorized_client");
    assert!(json(&res)["error_description"].as_str().unwrap().contains("switched off"));
    let res = api(&app, "/api/v1/me", &t).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(res.header("www-authenticate").unwrap().contains("switched off"));
    sqlx::query("update settings set api_enabled = 1").execute(&app.state.db.pool).await.unwrap();
    app.changed_elsewhere().await;
    assert_alive(&app, &t).await;
}

#[tokio::test]
async fn api_use_is_recorded_as_last_used() {
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let t = access_token(&app, &c).await;
    app.clock.advance(10);
    assert_alive(&app, &t).await;
    app.state.usage.flush(&app.state.db.pool).await.unwrap();
    let last: Option<i64> =
        sqlx::query_scalar("select last_used_at from credentials").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(last, Some(app.now()));
}

async fn alice(app: &TestApp) -> String {
    users::find_by_username(&app.state.db, "alice").await.unwrap().id
}

#[tokio::test]
async fn a_change_made_on_another_instance_applies_here_at_the_next_epoch_poll() {
    // LC-03 across instances: the documented bound is one poll interval
    let here = spawn().await;
    let there = here.another_instance().await;
    let c = setup(&here, &["work_creator", "team_leader"]).await;
    let t = access_token(&here, &c).await;
    here.state.db.poll_epoch().await.unwrap();
    assert_alive(&here, &t).await; // now cached here
    assert_alive(&there, &t).await;

    users::revoke_role(&there.state.db, there.now(), users::By::Operator, &alice(&there).await, Role::TeamLeader)
        .await
        .unwrap();
    assert_dead(&there, &t).await;
    here.state.db.poll_epoch().await.unwrap();
    assert_dead(&here, &t).await;
    assert_oauth_error(&token(&here, &c, &[("scope", "team_leader")]).await, StatusCode::BAD_REQUEST, "invalid_scope");
}

async fn stored(app: &TestApp, token: &str) -> bool {
    let key = app.state.secret_key.token_key(token).unwrap();
    let n: i64 = sqlx::query_scalar("select count(*) from tokens where token_digest = $1")
        .bind(key)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    n == 1
}

#[tokio::test]
async fn long_expired_tokens_are_deleted_and_live_ones_kept() {
    use app::backend::tokens::service::{purge_expired, KEEP_EXPIRED_SECS};
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let old = access_token(&app, &c).await;
    // Past the longest lifetime General Settings allow, plus the keeping time.
    app.clock.advance(SECS_PER_DAY + KEEP_EXPIRED_SECS + 60);
    // Issued now by the clock, though its key was made in the same real
    // second as `old`'s: the expiry, not the key, decides what goes.
    let fresh = access_token(&app, &c).await;
    assert_eq!(purge_expired(&app.state.db.pool, app.now()).await.unwrap(), 1);
    assert!(!stored(&app, &old).await, "the long-expired token's row is gone");
    assert!(stored(&app, &fresh).await);
    assert_alive(&app, &fresh).await;
    assert_dead(&app, &old).await;

    // Expired, but kept for a day first.
    app.clock.advance(3_600 + 1);
    assert_dead(&app, &fresh).await;
    assert_eq!(purge_expired(&app.state.db.pool, app.now()).await.unwrap(), 0);
    assert!(stored(&app, &fresh).await);
    app.clock.advance(KEEP_EXPIRED_SECS);
    assert_eq!(purge_expired(&app.state.db.pool, app.now()).await.unwrap(), 1);
    assert!(!stored(&app, &fresh).await);
}

#[tokio::test]
async fn a_large_backlog_of_expired_tokens_is_deleted_in_several_transactions() {
    use app::backend::secrets::issue_order_bound;
    use app::backend::tokens::service::purge_expired;
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let live = access_token(&app, &c).await;
    let issued = app.now() - 3 * SECS_PER_DAY;
    let order = issue_order_bound(issued);
    let mut tx = app.state.db.pool.begin().await.unwrap();
    for i in 0..1_234 {
        sqlx::query(
            "insert into tokens (token_digest, credential_id, roles, issued_at, expires_at, last_used_at, \
             secret_version) values ($1, $2, 'work_creator', $3, $4, $3, 1)",
        )
        .bind(format!("{order}{i:064x}"))
        .bind(&c.id)
        .bind(issued)
        .bind(issued + 3_600)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    assert_eq!(purge_expired(&app.state.db.pool, app.now()).await.unwrap(), 1_234);
    let left: i64 = sqlx::query_scalar("select count(*) from tokens").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(left, 1);
    assert_alive(&app, &live).await;
}
