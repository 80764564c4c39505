//! The audit log (docs/audit.md): the exact events each action writes,
//! that none carries a secret, token or password, and that the hash chain
//! verifies and exposes tampering.

use crate::common::*;
use app::backend::audit::{self, StoredEvent, Verdict};
use app::model::Role;
use axum::http::StatusCode;
use serde_json::Value;

const PW: &str = "a long secret phrase";

/// Runs the real binary on `db_url` with the test instances' server key.
fn appcred(db_url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_appcred"))
        .args(args)
        .env("DATABASE_URL", db_url)
        .env("APPCRED_SECRET_KEY", app::backend::secrets::hex(&SERVER_KEY))
        .env("RUST_LOG", "error")
        .output()
        .unwrap()
}

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
    // Refusals are counted and written with the next flush (backend/refusals/).
    app.flush_refusals().await;
    let e = tail.expect(&app, &["token.refused!"]).await.remove(0);
    let refused = &details(&e)["requests"][0];
    assert_eq!(
        (refused["client_id"].as_str(), refused["error"].as_str(), refused["count"].as_i64()),
        (Some(client.id.as_str()), Some("invalid_client"), Some(1))
    );
    assert_eq!((e.target_kind.as_deref(), e.target_id.as_deref()), (Some("credential"), Some(client.id.as_str())));
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

    let owner = person(&app, &alice_id).await;
    app::backend::credentials::service::delete(&app.state, &owner, &client.id).await.unwrap();
    let e = tail.expect(&app, &["credential.deleted"]).await.remove(0);
    assert!(e.ip.is_none());

    app.server_fn("logout", &[], Some(&admin)).await;
    tail.expect(&app, &["session.sign_out"]).await;

    assert_eq!(audit::verify(&app.state.db).await.unwrap(), Verdict::Intact { count: tail.seen as i64 });
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
    app.flush_refusals().await;
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
        assert!(!text.contains(&app.state.secret_key.digest(&t)));
    }
}

