//! The database layer on both backends: migrations, the bootstrap admin and
//! the role store.

use app::backend::caller::Caller;
use app::backend::password::PasswordHasher;
use app::backend::secrets::Secret;
use app::backend::users::{repo, service};
use app::backend::{settings, Db};
use app::model::Role;

#[tokio::test]
async fn migrations_create_the_schema_and_are_idempotent() {
    let url = crate::common::fresh_database_url().await;
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.expect("a second run applies nothing and succeeds");
    let again = Db::connect(&url).await.expect("reconnecting to a migrated database");
    let s = settings::repo::load(&again.pool).await.unwrap();
    assert_eq!(s.token_lifetime_secs, 3600, "R6750-06: tokens live an hour at most by default");
    assert_eq!(s.token_idle_secs, 1200);
    assert_eq!(s.max_credential_days, 365);
    assert_eq!(s.api_enabled, 1);
    let applied: i64 = sqlx::query_scalar("select count(*) from _sqlx_migrations").fetch_one(&db.pool).await.unwrap();
    assert!(applied >= 1);
}

#[tokio::test]
async fn both_backends_have_the_same_migrations() {
    let names = |dir: &str| {
        let mut v: Vec<_> = std::fs::read_dir(format!("{}/../migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names("sqlite"), names("postgres"));
}

#[tokio::test]
async fn the_first_start_creates_admin_with_every_role_once() {
    let db = crate::common::connect(&crate::common::fresh_database_url().await).await;
    let hasher = PasswordHasher::new(1);
    let outcome = service::bootstrap_admin(&db, &hasher, 1_000, None).await.unwrap().expect("created");
    let password = outcome.generated_password.expect("a generated password");
    assert!(password.expose().len() >= 20);
    let admin = service::find_by_username(&db, "admin").await.unwrap();
    let roles = repo::active_roles(&db.pool, &admin.id).await.unwrap();
    assert_eq!(roles, Role::ALL.to_vec());
    assert!(service::bootstrap_admin(&db, &hasher, 2_000, None).await.unwrap().is_none(), "only on an empty database");

    let hash: String = sqlx::query_scalar("select password_hash from users where id = $1")
        .bind(&admin.id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$v=19$"), "ASVS-P1");
    assert!(!hash.contains(password.expose()));
}

#[tokio::test]
async fn a_supplied_bootstrap_password_is_used_and_not_echoed() {
    let db = crate::common::connect(&crate::common::fresh_database_url().await).await;
    let hasher = PasswordHasher::new(1);
    let secret = Secret::new("operator chosen password");
    let outcome = service::bootstrap_admin(&db, &hasher, 1_000, Some(&secret)).await.unwrap().unwrap();
    assert!(outcome.generated_password.is_none());
    let (_, hash) = repo::find_for_login(&db.pool, "admin").await.unwrap().unwrap();
    assert!(hasher.verify(Some(hash), &secret).await.unwrap());
}

#[tokio::test]
async fn roles_are_granted_revoked_and_granted_back() {
    let app = crate::common::spawn_on(crate::common::fresh_database_url().await).await;
    let (db, by) = (&app.state.db, &Caller::Operator);
    let (user, _) = service::create_user(
        &app.state,
        by,
        service::NewUserInput {
            username: "dave",
            display_name: "Dave",
            password: Some(&Secret::new("a long secret phrase")),
            roles: &[Role::WorkCreator, Role::TeamLeader],
        },
    )
    .await
    .unwrap();
    assert_eq!(repo::active_roles(&db.pool, &user.id).await.unwrap(), vec![Role::WorkCreator, Role::TeamLeader]);
    app.clock.advance(10);
    let revoked = app.now();
    assert!(service::revoke_role(&app.state, by, &user.id, Role::TeamLeader).await.unwrap());
    app.clock.advance(1);
    assert!(!service::revoke_role(&app.state, by, &user.id, Role::TeamLeader).await.unwrap(), "already revoked");
    assert_eq!(repo::active_roles(&db.pool, &user.id).await.unwrap(), vec![Role::WorkCreator]);
    let revoked_at: Option<i64> =
        sqlx::query_scalar("select revoked_at from user_roles where user_id = $1 and role = 'team_leader'")
            .bind(&user.id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(revoked_at, Some(revoked), "the revocation date is kept for the UI");
    assert!(service::grant_role(&app.state, by, &user.id, Role::TeamLeader).await.unwrap());
    assert!(!service::grant_role(&app.state, by, &user.id, Role::TeamLeader).await.unwrap(), "already held");
    assert_eq!(repo::active_roles(&db.pool, &user.id).await.unwrap(), vec![Role::WorkCreator, Role::TeamLeader]);
}

#[tokio::test]
async fn usernames_are_unique_regardless_of_case_and_bad_input_writes_nothing() {
    let app = crate::common::spawn_on(crate::common::fresh_database_url().await).await;
    let (db, by) = (&app.state.db, &Caller::Operator);
    let input = |username: &'static str, password: &'static str| service::NewUserInput {
        username,
        display_name: "Someone",
        password: Some(Box::leak(Box::new(Secret::new(password)))),
        roles: &[],
    };
    service::create_user(&app.state, by, input("erin", "a long secret phrase")).await.unwrap();
    let err = service::create_user(&app.state, by, input("ERIN", "another long password")).await.unwrap_err();
    assert!(matches!(err, app::backend::Error::Invalid { field: "username", .. }), "{err:?}");
    let err = service::create_user(&app.state, by, input("frank", "short")).await.unwrap_err();
    assert!(matches!(err, app::backend::Error::Invalid { field: "password", .. }), "{err:?}");
    assert_eq!(repo::count_users(&db.pool).await.unwrap(), 1);
}

#[tokio::test]
async fn an_upgraded_database_keeps_every_token_and_the_audit_chain() {
    // Rows written by the release of migration 0006, then every later
    // migration (0007 re-keys the tokens and audit tables on SQLite, ADR
    // 0003; 0008 adds rights generations): live tokens stay live, dead ones
    // dead, and the audit chain still verifies.
    use crate::common::*;
    use app::backend::audit::{row_hash, StoredEvent, GENESIS_HASH};
    use app::backend::secrets::{self, SecretKey};
    let (url, pool) = database_at(6).await;
    let now = chrono::Utc::now().timestamp();
    let key = SecretKey::from_bytes([7; 32]); // the harness's server key
    let secret = secrets::generate(secrets::CLIENT_SECRET_PREFIX);
    let exec = |sql: String| {
        let pool = pool.clone();
        async move { sqlx::query(&sql).execute(&pool).await.unwrap() }
    };
    exec(format!("insert into users values ('u1', 'alice', 'alice', 'Alice', 'x', 1, 0, {now}, {now})")).await;
    exec(format!("insert into user_roles values ('u1', 'work_creator', {now}, null)")).await;
    exec(format!(
        "insert into credentials (id, owner_id, name, name_key, secret_digest, secret_version, expires_at, \
         created_at, updated_at, secret_rotated_at) values ('c1', 'u1', 'old', 'old', '{}', 1, {}, {now}, {now}, {now})",
        key.digest(&secret),
        now + 86_400
    ))
    .await;
    exec("insert into credential_roles values ('c1', 'work_creator')".into()).await;
    let (live, revoked) = (secrets::new_access_token(&key), secrets::new_access_token(&key));
    for (t, revoked_at) in [(&live, "null".to_string()), (&revoked, now.to_string())] {
        exec(format!(
            "insert into tokens values ('{}', 'c1', 'work_creator', {now}, {}, {now}, 1, {revoked_at}, null)",
            t.key,
            now + 3600
        ))
        .await;
    }
    let mut prev = GENESIS_HASH.to_string();
    let mut events = Vec::new();
    for seq in 1..=3 {
        let mut e = StoredEvent {
            seq,
            at: now,
            event: "token.issued".into(),
            outcome: "success".into(),
            actor_kind: "credential".into(),
            actor_id: Some("c1".into()),
            actor_name: Some("old".into()),
            ip: None,
            target_kind: None,
            target_id: None,
            target_name: None,
            details: "{}".into(),
            prev_hash: prev.clone(),
            hash: String::new(),
        };
        e.hash = row_hash(&e);
        prev = e.hash.clone();
        events.push(e);
    }
    app::backend::audit::insert_rows(&mut pool.acquire().await.unwrap(), &events).await.unwrap();
    exec(format!("update audit_head set seq = 3, hash = '{prev}'")).await;
    pool.close().await;

    let app = spawn_on(url).await; // applies every later migration
    assert_alive(&app, &live.value).await;
    assert_dead(&app, &revoked.value).await;
    let c = Client { id: "c1".into(), secret };
    let after = access_token(&app, &c).await;
    assert_alive(&app, &after).await;
    assert!(matches!(
        app::backend::audit::verify(&app.state.db).await.unwrap(),
        app::backend::audit::Verdict::Intact { count } if count > 3
    ));
}

#[tokio::test]
async fn the_background_checkpoint_moves_the_write_ahead_log_into_the_database() {
    // The server checkpoints every LogPolicy tick so that no commit waits
    // for SQLite's automatic checkpoint (docs/benchmarks.md).
    use crate::common::*;
    let app = spawn().await;
    let user_id = app.create_user("alice", "correct horse battery staple", &[Role::WorkCreator]).await;
    let c = credential_for(&app, &user_id, "checkpoint", &["work_creator"]).await;
    app.state.db.checkpoint().await.expect("a checkpoint on a quiet database");
    if crate::common::backend_name() != "sqlite" {
        return; // nothing to do on PostgreSQL, and nothing to observe
    }
    let path = app.db_url.trim_start_matches("sqlite://").to_string();
    let size = || std::fs::metadata(&path).unwrap().len();
    let before = size();
    for _ in 0..200 {
        access_token(&app, &c).await;
    }
    assert_eq!(size(), before, "the new rows are still in the write-ahead log only");
    app.state.db.checkpoint().await.unwrap();
    assert!(size() > before, "the checkpoint copied them into the database file");
}

#[tokio::test]
async fn every_sqlite_connection_runs_in_wal_mode_without_a_memory_map() {
    // The settings the write path depends on (docs/benchmarks.md): the
    // write-ahead log, NORMAL syncs, and no memory map (a growing database
    // file is remapped at each read transaction, which flushes every core's
    // TLB). Checked on several pooled connections at once, not just one.
    use crate::common::*;
    if crate::common::backend_name() != "sqlite" {
        return;
    }
    let app = spawn().await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut conn = app.state.db.pool.acquire().await.unwrap();
        let journal: String = sqlx::query_scalar("pragma journal_mode").fetch_one(&mut *conn).await.unwrap();
        let synchronous: i64 = sqlx::query_scalar("pragma synchronous").fetch_one(&mut *conn).await.unwrap();
        let mmap: i64 = sqlx::query_scalar("pragma mmap_size").fetch_one(&mut *conn).await.unwrap();
        assert_eq!((journal.as_str(), synchronous, mmap), ("wal", 1, 0));
        held.push(conn);
    }
}

#[tokio::test]
async fn the_writer_finishes_a_checkpoint_between_batches_so_the_log_starts_over() {
    // SQLite starts its write-ahead log over only at a commit that finds the
    // whole log copied. A checkpoint beside a busy writer never gets there;
    // one run by the writer between two batches does (writer::LogPolicy,
    // docs/benchmarks.md, seventh measurement).
    use crate::common::*;
    use app::backend::audit::{Actor, Event};
    use app::backend::tokens::repo::NewToken;
    use app::backend::tokens::writer::{self, LogPolicy, Step};
    if crate::common::backend_name() != "sqlite" {
        return; // PostgreSQL manages its own log
    }
    let app = spawn().await;
    let user_id = app.create_user("alice", "correct horse battery staple", &[Role::WorkCreator]).await;
    let c = credential_for(&app, &user_id, "log", &["work_creator"]).await;
    let writer = app.state.token_writer.clone();
    let store = |writer: writer::TokenWriter, n: usize, credential: String| async move {
        let row = NewToken {
            key: format!("log-test-{n:06}"),
            credential_id: credential,
            roles: "work_creator".into(),
            issued_at: 1,
            expires_at: 2,
            secret_version: 1,
            rights_gen: 0,
            audience: None,
            protected_api_id: None,
        };
        writer.write(row, Event::new(app::model::AuditEvent::TokenIssued, Actor::System)).await.unwrap();
    };
    // A long log: one commit per token, never checkpointed.
    for n in 0..200 {
        store(writer.clone(), n, c.id.clone()).await;
    }
    // Tokens keep arriving while the writer copies the log between two of
    // their batches; a commit landing during the copy would keep the log
    // from starting over.
    let mut busy = tokio::task::JoinSet::new();
    for n in 200..264 {
        busy.spawn(store(writer.clone(), n, c.id.clone()));
    }
    tokio::task::yield_now().await;
    let copied = writer.checkpoint().await.unwrap();
    assert!(copied.log_frames >= 400, "200 commits make a long log: {copied:?}");
    assert_eq!(copied.copied_frames, copied.log_frames, "the whole log was copied");
    busy.join_all().await;
    store(writer.clone(), 264, c.id.clone()).await;

    // The log started over at the first commit after the writer's
    // checkpoint: it holds only what came after, and the next tick rests.
    let after = app.state.db.checkpoint().await.unwrap();
    assert!(after.log_frames < copied.log_frames / 2, "the log started over: {copied:?} then {after:?}");
    let step = writer::checkpoint_tick(&app.state.db, &writer, &LogPolicy::DEFAULT).await.unwrap();
    assert_eq!(step, Step::Rest, "a short log needs no help from the writer");
    // A tick that finds the log long syncs the database file and has the
    // writer finish, while tokens keep arriving.
    let mut busy = tokio::task::JoinSet::new();
    for n in 265..329 {
        busy.spawn(store(writer.clone(), n, c.id.clone()));
    }
    // At least one of them committed, so the log is not empty (on a loaded
    // machine the spawned tasks may not have run yet).
    busy.join_next().await.expect("a store task").expect("it stored its token");
    let eager = LogPolicy { restart_frames: 1, catch_up: std::time::Duration::from_secs(3600), ..LogPolicy::DEFAULT };
    let step = writer::checkpoint_tick(&app.state.db, &writer, &eager).await.unwrap();
    assert_eq!(step, Step::WriterFinishes);
    busy.join_all().await;
    let stored: i64 = sqlx::query_scalar("select count(*) from tokens where token_digest like 'log-test-%'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 329, "every token was committed");
}
