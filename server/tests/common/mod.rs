//! A test harness: the real router, in process, on a fresh database.
//!
//! The database is SQLite (a temporary file) unless `APPCRED_TEST_PG` names
//! a PostgreSQL server (e.g. `postgres:///postgres?host=/var/run/postgresql`),
//! in which case each test gets a database of its own there. The test
//! command runs the whole suite once per backend.
#![allow(dead_code)]

use app::backend::caller::Caller;
use app::backend::clock::ManualClock;
use app::backend::credentials::service::{self as credentials, CredentialInput};
use app::backend::password::PasswordHasher;
use app::backend::secrets::Secret;
use app::backend::secrets::SecretKey;
use app::backend::users::service::{self as users, NewUserInput};
use app::backend::{AppState, Db, SecurityConfig};
use app::model::{format_date, Role, SECS_PER_DAY};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, Response, StatusCode};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http_body_util::BodyExt;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt;

pub const ADMIN_PASSWORD: &str = "correct horse battery staple";
/// The server key of every test instance.
pub const SERVER_KEY: [u8; 32] = [7; 32];
pub const HOST: &str = "appcred.test";

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub clock: ManualClock,
    pub db_url: String,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok().map(str::to_owned)).collect()
    }

    /// The `name=value` pair of the session cookie this response sets.
    pub fn session_cookie(&self) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.contains("appcred_session="))
            .map(|c| c.split(';').next().unwrap().to_string())
    }
}

pub fn backend_name() -> &'static str {
    if std::env::var("APPCRED_TEST_PG").is_ok() {
        "postgres"
    } else {
        "sqlite"
    }
}

/// A URL to a brand-new, empty database on the backend under test.
pub async fn fresh_database_url() -> String {
    let name = format!("appcred_test_{}", uuid::Uuid::new_v4().simple());
    match std::env::var("APPCRED_TEST_PG") {
        Ok(admin_url) => {
            use sqlx::Connection;
            sqlx::any::install_default_drivers();
            let mut conn =
                sqlx::AnyConnection::connect(&admin_url).await.expect("connect to the PostgreSQL test server");
            sqlx::query(&format!("create database {name}")).execute(&mut conn).await.expect("create test database");
            // postgres:///postgres?host=... → postgres:///<name>?host=...
            let (base, query) =
                admin_url.split_once('?').map(|(b, q)| (b, format!("?{q}"))).unwrap_or((&admin_url, String::new()));
            let base = base.rsplit_once('/').map(|(b, _)| b).unwrap_or(base);
            format!("{base}/{name}{query}")
        }
        Err(_) => {
            let dir = std::env::temp_dir().join("appcred-tests");
            std::fs::create_dir_all(&dir).unwrap();
            format!("sqlite://{}", dir.join(format!("{name}.db")).display())
        }
    }
}

