//! User management, role revocation end to end, deactivation and General
//! Settings, through the server functions the web app calls.

use crate::common::*;
use app::model::Role;
use axum::http::StatusCode;

const PW: &str = "a long secret phrase";

/// Calls a server function and returns the status and the JSON answer.
async fn call(app: &TestApp, name: &str, form: &[(&str, &str)], cookie: &str) -> (StatusCode, serde_json::Value) {
    let res = app.server_fn(name, form, Some(cookie)).await;
    (res.status, serde_json::from_str(&res.body).unwrap_or(serde_json::Value::Null))
}

fn field_error(v: &serde_json::Value) -> &str {
    v["Invalid"]["field"].as_str().unwrap_or("")
}

async fn user_id(app: &TestApp, username: &str) -> String {
    app::backend::users::service::find_by_username(&app.state.db, username).await.unwrap().id
}

#[tokio::test]
async fn only_user_managers_reach_the_user_functions() {
    // ASVS-A1, ASVS-A2: every function checks on the server
    let app = spawn().await;
    let target = app.create_user("carol", PW, &[Role::WorkCreator]).await;
    app.create_user("mallory", PW, &[Role::WorkCreator, Role::Auditor]).await;
    let mallory = app.sign_in("mallory", PW).await;
    let calls: [(&str, Vec<(&str, &str)>); 7] = [
        ("users/list", vec![]),
        ("users/get", vec![("id", &target)]),
        ("users/create", vec![("username", "eve"), ("display_name", "Eve"), ("password", "")]),
        ("users/grant", vec![("id", &target), ("role", "team_leader")]),
        ("users/revoke", vec![("id", &target), ("role", "work_creator")]),
        ("users/active", vec![("id", &target), ("active", "false")]),
        ("users/password", vec![("id", &target), ("password", "")]),
    ];
    for (name, form) in &calls {
        let res = app.server_fn(name, form, Some(&mallory)).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{name}: {}", res.body);
        let res = app.server_fn(name, form, None).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{name} signed out: {}", res.body);
    }
    // nothing changed
    assert!(app::backend::users::service::find_by_username(&app.state.db, "eve").await.is_err());
    let roles = app::backend::users::repo::active_roles(&app.state.db.pool, &target).await.unwrap();
    assert_eq!(roles, vec![Role::WorkCreator]);
    assert!(!app.sign_in("carol", PW).await.is_empty(), "carol is still active with her password");
}

