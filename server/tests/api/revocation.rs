//! Revocation that holds under races and across processes: a token issued
//! around a change of its owner's rights is dead after it, like the tokens
//! that existed before it; every instance honours a committed change; role
//! changes follow the General Setting; lifetime changes reach live tokens;
//! only an Administrator changes an Administrator's account; revoking a
//! dead token writes nothing.

use crate::common::*;
use app::backend::caller::Caller;
use app::backend::tokens::service as tokens;
use app::backend::users::service as users;
use app::backend::Error;
use app::model::Role;
use axum::http::StatusCode;
use std::net::IpAddr;

const PW: &str = "correct horse battery staple";
const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

async fn alice(app: &TestApp, roles: &[Role]) -> String {
    app.create_user("alice", PW, roles).await
}

/// A token request that read the client's rights before `change` and
/// stored its token after the change committed: the race a black-box probe
/// hit with clients requesting tokens in a loop.
async fn issued_across<F, Fut>(app: &TestApp, c: &Client, change: F) -> String
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let client = tokens::authenticate(&app.state, &c.id, &c.secret, IP).await.expect("authenticates before");
    change().await;
    tokens::issue(&app.state, &client, None, None).await.expect("the stale request still gets its token").access_token
}

async fn is_valid(app: &TestApp, token: &str) -> bool {
    match tokens::validate(&app.state, token).await {
        Ok(_) => true,
        Err(Error::Unauthenticated) => false,
        Err(other) => panic!("validation failed: {other:?}"),
    }
}

#[tokio::test]
async fn a_token_issued_across_a_deactivation_stays_dead_after_reactivation() {
    let app = spawn().await;
    let id = alice(&app, &[Role::WorkCreator]).await;
    let c = credential_for(&app, &id, "loop", &["work_creator"]).await;
    let before = access_token(&app, &c).await;
    let raced = issued_across(&app, &c, || async {
        users::set_active(&app.state, &Caller::Operator, &id, false).await.unwrap();
    })
    .await;
    users::set_active(&app.state, &Caller::Operator, &id, true).await.unwrap();
    assert!(!is_valid(&app, &before).await, "the token from before the deactivation");
    assert!(!is_valid(&app, &raced).await, "the token answered after the deactivation committed");
    assert!(is_valid(&app, &access_token(&app, &c).await).await, "a token requested after reactivation works");
}

#[tokio::test]
async fn a_token_issued_across_a_role_removal_stays_dead_after_the_role_is_given_back() {
    for rule in ["all_tokens", "tokens_with_removed_role"] {
        let app = spawn().await;
        set_rule(&app, rule).await;
        let id = alice(&app, &[Role::WorkCreator, Role::TeamLeader]).await;
        let c = credential_for(&app, &id, "loop", &["work_creator", "team_leader"]).await;
        let raced = issued_across(&app, &c, || async {
            users::revoke_role(&app.state, &Caller::Operator, &id, Role::TeamLeader).await.unwrap();
        })
        .await;
        users::grant_role(&app.state, &Caller::Operator, &id, Role::TeamLeader).await.unwrap();
        assert!(!is_valid(&app, &raced).await, "{rule}: the raced token carried the removed role");
        assert!(is_valid(&app, &access_token(&app, &c).await).await, "{rule}: a new token works");
    }
}

