//! The audit log (issue 6, items 1–2): the exact events each action writes,
//! that none carries a secret, token or password, and that the hash chain
//! verifies and exposes tampering.

mod common;

use app::backend::audit::{self, StoredEvent, Verdict};
use app::model::Role;
use axum::http::StatusCode;
use common::*;
use serde_json::Value;

const PW: &str = "a long secret phrase";

async fn all_events(app: &TestApp) -> Vec<StoredEvent> {
    let mut v = audit::recent(&app.state.db.pool, 100_000).await.unwrap();
    v.reverse();
    v
}

/// Events written since the last call, oldest first.
struct Tail {
    seen: usize,
}

impl Tail {
    async fn new(app: &TestApp) -> Self {
        Tail { seen: all_events(app).await.len() }
    }

    async fn take(&mut self, app: &TestApp) -> Vec<StoredEvent> {
        let all = all_events(app).await;
        let new = all[self.seen..].to_vec();
        self.seen = all.len();
        new
    }

    /// Asserts the names (and outcomes) of the new events, and returns them.
    async fn expect(&mut self, app: &TestApp, names: &[&str]) -> Vec<StoredEvent> {
        let new = self.take(app).await;
        let got: Vec<String> = new
            .iter()
            .map(|e| if e.outcome == "success" { e.event.clone() } else { format!("{}!", e.event) })
            .collect();
        assert_eq!(got, names, "{new:#?}");
        new
    }
}

fn details(e: &StoredEvent) -> Value {
    serde_json::from_str(&e.details).unwrap()
}

