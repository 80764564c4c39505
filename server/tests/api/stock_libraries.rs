//! Stock OAuth libraries, unmodified, against a real server process: Python's
//! authlib obtains a token bound to a protected API with `resource`
//! (RFC 8707) and the protected API introspects it with HTTP Basic
//! (RFC 7662 §2.1). The libraries live in `target/venv`, made by
//! `scripts/setup --test`.

use crate::common::*;
use crate::procs::Server;
use app::backend::protected_apis::service::{self as apis, ProtectedApiInput};
use app::model::Role;
use std::path::Path;
use std::process::Command;

const AUDIENCE: &str = "https://orders.example.com/api";

fn python() -> std::path::PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/venv/bin/python");
    assert!(venv.exists(), "{} is missing: run scripts/setup --test", venv.display());
    venv
}

#[tokio::test]
async fn authlib_gets_a_bound_token_and_a_resource_server_introspects_it_with_basic() {
    let setup = spawn().await;
    let admin_id: String = sqlx::query_scalar("select id from users where username = 'admin'")
        .fetch_one(&setup.state.db.pool)
        .await
        .unwrap();
    let admin = person(&setup, &admin_id).await;
    let input = ProtectedApiInput { name: "orders".into(), audience: AUDIENCE.into() };
    let api = apis::create(&setup.state, &admin, input).await.expect("register the protected API");
    let alice = setup.create_user("alice", ADMIN_PASSWORD, &[Role::WorkCreator]).await;
    let client = credential_for(&setup, &alice, "orders sync", &["work_creator"]).await;
    let server = Server::start(&setup.db_url).await;

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/resource_server.py");
    let out = Command::new(python())
        .arg(script)
        .env("APPCRED_URL", format!("http://localhost:{}", server.port))
        .env("CLIENT_ID", &client.id)
        .env("CLIENT_SECRET", &client.secret)
        .env("API_ID", &api.client_id)
        .env("API_SECRET", &api.secret)
        .env("AUDIENCE", AUDIENCE)
        .output()
        .expect("run the Python client");
    server.stop();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the script prints JSON");
    assert_eq!(got["token"]["token_type"], "Bearer", "{got}");
    assert_eq!(got["token"]["scope"], "work_creator", "{got}");
    assert_eq!(got["status"], 200, "{got}");
    let i = &got["introspection"];
    assert_eq!(i["active"], true, "{got}");
    assert_eq!(i["aud"], AUDIENCE, "the token is bound to the protected API: {got}");
    assert_eq!((i["client_id"].as_str(), i["sub"].as_str()), (Some(client.id.as_str()), Some(alice.as_str())), "{got}");
    assert_eq!(i["username"], "alice", "{got}");

    // The bound token is no use at appcred's own API.
    let t = got["access_token"].as_str().unwrap();
    assert_eq!(api_call(&setup, t).await, axum::http::StatusCode::UNAUTHORIZED);
}

async fn api_call(app: &TestApp, token: &str) -> axum::http::StatusCode {
    bearer_call(app, "GET", "/api/v1/me", token).await.status
}