#[derive(Default)]
pub struct Options {
    pub secure_cookies: bool,
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

pub async fn spawn() -> TestApp {
    spawn_with(Options::default()).await
}

/// An instance on an existing database (migrated to the current schema
/// first), without the bootstrap administrator.
pub async fn spawn_on(db_url: String) -> TestApp {
    let db = connect(&db_url).await;
    instance(db, db_url, ManualClock::starting_now(), PasswordHasher::new(2), Options::default())
}

pub async fn spawn_with(options: Options) -> TestApp {
    let db_url = fresh_database_url().await;
    let db = connect(&db_url).await;
    let clock = ManualClock::starting_now();
    let passwords = PasswordHasher::new(2);
    users::bootstrap_admin(&db, &passwords, clock_now(&clock), Some(&Secret::new(ADMIN_PASSWORD)))
        .await
        .expect("bootstrap admin");
    instance(db, db_url, clock, passwords, options)
}

impl TestApp {
    /// A second instance on the same database, with its own caches (as a
    /// second server process would have), sharing the clock.
    pub async fn another_instance(&self) -> TestApp {
        let db = connect(&self.db_url).await;
        instance(db, self.db_url.clone(), self.clock.clone(), PasswordHasher::new(2), Options::default())
    }
}

/// A new database migrated only up to migration `version`, as an older
/// release left it, and a plain pool on it to write rows in their old shape
/// (then [`spawn_on`] applies the rest).
pub async fn database_at(version: i64) -> (String, sqlx::AnyPool) {
    let url = fresh_database_url().await;
    let dir = format!("{}/../migrations/{}", env!("CARGO_MANIFEST_DIR"), backend_name());
    let mut migrator = sqlx::migrate::Migrator::new(std::path::Path::new(&dir)).await.unwrap();
    migrator.migrations = migrator.migrations.iter().filter(|m| m.version <= version).cloned().collect();
    sqlx::any::install_default_drivers();
    // A plain pool creates a new SQLite file only when asked to.
    let plain = if url.starts_with("sqlite:") && !url.contains('?') { format!("{url}?mode=rwc") } else { url.clone() };
    let pool = sqlx::AnyPool::connect(&plain).await.unwrap();
    migrator.run(&pool).await.unwrap();
    (url, pool)
}

/// Connects (and migrates) with the keys derived from [`SERVER_KEY`], as
/// the server does at start-up.
pub async fn connect(url: &str) -> Db {
    let keys = app::backend::keys::DerivedKeys::derive(&SecretKey::from_bytes(SERVER_KEY));
    Db::connect(url).await.expect("connect and migrate").with_keys(Arc::new(keys))
}

fn instance(db: Db, db_url: String, clock: ManualClock, passwords: PasswordHasher, options: Options) -> TestApp {
    // What a serving process runs to learn of other processes' changes.
    app::backend::db::changes::spawn(db.clone(), &db_url);
    let security = SecurityConfig {
        secure_cookies: options.secure_cookies,
        trusted_proxies: options.trusted_proxies,
        issuer: "http://appcred.test".into(),
    };
    let state = appcred_server::startup::build_state(
        db,
        Arc::new(clock.clone()),
        passwords,
        appcred_server::startup::leptos_options("target/site", "127.0.0.1:3000".parse().unwrap()),
        security,
        Arc::new(SecretKey::from_bytes(SERVER_KEY)),
    );
    TestApp { router: appcred_server::router::build(state.clone()), state, clock, db_url }
}

fn clock_now(clock: &ManualClock) -> i64 {
    use app::backend::Clock;
    clock.unix()
}

impl TestApp {
    pub fn now(&self) -> i64 {
        clock_now(&self.clock)
    }