#[tokio::test]
async fn each_action_writes_exactly_its_events() {
    // ASVS-L1 .. ASVS-L3: who, what, when, where, outcome
    let app = spawn().await;
    let mut tail = Tail::new(&app).await;
    assert_eq!(tail.seen, 1, "bootstrap wrote user.created");

    let admin = app.sign_in_admin().await;
    let e = tail.expect(&app, &["session.sign_in"]).await.remove(0);
    assert_eq!(
        (e.actor_kind.as_str(), e.actor_name.as_deref(), e.ip.as_deref()),
        ("user", Some("admin"), Some("127.0.0.1"))
    );

    let res = app.server_fn("login", &[("username", "admin"), ("password", "wrong password!!")], None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let e = tail.expect(&app, &["session.sign_in!"]).await.remove(0);
    assert_eq!((e.actor_kind.as_str(), e.target_name.as_deref()), ("anonymous", Some("admin")));
    assert_eq!(details(&e)["reason"], "wrong password");
    app.server_fn("login", &[("username", "no-such-person"), ("password", "x")], None).await;
    let e = tail.expect(&app, &["session.sign_in!"]).await.remove(0);
    assert_eq!(details(&e)["reason"], "unknown username");
    assert!(e.target_id.is_none() && !format!("{e:?}").contains("no-such-person"), "typed names are not kept");

    let res = app
        .server_fn(
            "users/create",
            &[
                ("username", "alice"),
                ("display_name", "Alice"),
                ("password", PW),
                ("roles[]", "work_creator"),
                ("roles[]", "team_leader"),
            ],
            Some(&admin),
        )
        .await;
    let alice_id = json(&res)["user_id"].as_str().unwrap().to_string();
    let e = tail.expect(&app, &["user.created"]).await.remove(0);
    assert_eq!(e.target_id.as_deref(), Some(alice_id.as_str()));
    assert_eq!(details(&e)["roles"], serde_json::json!(["work_creator", "team_leader"]));
    assert_eq!(details(&e)["password"], "set");

    let alice = app.sign_in("alice", PW).await;
    tail.expect(&app, &["session.sign_in"]).await;
    let expires = app::model::format_date(app.now() + 30 * app::model::SECS_PER_DAY);
    let res = app
        .server_fn(
            "credentials/create",
            &[("name", "sync"), ("expires_on", &expires), ("roles[]", "work_creator"), ("roles[]", "team_leader")],
            Some(&alice),
        )
        .await;
    let created = json(&res);
    let client = Client {
        id: created["client_id"].as_str().unwrap().to_string(),
        secret: created["secret"].as_str().unwrap().to_string(),
    };
    let e = tail.expect(&app, &["credential.created"]).await.remove(0);
    assert_eq!((e.target_kind.as_deref(), e.target_id.as_deref()), (Some("credential"), Some(client.id.as_str())));
    assert_eq!(details(&e)["expires_on"], expires);

    let t = access_token(&app, &client).await;
    let e = tail.expect(&app, &["token.issued"]).await.remove(0);
    assert_eq!((e.actor_kind.as_str(), e.actor_id.as_deref()), ("credential", Some(client.id.as_str())));
    assert_eq!(details(&e)["roles"], "work_creator team_leader");

    app.server_fn(
        "credentials/update",
        &[("id", &client.id), ("name", "sync v2"), ("expires_on", &expires), ("roles[]", "work_creator")],
        Some(&alice),
    )
    .await;
    let e = tail.expect(&app, &["credential.updated"]).await.remove(0);
    let d = details(&e);
    assert_eq!(d["name"], serde_json::json!({"before": "sync", "after": "sync v2"}));
    assert_eq!(d["roles"], serde_json::json!({"before": ["work_creator", "team_leader"], "after": ["work_creator"]}));
    assert!(d.get("expires_on").is_none(), "unchanged fields are not listed: {d}");
    assert_eq!(d["tokens_revoked"], 1);

    let wrong = Client { id: client.id.clone(), secret: "acs_wrong".into() };
    token(&app, &wrong, &[]).await;
    let e = tail.expect(&app, &["token.refused!"]).await.remove(0);
    assert_eq!(
        (details(&e)["client_id"].as_str(), details(&e)["error"].as_str()),
        (Some(client.id.as_str()), Some("invalid_client"))
    );
    assert_eq!(e.ip.as_deref(), Some("127.0.0.1"));

    let t2 = access_token(&app, &client).await;
    tail.expect(&app, &["token.issued"]).await;
    let res = post(&app, "/oauth/revoke", Some(&basic(&client.id, &client.secret)), &[("token", &t2)]).await;
    assert_eq!(res.status, StatusCode::OK);
    let e = tail.expect(&app, &["token.revoked"]).await.remove(0);
    assert_eq!(details(&e)["reason"], "revocation_endpoint");

    let t3 = access_token(&app, &client).await;
    tail.expect(&app, &["token.issued"]).await;
    app.clock.advance(1201);
    assert_dead(&app, &t3).await;
    let e = tail.expect(&app, &["token.revoked"]).await.remove(0);
    assert_eq!((e.actor_kind.as_str(), details(&e)["reason"].as_str()), ("system", Some("idle")));
    assert_dead(&app, &t3).await;
    tail.expect(&app, &[]).await;

    let admin = app.sign_in_admin().await;
    tail.expect(&app, &["session.sign_in"]).await;
    let alice = app.sign_in("alice", PW).await;
    tail.expect(&app, &["session.sign_in"]).await;
    app.server_fn("credentials/regenerate", &[("id", &client.id)], Some(&alice)).await;
    tail.expect(&app, &["credential.secret_regenerated"]).await;

    app.server_fn("users/revoke", &[("id", &alice_id), ("role", "team_leader")], Some(&admin)).await;
    let e = tail.expect(&app, &["user.role_revoked"]).await.remove(0);
    assert_eq!((e.actor_name.as_deref(), details(&e)["role"].as_str()), (Some("admin"), Some("team_leader")));
    app.server_fn("users/grant", &[("id", &alice_id), ("role", "team_leader")], Some(&admin)).await;
    tail.expect(&app, &["user.role_granted"]).await;
    app.server_fn("users/grant", &[("id", &alice_id), ("role", "team_leader")], Some(&admin)).await;
    tail.expect(&app, &[]).await;
    app.server_fn("users/active", &[("id", &alice_id), ("active", "false")], Some(&admin)).await;
    let e = tail.expect(&app, &["user.deactivated"]).await.remove(0);
    assert_eq!(details(&e)["sessions_ended"], 2, "both of alice's sign-ins");
    app.server_fn("users/active", &[("id", &alice_id), ("active", "true")], Some(&admin)).await;
    tail.expect(&app, &["user.reactivated"]).await;
    app.server_fn("users/password", &[("id", &alice_id), ("password", "")], Some(&admin)).await;
    let e = tail.expect(&app, &["user.password_reset"]).await.remove(0);
    assert_eq!(details(&e)["password"], "generated");

    let form = [
        ("token_idle_minutes", "5"),
        ("token_lifetime_secs", "3600"),
        ("max_credential_days", "365"),
        ("api_enabled", "true"),
        ("session_idle_minutes", "30"),
        ("session_absolute_hours", "12"),
    ];
    app.server_fn("settings/update", &form, Some(&admin)).await;
    let e = tail.expect(&app, &["settings.changed"]).await.remove(0);
    assert_eq!(details(&e), serde_json::json!({"token_idle_secs": {"before": 1200, "after": 300}}));
    app.server_fn("settings/update", &form, Some(&admin)).await;
    tail.expect(&app, &[]).await;

    let owner = app::backend::auth::Principal {
        user_id: alice_id.clone(),
        username: "alice".into(),
        display_name: "Alice".into(),
        roles: vec![Role::WorkCreator, Role::TeamLeader],
        ip: None,
    };
    app::backend::credentials::service::delete(&app.state, &owner, &client.id).await.unwrap();
    let e = tail.expect(&app, &["credential.deleted"]).await.remove(0);
    assert!(e.ip.is_none());

    app.server_fn("logout", &[], Some(&admin)).await;
    tail.expect(&app, &["session.sign_out"]).await;

    assert_eq!(audit::verify(&app.state.db.pool).await.unwrap(), Verdict::Intact { count: tail.seen as i64 });
    let _ = t;
}

#[tokio::test]
async fn no_event_carries_a_secret_token_or_password() {
    // ASVS-L4: scan every stored field for every generated value
    let app = spawn().await;
    let admin = app.sign_in_admin().await;
    let res = app
        .server_fn("users/create", &[("username", "alice"), ("display_name", "A"), ("password", "")], Some(&admin))
        .await;
    let generated = json(&res)["password"].as_str().unwrap().to_string();
    let alice_id = json(&res)["user_id"].as_str().unwrap().to_string();
    app.server_fn("users/grant", &[("id", &alice_id), ("role", "work_creator")], Some(&admin)).await;
    let alice = app.sign_in("alice", &generated).await;
    let expires = app::model::format_date(app.now() + 30 * app::model::SECS_PER_DAY);
    let res = app
        .server_fn(
            "credentials/create",
            &[("name", "c"), ("expires_on", &expires), ("roles[]", "work_creator")],
            Some(&alice),
        )
        .await;
    let c = Client {
        id: json(&res)["client_id"].as_str().unwrap().to_string(),
        secret: json(&res)["secret"].as_str().unwrap().to_string(),
    };
    let t = access_token(&app, &c).await;
    let refused = Client { id: c.id.clone(), secret: format!("{}x", c.secret) };
    token(&app, &refused, &[]).await;
    post(&app, "/oauth/revoke", Some(&basic(&c.id, &c.secret)), &[("token", &t)]).await;
    let res = app.server_fn("credentials/regenerate", &[("id", &c.id)], Some(&alice)).await;
    let fresh = json(&res)["secret"].as_str().unwrap().to_string();
    let res = app.server_fn("users/password", &[("id", &alice_id), ("password", "")], Some(&admin)).await;
    let reset = json(&res)["password"].as_str().unwrap().to_string();
    app.server_fn("login", &[("username", "alice"), ("password", "not her password at all")], None).await;

    let session_ids: Vec<String> = [&admin, &alice].iter().map(|c| c.split_once('=').unwrap().1.to_string()).collect();
    let forbidden = [generated.as_str(), &c.secret, &fresh, &t, &reset, ADMIN_PASSWORD, "not her password at all"];
    let events = all_events(&app).await;
    assert!(events.len() >= 10);
    for e in &events {
        let text = format!("{e:?}");
        for value in forbidden.iter().copied().chain(session_ids.iter().map(String::as_str)) {
            assert!(!text.contains(value), "event {} carries a secret value: {text}", e.seq);
        }
        // no digest of one either
        assert!(!text.contains(&app.state.secret_key.digest(&c.secret)));
    }
}

#[tokio::test]
async fn the_chain_verifies_and_tampering_is_found_at_the_first_broken_link() {
    // ASVS-L5
    let app = spawn().await;
    for name in ["aa1", "aa2", "aa3", "aa4"] {
        app.create_user(name, PW, &[Role::WorkCreator]).await;
    }
    let pool = &app.state.db.pool;
    assert_eq!(audit::verify(pool).await.unwrap(), Verdict::Intact { count: 5 });

    // an edited row
    sqlx::query("update audit_events set details = '{\"roles\":[\"administrator\"]}' where seq = 3")
        .execute(pool)
        .await
        .unwrap();
    assert!(matches!(audit::verify(pool).await.unwrap(), Verdict::Broken { seq: 3, .. }));

    // an edited row whose hash was recomputed: the next row no longer links to it
    let mut row = all_events(&app).await.remove(2);
    row.hash = audit::row_hash(&row);
    sqlx::query("update audit_events set hash = $1 where seq = 3").bind(&row.hash).execute(pool).await.unwrap();
    match audit::verify(pool).await.unwrap() {
        Verdict::Broken { seq, reason } => assert_eq!((seq, reason.as_str()), (4, "does not link to the previous row")),
        other => panic!("{other:?}"),
    }

    // a deleted row in the middle, and the newest row deleted
    let fresh = spawn().await;
    for name in ["bb1", "bb2", "bb3"] {
        fresh.create_user(name, PW, &[]).await;
    }
    let pool = &fresh.state.db.pool;
    sqlx::query("delete from audit_events where seq = 2").execute(pool).await.unwrap();
    assert!(matches!(audit::verify(pool).await.unwrap(), Verdict::Broken { seq: 2, .. }));
    let last = spawn().await;
    last.create_user("cc1", PW, &[]).await;
    sqlx::query("delete from audit_events where seq = 2").execute(&last.state.db.pool).await.unwrap();
    assert!(matches!(audit::verify(&last.state.db.pool).await.unwrap(), Verdict::Broken { seq: 2, .. }));

    // the command line reports it and fails
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_appcred"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", &app.db_url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("BROKEN at event 4"), "{out:?}");
    let ok = spawn().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_appcred"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", &ok.db_url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("intact: 1 events"));
}

