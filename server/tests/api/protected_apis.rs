//! Protected APIs (resource servers): managed by Administrators,
//! introspecting the tokens meant for them (RFC 7662 §2.1), and tokens bound
//! to one with `resource` (RFC 8707).

use crate::common::*;
use app::backend::caller::Caller;
use app::backend::protected_apis::service::{self as apis, ProtectedApiInput};
use app::backend::Error;
use app::model::{CreatedSecret, Role};
use axum::http::StatusCode;
use serde_json::json;

const PW: &str = "a long secret phrase";
const AUDIENCE: &str = "https://orders.example.com/api";

async fn admin(app: &TestApp) -> Caller {
    let id: String = sqlx::query_scalar("select id from users where username = 'admin'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    person(app, &id).await
}

fn input(name: &str, audience: &str) -> ProtectedApiInput {
    ProtectedApiInput { name: name.to_string(), audience: audience.to_string() }
}

async fn create_api(app: &TestApp, name: &str, audience: &str) -> CreatedSecret {
    apis::create(&app.state, &admin(app).await, input(name, audience)).await.expect("create the protected API")
}

/// Alice (work_creator) and her credential.
async fn client(app: &TestApp) -> Client {
    let alice = app.create_user("alice", PW, &[Role::WorkCreator]).await;
    credential_for(app, &alice, "orders client", &["work_creator"]).await
}

async fn bound_token(app: &TestApp, c: &Client, audience: &str) -> String {
    let res = token(app, c, &[("resource", audience)]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    json(&res)["access_token"].as_str().unwrap().to_string()
}

async fn introspect_as(app: &TestApp, id: &str, secret: &str, t: &str) -> serde_json::Value {
    let res = post(app, "/oauth/introspect", Some(&basic(id, secret)), &[("token", t)]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    json(&res)
}

async fn by_api(app: &TestApp, api: &CreatedSecret, t: &str) -> serde_json::Value {
    introspect_as(app, &api.client_id, &api.secret, t).await
}

fn is_missing_administrator<T: std::fmt::Debug>(r: Result<T, Error>) -> bool {
    matches!(r, Err(Error::MissingRole(Role::Administrator)))
}

#[tokio::test]
async fn only_administrators_manage_protected_apis() {
    let app = spawn().await;
    let api = create_api(&app, "Orders", AUDIENCE).await;
    let manager = app.create_user("mallory", PW, &[Role::UserManager, Role::Auditor, Role::WorkCreator]).await;
    let by = person(&app, &manager).await;
    let s = &app.state;
    assert!(is_missing_administrator(apis::list(s, &by).await));
    assert!(is_missing_administrator(apis::get(s, &by, &api.client_id).await));
    assert!(is_missing_administrator(apis::create(s, &by, input("Mine", "https://mine.example")).await));
    assert!(is_missing_administrator(apis::update(s, &by, &api.client_id, input("X", AUDIENCE)).await));
    assert!(is_missing_administrator(apis::regenerate(s, &by, &api.client_id).await));
    assert!(is_missing_administrator(apis::delete(s, &by, &api.client_id).await));
    // nothing changed: the secret still works, the record is as it was
    let listed = apis::list(s, &admin(&app).await).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].name.as_str(), listed[0].audience.as_str()), ("Orders", AUDIENCE));
    let c = client(&app).await;
    let t = access_token(&app, &c).await;
    assert_eq!(by_api(&app, &api, &t).await["active"], true);
    // the operator holds every right
    assert!(apis::list(s, &Caller::Operator).await.is_ok());
}

