//! The bearer-protected API (RFC 6750) and what the roles open there.

use super::*;
use crate::common::*;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};

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
    let m = credential_for(&app, &admin_id, "manager", &["user_manager"]).await;
    let t = access_token(&app, &m).await;
    let res = api(&app, "/api/v1/users", &t).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains("\"alice\"") && !res.body.contains("argon2"));
    assert_eq!(api(&app, "/api/v1/credentials", &t).await.status, StatusCode::FORBIDDEN);
    assert_eq!(api(&app, "/api/v1/audit", &t).await.status, StatusCode::FORBIDDEN);
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