#[tokio::test]
async fn concurrent_writers_never_fork_the_chain() {
    let app = spawn().await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let app_state = app.state.clone();
        tasks.push(tokio::spawn(async move {
            let event = audit::Event::new("test.concurrent", audit::Actor::System).detail("i", i);
            audit::record_alone(&app_state.db.pool, 1, event).await.unwrap()
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap());
    }
    seqs.sort();
    assert_eq!(seqs, (2..18).collect::<Vec<i64>>());
    assert_eq!(audit::verify(&app.state.db.pool).await.unwrap(), Verdict::Intact { count: 17 });
}

#[tokio::test]
async fn an_auditor_cannot_change_anything_that_is_not_their_own() {
    // ASVS-A2: read-only role; other users' credentials are "not found"
    let app = spawn().await;
    let alice = app.create_user("alice", PW, &[Role::WorkCreator]).await;
    let c = credential_for(&app, &alice, "alice", "sync", &["work_creator"]).await;
    app.create_user("audrey", PW, &[Role::Auditor]).await;
    let audrey = app.sign_in("audrey", PW).await;
    let before = all_events(&app).await.len();
    let expires = app::model::format_date(app.now() + 30 * app::model::SECS_PER_DAY);
    let calls: Vec<(&str, Vec<(&str, &str)>, StatusCode)> = vec![
        ("users/create", vec![("username", "x1x"), ("display_name", "X"), ("password", "")], StatusCode::FORBIDDEN),
        ("users/grant", vec![("id", &alice), ("role", "auditor")], StatusCode::FORBIDDEN),
        ("users/revoke", vec![("id", &alice), ("role", "work_creator")], StatusCode::FORBIDDEN),
        ("users/active", vec![("id", &alice), ("active", "false")], StatusCode::FORBIDDEN),
        ("users/password", vec![("id", &alice), ("password", "")], StatusCode::FORBIDDEN),
        (
            "settings/update",
            vec![
                ("token_idle_minutes", "1"),
                ("token_lifetime_secs", "60"),
                ("max_credential_days", "1"),
                ("session_idle_minutes", "1"),
                ("session_absolute_hours", "1"),
            ],
            StatusCode::FORBIDDEN,
        ),
        (
            "credentials/update",
            vec![("id", &c.id), ("name", "mine"), ("expires_on", &expires), ("roles[]", "auditor")],
            StatusCode::NOT_FOUND,
        ),
        ("credentials/regenerate", vec![("id", &c.id)], StatusCode::NOT_FOUND),
        ("credentials/delete", vec![("id", &c.id)], StatusCode::NOT_FOUND),
    ];
    for (name, form, expected) in calls {
        let res = app.server_fn(name, &form, Some(&audrey)).await;
        assert_eq!(res.status, expected, "{name}: {}", res.body);
        assert!(!res.body.contains("acs_"), "{name}");
    }
    assert_eq!(all_events(&app).await.len(), before, "nothing was written");
    assert_alive(&app, &access_token(&app, &c).await).await;
}
