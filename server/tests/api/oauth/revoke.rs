//! Revocation (RFC 7009).

use super::*;
use crate::common::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};

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
    let other = credential_for(&app, &admin_id, "other", &["work_creator"]).await;
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