#[tokio::test]
async fn the_chain_verifies_and_tampering_is_found_at_the_first_broken_link() {
    // tamper evidence
    let app = spawn().await;
    for name in ["aa1", "aa2", "aa3", "aa4"] {
        app.create_user(name, PW, &[Role::WorkCreator]).await;
    }
    let (db, pool) = (&app.state.db, &app.state.db.pool);
    assert_eq!(audit::verify(db).await.unwrap(), Verdict::Intact { count: 5 });

    // an edited row
    sqlx::query("update audit_events set details = '{\"roles\":[\"administrator\"]}' where seq = 3")
        .execute(pool)
        .await
        .unwrap();
    assert!(matches!(audit::verify(db).await.unwrap(), Verdict::Broken { seq: 3, .. }));

    // an edited row whose hash was recomputed (with the key): the next row
    // no longer links to it
    let mut row = all_events(&app).await.remove(2);
    row.hash = audit::keyed_row_hash(&db.keys().unwrap().audit_chain, &row);
    sqlx::query("update audit_events set hash = $1 where seq = 3").bind(&row.hash).execute(pool).await.unwrap();
    match audit::verify(db).await.unwrap() {
        Verdict::Broken { seq, reason } => assert_eq!((seq, reason.as_str()), (4, "does not link to the previous row")),
        other => panic!("{other:?}"),
    }

    // a deleted row in the middle, and the newest row deleted
    let fresh = spawn().await;
    for name in ["bb1", "bb2", "bb3"] {
        fresh.create_user(name, PW, &[]).await;
    }
    let (db, pool) = (&fresh.state.db, &fresh.state.db.pool);
    sqlx::query("delete from audit_events where seq = 2").execute(pool).await.unwrap();
    assert!(matches!(audit::verify(db).await.unwrap(), Verdict::Broken { seq: 2, .. }));
    let last = spawn().await;
    last.create_user("cc1", PW, &[]).await;
    sqlx::query("delete from audit_events where seq = 2").execute(&last.state.db.pool).await.unwrap();
    assert!(matches!(audit::verify(&last.state.db).await.unwrap(), Verdict::Broken { seq: 2, .. }));

    // the command line reports it and fails
    let out = appcred(&app.db_url, &["audit", "verify"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("BROKEN at event 4"), "{out:?}");
    let ok = spawn().await;
    let out = appcred(&ok.db_url, &["audit", "verify"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("intact: 1 events"), "{stdout}");
    assert!(stdout.contains("Every event carries the HMAC-SHA-256 chain"), "{stdout}");
}

#[tokio::test]
async fn a_chain_rewritten_with_plain_sha256_fails_verification() {
    // Without the key, whoever can write the database cannot produce a row
    // the keyed chain accepts: rewriting a row and every later one with the
    // unkeyed hash is found at the rewritten row.
    let app = spawn().await;
    for name in ["dd1", "dd2", "dd3"] {
        app.create_user(name, PW, &[Role::WorkCreator]).await;
    }
    let (db, pool) = (&app.state.db, &app.state.db.pool);
    let mut prev = audit::GENESIS_HASH.to_string();
    for mut row in all_events(&app).await {
        if row.seq == 2 {
            row.details = "{\"roles\":[\"administrator\"]}".into();
        }
        row.prev_hash = prev;
        row.hash = audit::row_hash(&row);
        prev = row.hash.clone();
        sqlx::query("update audit_events set details = $1, prev_hash = $2, hash = $3 where seq = $4")
            .bind(&row.details)
            .bind(&row.prev_hash)
            .bind(&row.hash)
            .bind(row.seq)
            .execute(pool)
            .await
            .unwrap();
    }
    sqlx::query("update audit_head set hash = $1").bind(&prev).execute(pool).await.unwrap();
    assert!(matches!(audit::verify(db).await.unwrap(), Verdict::Broken { seq: 1, .. }));
}

#[tokio::test]
async fn a_cut_tail_fails_verification_against_an_anchored_head() {
    let app = spawn().await;
    for name in ["ee1", "ee2", "ee3"] {
        app.create_user(name, PW, &[]).await;
    }
    let out = appcred(&app.db_url, &["audit", "head"]);
    assert!(out.status.success(), "{out:?}");
    let printed = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let head = audit::head(&app.state.db).await.unwrap();
    assert_eq!(printed, format!("4:{}", all_events(&app).await[3].hash));
    assert_eq!(printed, head.to_string());
    let anchor: audit::Anchor = printed.parse().unwrap();
    assert_eq!(audit::verify_against(&app.state.db, Some(&anchor)).await.unwrap(), Verdict::Intact { count: 4 });
    app.create_user("ee4", PW, &[]).await;
    assert!(appcred(&app.db_url, &["audit", "verify", "--head", &printed]).status.success(), "the log grew");

    // Cut the last two rows and set the head back: the chain alone is intact,
    // the anchor is not.
    let pool = &app.state.db.pool;
    let kept = all_events(&app).await[2].clone();
    sqlx::query("delete from audit_events where seq > 3").execute(pool).await.unwrap();
    sqlx::query("update audit_head set seq = 3, hash = $1").bind(&kept.hash).execute(pool).await.unwrap();
    assert_eq!(audit::verify(&app.state.db).await.unwrap(), Verdict::Intact { count: 3 });
    match audit::verify_against(&app.state.db, Some(&anchor)).await.unwrap() {
        Verdict::Broken { seq, reason } => assert!(seq == 4 && reason.contains("anchored head"), "{seq}: {reason}"),
        other => panic!("{other:?}"),
    }
    let out = appcred(&app.db_url, &["audit", "verify", "--head", &printed]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("BROKEN at event 4"), "{out:?}");
    // an anchor whose row now carries another hash
    let other = audit::Anchor { seq: 2, hash: "ab".repeat(32) };
    assert!(matches!(
        audit::verify_against(&app.state.db, Some(&other)).await.unwrap(),
        Verdict::Broken { seq: 2, .. }
    ));
}

#[tokio::test]
async fn an_upgraded_log_verifies_its_unkeyed_rows_then_its_keyed_ones() {
    // A database written by a release before the keyed chain: migrate it to
    // just before migration 0009, write rows the old way (plain SHA-256),
    // then let the current migrations and code take over.
    let (url, raw) = database_at(8).await;
    let mut prev = audit::GENESIS_HASH.to_string();
    let mut rows = Vec::new();
    for seq in 1..=3 {
        let mut row = StoredEvent {
            seq,
            at: 1_700_000_000 + seq,
            event: "user.created".into(),
            outcome: "success".into(),
            actor_kind: "system".into(),
            actor_id: None,
            actor_name: None,
            ip: None,
            target_kind: Some("user".into()),
            target_id: Some(format!("u{seq}")),
            target_name: Some(format!("old{seq}")),
            details: "{}".into(),
            prev_hash: prev,
            hash: String::new(),
        };
        row.hash = audit::row_hash(&row);
        prev = row.hash.clone();
        rows.push(row);
    }
    audit::insert_rows(&mut raw.acquire().await.unwrap(), &rows).await.unwrap();
    sqlx::query("update audit_head set seq = 3, hash = $1").bind(&prev).execute(&raw).await.unwrap();
    raw.close().await;

    let db = connect(&url).await;
    assert_eq!(audit::head(&db).await.unwrap().keyed_from, 4, "the migration marks where the keyed chain starts");
    for name in ["new1", "new2"] {
        audit::record_alone(
            &db,
            1_800_000_000,
            audit::Event::new(app::model::AuditEvent::UserCreated, audit::Actor::System)
                .target(audit::Target::user(name, name)),
        )
        .await
        .unwrap();
    }
    assert_eq!(audit::verify(&db).await.unwrap(), Verdict::Intact { count: 5 });
    let events = audit::recent(&db.pool, 10).await.unwrap();
    assert_ne!(events[0].hash, audit::row_hash(&events[0]), "new rows are keyed");
    let out = appcred(&url, &["audit", "verify"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Events 1 to 3 carry the unkeyed SHA-256 chain") && stdout.contains("events 4 to 5 the HMAC"),
        "{stdout}"
    );

    // Each part keeps its own rule: an old row edited is found, and so is a
    // new row re-hashed the old way.
    sqlx::query("update audit_events set target_name = 'someone' where seq = 2").execute(&db.pool).await.unwrap();
    assert!(matches!(audit::verify(&db).await.unwrap(), Verdict::Broken { seq: 2, .. }));
    sqlx::query("update audit_events set target_name = 'old2' where seq = 2").execute(&db.pool).await.unwrap();
    let mut row = events[1].clone();
    row.target_name = Some("someone".into());
    row.hash = audit::row_hash(&row);
    sqlx::query("update audit_events set target_name = 'someone', hash = $1 where seq = 4")
        .bind(&row.hash)
        .execute(&db.pool)
        .await
        .unwrap();
    assert!(matches!(audit::verify(&db).await.unwrap(), Verdict::Broken { seq: 4, .. }));
}

#[tokio::test]
async fn concurrent_writers_never_fork_the_chain() {
    let app = spawn().await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let app_state = app.state.clone();
        tasks.push(tokio::spawn(async move {
            let event = audit::Event::new(app::model::AuditEvent::SettingsChanged, audit::Actor::System).detail("i", i);
            audit::record_alone(&app_state.db, 1, event).await.unwrap()
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap());
    }
    seqs.sort();
    assert_eq!(seqs, (2..18).collect::<Vec<i64>>());
    assert_eq!(audit::verify(&app.state.db).await.unwrap(), Verdict::Intact { count: 17 });
}

#[tokio::test]
async fn an_auditor_cannot_change_anything_that_is_not_their_own() {
    // ASVS-A2: read-only role; other users' credentials are "not found"
    let app = spawn().await;
    let alice = app.create_user("alice", PW, &[Role::WorkCreator]).await;
    let c = credential_for(&app, &alice, "sync", &["work_creator"]).await;
    app.create_user("audrey", PW, &[Role::Auditor]).await;
    let audrey = app.sign_in("audrey", PW).await;
    let before = all_events(&app).await.len();
    let expires = app::model::format_date(app.now() + 30 * app::model::SECS_PER_DAY);
    type Call<'a> = (&'a str, Vec<(&'a str, &'a str)>, StatusCode);
    let calls: Vec<Call> = vec![
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

// --- the Auditor pages: filters, CSV export, every credential, API use ------

async fn get_csv(app: &TestApp, path: &str, cookie: &str) -> TestResponse {
    app.get(path, Some(cookie)).await
}

#[tokio::test]
async fn auditors_filter_page_and_export_the_audit_log() {
    let app = spawn().await;
    app.create_user("audrey", PW, &[Role::Auditor]).await;
    let alice = app.create_user("alice", PW, &[Role::WorkCreator]).await;
    let c = credential_for(&app, &alice, "=cmd|calc", &["work_creator"]).await;
    access_token(&app, &c).await;
    token(&app, &Client { id: c.id.clone(), secret: "acs_nope".into() }, &[]).await;
    app.flush_refusals().await;
    app.clock.advance(2 * 86_400);
    app.server_fn("login", &[("username", "alice"), ("password", "wrong password!")], None).await;
    let audrey = app.sign_in("audrey", PW).await;

    let events = |form: Vec<(&'static str, String)>| {
        let app = &app;
        let audrey = audrey.clone();
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let res = app.server_fn("audit/events", &pairs, Some(&audrey)).await;
            (res.status, json(&res))
        }
    };
    let (status, all) = events(vec![]).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let total = all["total"].as_i64().unwrap();
    assert!(total >= 7, "{all}");
    assert_eq!(all["items"][0]["event"], "session.sign_in", "newest first");

    let (_, failures) = events(vec![("outcome", "failure".into())]).await;
    let names: Vec<&str> = failures["items"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["session.sign_in", "token.refused"], "{failures}");
    let (_, by_credential) = events(vec![("credential", c.id.clone())]).await;
    let names: Vec<&str> =
        by_credential["items"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        vec!["token.refused", "token.issued", "credential.created"],
        "a refusal names a known credential"
    );
    let (_, by_actor) = events(vec![("actor", "ALICE".into()), ("event", "credential.created".into())]).await;
    assert_eq!(by_actor["total"], 1, "actor names match case-insensitively: {by_actor}");
    let today = app::model::format_date(app.now());
    let (_, recent) = events(vec![("from", today.clone()), ("to", today.clone())]).await;
    assert_eq!(recent["total"], 2, "only today's sign-in failure and audrey's sign-in: {recent}");
    let (status, bad) = events(vec![("from", "yesterday".into())]).await;
    assert_eq!((status, bad["Invalid"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("from")));

    // CSV of the filtered set
    let res = get_csv(&app, &format!("/audit/export/events?credential={}", c.id), &audrey).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(res.header("content-disposition").unwrap().starts_with("attachment; filename=\"appcred-audit-"));
    let lines: Vec<&str> = res.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 4, "{}", res.body);
    assert!(lines[0].starts_with("seq,time_utc,event,outcome,"));
    assert!(lines[1].contains(",token.refused,failure,anonymous,"));
    assert!(lines[2].contains(",token.issued,success,credential,"));
    assert!(lines[3].contains(",'=cmd|calc,"), "formula cells are defused: {}", lines[3]);

    // nobody else gets any of it
    let bob = app.create_user("bob", PW, &[Role::WorkCreator, Role::UserManager, Role::Administrator]).await;
    let _ = bob;
    let bob = app.sign_in("bob", PW).await;
    assert_eq!(app.server_fn("audit/events", &[], Some(&bob)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(get_csv(&app, "/audit/export/events", &bob).await.status, StatusCode::FORBIDDEN);
    assert_eq!(get_csv(&app, "/audit/export/credentials", &bob).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.server_fn("audit/credentials", &[], Some(&bob)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.server_fn("audit/usage", &[("id", &c.id)], Some(&bob)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/audit/export/events", None).await.status, StatusCode::SEE_OTHER, "signed out: to sign-in");
}

#[tokio::test]
async fn auditors_see_every_credential_with_its_state_and_never_a_secret() {
    let app = spawn().await;
    app.create_user("audrey", PW, &[Role::Auditor]).await;
    let alice = app.create_user("alice", PW, &[Role::WorkCreator, Role::TeamLeader]).await;
    let bob = app.create_user("bob", PW, &[Role::WorkCreator]).await;
    let a1 = credential_for(&app, &alice, "alpha", &["work_creator", "team_leader"]).await;
    let b1 = credential_for(&app, &bob, "bravo", &["work_creator"]).await;
    let b2 = credential_for(&app, &bob, "charlie", &["work_creator"]).await;
    access_token(&app, &a1).await;
    access_token(&app, &a1).await;
    let by = app::backend::caller::Caller::Operator;
    app::backend::users::service::revoke_role(&app.state, &by, &alice, Role::TeamLeader).await.unwrap();
    let bob_principal = person(&app, &bob).await;
    app::backend::credentials::service::delete(&app.state, &bob_principal, &b2.id).await.unwrap();

    let list = |form: Vec<(&'static str, &'static str)>| {
        let app = &app;
        async move {
            // a fresh session each time: the test moves the clock by months
            let audrey = app.sign_in("audrey", PW).await;
            json(&app.server_fn("audit/credentials", &form, Some(&audrey)).await)
        }
    };
    let all = list(vec![]).await;
    assert_eq!(all["total"], 3, "{all}");
    let alpha = &all["items"][0];
    assert_eq!((alpha["name"].as_str(), alpha["owner_username"].as_str()), (Some("alpha"), Some("alice")));
    assert_eq!(alpha["live_tokens"], 0, "losing team_leader killed both tokens");
    assert!(alpha["roles"][1]["revoked_at"].is_i64(), "team_leader greyed: {alpha}");
    let text = all.to_string();
    for secret in [&a1.secret, &b1.secret, &b2.secret] {
        assert!(!text.contains(secret.as_str()));
        assert!(!text.contains(&app.state.secret_key.digest(secret)));
    }
    assert_eq!(list(vec![("view", "deleted")]).await["items"][0]["name"], "charlie");
    assert_eq!(list(vec![("view", "active")]).await["total"], 2);
    assert_eq!(list(vec![("q", "BOB")]).await["total"], 2, "filter by owner");
    assert_eq!(list(vec![("sort", "owner"), ("dir", "desc")]).await["items"][0]["owner_username"], "bob");
    assert_eq!(list(vec![("view", "expiring30")]).await["total"], 2, "test credentials live 30 days");
    assert_eq!(list(vec![("view", "unused90")]).await["total"], 0);
    app.clock.advance(31 * 86_400);
    assert_eq!(list(vec![("view", "expired")]).await["total"], 2);
    app.clock.advance(60 * 86_400);
    let unused = list(vec![("view", "unused90")]).await;
    assert_eq!(unused["total"], 2, "{unused}");

    let audrey = app.sign_in("audrey", PW).await;
    let res = app.get("/audit/export/credentials?view=all&sort=name", Some(&audrey)).await;
    assert_eq!(res.status, StatusCode::OK, "{} {:?}", res.body, res.headers);
    let lines: Vec<&str> = res.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[1].starts_with(&format!("{},alpha,alice,work_creator,team_leader,expired,", a1.id)), "{}", lines[1]);
    assert!(lines[3].contains(",deleted,"));
    for secret in [&a1.secret, &b1.secret, &b2.secret] {
        assert!(!res.body.contains(secret.as_str()));
    }
}

#[tokio::test]
async fn api_use_is_counted_per_endpoint_day_and_address_and_survives_a_restart() {
    let app = spawn().await;
    let alice = app.create_user("alice", PW, &[Role::WorkCreator, Role::UserManager]).await;
    let c = credential_for(&app, &alice, "sync", &["work_creator", "user_manager"]).await;
    let t = access_token(&app, &c).await;
    for _ in 0..3 {
        assert_alive(&app, &t).await;
    }
    assert_eq!(api(&app, "/api/v1/users", &t).await.status, StatusCode::OK);
    assert_eq!(api(&app, "/api/v1/credentials", &t).await.status, StatusCode::FORBIDDEN);
    app.clock.advance(86_400);
    let t2 = access_token(&app, &c).await;
    assert_alive(&app, &t2).await;

    // nothing is written on the hot path …
    let stored: i64 =
        sqlx::query_scalar("select count(*) from credential_usage").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(stored, 0);
    // … until the batch is flushed
    app.state.usage.flush(&app.state.db.pool).await.unwrap();

    // a restart: a new process state on the same database
    let restarted =
        app::backend::usage::for_credential(&app.state.db.pool, &Default::default(), &c.id, app.now()).await.unwrap();
    let day = |d: i64| (app.now() / 86_400 + d) * 86_400;
    let rows: Vec<(i64, &str, i64)> = restarted.days.iter().map(|d| (d.day, d.endpoint.as_str(), d.calls)).collect();
    assert_eq!(
        rows,
        vec![
            (day(0), "GET /api/v1/me", 1),
            (day(0), "POST /oauth/token", 1),
            (day(-1), "GET /api/v1/credentials", 1),
            (day(-1), "GET /api/v1/me", 3),
            (day(-1), "GET /api/v1/users", 1),
            (day(-1), "POST /oauth/token", 1),
        ]
    );
    assert_eq!(restarted.addresses.len(), 1);
    assert_eq!((restarted.addresses[0].ip.as_str(), restarted.addresses[0].calls), ("127.0.0.1", 8));
    let last: Option<i64> =
        sqlx::query_scalar("select last_used_at from credentials").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(last, Some(app.now()));

    // the owner sees it, another user does not, an auditor does
    let alice_s = app.sign_in("alice", PW).await;
    let res = app.server_fn("credentials/usage", &[("id", &c.id)], Some(&alice_s)).await;
    assert_eq!(json(&res)["days"].as_array().unwrap().len(), 6);
    app.create_user("bob", PW, &[Role::WorkCreator]).await;
    let bob = app.sign_in("bob", PW).await;
    assert_eq!(app.server_fn("credentials/usage", &[("id", &c.id)], Some(&bob)).await.status, StatusCode::NOT_FOUND);
    app.create_user("audrey", PW, &[Role::Auditor]).await;
    let audrey = app.sign_in("audrey", PW).await;
    let res = app.server_fn("audit/usage", &[("id", &c.id)], Some(&audrey)).await;
    assert_eq!(json(&res)["addresses"][0]["calls"], 8);
    let res = app.server_fn("audit/usage", &[("id", "no-such-credential")], Some(&audrey)).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn api_use_shows_at_once_before_the_batch_is_written() {
    let app = spawn().await;
    let alice = app.create_user("alice", PW, &[Role::WorkCreator]).await;
    let c = credential_for(&app, &alice, "sync", &["work_creator"]).await;
    let t = access_token(&app, &c).await;
    assert_alive(&app, &t).await;
    let alice_s = app.sign_in("alice", PW).await;
    let res = app.server_fn("credentials/usage", &[("id", &c.id)], Some(&alice_s)).await;
    let usage = json(&res);
    assert_eq!(usage["days"].as_array().unwrap().len(), 2, "{usage}");
    app.state.usage.flush(&app.state.db.pool).await.unwrap();
    let res = app.server_fn("credentials/usage", &[("id", &c.id)], Some(&alice_s)).await;
    assert_eq!(json(&res), usage, "the same figures after the flush, not counted twice");
}
