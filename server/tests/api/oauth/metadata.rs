//! Metadata (RFC 8414) and cross-origin access.

use super::*;
use crate::common::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};

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
