//! Introspection (RFC 7662).

use super::*;
use crate::common::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};

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
    let other = credential_for(&app, &admin_id, "other", &["work_creator"]).await;
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
