//! Crash safety: the real server binary is killed with
//! SIGKILL while tokens are being issued and credentials created, then
//! restarted on the same SQLite database, several times. Every token whose
//! response was received must still work, every credential whose creation
//! was answered must still exist, the database must pass
//! `PRAGMA integrity_check`, and the audit chain must verify.

mod common;
mod procs;

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ADMIN_PASSWORD: &str = "crash test passphrase 42";
const ROUNDS: usize = 3;

struct Server {
    child: Child,
    port: u16,
}

fn start(db: &str, port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_appcred"))
        .env("DATABASE_URL", format!("sqlite://{db}"))
        .env("APPCRED_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("APPCRED_BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "error")
        .env("LEPTOS_SITE_ROOT", concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server");
    Server { child, port }
}

/// One HTTP/1.1 request over a fresh connection: the status and body, or
/// `None` when the connection broke (the server died mid-request).
async fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Option<(u16, String)> {
    procs::http(port, method, path, headers, body).await.map(|a| (a.status, a.body))
}

async fn wait_healthy(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some((200, _)) = http(port, "GET", "/healthz", &[], "").await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not come up");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_tokens_and_credentials_survive_sigkill() {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("appcred-crash-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("crash.db").display().to_string();

    // A credential to issue tokens with.
    let port = free_port();
    let mut server = start(&db, port);
    wait_healthy(port).await;
    let out = Command::new(env!("CARGO_BIN_EXE_appcred"))
        .args(["credential", "create", "--username", "admin", "--name", "crash", "--role", "work_creator"])
        .env("DATABASE_URL", format!("sqlite://{db}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let created = json(&String::from_utf8_lossy(&out.stdout));
    let basic = {
        use base64::Engine as _;
        let raw = format!("{}:{}", created["client_id"].as_str().unwrap(), created["client_secret"].as_str().unwrap());
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw))
    };

    let tokens: Arc<Mutex<Vec<String>>> = Default::default();
    let credentials: Arc<Mutex<Vec<String>>> = Default::default();
    for round in 0..ROUNDS {
        if round > 0 {
            server = start(&db, free_port());
            wait_healthy(server.port).await;
        }
        let port = server.port;
        let signed_in = {
            let body = format!("username=admin&password={}", ADMIN_PASSWORD.replace(' ', "+"));
            let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            let req = format!(
                "POST /admin/fn/login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nAccept: application/json\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(req.as_bytes()).await.unwrap();
            let mut raw = String::new();
            stream.read_to_string(&mut raw).await.unwrap();
            raw
        };
        let cookie = signed_in
            .lines()
            .find_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
            .and_then(|c| c.split(';').next())
            .expect("a session cookie")
            .to_string();

        // Load: token requests and credential creation, until the kill.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut load = Vec::new();
        for _ in 0..12 {
            let (basic, tokens, stop) = (basic.clone(), tokens.clone(), stop.clone());
            load.push(tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let headers =
                        [("Authorization", basic.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
                    if let Some((200, body)) =
                        http(port, "POST", "/oauth/token", &headers, "grant_type=client_credentials").await
                    {
                        if let Some(t) = json(&body)["access_token"].as_str() {
                            tokens.lock().unwrap().push(t.to_string());
                        }
                    }
                }
            }));
        }
        for worker in 0..2 {
            let (cookie, credentials, stop) = (cookie.clone(), credentials.clone(), stop.clone());
            load.push(tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    n += 1;
                    let body = format!("name=r{round}w{worker}n{n}&expires_on=2099-01-01&roles%5B%5D=work_creator");
                    let headers = [
                        ("Cookie", cookie.as_str()),
                        ("Accept", "application/json"),
                        ("Content-Type", "application/x-www-form-urlencoded"),
                    ];
                    // expires_on is beyond the maximum lifetime on purpose for odd
                    // numbers: refused writes must leave nothing behind either
                    let body = if n % 2 == 0 { body.replace("2099-01-01", &tomorrow()) } else { body };
                    if let Some((200, answer)) =
                        http(port, "POST", "/admin/fn/credentials/create", &headers, &body).await
                    {
                        if let Some(id) = json(&answer)["client_id"].as_str() {
                            credentials.lock().unwrap().push(id.to_string());
                        }
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(700 + 300 * round as u64)).await;
        server.child.kill().expect("SIGKILL"); // Child::kill sends SIGKILL on Unix
        server.child.wait().unwrap();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for task in load {
            task.await.unwrap();
        }
    }

    // Restart and check everything that was answered.
    let port = free_port();
    let mut server = start(&db, port);
    wait_healthy(port).await;
    let tokens = tokens.lock().unwrap().clone();
    let credentials = credentials.lock().unwrap().clone();
    assert!(tokens.len() > 50, "the load issued tokens: {}", tokens.len());
    assert!(!credentials.is_empty(), "the load created credentials");
    for t in &tokens {
        let bearer = format!("Bearer {t}");
        let (status, body) = http(port, "GET", "/api/v1/me", &[("Authorization", bearer.as_str())], "").await.unwrap();
        assert_eq!(status, 200, "an issued token was lost: {body}");
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&format!("sqlite://{db}")).await.unwrap();
    let check: String = sqlx::query_scalar("pragma integrity_check").fetch_one(&pool).await.unwrap();
    assert_eq!(check, "ok");
    for id in &credentials {
        let n: i64 = sqlx::query_scalar("select count(*) from credentials where id = $1 and deleted_at is null")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(n, 1, "a created credential was lost");
    }
    let issued: i64 = sqlx::query_scalar("select count(*) from tokens").fetch_one(&pool).await.unwrap();
    let audited: i64 = sqlx::query_scalar("select count(*) from audit_events where event = 'token.issued'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(issued, audited, "each stored token has its token.issued event, committed together");
    let key = std::fs::read_to_string(std::path::Path::new(&db).with_file_name("secret.key")).unwrap();
    let keys = app::backend::keys::DerivedKeys::derive(&app::backend::secrets::SecretKey::parse(&key).unwrap());
    let keyed = app::backend::Db::connect(&format!("sqlite://{db}")).await.unwrap().with_keys(Arc::new(keys));
    assert_eq!(
        app::backend::audit::verify(&keyed).await.unwrap(),
        app::backend::audit::Verdict::Intact {
            count: sqlx::query_scalar("select count(*) from audit_events").fetch_one(&pool).await.unwrap()
        }
    );
    pool.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

fn tomorrow() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    app::model::format_date(now + 86_400)
}
