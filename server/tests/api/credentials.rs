//! The Application Credentials page's server functions and no-JS forms:
//! the authorization matrix, every invalid input, and the
//! secret shown once and stored only as a keyed digest.

use crate::common::{spawn, TestApp};
use app::backend::secrets::{is_well_formed, CLIENT_SECRET_PREFIX};
use app::model::{format_date, Role, SECS_PER_DAY};
use axum::http::{header, StatusCode};
use serde_json::Value;

const PW: &str = "a long secret phrase";

fn in_days(app: &TestApp, days: i64) -> String {
    format_date(app.now() + days * SECS_PER_DAY)
}

async fn create(app: &TestApp, cookie: &str, name: &str, roles: &[&str]) -> (StatusCode, Value) {
    let expires = in_days(app, 30);
    let mut form = vec![("name", name), ("expires_on", expires.as_str())];
    for r in roles {
        form.push(("roles[]", r));
    }
    let res = app.server_fn("credentials/create", &form, Some(cookie)).await;
    (res.status, serde_json::from_str(&res.body).unwrap_or(Value::Null))
}

async fn list(app: &TestApp, cookie: &str, query: &[(&str, &str)]) -> Value {
    let res = app.server_fn("credentials/list", query, Some(cookie)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    serde_json::from_str(&res.body).unwrap()
}

async fn row(app: &TestApp, id: &str) -> (String, String, i64, Option<i64>) {
    sqlx::query_as("select name, secret_digest, expires_at, deleted_at from credentials where id = $1")
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

/// Alice (work_creator, team_leader) and Bob (service_agent), signed in.
async fn two_users(app: &TestApp) -> (String, String) {
    app.create_user("alice", PW, &[Role::WorkCreator, Role::TeamLeader]).await;
    app.create_user("bob", PW, &[Role::ServiceAgent]).await;
    (app.sign_in("alice", PW).await, app.sign_in("bob", PW).await)
}

#[tokio::test]
async fn creating_a_credential_returns_the_secret_once_and_stores_only_a_digest() {
    // ASVS-K2, ASVS-K3, R6749-18
    let app = spawn().await;
    let (alice, _) = two_users(&app).await;
    let (status, created) = create(&app, &alice, "  Billing sync  ", &["work_creator"]).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["client_id"].as_str().unwrap();
    let secret = created["secret"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "client ids are UUIDs");
    assert!(is_well_formed(CLIENT_SECRET_PREFIX, secret));
    assert_eq!(created["name"], "Billing sync", "the name is trimmed");

    let (name, digest, _, _) = row(&app, id).await;
    assert_eq!(name, "Billing sync");
    assert_ne!(digest, secret);
    assert_eq!(digest, app.state.secret_key.digest(secret));

    // no column anywhere holds the secret
    let dump: Vec<(String, String, String)> =
        sqlx::query_as("select id, name, secret_digest from credentials").fetch_all(&app.state.db.pool).await.unwrap();
    assert!(dump.iter().all(|(a, b, c)| !a.contains(secret) && !b.contains(secret) && !c.contains(secret)));
    let sessions: Vec<String> =
        sqlx::query_scalar("select data from sessions").fetch_all(&app.state.db.pool).await.unwrap();
    assert!(sessions.iter().all(|d| !d.contains(secret)), "the secret never reaches the session");

    // the list never carries it
    let page = list(&app, &alice, &[]).await;
    assert!(!page.to_string().contains(secret));
    assert_eq!(page["items"][0]["id"], id);
}

#[tokio::test]
async fn the_list_shows_only_the_callers_own_credentials() {
    let app = spawn().await;
    let (alice, bob) = two_users(&app).await;
    create(&app, &alice, "Alice's job", &["work_creator"]).await;
    create(&app, &bob, "Bob's job", &["service_agent"]).await;
    let page = list(&app, &alice, &[]).await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["name"], "Alice's job");
    let page = list(&app, &bob, &[]).await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["name"], "Bob's job");
}