#[tokio::test]
async fn a_user_manager_creates_users_with_a_generated_or_chosen_password() {
    let app = spawn().await;
    let admin = app.sign_in_admin().await;
    let (status, v) = call(
        &app,
        "users/create",
        &[("username", "dora"), ("display_name", "Dora D"), ("password", ""), ("roles[]", "work_creator")],
        &admin,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let generated = v["password"].as_str().expect("a generated password, shown once").to_string();
    assert!(generated.len() >= 20);
    app.sign_in("dora", &generated).await;

    // bad input: a clear error on the field, nothing written
    for (form, field) in [
        (vec![("username", "x"), ("display_name", "X"), ("password", "")], "username"),
        (vec![("username", "DORA"), ("display_name", "X"), ("password", "")], "username"),
        (vec![("username", "ed"), ("display_name", " "), ("password", "")], "username"),
        (vec![("username", "eddie"), ("display_name", " "), ("password", "")], "display_name"),
        (vec![("username", "eddie"), ("display_name", "Ed"), ("password", "short")], "password"),
        (vec![("username", "eddie"), ("display_name", "Ed"), ("password", ""), ("roles[]", "root")], "role"),
    ] {
        let (status, v) = call(&app, "users/create", &form, &admin).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{form:?}: {v}");
        assert_eq!(field_error(&v), field, "{form:?}: {v}");
    }
    let (_, list) = call(&app, "users/list", &[("q", "d")], &admin).await;
    let names: Vec<&str> = list["items"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["admin", "dora"], "filter matches username or display name");
    assert_eq!(list["items"][1]["roles"], serde_json::json!(["WorkCreator"]));
}

#[tokio::test]
async fn under_the_narrow_rule_removing_a_role_kills_only_the_tokens_carrying_it_and_granting_it_back_helps_new_tokens_only(
) {
    // LC-03, ASVS-A4, under the General Setting that ends only the tokens
    // carrying a removed role (the default ends them all: `revocation.rs`).
    let app = spawn().await;
    sqlx::query("update settings set role_change_ends = 'tokens_with_removed_role'")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let alice_id = app.create_user("alice", PW, &[Role::WorkCreator, Role::TeamLeader]).await;
    let c = credential_for(&app, &alice_id, "sync", &["work_creator", "team_leader"]).await;
    let both = access_token(&app, &c).await;
    let only_wc =
        json(&token(&app, &c, &[("scope", "work_creator")]).await)["access_token"].as_str().unwrap().to_string();
    let admin = app.sign_in_admin().await;

    app.clock.advance(1);
    let (status, v) = call(&app, "users/revoke", &[("id", &alice_id), ("role", "team_leader")], &admin).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_dead(&app, &both).await;
    assert_alive(&app, &only_wc).await;
    assert_oauth_error(&token(&app, &c, &[("scope", "team_leader")]).await, StatusCode::BAD_REQUEST, "invalid_scope");
    assert_eq!(json(&token(&app, &c, &[]).await)["scope"], "work_creator");

    // the credential keeps the role, greyed with its date
    let alice = app.sign_in("alice", PW).await;
    let (_, page) = call(&app, "credentials/list", &[], &alice).await;
    let roles = &page["items"][0]["roles"];
    assert_eq!(roles[1]["role"], "TeamLeader");
    assert_eq!(roles[1]["revoked_at"], app.now());
    let (_, detail) = call(&app, "users/get", &[("id", &alice_id)], &admin).await;
    assert_eq!(detail["revoked"], serde_json::json!([["TeamLeader", app.now()]]));

    app.clock.advance(1);
    let (status, _) = call(&app, "users/grant", &[("id", &alice_id), ("role", "team_leader")], &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_dead(&app, &both).await;
    assert_eq!(json(&token(&app, &c, &[]).await)["scope"], "work_creator team_leader");
}

#[tokio::test]
async fn a_credential_left_without_usable_roles_cannot_get_tokens() {
    let app = spawn().await;
    let id = app.create_user("alice", PW, &[Role::TeamLeader, Role::WorkCreator]).await;
    let c = credential_for(&app, &id, "sync", &["team_leader"]).await;
    let admin = app.sign_in_admin().await;
    call(&app, "users/revoke", &[("id", &id), ("role", "team_leader")], &admin).await;
    let res = token(&app, &c, &[]).await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_scope");
    assert!(json(&res)["error_description"].as_str().unwrap().contains("no usable role"));
}

#[tokio::test]
async fn deactivation_kills_every_token_and_session_at_once() {
    // LC-05, ASVS-S7
    let app = spawn().await;
    let id = app.create_user("alice", PW, &[Role::WorkCreator, Role::TeamLeader]).await;
    let c1 = credential_for(&app, &id, "one", &["work_creator"]).await;
    let c2 = credential_for(&app, &id, "two", &["team_leader"]).await;
    let (t1, t2) = (access_token(&app, &c1).await, access_token(&app, &c2).await);
    let session = app.sign_in("alice", PW).await;
    let admin = app.sign_in_admin().await;

    app.clock.advance(1);
    let (status, v) = call(&app, "users/active", &[("id", &id), ("active", "false")], &admin).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_dead(&app, &t1).await;
    assert_dead(&app, &t2).await;
    assert_oauth_error(&token(&app, &c1, &[]).await, StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(app.whoami(&session).await, None, "the session ended");
    let res = app.server_fn("login", &[("username", "alice"), ("password", PW)], None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let reasons: Vec<String> =
        sqlx::query_scalar("select revoked_reason from tokens").fetch_all(&app.state.db.pool).await.unwrap();
    assert_eq!(reasons, vec!["owner_deactivated", "owner_deactivated"]);

    app.clock.advance(1);
    let (status, _) = call(&app, "users/active", &[("id", &id), ("active", "true")], &admin).await;
    assert_eq!(status, StatusCode::OK);
    app.sign_in("alice", PW).await;
    assert_dead(&app, &t1).await;
    let fresh = access_token(&app, &c1).await;
    assert_alive(&app, &fresh).await;
}

#[tokio::test]
async fn the_administrator_and_self_lock_out_guards_hold() {
    let app = spawn().await;
    let admin_id = user_id(&app, "admin").await;
    let admin = app.sign_in_admin().await;

    // the last Administrator can neither lose the role nor be deactivated
    let (status, v) = call(&app, "users/revoke", &[("id", &admin_id), ("role", "administrator")], &admin).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["Invalid"]["message"].as_str().unwrap().contains("last active Administrator"), "{v}");
    let by = app::backend::caller::Caller::Operator;
    let err =
        app::backend::users::service::revoke_role(&app.state, &by, &admin_id, Role::Administrator).await.unwrap_err();
    assert!(format!("{err:?}").contains("last active Administrator"), "not even from the command line");

    // with a second Administrator, the first may step down
    let beth = app.create_user("beth", PW, &[Role::Administrator]).await;
    let (status, _) = call(&app, "users/revoke", &[("id", &admin_id), ("role", "administrator")], &admin).await;
    assert_eq!(status, StatusCode::OK);
    // … and now beth is the last one
    let err = app::backend::users::service::set_active(&app.state, &by, &beth, false).await.unwrap_err();
    assert!(format!("{err:?}").contains("last active Administrator"));

    // a User Manager who is not an Administrator cannot touch Administrators
    let uma_id = app.create_user("uma", PW, &[Role::UserManager]).await;
    let uma = app.sign_in("uma", PW).await;
    for (name, form) in [
        ("users/grant", vec![("id", uma_id.as_str()), ("role", "administrator")]),
        ("users/revoke", vec![("id", beth.as_str()), ("role", "administrator")]),
        ("users/active", vec![("id", beth.as_str()), ("active", "false")]),
        ("users/password", vec![("id", beth.as_str()), ("password", "")]),
        (
            "users/create",
            vec![("username", "root2"), ("display_name", "R"), ("password", ""), ("roles[]", "administrator")],
        ),
    ] {
        let (status, v) = call(&app, name, &form, &uma).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {v}");
        assert!(v["Invalid"]["message"].as_str().unwrap().starts_with("Only an Administrator"), "{name}: {v}");
    }
    let (_, detail) = call(&app, "users/get", &[("id", &beth)], &uma).await;
    assert_eq!(detail["can_manage_account"], false);
    assert!(!detail["manageable"].as_array().unwrap().contains(&serde_json::json!("Administrator")));

    // nobody locks themselves out
    let (status, v) = call(&app, "users/revoke", &[("id", &uma_id), ("role", "user_manager")], &uma).await;
    assert_eq!((status, field_error(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "role"), "{v}");
    let (status, v) = call(&app, "users/active", &[("id", &uma_id), ("active", "false")], &uma).await;
    assert_eq!((status, field_error(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "active"), "{v}");
    assert!(app.whoami(&uma).await.is_some());
    // but a User Manager may manage other non-Administrators
    let carol = app.create_user("carol", PW, &[]).await;
    let (status, _) = call(&app, "users/grant", &[("id", &carol), ("role", "team_leader")], &uma).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_password_reset_ends_the_users_sessions_and_shows_a_generated_password_once() {
    // ASVS-S8
    let app = spawn().await;
    let id = app.create_user("alice", PW, &[Role::WorkCreator]).await;
    let session = app.sign_in("alice", PW).await;
    let admin = app.sign_in_admin().await;
    app.clock.advance(1);
    let (status, v) = call(&app, "users/password", &[("id", &id), ("password", "")], &admin).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let generated = v["password"].as_str().unwrap().to_string();
    assert_eq!(app.whoami(&session).await, None);
    let res = app.server_fn("login", &[("username", "alice"), ("password", PW)], None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    app.sign_in("alice", &generated).await;
    let (status, v) = call(&app, "users/password", &[("id", &id), ("password", "alice is my name")], &admin).await;
    assert_eq!((status, field_error(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "password"), "{v}");
    let (status, v) = call(&app, "users/password", &[("id", &id), ("password", "a chosen passphrase")], &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(v["password"].is_null(), "a chosen password is not echoed back");
}

#[tokio::test]
async fn only_administrators_change_settings_and_bad_values_get_field_errors() {
    let app = spawn().await;
    app.create_user("uma", PW, &[Role::UserManager, Role::Auditor]).await;
    let uma = app.sign_in("uma", PW).await;
    assert_eq!(app.server_fn("settings/get", &[], Some(&uma)).await.status, StatusCode::FORBIDDEN);
    let res = app.server_fn("settings/update", &settings_form(&[("token_idle_minutes", "1")]), Some(&uma)).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    let admin = app.sign_in_admin().await;
    for (field, value) in [
        ("token_idle_minutes", "0"),
        ("token_idle_minutes", "abc"),
        ("token_lifetime_secs", "86401"),
        ("max_credential_days", "-1"),
        ("session_idle_minutes", "1441"),
        ("session_absolute_hours", "0"),
    ] {
        let (status, v) = call(&app, "settings/update", &settings_form(&[(field, value)]), &admin).await;
        assert_eq!((status, field_error(&v)), (StatusCode::UNPROCESSABLE_ENTITY, field), "{field}={value}: {v}");
    }
    let (_, v) = call(&app, "settings/get", &[], &admin).await;
    assert_eq!(v["token_idle_minutes"], 20, "refused values change nothing");
    let (status, v) = call(&app, "settings/update", &settings_form(&[("max_credential_days", "30")]), &admin).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["max_credential_days"], 30);
    assert_eq!(v["updated_at"], app.now());
}

#[tokio::test]
async fn settings_apply_at_once_even_to_live_tokens() {
    let app = spawn().await;
    let id = app.create_user("alice", PW, &[Role::WorkCreator]).await;
    let c = credential_for(&app, &id, "sync", &["work_creator"]).await;
    let t = access_token(&app, &c).await;
    let admin = app.sign_in_admin().await;

    // a shorter idle timeout applies to a token issued under the old one
    let (status, _) = call(&app, "settings/update", &settings_form(&[("token_idle_minutes", "1")]), &admin).await;
    assert_eq!(status, StatusCode::OK);
    app.clock.advance(61);
    assert_dead(&app, &t).await;

    // a shorter absolute lifetime applies to new tokens
    call(&app, "settings/update", &settings_form(&[("token_lifetime_secs", "60")]), &admin).await;
    let res = token(&app, &c, &[]).await;
    assert_eq!(json(&res)["expires_in"], 60);

    // the API switch: off refuses token requests and API calls, on restores them
    let live = json(&res)["access_token"].as_str().unwrap().to_string();
    call(&app, "settings/update", &settings_form(&[("api_enabled", "")]), &admin).await;
    let refused = token(&app, &c, &[]).await;
    assert!(json(&refused)["error_description"].as_str().unwrap().contains("switched off"), "{}", refused.body);
    assert_ne!(api(&app, "/api/v1/me", &live).await.status, StatusCode::OK);
    let alice = app.sign_in("alice", PW).await;
    let (_, page) = call(&app, "credentials/list", &[], &alice).await;
    assert_eq!(page["api_enabled"], false, "the credentials page shows the banner");
    call(&app, "settings/update", &settings_form(&[]), &admin).await;
    assert_alive(&app, &live).await;

    // the maximum credential lifetime applies to the next create
    call(&app, "settings/update", &settings_form(&[("max_credential_days", "10")]), &admin).await;
    let too_late = app::model::format_date(app.now() + 11 * app::model::SECS_PER_DAY);
    let (status, v) = call(
        &app,
        "credentials/create",
        &[("name", "late"), ("expires_on", &too_late), ("roles[]", "work_creator")],
        &alice,
    )
    .await;
    assert_eq!((status, field_error(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "expires_on"), "{v}");

    // web session idle timeout: 1 minute
    call(&app, "settings/update", &settings_form(&[("session_idle_minutes", "1")]), &admin).await;
    app.clock.advance(61);
    assert_eq!(app.whoami(&alice).await, None);
}

#[tokio::test]
async fn roles_can_be_revoked_and_granted_through_the_api_by_a_user_manager_token() {
    // LC-03 through the API; RS-07 (insufficient_scope)
    let app = spawn().await;
    let alice = app.create_user("alice", PW, &[Role::WorkCreator, Role::TeamLeader]).await;
    let alice_client = credential_for(&app, &alice, "sync", &["work_creator", "team_leader"]).await;
    let carried = access_token(&app, &alice_client).await;
    let uma = app.create_user("uma", PW, &[Role::UserManager, Role::WorkCreator]).await;
    let manager = credential_for(&app, &uma, "hr-sync", &["user_manager"]).await;
    let manager_token = access_token(&app, &manager).await;
    let plain = credential_for(&app, &uma, "plain", &["work_creator"]).await;
    let plain_token = access_token(&app, &plain).await;

    let path = format!("/api/v1/users/{alice}/roles/team_leader");
    let res = bearer_call(&app, "DELETE", &path, &plain_token).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    assert!(res.header("www-authenticate").unwrap().contains("insufficient_scope"));
    assert_alive(&app, &carried).await;

    let res = bearer_call(&app, "DELETE", &path, &manager_token).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.body);
    let event = app::backend::audit::recent(&app.state.db.pool, 1).await.unwrap().remove(0);
    assert_eq!((event.event.as_str(), event.actor_kind.as_str()), ("user.role_revoked", "credential"));
    assert_eq!(event.actor_id.as_deref(), Some(manager.id.as_str()));
    assert_dead(&app, &carried).await;
    assert_eq!(json(&token(&app, &alice_client, &[]).await)["scope"], "work_creator");

    assert_eq!(bearer_call(&app, "PUT", &path, &manager_token).await.status, StatusCode::NO_CONTENT);
    assert_eq!(json(&token(&app, &alice_client, &[]).await)["scope"], "work_creator team_leader");
    let admin_path = format!("/api/v1/users/{alice}/roles/administrator");
    assert_eq!(bearer_call(&app, "PUT", &admin_path, &manager_token).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad = format!("/api/v1/users/{alice}/roles/root");
    assert_eq!(bearer_call(&app, "PUT", &bad, &manager_token).await.status, StatusCode::NOT_FOUND);
    let nobody = "/api/v1/users/00000000-0000-0000-0000-000000000000/roles/team_leader";
    assert_eq!(bearer_call(&app, "PUT", nobody, &manager_token).await.status, StatusCode::NOT_FOUND);
}