    pub async fn send(&self, mut req: Request<Body>) -> TestResponse {
        self.send_from(&mut req, "127.0.0.1:50000").await;
        let res: Response<Body> = self.router.clone().oneshot(req).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        TestResponse { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    async fn send_from(&self, req: &mut Request<Body>, peer: &str) {
        if req.extensions().get::<ConnectInfo<SocketAddr>>().is_none() {
            req.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        }
        if !req.headers().contains_key(header::HOST) {
            req.headers_mut().insert(header::HOST, HOST.parse().unwrap());
        }
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> TestResponse {
        let mut b = Request::get(path).header(header::ACCEPT, "text/html");
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        self.send(b.body(Body::empty()).unwrap()).await
    }

    /// Calls a server function the way the hydrated app does (form-encoded
    /// body, JSON answer).
    pub async fn server_fn(&self, name: &str, form: &[(&str, &str)], cookie: Option<&str>) -> TestResponse {
        self.server_fn_from(name, form, cookie, "127.0.0.1:50000").await
    }

    pub async fn server_fn_from(
        &self,
        name: &str,
        form: &[(&str, &str)],
        cookie: Option<&str>,
        peer: &str,
    ) -> TestResponse {
        let mut b = Request::post(format!("/admin/fn/{name}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json");
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        let body = encode_form(form);
        // as a real HTTP client would send it
        b = b.header(header::CONTENT_LENGTH, body.len());
        let mut req = b.body(Body::from(body)).unwrap();
        req.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        self.send(req).await
    }

    /// Signs in and returns the session cookie pair.
    pub async fn sign_in(&self, username: &str, password: &str) -> String {
        let res = self.server_fn("login", &[("username", username), ("password", password)], None).await;
        assert_eq!(res.status, StatusCode::OK, "sign-in failed: {}", res.body);
        res.session_cookie().expect("a session cookie")
    }

    pub async fn sign_in_admin(&self) -> String {
        self.sign_in("admin", ADMIN_PASSWORD).await
    }

    /// The username of the session's user, per the server, or None.
    pub async fn whoami(&self, cookie: &str) -> Option<String> {
        let res = self.server_fn("me", &[], Some(cookie)).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        let v: serde_json::Value = serde_json::from_str(&res.body).unwrap();
        v.get("username").and_then(|u| u.as_str()).map(str::to_owned)
    }

    /// Simulates a change committed by another instance (or by hand): the
    /// shared cache epoch moves and this instance's poll notices it.
    pub async fn changed_elsewhere(&self) {
        sqlx::query("update cache_epoch set version = version + 1").execute(&self.state.db.pool).await.unwrap();
        self.state.db.poll_epoch().await.unwrap();
    }

    /// Writes the counted refused token requests now, as the periodic task
    /// would (`backend/refusals/`).
    pub async fn flush_refusals(&self) {
        self.state.refusals.flush(&self.state.db, self.now()).await.expect("flush refusals");
    }

    pub async fn create_user(&self, username: &str, password: &str, roles: &[Role]) -> String {
        users::create_user(
            &self.state,
            &Caller::Operator,
            NewUserInput { username, display_name: username, password: Some(&Secret::new(password)), roles },
        )
        .await
        .expect("create user")
        .0
        .id
    }
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub fn form_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub fn encode_form(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v))).collect::<Vec<_>>().join("&")
}

/// An API call with a bearer token and any method.
pub async fn bearer_call(app: &TestApp, method: &str, path: &str, token: &str) -> TestResponse {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    app.send(req).await
}

// ---------------------------------------------------------------------------
// OAuth clients and bearer calls.

pub struct Client {
    pub id: String,
    pub secret: String,
}

pub async fn credential_for(app: &TestApp, user_id: &str, name: &str, roles: &[&str]) -> Client {
    let owner = person(app, user_id).await;
    let created = credentials::create(
        &app.state,
        &owner,
        CredentialInput {
            name: name.to_string(),
            expires_on: format_date(app.now() + 30 * SECS_PER_DAY),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        },
    )
    .await
    .unwrap();
    Client { id: created.client_id, secret: created.secret }
}

/// The caller a user is when signed in, built as the session middleware
/// builds it (`users::service::principal`).
pub async fn person(app: &TestApp, user_id: &str) -> Caller {
    let user = users::find_by_id(&app.state.db, user_id).await.unwrap().expect("the user exists");
    Caller::Person(users::principal(&app.state.db, &user, None).await.unwrap())
}

pub fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

pub async fn post(app: &TestApp, path: &str, auth: Option<&str>, form: &[(&str, &str)]) -> TestResponse {
    post_from(app, "127.0.0.1:50000", &[], path, auth, form).await
}

/// [`post`] from the peer address `peer`, with extra `headers`.
pub async fn post_from(
    app: &TestApp,
    peer: &str,
    headers: &[(&str, &str)],
    path: &str,
    auth: Option<&str>,
    form: &[(&str, &str)],
) -> TestResponse {
    let mut b = Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(a) = auth {
        b = b.header(header::AUTHORIZATION, a);
    }
    for (name, value) in headers {
        b = b.header(*name, *value);
    }
    let mut req = b.body(Body::from(encode_form(form))).unwrap();
    req.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    app.send(req).await
}

pub async fn token(app: &TestApp, c: &Client, extra: &[(&str, &str)]) -> TestResponse {
    let mut form = vec![("grant_type", "client_credentials")];
    form.extend_from_slice(extra);
    post(app, "/oauth/token", Some(&basic(&c.id, &c.secret)), &form).await
}

pub async fn access_token(app: &TestApp, c: &Client) -> String {
    let res = token(app, c, &[]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    json(&res)["access_token"].as_str().unwrap().to_string()
}

pub async fn api(app: &TestApp, path: &str, token: &str) -> TestResponse {
    app.send(Request::get(path).header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap())
        .await
}

pub fn json(res: &TestResponse) -> Value {
    serde_json::from_str(&res.body).unwrap_or(Value::Null)
}

/// One validator for every OAuth error (R6749-40, R6749-41).
pub fn assert_oauth_error(res: &TestResponse, status: StatusCode, code: &str) {
    assert_eq!(res.status, status, "{}", res.body);
    assert!(res.header("content-type").unwrap().starts_with("application/json"));
    let v = json(res);
    assert_eq!(v["error"], code, "{v}");
    for key in ["error", "error_description"] {
        if let Some(s) = v[key].as_str() {
            assert!(s
                .bytes()
                .all(|b| b == 0x20 || b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)));
        }
    }
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert_eq!(res.header("pragma"), Some("no-cache"), "R6749-31");
    if status == StatusCode::UNAUTHORIZED {
        assert!(res.header("www-authenticate").unwrap().starts_with("Basic realm="), "R6749-15");
    }
}

pub async fn assert_dead(app: &TestApp, t: &str) {
    let res = api(app, "/api/v1/me", t).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.body);
    assert!(res.header("www-authenticate").unwrap().contains("error=\"invalid_token\""));
}

pub async fn assert_alive(app: &TestApp, t: &str) {
    let res = api(app, "/api/v1/me", t).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
}

/// The General Settings form with the default values, `overrides` replacing
/// fields (an empty value drops the field).
pub fn settings_form<'a>(overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("token_idle_minutes", "20"),
        ("token_lifetime_secs", "3600"),
        ("max_credential_days", "365"),
        ("api_enabled", "true"),
        ("session_idle_minutes", "30"),
        ("session_absolute_hours", "12"),
    ];
    for (k, v) in overrides {
        form.retain(|(key, _)| key != k);
        if !v.is_empty() {
            form.push((k, v));
        }
    }
    form
}