#[tokio::test]
async fn the_authorization_matrix_holds_for_owner_other_user_and_signed_out() {
    // ASVS-A1, ASVS-A2: another user gets "not found" and nothing changes
    let app = spawn().await;
    let (alice, bob) = two_users(&app).await;
    let (_, created) = create(&app, &alice, "Alice's job", &["work_creator"]).await;
    let id = created["client_id"].as_str().unwrap().to_string();
    let before = row(&app, &id).await;
    let expires = in_days(&app, 60);

    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("credentials/get", vec![("id", &id)]),
        (
            "credentials/update",
            vec![("id", &id), ("name", "Renamed"), ("expires_on", &expires), ("roles[]", "work_creator")],
        ),
        ("credentials/regenerate", vec![("id", &id)]),
        ("credentials/delete", vec![("id", &id)]),
    ];
    for (name, form) in &calls {
        let res = app.server_fn(name, form, Some(&bob)).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{name} as another user: {}", res.body);
        assert!(!res.body.contains("Alice"), "no hint that it exists");
        let res = app.server_fn(name, form, None).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{name} signed out");
    }
    for name in ["credentials/list", "credentials/form"] {
        assert_eq!(app.server_fn(name, &[], None).await.status, StatusCode::UNAUTHORIZED, "{name} signed out");
    }
    let (status, _) = create(&app, "appcred_session=forged", "x", &["work_creator"]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(row(&app, &id).await, before, "nothing changed");

    // the owner may do all of it
    for (name, form) in &calls {
        let res = app.server_fn(name, form, Some(&alice)).await;
        assert_eq!(res.status, StatusCode::OK, "{name} as owner: {}", res.body);
    }
    assert!(row(&app, &id).await.3.is_some(), "deleted by the owner (row kept for the audit trail)");
}

#[tokio::test]
async fn invalid_input_is_refused_with_a_field_error_and_writes_nothing() {
    let app = spawn().await;
    let (alice, bob) = two_users(&app).await;
    let count = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from credentials").fetch_one(&app.state.db.pool).await.unwrap()
    };
    let long_name = "x".repeat(101);
    let past = in_days(&app, -1);
    let too_far = in_days(&app, 366);
    let ok_date = in_days(&app, 10);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("name", "x"), ("expires_on", &ok_date), ("roles[]", "administrator")], "roles"),
        (vec![("name", "x"), ("expires_on", &ok_date), ("roles[]", "no_such_role")], "roles"),
        (vec![("name", "x"), ("expires_on", &ok_date)], "roles"),
        (vec![("name", "   "), ("expires_on", &ok_date), ("roles[]", "work_creator")], "name"),
        (vec![("name", &long_name), ("expires_on", &ok_date), ("roles[]", "work_creator")], "name"),
        (vec![("name", "x"), ("expires_on", &past), ("roles[]", "work_creator")], "expires_on"),
        (vec![("name", "x"), ("expires_on", &too_far), ("roles[]", "work_creator")], "expires_on"),
        (vec![("name", "x"), ("expires_on", "not a date"), ("roles[]", "work_creator")], "expires_on"),
    ];
    for (form, field) in cases {
        let res = app.server_fn("credentials/create", &form, Some(&alice)).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{form:?}: {}", res.body);
        let v: Value = serde_json::from_str(&res.body).unwrap();
        assert_eq!(v["Invalid"]["field"], field, "{form:?}: {v}");
        assert_eq!(count().await, 0);
    }

    // the same name twice (case-insensitively) for one owner is refused; for another owner it is fine
    assert_eq!(create(&app, &alice, "Nightly", &["work_creator"]).await.0, StatusCode::OK);
    let (status, v) = create(&app, &alice, "NIGHTLY", &["work_creator"]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["Invalid"]["field"], "name");
    assert_eq!(create(&app, &bob, "Nightly", &["service_agent"]).await.0, StatusCode::OK);

    // a forged owner field is simply not an argument: the owner is the caller
    let res = app
        .server_fn(
            "credentials/create",
            &[("name", "Forged"), ("expires_on", &ok_date), ("roles[]", "work_creator"), ("owner_id", "someone")],
            Some(&alice),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let owner: String = sqlx::query_scalar(
        "select u.username from credentials c join users u on u.id = c.owner_id where c.name = 'Forged'",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(owner, "alice");
}

#[tokio::test]
async fn regenerating_replaces_the_secret_and_keeps_everything_else() {
    let app = spawn().await;
    let (alice, _) = two_users(&app).await;
    let (_, created) = create(&app, &alice, "Rotate me", &["work_creator", "team_leader"]).await;
    let id = created["client_id"].as_str().unwrap();
    let old = created["secret"].as_str().unwrap().to_string();
    let before = row(&app, id).await;
    app.clock.advance(60);
    let res = app.server_fn("credentials/regenerate", &[("id", id)], Some(&alice)).await;
    assert_eq!(res.status, StatusCode::OK);
    let v: Value = serde_json::from_str(&res.body).unwrap();
    let new = v["secret"].as_str().unwrap();
    assert_ne!(new, old);
    assert_eq!(v["client_id"], id);
    let after = row(&app, id).await;
    assert_eq!((&after.0, after.2), (&before.0, before.2), "name and expiry kept");
    assert!(app.state.secret_key.verify(new, &after.1));
    assert!(!app.state.secret_key.verify(&old, &after.1), "the old secret is dead at once");
    let page = list(&app, &alice, &[]).await;
    assert_eq!(page["items"][0]["roles"].as_array().unwrap().len(), 2, "roles kept");
}

#[tokio::test]
async fn editing_narrows_and_rewidens_roles_only_within_the_owners_roles() {
    let app = spawn().await;
    let (alice, _) = two_users(&app).await;
    let (_, created) = create(&app, &alice, "Edit me", &["work_creator", "team_leader"]).await;
    let id = created["client_id"].as_str().unwrap();
    let date = in_days(&app, 90);
    let update = |roles: Vec<&'static str>| {
        let id = id.to_string();
        let date = date.clone();
        let alice = alice.clone();
        let app = &app;
        async move {
            let mut form = vec![("id", id.as_str()), ("name", "Edited"), ("expires_on", date.as_str())];
            for r in &roles {
                form.push(("roles[]", r));
            }
            app.server_fn("credentials/update", &form, Some(&alice)).await
        }
    };
    assert_eq!(update(vec!["work_creator"]).await.status, StatusCode::OK);
    let page = list(&app, &alice, &[]).await;
    assert_eq!(page["items"][0]["name"], "Edited");
    assert_eq!(page["items"][0]["roles"].as_array().unwrap().len(), 1);
    assert_eq!(format_date(page["items"][0]["expires_at"].as_i64().unwrap()), date);

    assert_eq!(update(vec!["work_creator", "team_leader"]).await.status, StatusCode::OK, "re-widened");
    assert_eq!(update(vec!["administrator"]).await.status, StatusCode::UNPROCESSABLE_ENTITY, "never beyond held roles");

    // a role the owner loses stays on the record, greyed, and survives an edit
    app.clock.advance(5);
    let alice_id = app::backend::users::service::find_by_username(&app.state.db, "alice").await.unwrap().id;
    let by = app::backend::caller::Caller::Operator;
    app::backend::users::service::revoke_role(&app.state, &by, &alice_id, Role::TeamLeader).await.unwrap();
    let page = list(&app, &alice, &[]).await;
    let roles = page["items"][0]["roles"].as_array().unwrap();
    let tl = roles.iter().find(|r| r["role"] == "TeamLeader").expect("kept on the record");
    assert_eq!(tl["revoked_at"].as_i64(), Some(app.now()));
    assert_eq!(update(vec!["work_creator"]).await.status, StatusCode::OK);
    let page = list(&app, &alice, &[]).await;
    assert_eq!(page["items"][0]["roles"].as_array().unwrap().len(), 2, "the revoked role is still recorded");
}

