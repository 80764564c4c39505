//! The token service and the bearer API, row by row of RFC 6749, 6750, 7009, 7662 and 8414
//! (test IDs from the standard appear in the comments), a module per
//! endpoint and one for the lifecycle of a token.

mod bearer;
mod introspect;
mod lifecycle;
mod metadata;
mod revoke;
mod token;

use crate::common::*;
use app::backend::users::service as users;
use app::model::Role;
use axum::http::StatusCode;

pub const PW: &str = "a long secret phrase";

/// Alice holds work_creator, team_leader and auditor; her credential carries
/// the given roles.
pub async fn setup(app: &TestApp, roles: &[&str]) -> Client {
    let user_id = app.create_user("alice", PW, &[Role::WorkCreator, Role::TeamLeader, Role::Auditor]).await;
    credential_for(app, &user_id, "integration", roles).await
}

/// Alice, the owner of the credential that `setup` creates, signed in.
pub async fn owner(app: &TestApp) -> app::backend::caller::Caller {
    let owner_id: String =
        sqlx::query_scalar("select owner_id from credentials").fetch_one(&app.state.db.pool).await.unwrap();
    person(app, &owner_id).await
}

pub async fn alice(app: &TestApp) -> String {
    users::find_by_username(&app.state.db, "alice").await.unwrap().id
}

/// The other two oracles of a dead token (LC-01, LC-03): introspection
/// answers `{"active": false}` and nothing else, and revocation succeeds.
pub async fn assert_inactive_and_revocable(app: &TestApp, c: &Client, t: &str) {
    let auth = basic(&c.id, &c.secret);
    let res = post(app, "/oauth/introspect", Some(&auth), &[("token", t)]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(json(&res), serde_json::json!({ "active": false }));
    assert_eq!(post(app, "/oauth/revoke", Some(&auth), &[("token", t)]).await.status, StatusCode::OK);
}

pub async fn stored(app: &TestApp, token: &str) -> bool {
    let key = app.state.secret_key.token_key(token).unwrap();
    let n: i64 = sqlx::query_scalar("select count(*) from tokens where token_digest = $1")
        .bind(key)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    n == 1
}