/// Rows written through the repositories, then the columns that the
/// services only set over time (a generation, a last use, a deletion) set
/// directly: for tests that need many rows, or states of a chosen age. No
/// audit event.
pub mod rows {
    use app::backend::credentials::repo::{self as credentials, NewCredential};
    use app::backend::tokens::repo::NewToken;
    use app::backend::users::repo::{self as users, NewUser};
    use app::backend::Db;
    use app::model::Role;

    /// A user whose id is also their username, with their generations.
    pub async fn user(db: &Db, id: &str, active: bool, rights_gen: i64, tokens_valid_gen: i64) {
        let new = NewUser { id, username: id, display_name: id, password_hash: "not a hash", now: 1 };
        assert!(users::insert_user(&db.pool, new).await.unwrap(), "{id} is new");
        let columns = [Some(i64::from(active)), Some(rights_gen), Some(tokens_valid_gen)];
        set(db, "update users set active = $1, rights_gen = $2, tokens_valid_gen = $3 where id = $4", &columns, id)
            .await;
    }

    /// Runs `update`, whose parameters are `columns` and then the row's key.
    async fn set(db: &Db, update: &str, columns: &[Option<i64>], key: &str) {
        let mut q = sqlx::query(update);
        for value in columns {
            q = q.bind(*value);
        }
        q.bind(key).execute(&db.pool).await.unwrap();
    }

    /// The user holds `role` in a holding that began at `granted_gen` or,
    /// `lost`, held it then and lost it.
    pub async fn user_role(db: &Db, user_id: &str, role: Role, granted_gen: i64, lost: bool) {
        let mut tx = db.begin_rights_change().await.unwrap();
        users::grant_role(&mut tx, user_id, role, granted_gen, 1).await.unwrap();
        if lost {
            users::revoke_role(&mut tx, user_id, role, 2).await.unwrap();
        }
        tx.commit().await.unwrap();
    }

    /// The credential, created at `c.now`; then its secret version, last use
    /// and deletion.
    pub async fn credential(
        db: &Db,
        c: NewCredential<'_>,
        secret_version: i64,
        last_used_at: Option<i64>,
        deleted_at: Option<i64>,
    ) {
        let id = c.id;
        let mut tx = db.begin_rights_change().await.unwrap();
        assert!(credentials::insert(&mut tx, c).await.unwrap(), "{id} is new");
        tx.commit().await.unwrap();
        let update = "update credentials set secret_version = $1, last_used_at = $2, deleted_at = $3 where id = $4";
        set(db, update, &[Some(secret_version), last_used_at, deleted_at], id).await;
    }

    /// Puts `role` on the credential as of rights generation `added_gen`.
    pub async fn credential_role(db: &Db, credential_id: &str, role: Role, added_gen: i64) {
        let mut tx = db.begin_rights_change().await.unwrap();
        let mut roles = credentials::roles_of(&mut *tx, credential_id).await.unwrap();
        roles.push(role);
        credentials::set_roles(&mut tx, credential_id, &roles, added_gen).await.unwrap();
        tx.commit().await.unwrap();
    }

    /// The token as the writer stores it; then its last use and revocation.
    pub async fn token(db: &Db, t: NewToken, last_used_at: i64, revoked_at: Option<i64>) {
        let mut conn = db.pool.acquire().await.unwrap();
        app::backend::tokens::repo::insert_issued(&mut conn, std::slice::from_ref(&t)).await.unwrap();
        let update = "update tokens set last_used_at = $1, revoked_at = $2 where token_digest = $3";
        set(db, update, &[Some(last_used_at), revoked_at], &t.key).await;
    }
}