#[tokio::test]
async fn the_list_filters_sorts_and_paginates() {
    let app = spawn().await;
    let (alice, _) = two_users(&app).await;
    for i in 0..30 {
        create(&app, &alice, &format!("job {i:02}"), &["work_creator"]).await;
    }
    create(&app, &alice, "special_name%", &["work_creator"]).await;
    let page = list(&app, &alice, &[]).await;
    assert_eq!(page["total"], 31);
    assert_eq!(page["items"].as_array().unwrap().len(), 25);
    assert_eq!(page["items"][0]["name"], "job 00");
    let page2 = list(&app, &alice, &[("page", "2")]).await;
    assert_eq!(page2["items"].as_array().unwrap().len(), 6);
    let desc = list(&app, &alice, &[("sort", "name"), ("dir", "desc")]).await;
    assert_eq!(desc["items"][0]["name"], "special_name%");
    let filtered = list(&app, &alice, &[("q", "JOB 1")]).await;
    assert_eq!(filtered["total"], 10);
    let literal = list(&app, &alice, &[("q", "_name%")]).await;
    assert_eq!(literal["total"], 1, "LIKE wildcards in the filter are literal");
}

#[tokio::test]
async fn without_javascript_create_shows_the_secret_in_the_answer_page() {
    let app = spawn().await;
    let (alice, _) = two_users(&app).await;
    let date = in_days(&app, 30);
    let post = |body: String| {
        axum::http::Request::post("/credentials/new")
            .header(header::COOKIE, &alice)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "text/html")
            .body(axum::body::Body::from(body))
            .unwrap()
    };
    let res = app
        .send(post(crate::common::encode_form(&[
            ("name", "Plain form"),
            ("expires_on", &date),
            ("roles[]", "work_creator"),
            ("roles[]", "team_leader"),
        ])))
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("cache-control"), Some("no-store"), "ASVS-H8");
    let secret: String = res
        .body
        .split("value=\"")
        .filter_map(|s| s.split('"').next())
        .find(|v| v.starts_with("acs_"))
        .expect("secret in page")
        .into();
    assert!(is_well_formed(CLIENT_SECRET_PREFIX, &secret));
    assert!(res.body.contains("You will not be able to see it again"));
    assert!(!res.body.contains("/pkg/appcred.js"), "the answer page is static");
    let page = list(&app, &alice, &[]).await;
    assert_eq!(page["items"][0]["roles"].as_array().unwrap().len(), 2);

    // bad input: the form again, with the error and what was typed
    let res = app.send(post(crate::common::encode_form(&[("name", "Kept name"), ("expires_on", &date)]))).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Choose at least one role."), "{}", res.body);
    assert!(res.body.contains("value=\"Kept name\""));
    assert_eq!(list(&app, &alice, &[]).await["total"], 1);
}