#[tokio::test]
async fn the_secret_is_shown_once_and_stored_only_as_a_digest() {
    let app = spawn().await;
    let api = create_api(&app, "Orders", AUDIENCE).await;
    assert!(api.secret.starts_with("aps_"), "a prefix of its own");
    assert!(app::backend::secrets::is_well_formed(app::backend::secrets::PROTECTED_API_SECRET_PREFIX, &api.secret));
    let (digest, all): (String, String) = sqlx::query_as(
        "select secret_digest, id || name || audience || secret_digest from protected_apis where id = $1",
    )
    .bind(&api.client_id)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(digest, app.state.secret_key.digest(&api.secret));
    assert!(!all.contains(&api.secret[4..]), "the secret is stored nowhere");
    let listed = format!("{:?}", apis::list(&app.state, &admin(&app).await).await.unwrap());
    assert!(!listed.contains(&api.secret[4..]) && !format!("{api:?}").contains(&api.secret[4..]));

    // regenerate: a new secret, once; the old one stops at once
    let admin = admin(&app).await;
    let c = client(&app).await;
    let t = access_token(&app, &c).await;
    assert_eq!(by_api(&app, &api, &t).await["active"], true, "cached the API and the token");
    let new = apis::regenerate(&app.state, &admin, &api.client_id).await.unwrap();
    assert_ne!(new.secret, api.secret);
    let res = post(&app, "/oauth/introspect", Some(&basic(&api.client_id, &api.secret)), &[("token", &t)]).await;
    assert_oauth_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(by_api(&app, &new, &t).await["active"], true);
}

#[tokio::test]
async fn audiences_are_absolute_uris_and_unique() {
    let app = spawn().await;
    let admin = admin(&app).await;
    create_api(&app, "Orders", AUDIENCE).await;
    for bad in ["orders", "http://orders.example.com", "https://orders.example.com/#x", ""] {
        let r = apis::create(&app.state, &admin, input("Bad", bad)).await;
        assert!(matches!(r, Err(Error::Invalid { field: "audience", .. })), "{bad}: {r:?}");
    }
    let again = apis::create(&app.state, &admin, input("Orders again", AUDIENCE)).await;
    assert!(matches!(again, Err(Error::Invalid { field: "audience", .. })), "unique");
    let other = create_api(&app, "Local", "http://localhost:8080/").await;
    let taken = apis::update(&app.state, &admin, &other.client_id, input("Local", AUDIENCE)).await;
    assert!(matches!(taken, Err(Error::Invalid { field: "audience", .. })), "unique on edit too");
}

#[tokio::test]
async fn a_protected_api_gets_the_full_answer_for_a_token_meant_for_it() {
    let app = spawn().await;
    let api = create_api(&app, "Orders", AUDIENCE).await;
    let c = client(&app).await;
    let alice_id: String = sqlx::query_scalar("select id from users where username = 'alice'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();

    let t = bound_token(&app, &c, AUDIENCE).await;
    let v = by_api(&app, &api, &t).await;
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["scope"], "work_creator");
    assert_eq!(v["client_id"], c.id);
    assert_eq!(v["credential_name"], "orders client");
    assert_eq!(v["sub"], alice_id, "the owner's user id");
    assert_eq!(v["username"], "alice");
    assert_eq!(v["aud"], AUDIENCE);
    assert_eq!(v["token_type"], "Bearer");
    let iat = v["iat"].as_i64().unwrap();
    assert!(iat <= app.now() && iat > app.now() - 60);
    assert_eq!(v["exp"].as_i64().unwrap() - iat, 3600);

    // unbound: meant for any protected API, and it has no audience
    let unbound = access_token(&app, &c).await;
    let v = by_api(&app, &api, &unbound).await;
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["sub"], alice_id);
    assert!(v.get("aud").is_none(), "{v}");

    // a client still sees only its own tokens, as before
    let v = introspect_as(&app, &c.id, &c.secret, &t).await;
    assert_eq!(v["active"], true);
    assert_eq!(v["sub"], format!("client:{}", c.id));
    let bob = app.create_user("bob", PW, &[Role::WorkCreator]).await;
    let b = credential_for(&app, &bob, "bob's", &["work_creator"]).await;
    assert_eq!(introspect_as(&app, &b.id, &b.secret, &t).await, json!({ "active": false }));

    // unknown and malformed tokens, and a wrong secret
    for probe in ["garbage", "act_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA000000"] {
        assert_eq!(by_api(&app, &api, probe).await, json!({ "active": false }));
    }
    let res = post(&app, "/oauth/introspect", Some(&basic(&api.client_id, "aps_wrong")), &[("token", &t)]).await;
    assert_oauth_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    // the body method works too (RFC 6749 §2.3.1)
    let form = [("client_id", api.client_id.as_str()), ("client_secret", api.secret.as_str()), ("token", &t)];
    assert_eq!(json(&post(&app, "/oauth/introspect", None, &form).await)["active"], true);
}