#[tokio::test]
async fn a_token_issued_across_a_regenerate_or_a_role_edit_stays_dead() {
    let app = spawn().await;
    let id = alice(&app, &[Role::WorkCreator, Role::TeamLeader]).await;
    let principal = person(&app, &id).await;
    let c = credential_for(&app, &id, "loop", &["work_creator", "team_leader"]).await;
    let edit = |roles: &[&str]| app::backend::credentials::service::CredentialInput {
        name: "loop".into(),
        expires_on: app::model::format_date(app.now() + 20 * app::model::SECS_PER_DAY),
        roles: roles.iter().map(|r| r.to_string()).collect(),
    };
    // The credential loses team_leader, then gets it back.
    let raced = issued_across(&app, &c, || async {
        app::backend::credentials::service::update(&app.state, &principal, &c.id, edit(&["work_creator"]))
            .await
            .unwrap();
    })
    .await;
    app::backend::credentials::service::update(&app.state, &principal, &c.id, edit(&["work_creator", "team_leader"]))
        .await
        .unwrap();
    assert!(!is_valid(&app, &raced).await, "carried a role the credential lost meanwhile");

    let raced = issued_across(&app, &c, || async {
        app::backend::credentials::service::regenerate(&app.state, &principal, &c.id).await.unwrap();
    })
    .await;
    assert!(!is_valid(&app, &raced).await, "authenticated with the secret that was replaced");
}