#[tokio::test]
async fn without_javascript_regenerate_and_delete_work_for_the_owner_only() {
    let app = spawn().await;
    let (alice, bob) = two_users(&app).await;
    let (_, created) = create(&app, &alice, "Forms", &["work_creator"]).await;
    let id = created["client_id"].as_str().unwrap();
    let post = |path: String, cookie: &str| {
        axum::http::Request::post(path)
            .header(header::COOKIE, cookie)
            .header(header::ACCEPT, "text/html")
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let res = app.send(post(format!("/credentials/{id}/regenerate"), &bob)).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(!res.body.contains("acs_"));
    let res = app.send(post(format!("/credentials/{id}/regenerate"), &alice)).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains("New secret generated") && res.body.contains("acs_"));

    let res = app.send(post(format!("/credentials/{id}/delete"), &bob)).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(row(&app, id).await.3.is_none());
    let res = app.send(post(format!("/credentials/{id}/delete"), &alice)).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(row(&app, id).await.3.is_some());
}

#[tokio::test]
async fn the_pages_render_for_the_owner() {
    let app = spawn().await;
    let (alice, bob) = two_users(&app).await;
    let (_, created) = create(&app, &alice, "Rendered", &["work_creator"]).await;
    let id = created["client_id"].as_str().unwrap();
    let res = app.get("/", Some(&alice)).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains("Rendered") && res.body.contains("Work Creator"));
    let res = app.get(&format!("/credentials/{id}/edit"), Some(&alice)).await;
    assert!(res.body.contains("value=\"Rendered\""));
    let res = app.get(&format!("/credentials/{id}/edit"), Some(&bob)).await;
    assert!(!res.body.contains("Rendered") && res.body.contains("Not found"));
}

#[tokio::test]
async fn without_javascript_edit_saves_or_shows_the_form_again_with_the_error() {
    let app = spawn().await;
    let (alice, bob) = two_users(&app).await;
    let (_, created) = create(&app, &alice, "Editable", &["work_creator", "team_leader"]).await;
    let id = created["client_id"].as_str().unwrap();
    let date = in_days(&app, 45);
    let post = |cookie: &str, form: &[(&str, &str)]| {
        axum::http::Request::post(format!("/credentials/{id}/edit"))
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "text/html")
            .body(axum::body::Body::from(crate::common::encode_form(form)))
            .unwrap()
    };
    let res = app.send(post(&bob, &[("name", "Hijacked"), ("expires_on", &date), ("roles[]", "service_agent")])).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(row(&app, id).await.0, "Editable");

    let res = app
        .send(post(&alice, &[("name", "Edited plainly"), ("expires_on", "2001-01-01"), ("roles[]", "work_creator")]))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Choose a date in the future."));
    assert!(res.body.contains("value=\"Edited plainly\""), "what was typed is kept");
    assert_eq!(row(&app, id).await.0, "Editable", "nothing written");

    let res =
        app.send(post(&alice, &[("name", "Edited plainly"), ("expires_on", &date), ("roles[]", "work_creator")])).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.header("location"), Some("/"));
    let page = list(&app, &alice, &[]).await;
    assert_eq!(page["items"][0]["name"], "Edited plainly");
    assert_eq!(page["items"][0]["roles"].as_array().unwrap().len(), 1);
}