#[tokio::test]
async fn a_token_bound_to_another_api_is_inactive_for_it() {
    let app = spawn().await;
    let orders = create_api(&app, "Orders", AUDIENCE).await;
    let billing = create_api(&app, "Billing", "https://billing.example.com").await;
    let c = client(&app).await;
    let t = bound_token(&app, &c, AUDIENCE).await;
    assert_eq!(by_api(&app, &billing, &t).await, json!({ "active": false }), "another API's token");
    assert_eq!(by_api(&app, &orders, &t).await["active"], true);
    assert_eq!(by_api(&app, &billing, &t).await, json!({ "active": false }), "also once cached");

    // the other API's look-ups are no use of the token: it still goes idle
    app.clock.advance(1000);
    by_api(&app, &billing, &t).await;
    app.clock.advance(201);
    assert_eq!(by_api(&app, &orders, &t).await, json!({ "active": false }));
}

#[tokio::test]
async fn a_protected_api_cannot_get_or_revoke_tokens() {
    let app = spawn().await;
    let api = create_api(&app, "Orders", AUDIENCE).await;
    let c = client(&app).await;
    let t = access_token(&app, &c).await;
    let auth = basic(&api.client_id, &api.secret);
    let res = post(&app, "/oauth/token", Some(&auth), &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    let res = post(&app, "/oauth/revoke", Some(&auth), &[("token", &t)]).await;
    assert_oauth_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    assert_alive(&app, &t).await;
}

#[tokio::test]
async fn a_revoked_token_is_inactive_at_the_next_call_after_a_cached_answer() {
    let app = spawn().await;
    let api = create_api(&app, "Orders", AUDIENCE).await;
    let c = client(&app).await;
    let t = bound_token(&app, &c, AUDIENCE).await;
    assert_eq!(by_api(&app, &api, &t).await["active"], true);
    assert_eq!(by_api(&app, &api, &t).await["active"], true, "answered from the cache");
    let res = post(&app, "/oauth/revoke", Some(&basic(&c.id, &c.secret)), &[("token", &t)]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(by_api(&app, &api, &t).await, json!({ "active": false }));

    // and so does a change to the credential
    let t = access_token(&app, &c).await;
    assert_eq!(by_api(&app, &api, &t).await["active"], true);
    let owner = person(&app, &owner_of(&app, &c).await).await;
    app::backend::credentials::service::regenerate(&app.state, &owner, &c.id).await.unwrap();
    assert_eq!(by_api(&app, &api, &t).await, json!({ "active": false }));
}

async fn owner_of(app: &TestApp, c: &Client) -> String {
    sqlx::query_scalar("select owner_id from credentials where id = $1")
        .bind(&c.id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn introspection_by_the_api_is_a_use_and_by_the_client_is_not() {
    let app = spawn().await;
    let api = create_api(&app, "Orders", AUDIENCE).await;
    let c = client(&app).await;
    // the protected API's look-ups keep the token alive (idle: 20 minutes;
    // lifetime: an hour)
    let t = bound_token(&app, &c, AUDIENCE).await;
    for _ in 0..2 {
        app.clock.advance(1000);
        assert_eq!(by_api(&app, &api, &t).await["active"], true);
    }
    // also on another instance, which reads the recorded use
    app.state.usage.flush(&app.state.db.pool).await.unwrap();
    let other = app.another_instance().await;
    app.clock.advance(1000);
    assert_eq!(by_api(&other, &api, &t).await["active"], true);

    // the client's own look-ups do not
    let u = bound_token(&app, &c, AUDIENCE).await;
    app.clock.advance(1000);
    assert_eq!(introspect_as(&app, &c.id, &c.secret, &u).await["active"], true);
    app.clock.advance(201);
    assert_eq!(introspect_as(&app, &c.id, &c.secret, &u).await, json!({ "active": false }));
    assert_eq!(by_api(&app, &api, &u).await, json!({ "active": false }));
}

#[tokio::test]
async fn a_bound_token_is_refused_by_the_api_and_an_unbound_one_is_unchanged() {
    let app = spawn().await;
    create_api(&app, "Orders", AUDIENCE).await;
    let c = client(&app).await;
    let t = bound_token(&app, &c, AUDIENCE).await;
    let res = api(&app, "/api/v1/me", &t).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.body);
    assert!(res.header("www-authenticate").unwrap().contains("error=\"invalid_token\""));
    let key = app.state.secret_key.token_key(&t).unwrap();
    let audience: Option<String> = sqlx::query_scalar("select audience from tokens where token_digest = $1")
        .bind(&key)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(audience.as_deref(), Some(AUDIENCE));

    // without resource: exactly as before
    let res = token(&app, &c, &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    let v = json(&res);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["access_token", "expires_in", "scope", "token_type"]);
    let unbound = v["access_token"].as_str().unwrap();
    assert_alive(&app, unbound).await;
    let key = app.state.secret_key.token_key(unbound).unwrap();
    let audience: Option<String> = sqlx::query_scalar("select audience from tokens where token_digest = $1")
        .bind(&key)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(audience, None);
}

#[tokio::test]
async fn an_unknown_or_second_resource_is_invalid_target() {
    let app = spawn().await;
    create_api(&app, "Orders", AUDIENCE).await;
    let billing = "https://billing.example.com";
    create_api(&app, "Billing", billing).await;
    let c = client(&app).await;
    for resource in ["https://unknown.example.com", "https://orders.example.com/api/", "not a uri"] {
        let res = token(&app, &c, &[("resource", resource)]).await;
        assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_target");
    }
    let res = token(&app, &c, &[("resource", AUDIENCE), ("resource", billing)]).await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_target");
    let res = token(&app, &c, &[("resource", AUDIENCE), ("resource", AUDIENCE)]).await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_target");
    // any other repeated parameter is still a malformed request
    let res = token(&app, &c, &[("scope", "work_creator"), ("scope", "work_creator")]).await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_request");
    // a deleted API's audience names nothing
    let admin = admin(&app).await;
    let listed = apis::list(&app.state, &admin).await.unwrap();
    let b = listed.iter().find(|a| a.audience == billing).unwrap();
    apis::delete(&app.state, &admin, &b.id).await.unwrap();
    let res = token(&app, &c, &[("resource", billing)]).await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_target");
    assert_eq!(token(&app, &c, &[("resource", AUDIENCE)]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn deleting_an_api_or_moving_its_audience_ends_the_tokens_bound_to_it() {
    let app = spawn().await;
    let admin = admin(&app).await;
    let api = create_api(&app, "Orders", AUDIENCE).await;
    let c = client(&app).await;
    let bound = bound_token(&app, &c, AUDIENCE).await;
    let unbound = access_token(&app, &c).await;
    assert_eq!(by_api(&app, &api, &bound).await["active"], true);

    let moved = "https://orders.example.com/v2";
    apis::update(&app.state, &admin, &api.client_id, input("Orders v2", moved)).await.unwrap();
    assert_eq!(by_api(&app, &api, &bound).await, json!({ "active": false }), "at the next call");
    assert_eq!(by_api(&app, &api, &unbound).await["active"], true);
    // a new API with the old audience does not inherit the old tokens
    let successor = create_api(&app, "Orders (new)", AUDIENCE).await;
    assert_eq!(by_api(&app, &successor, &bound).await, json!({ "active": false }));

    let rebound = bound_token(&app, &c, moved).await;
    assert_eq!(by_api(&app, &api, &rebound).await["active"], true);
    apis::delete(&app.state, &admin, &api.client_id).await.unwrap();
    let res = post(&app, "/oauth/introspect", Some(&basic(&api.client_id, &api.secret)), &[("token", &rebound)]).await;
    assert_oauth_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(by_api(&app, &successor, &rebound).await, json!({ "active": false }));
    let reason: String = sqlx::query_scalar("select revoked_reason from tokens where token_digest = $1")
        .bind(app.state.secret_key.token_key(&rebound).unwrap())
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(reason, "protected_api_deleted");
    assert!(apis::list(&app.state, &admin).await.unwrap().iter().all(|a| a.id != api.client_id));
    assert!(matches!(apis::get(&app.state, &admin, &api.client_id).await, Err(Error::NotFound)));
}

/// An audit row: event, actor kind and name, target kind and id, details.
type EventRow = (String, String, Option<String>, Option<String>, Option<String>, String);

/// A token request that checked the audience while the API was being
/// deleted writes its token after the deletion ended the API's tokens: it
/// stays bound to that API, so a successor with the audience never takes it.
#[tokio::test]
async fn a_token_issued_as_its_api_was_deleted_is_no_successors() {
    let app = spawn().await;
    let api = create_api(&app, "Orders", AUDIENCE).await;
    let c = client(&app).await;
    let t = bound_token(&app, &c, AUDIENCE).await;
    // the deletion as the racing request saw it: the API gone, its token not ended
    sqlx::query("update protected_apis set deleted_at = $1 where id = $2")
        .bind(app.now())
        .bind(&api.client_id)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    app.changed_elsewhere().await;
    let successor = create_api(&app, "Orders (new)", AUDIENCE).await;
    assert_eq!(by_api(&app, &successor, &t).await, json!({ "active": false }));
    let fresh = bound_token(&app, &c, AUDIENCE).await;
    assert_eq!(by_api(&app, &successor, &fresh).await["active"], true);
}

#[tokio::test]
async fn every_change_is_audited_without_a_secret() {
    let app = spawn().await;
    let admin = admin(&app).await;
    let api = create_api(&app, "Orders", AUDIENCE).await;
    apis::update(&app.state, &admin, &api.client_id, input("Orders v2", "https://orders.example.com/v2"))
        .await
        .unwrap();
    let new = apis::regenerate(&app.state, &admin, &api.client_id).await.unwrap();
    apis::delete(&app.state, &admin, &api.client_id).await.unwrap();
    let rows: Vec<EventRow> = sqlx::query_as(
        "select event, actor_kind, actor_name, target_kind, target_id, details from audit_events \
         where event like 'protected_api.%' order by seq",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    let events: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        events,
        ["protected_api.created", "protected_api.updated", "protected_api.secret_regenerated", "protected_api.deleted"]
    );
    for (_, actor_kind, actor_name, target_kind, target_id, details) in &rows {
        assert_eq!((actor_kind.as_str(), actor_name.as_deref()), ("user", Some("admin")));
        assert_eq!(target_kind.as_deref(), Some("protected_api"));
        assert_eq!(target_id.as_deref(), Some(api.client_id.as_str()));
        for secret in [&api.secret, &new.secret] {
            assert!(!details.contains(&secret[4..]), "{details}");
        }
    }
    assert!(rows[0].5.contains(AUDIENCE), "the audience is recorded: {}", rows[0].5);
    assert!(rows[1].5.contains("Orders v2"), "{}", rows[1].5);
    let all: Vec<String> =
        sqlx::query_scalar("select details from audit_events").fetch_all(&app.state.db.pool).await.unwrap();
    assert!(all.iter().all(|d| !d.contains(&api.secret[4..]) && !d.contains(&new.secret[4..])));
    assert!(app::model::AUDIT_EVENT_TYPES.contains(&"protected_api.secret_regenerated"));
    let verdict = app::backend::audit::verify(&app.state.db).await.unwrap();
    assert!(matches!(verdict, app::backend::audit::Verdict::Intact { .. }), "{verdict:?}");
}

#[tokio::test]
async fn the_operator_manages_protected_apis_at_the_command_line() {
    use appcred_server::cli::protected_api_command;
    use appcred_server::config::ProtectedApiCommand as Cmd;
    let app = spawn().await;
    let create = Cmd::Create { name: "Orders".into(), audience: AUDIENCE.into() };
    let created = protected_api_command(&app.state, create).await.unwrap();
    let id = created["client_id"].as_str().unwrap().to_string();
    let secret = created["client_secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("aps_"));
    let bad = Cmd::Create { name: "Bad".into(), audience: "http://orders.example.com".into() };
    let err = protected_api_command(&app.state, bad).await.unwrap_err();
    assert!(format!("{err:#}").starts_with("audience: "), "{err:#}");

    let listed = protected_api_command(&app.state, Cmd::List).await.unwrap();
    assert_eq!(listed, json!([{ "client_id": id, "name": "Orders", "audience": AUDIENCE }]));
    assert!(!listed.to_string().contains(&secret[4..]));
    let edit = Cmd::Edit { client_id: id.clone(), name: "Orders v2".into(), audience: AUDIENCE.into() };
    protected_api_command(&app.state, edit).await.unwrap();
    let fresh = protected_api_command(&app.state, Cmd::Regenerate { client_id: id.clone() }).await.unwrap();
    let api = CreatedSecret {
        client_id: id.clone(),
        name: "Orders v2".into(),
        secret: fresh["client_secret"].as_str().unwrap().to_string(),
    };
    let c = client(&app).await;
    let t = bound_token(&app, &c, AUDIENCE).await;
    assert_eq!(by_api(&app, &api, &t).await["active"], true);
    protected_api_command(&app.state, Cmd::Delete { client_id: id.clone() }).await.unwrap();
    assert_eq!(protected_api_command(&app.state, Cmd::List).await.unwrap(), json!([]));
    let actor: String = sqlx::query_scalar("select actor_kind from audit_events where event = 'protected_api.deleted'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(actor, "operator");
}

#[tokio::test]
async fn a_protected_apis_failures_are_throttled_as_a_clients_are() {
    let app = spawn().await;
    let api = create_api(&app, "Orders", AUDIENCE).await;
    let c = client(&app).await;
    let t = access_token(&app, &c).await;
    let wrong = basic(&api.client_id, "aps_not-the-secret");
    let limit = app::backend::tokens::service::PER_CLIENT_AND_ADDRESS.limit;
    for _ in 0..limit {
        let res = post(&app, "/oauth/introspect", Some(&wrong), &[("token", &t)]).await;
        assert_oauth_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let res = post(&app, "/oauth/introspect", Some(&basic(&api.client_id, &api.secret)), &[("token", &t)]).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "the right secret waits too: {}", res.body);
    assert!(res.header("retry-after").is_some());
    assert!(json(&res).get("active").is_none());
}

#[tokio::test]
async fn presenting_a_bound_token_to_the_api_is_no_use_of_it() {
    let app = spawn().await;
    let api = create_api(&app, "Orders", AUDIENCE).await;
    let c = client(&app).await;
    let t = bound_token(&app, &c, AUDIENCE).await;
    for _ in 0..2 {
        app.clock.advance(700);
        assert_eq!(api_call(&app, &t).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(by_api(&app, &api, &t).await, json!({ "active": false }), "idle for 1400 s");
}

async fn api_call(app: &TestApp, t: &str) -> StatusCode {
    api(app, "/api/v1/me", t).await.status
}

/// Forward auth and audience binding together: a check naming the API's
/// audience admits a token bound to it; a check naming no audience, or
/// another one, refuses it; an unbound token is valid everywhere, as for
/// introspection.
#[tokio::test]
async fn forward_auth_admits_a_bound_token_only_where_its_audience_is_named() {
    use axum::body::Body;
    use axum::http::Request;
    let app = spawn().await;
    create_api(&app, "orders", AUDIENCE).await;
    create_api(&app, "billing", "https://billing.example.com/api").await;
    let c = client(&app).await;
    let bound = bound_token(&app, &c, AUDIENCE).await;
    let unbound = access_token(&app, &c).await;
    let check = |query: &str, t: &str| {
        let req = Request::get(format!("/auth/verify?{query}"))
            .header("authorization", format!("Bearer {t}"))
            .body(Body::empty())
            .unwrap();
        let app = &app;
        async move { app.send(req).await.status }
    };
    let orders = format!("audience={}", form_encode(AUDIENCE));
    let billing = format!("audience={}", form_encode("https://billing.example.com/api"));
    assert_eq!(check(&orders, &bound).await, StatusCode::OK, "bound, its audience named");
    assert_eq!(check("", &bound).await, StatusCode::UNAUTHORIZED, "bound, no audience named");
    assert_eq!(check(&billing, &bound).await, StatusCode::UNAUTHORIZED, "bound, another audience named");
    assert_eq!(check("", &unbound).await, StatusCode::OK, "unbound, no audience named");
    assert_eq!(check(&orders, &unbound).await, StatusCode::OK, "unbound, an audience named");
}

/// A forward-auth check that refuses a bound token for another audience is
/// no use of it: its idle clock keeps running. A check it passes is a use.
#[tokio::test]
async fn a_check_refusing_a_bound_token_is_no_use_of_it() {
    use axum::body::Body;
    use axum::http::Request;
    let app = spawn().await;
    create_api(&app, "orders", AUDIENCE).await;
    create_api(&app, "billing", "https://billing.example.com/api").await;
    let c = client(&app).await;
    let check = |audience: &str, t: String| {
        let req = Request::get(format!("/auth/verify?audience={}", form_encode(audience)))
            .header("authorization", format!("Bearer {t}"))
            .body(Body::empty())
            .unwrap();
        let app = &app;
        async move { app.send(req).await.status }
    };
    let idle: i64 =
        sqlx::query_scalar("select token_idle_secs from settings").fetch_one(&app.state.db.pool).await.unwrap();
    let refused_only = bound_token(&app, &c, AUDIENCE).await;
    let used = bound_token(&app, &c, AUDIENCE).await;
    app.clock.advance(idle - 100);
    assert_eq!(check("https://billing.example.com/api", refused_only.clone()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(check(AUDIENCE, used.clone()).await, StatusCode::OK);
    app.clock.advance(200);
    assert_eq!(check(AUDIENCE, refused_only).await, StatusCode::UNAUTHORIZED, "idle: the refusal was no use");
    assert_eq!(check(AUDIENCE, used).await, StatusCode::OK, "the passed check was a use");
}

fn page_post(path: &str, cookie: &str, body: String) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::post(path)
        .header(axum::http::header::COOKIE, cookie)
        .header(axum::http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(axum::http::header::ACCEPT, "text/html")
        .body(axum::body::Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn the_page_functions_answer_administrators_only() {
    let app = spawn().await;
    app.create_user("alice", PW, &[Role::UserManager, Role::Auditor, Role::WorkCreator]).await;
    let alice = app.sign_in("alice", PW).await;
    let form = [("name", "Orders"), ("audience", AUDIENCE)];
    for (name, form) in [("protected-apis/list", &[][..]), ("protected-apis/create", &form[..])] {
        assert_eq!(app.server_fn(name, form, None).await.status, StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(app.server_fn(name, form, Some(&alice)).await.status, StatusCode::FORBIDDEN, "{name}");
    }
    let admin = app.sign_in_admin().await;
    let res = app.server_fn("protected-apis/create", &form, Some(&admin)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let created = json(&res);
    let secret = created["secret"].as_str().unwrap();
    let list = app.server_fn("protected-apis/list", &[], Some(&admin)).await;
    assert_eq!(json(&list)[0]["audience"], AUDIENCE);
    assert!(!list.body.contains(secret), "the list never holds a secret");
    // a refused audience comes back as the field's error (docs/errors.md)
    let bad =
        app.server_fn("protected-apis/create", &[("name", "x"), ("audience", "http://x.example")], Some(&admin)).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("Use https (http only for localhost)."), "{}", bad.body);
}

#[tokio::test]
async fn without_javascript_the_forms_create_regenerate_and_delete() {
    let app = spawn().await;
    let by = admin(&app).await;
    let admin = app.sign_in_admin().await;
    let form = |pairs: &[(&str, &str)]| crate::common::encode_form(pairs);
    let res =
        app.send(page_post("/protected-apis/new", &admin, form(&[("name", "Orders"), ("audience", AUDIENCE)]))).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let secret: String = res
        .body
        .split("value=\"")
        .filter_map(|s| s.split('"').next())
        .find(|v| v.starts_with("aps_"))
        .expect("secret in page")
        .into();
    assert!(res.body.contains("You will not be able to see it again"));
    assert!(!res.body.contains("/pkg/appcred.js"), "the answer page is static");
    let list = app.get("/protected-apis", Some(&admin)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains(AUDIENCE) && !list.body.contains(&secret), "listed, without its secret");
    let id = apis::list(&app.state, &by).await.unwrap()[0].id.clone();

    // bad input: the form again, with the error and what was typed
    let res =
        app.send(page_post("/protected-apis/new", &admin, form(&[("name", "Kept"), ("audience", "ftp://x")]))).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Use an https URI.") && res.body.contains("value=\"Kept\""), "{}", res.body);

    // others are refused
    app.create_user("alice", PW, &[Role::UserManager]).await;
    let alice = app.sign_in("alice", PW).await;
    let res = app.send(page_post(&format!("/protected-apis/{id}/delete"), &alice, String::new())).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    let res = app.send(page_post(&format!("/protected-apis/{id}/regenerate"), &admin, String::new())).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(!res.body.contains(&secret) && res.body.contains("aps_") && res.body.contains("New secret generated"));
    let res = app.send(page_post(&format!("/protected-apis/{id}/delete"), &admin, String::new())).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(apis::list(&app.state, &by).await.unwrap().is_empty());
}