async fn set_rule(app: &TestApp, rule: &str) {
    let cookie = app.sign_in_admin().await;
    let res = app.server_fn("settings/update", &settings_form(&[("role_change_ends", rule)]), Some(&cookie)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
}

async fn audit_details(app: &TestApp, event: &str) -> serde_json::Value {
    let details: String =
        sqlx::query_scalar("select details from audit_events where event = $1 order by seq desc limit 1")
            .bind(event)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    serde_json::from_str(&details).unwrap()
}

#[tokio::test]
async fn by_default_any_role_change_ends_every_token_of_the_user() {
    let app = spawn().await;
    let id = alice(&app, &[Role::WorkCreator, Role::TeamLeader]).await;
    let c = credential_for(&app, &id, "a", &["work_creator"]).await;
    let other = credential_for(&app, &id, "b", &["team_leader"]).await;
    let (t1, t2) = (access_token(&app, &c).await, access_token(&app, &other).await);
    assert_alive(&app, &t1).await; // cached: the change must reach the cache too
    users::grant_role(&app.state, &Caller::Operator, &id, Role::Auditor).await.unwrap();
    assert_dead(&app, &t1).await;
    assert_dead(&app, &t2).await;
    let d = audit_details(&app, "user.role_granted").await;
    assert_eq!((d["rule"].as_str(), d["tokens_revoked"].as_i64()), (Some("all_tokens"), Some(2)), "{d}");

    let (t1, t2) = (access_token(&app, &c).await, access_token(&app, &other).await);
    users::revoke_role(&app.state, &Caller::Operator, &id, Role::Auditor).await.unwrap();
    assert_dead(&app, &t1).await;
    assert_dead(&app, &t2).await;
    let d = audit_details(&app, "user.role_revoked").await;
    assert_eq!((d["rule"].as_str(), d["tokens_revoked"].as_i64()), (Some("all_tokens"), Some(2)), "{d}");
}

#[tokio::test]
async fn under_the_narrow_rule_only_tokens_carrying_the_removed_role_end() {
    let app = spawn().await;
    set_rule(&app, "tokens_with_removed_role").await;
    let id = alice(&app, &[Role::WorkCreator, Role::TeamLeader]).await;
    let c = credential_for(&app, &id, "a", &["work_creator"]).await;
    let other = credential_for(&app, &id, "b", &["team_leader"]).await;
    let (t1, t2) = (access_token(&app, &c).await, access_token(&app, &other).await);
    users::grant_role(&app.state, &Caller::Operator, &id, Role::Auditor).await.unwrap();
    assert_alive(&app, &t1).await;
    assert_alive(&app, &t2).await;
    users::revoke_role(&app.state, &Caller::Operator, &id, Role::TeamLeader).await.unwrap();
    assert_alive(&app, &t1).await;
    assert_dead(&app, &t2).await;
    let d = audit_details(&app, "user.role_revoked").await;
    assert_eq!((d["rule"].as_str(), d["tokens_revoked"].as_i64()), (Some("tokens_with_removed_role"), Some(1)));
}

#[tokio::test]
async fn the_users_page_says_what_a_role_change_will_end_before_it_is_made() {
    let app = spawn().await;
    let id = alice(&app, &[Role::WorkCreator]).await;
    let cookie = app.sign_in_admin().await;
    let page = app.get(&format!("/users/{id}"), Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Every access token of this user"), "default rule said on the page");
    set_rule(&app, "tokens_with_removed_role").await;
    let page = app.get(&format!("/users/{id}"), Some(&cookie)).await;
    assert!(page.body.contains("The access tokens that carry this role end now"), "narrow rule said");
}

#[tokio::test]
async fn a_shorter_lifetime_ends_live_tokens_older_than_it_and_a_longer_one_extends_none() {
    let app = spawn().await;
    let id = alice(&app, &[Role::WorkCreator]).await;
    let c = credential_for(&app, &id, "a", &["work_creator"]).await;
    let old = access_token(&app, &c).await;
    app.clock.advance(600);
    let young = access_token(&app, &c).await;
    assert_alive(&app, &old).await;
    let cookie = app.sign_in_admin().await;
    let res = app.server_fn("settings/update", &settings_form(&[("token_lifetime_secs", "300")]), Some(&cookie)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_dead(&app, &old).await;
    assert_alive(&app, &young).await;
    let res = introspect(&app, &c, &young).await;
    assert_eq!(res["exp"].as_i64(), Some(app.now() + 300), "introspection reports the earlier expiry");

    // Lengthening extends nothing: `young` was issued for one hour.
    let res =
        app.server_fn("settings/update", &settings_form(&[("token_lifetime_secs", "86400")]), Some(&cookie)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    app.clock.advance(3_601);
    app.server_fn("settings/update", &settings_form(&[("token_idle_minutes", "1440")]), Some(&cookie)).await;
    assert_dead(&app, &young).await;
}

async fn introspect(app: &TestApp, c: &Client, token: &str) -> serde_json::Value {
    let res = post(app, "/oauth/introspect", Some(&basic(&c.id, &c.secret)), &[("token", token)]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    json(&res)
}

#[tokio::test]
async fn only_an_administrator_changes_the_roles_of_an_administrator() {
    let app = spawn().await;
    let admin = users::find_by_username(&app.state.db, "admin").await.unwrap().id;
    let um = app.create_user("manny", PW, &[Role::UserManager]).await;
    let c = credential_for(&app, &um, "um", &["user_manager"]).await;
    let t = access_token(&app, &c).await;
    for (method, role) in [("DELETE", "user_manager"), ("PUT", "auditor"), ("DELETE", "auditor")] {
        let res = bearer_call(&app, method, &format!("/api/v1/users/{admin}/roles/{role}"), &t).await;
        assert!(
            res.status == StatusCode::FORBIDDEN || res.status == StatusCode::UNPROCESSABLE_ENTITY,
            "{method} {role}: {} {}",
            res.status,
            res.body
        );
    }
    let roles = app::backend::users::repo::active_roles(&app.state.db.pool, &admin).await.unwrap();
    assert_eq!(roles, Role::ALL.to_vec(), "the Administrator keeps every role");

    // The web app refuses the same, and the operator's CLI may.
    let manny = app.sign_in("manny", PW).await;
    let res = app.server_fn("users/revoke", &[("id", admin.as_str()), ("role", "user_manager")], Some(&manny)).await;
    assert!(res.status.is_client_error(), "{} {}", res.status, res.body);
    assert!(users::revoke_role(&app.state, &Caller::Operator, &admin, Role::Auditor).await.unwrap());
    let actor: String = sqlx::query_scalar(
        "select actor_kind from audit_events where event = 'user.role_revoked' order by seq desc limit 1",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(actor, "operator", "the CLI's changes are the operator's");
}

async fn epoch_row(app: &TestApp) -> i64 {
    sqlx::query_scalar("select version from cache_epoch where id = 1").fetch_one(&app.state.db.pool).await.unwrap()
}

async fn audit_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from audit_events").fetch_one(&app.state.db.pool).await.unwrap()
}

#[tokio::test]
async fn revoking_an_unknown_or_dead_token_writes_nothing_and_moves_no_epoch() {
    let app = spawn().await;
    let id = alice(&app, &[Role::WorkCreator]).await;
    let c = credential_for(&app, &id, "a", &["work_creator"]).await;
    let other = credential_for(&app, &id, "b", &["work_creator"]).await;
    let t = access_token(&app, &c).await;
    let revoke = |token: String, by: &Client| {
        let auth = basic(&by.id, &by.secret);
        let app = &app;
        async move { post(app, "/oauth/revoke", Some(&auth), &[("token", &token)]).await }
    };
    assert_eq!(revoke(t.clone(), &c).await.status, StatusCode::OK);
    assert_dead(&app, &t).await;
    let (epoch, rows, local) = (epoch_row(&app).await, audit_rows(&app).await, app.state.db.epoch());
    for _ in 0..20 {
        assert_eq!(revoke(t.clone(), &c).await.status, StatusCode::OK, "already dead: 200 (RFC 7009 §2.2)");
    }
    let unknown = app::backend::secrets::new_access_token(&app.state.secret_key).value;
    assert_eq!(revoke(unknown, &c).await.status, StatusCode::OK, "unknown: 200");
    let theirs = access_token(&app, &other).await;
    let res = revoke(theirs.clone(), &c).await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
    assert_alive(&app, &theirs).await;
    assert_eq!((epoch_row(&app).await, audit_rows(&app).await - rows), (epoch, 1), "only `theirs` was issued");
    assert_eq!(app.state.db.epoch(), local, "no epoch moved");
}

#[tokio::test]
async fn a_change_on_another_instance_applies_here_without_waiting_for_a_poll() {
    // Same host, SQLite: the shared counter beside the database; PostgreSQL:
    // the change is pushed (LISTEN/NOTIFY) within the propagation bound.
    let here = spawn().await;
    let there = here.another_instance().await;
    let id = alice(&here, &[Role::WorkCreator, Role::TeamLeader]).await;
    let c = credential_for(&here, &id, "a", &["work_creator", "team_leader"]).await;
    let t = access_token(&here, &c).await;
    assert_alive(&here, &t).await; // cached here
    assert_alive(&there, &t).await;
    users::revoke_role(&there.state, &Caller::Operator, &id, Role::TeamLeader).await.unwrap();
    let started = std::time::Instant::now();
    match backend_name() {
        "sqlite" => assert_dead(&here, &t).await,
        _ => {
            while is_valid(&here, &t).await {
                assert!(started.elapsed() < std::time::Duration::from_millis(500), "not pushed within 500 ms");
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        }
    }
}

#[tokio::test]
async fn an_instance_that_cannot_confirm_it_is_current_stops_answering_from_cache() {
    if backend_name() != "postgres" {
        return; // on SQLite the shared counter is the push channel and cannot be lost
    }
    let app = spawn().await;
    let id = alice(&app, &[Role::WorkCreator]).await;
    let c = credential_for(&app, &id, "a", &["work_creator"]).await;
    let t = access_token(&app, &c).await;
    assert_alive(&app, &t).await; // cached
                                  // Polls and pings now fail (they read the counter first), and a change
                                  // is written behind the services' back.
    sqlx::query("alter table cache_epoch rename to cache_epoch_gone").execute(&app.state.db.pool).await.unwrap();
    sqlx::query("update tokens set revoked_at = 1").execute(&app.state.db.pool).await.unwrap();
    assert_alive(&app, &t).await; // still confirmed: the cache answers
    tokio::time::sleep(std::time::Duration::from_millis(app::backend::db::changes::CONFIRMATION_MILLIS + 300)).await;
    assert_eq!(app.state.db.epoch(), None, "no confirmation within twice the poll interval");
    assert_dead(&app, &t).await; // read from the database
    sqlx::query("alter table cache_epoch_gone rename to cache_epoch").execute(&app.state.db.pool).await.unwrap();
}
